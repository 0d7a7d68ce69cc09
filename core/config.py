"""Typed YAML config blocks, checked the same way for the model spec (models/spec.py) and the ingest sources
(pipelines/ingest_config.py): a block is a frozen dataclass, its fields are the allowed keys (a field's `KEY`
metadata renames it in YAML), those without a default are required, and a bad key or value fails with a
message that names it."""
import dataclasses
import difflib
import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

KEY = "key"  # field metadata: the block's key for this field, where it differs from the field's name

# (the offending key or keys, the problem, which names them too) -> the caller's exception, which says where.
Error = Callable[[str, str], Exception]


class BadValue(ValueError):
    """A value a block's dataclass refuses; the message names the key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key} {problem}")
        self.key = key


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def key_of(field: dataclasses.Field) -> str:
    """The YAML key of a dataclass field."""
    return field.metadata.get(KEY, field.name)


def block_keys(cls: type) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the keys a block of dataclass `cls` may have, those it must have: the fields without a default)."""
    fields = dataclasses.fields(cls)
    required = tuple(
        key_of(f) for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return frozenset(key_of(f) for f in fields), required


def check_keys(block: Mapping[str, Any], allowed: Collection[str], required: Collection[str], error: Error) -> None:
    """Fail through `error` on a key of `block` outside `allowed` (naming the closest allowed one) or on a
    `required` key it lacks."""
    unknown = sorted(map(str, set(block) - set(allowed)))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise error(", ".join(unknown), f"unknown keys {unknown}; allowed: {', '.join(sorted(allowed))}{hint}")
    missing = [key for key in required if key not in block]
    if missing:
        raise error(", ".join(missing), f"needs {missing}")


def from_block(cls: type, block: Mapping[str, Any], error: Error, ignore: Collection[str] = ()) -> Any:
    """Dataclass `cls` built from `block` after check_keys (`ignore`: keys the caller reads itself); a
    BadValue from the dataclass's own checks goes through `error` too."""
    allowed, required = block_keys(cls)
    check_keys(block, allowed | set(ignore), required, error)
    try:
        return cls(**{f.name: block[key_of(f)] for f in dataclasses.fields(cls) if key_of(f) in block})
    except BadValue as err:
        raise error(err.key, str(err)) from err

"""The ingest YAML config (which sources to read, how to split, what size the model sees) and its
validation; every key is described in docs/CONFIG.md. Several configs read as one add up their sources
(`load_configs`: how `make model CORRECTIONS=...` adds a person's corrections to the shipped data)."""
import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import yaml

from core import config, features
from pipelines.sources import SOURCE_TYPES, CorrectionsSource, Source


class ConfigError(ValueError):
    """A bad ingest config; the message names the file, the source and the key."""


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    sources: tuple[Source, ...]  # each its type's dataclass (pipelines.sources.SOURCE_TYPES)
    image_size: int = features.DEFAULT_IMAGE_SIZE
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, val, test


def split_of(content_hash: str, ratios: tuple[float, float, float]) -> int:
    """Deterministic split index from the content hash (stable across runs and sources)."""
    position = int(hashlib.sha256(content_hash.encode()).hexdigest()[:12], 16) / float(16**12)
    edge = 0.0
    for index, ratio in enumerate(ratios):
        edge += ratio
        if position < edge:
            return index
    return len(ratios) - 1


def _source(entry: Any, index: int, where: str) -> Source:
    """One `sources:` entry as its type's dataclass; errors name the entry, its type and the key."""
    if not isinstance(entry, dict) or entry.get("type") not in SOURCE_TYPES:
        raise ConfigError(
            f"{where}: sources[{index}] must be a mapping with type one of {list(SOURCE_TYPES)}, got {entry!r}"
        )
    kind = entry["type"]

    def error(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: sources[{index}] ({kind}): {problem}")

    return config.from_block(SOURCE_TYPES[kind].config, entry, error, ignore=("type",))


def parse_config(raw: Any, where: str = "<config>") -> IngestConfig:
    """Validate a parsed YAML mapping."""
    return _finished(_parsed(raw, where), where)


def _parsed(raw: Any, where: str) -> IngestConfig:
    """A mapping's config, its sources checked one by one (their names and weights by `_finished`)."""
    if not isinstance(raw, dict) or not raw.get("sources"):
        raise ConfigError(f"{where}: expected a mapping with a non-empty 'sources' list")
    config.check_keys(
        raw, ("sources", "image_size", "split"), (), lambda _, problem: ConfigError(f"{where}: {problem}")
    )
    split = raw.get("split") or {}
    ratios = tuple(split.get(s, d) for s, d in zip(features.SPLITS, IngestConfig.split))
    if not all(config.is_number(r) and 0 <= r <= 1 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6 or ratios[0] == 0:
        raise ConfigError(
            f"{where}: split ratios must be numbers >= 0, train > 0, and sum to 1; "
            f"got {dict(zip(features.SPLITS, ratios))}"
        )
    image_size = raw.get("image_size", features.DEFAULT_IMAGE_SIZE)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 32 <= image_size <= 1024:
        raise ConfigError(f"{where}: image_size must be an integer between 32 and 1024, got {image_size!r}")
    sources = tuple(_source(e, i, where) for i, e in enumerate(raw["sources"]))
    return IngestConfig(sources=sources, image_size=image_size, split=tuple(float(r) for r in ratios))


def _finished(parsed: IngestConfig, where: str) -> IngestConfig:
    """Each source listed once; a corrections source without a `weight` weighs as much as the heaviest of the
    other sources (1.0 without any): a person's decision on a hard image counts at least as much as a real image."""
    names = [s.name for s in parsed.sources]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"{where}: source {twice[0]} is listed twice; list it once (give demo sources different seeds)"
        )
    heaviest = max((s.weight for s in parsed.sources if not isinstance(s, CorrectionsSource)), default=1.0)
    sources = tuple(dataclasses.replace(s, weight=heaviest) if s.weight is None else s for s in parsed.sources)
    return dataclasses.replace(parsed, sources=sources)


def _read(path: str) -> Any:
    from core import storage

    try:
        return yaml.safe_load(storage.read_bytes(path))
    except (OSError, FileNotFoundError) as err:
        raise ConfigError(f"cannot read ingest config {path}: {err}") from err


def load_config(path: str) -> IngestConfig:
    """Read and validate an ingest YAML file (local or any filesystem)."""
    return parse_config(_read(path), where=path)


def load_configs(paths: Sequence[str]) -> IngestConfig:
    """Several ingest YAML files read as one: their sources in order; image_size and split from the first. A later
    file may hold only `sources` (an image_size or split of its own must agree with the first's)."""
    first, *later = paths
    merged = _parsed(_read(first), first)
    for path in later:
        raw = _read(path)
        more = _parsed(raw, path)
        for key in ("image_size", "split"):
            if key in raw and getattr(more, key) != getattr(merged, key):
                raise ConfigError(
                    f"{path}: {key} {_shown(key, getattr(more, key))} disagrees with {first}'s "
                    f"{_shown(key, getattr(merged, key))}; the configs after the first add sources only: leave "
                    f"{key} out of {path}"
                )
        merged = dataclasses.replace(merged, sources=merged.sources + more.sources)
    return _finished(merged, " + ".join(paths))


def _shown(key: str, value: Any) -> Any:
    return dict(zip(features.SPLITS, value)) if key == "split" else value

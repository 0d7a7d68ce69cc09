"""The ingest YAML config (which sources to read, how to split, what size the model sees) and its
validation; every key is described in README, Ingest config."""
import dataclasses
import hashlib
import math
from typing import Any

import yaml

from core import features

SOURCE_TYPES = ("huggingface", "folder", "jsonl", "demo")
_REQUIRED = {"huggingface": (), "folder": ("root",), "jsonl": ("path",), "demo": ("size",)}
_ALLOWED = {
    "huggingface": {
        "type",
        "name",
        "data_files",
        "split",
        "label_map",
        "image_column",
        "label_column",
        "revision",
        "weight",
    },
    "folder": {"type", "root", "label_map", "weight"},
    "jsonl": {"type", "path", "label_map", "weight"},
    "demo": {"type", "size", "seed", "weight"},
}


class ConfigError(ValueError):
    """A bad ingest config; the message names the file, the source and the key."""


@dataclasses.dataclass(frozen=True)
class SourceConfig:
    type: str
    name: str  # a readable id used in dead letters and summaries
    options: dict[str, Any]

    @property
    def weight(self) -> float:
        """The sample weight of this source's images (`weight:`, default 1.0)."""
        return float(self.options.get("weight", 1.0))

    def label_for(self, value: Any) -> str:
        """Map a source label value to chart / non_chart (unmapped values pass through and are rejected later)."""
        label_map = self.options.get("label_map") or {}
        candidates = (value, str(value)) + ((int(value),) if str(value).isdigit() else ())
        return next((str(label_map[k]) for k in candidates if k in label_map), str(value))


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    sources: tuple[SourceConfig, ...]
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


def _source(entry: Any, index: int, where: str) -> SourceConfig:
    if not isinstance(entry, dict) or entry.get("type") not in SOURCE_TYPES:
        raise ConfigError(
            f"{where}: sources[{index}] must be a mapping with type one of {list(SOURCE_TYPES)}, got {entry!r}"
        )
    kind = entry["type"]
    unknown = set(entry) - _ALLOWED[kind]
    if unknown:
        raise ConfigError(
            f"{where}: sources[{index}] ({kind}) has unknown keys {sorted(unknown)}; allowed: {sorted(_ALLOWED[kind])}"
        )
    missing = [k for k in _REQUIRED[kind] if k not in entry]
    if kind == "huggingface" and not (entry.get("name") or entry.get("data_files")):
        missing.append("name or data_files")
    if missing:
        raise ConfigError(f"{where}: sources[{index}] ({kind}) needs {missing}")
    label_map = entry.get("label_map") or {}
    bad = {k: v for k, v in label_map.items() if v not in features.LABEL_NAMES}
    if bad:
        raise ConfigError(f"{where}: sources[{index}] label_map values must be {list(features.LABEL_NAMES)}, got {bad}")
    weight = entry.get("weight", 1.0)
    if not _is_number(weight) or not 0 < weight < math.inf:
        raise ConfigError(f"{where}: sources[{index}] ({kind}) weight must be a finite number above 0, got {weight!r}")
    for key in ("size", "seed"):  # the demo generator's
        if (
            kind == "demo"
            and key in entry
            and (isinstance(entry[key], bool) or not isinstance(entry[key], int) or entry[key] < (key == "size"))
        ):
            raise ConfigError(
                f"{where}: sources[{index}] (demo) {key} must be an integer "
                f"{'above 0' if key == 'size' else '>= 0'}, got {entry[key]!r}"
            )
    name = entry.get("name") or entry.get("root") or entry.get("path") or entry.get("data_files") or kind
    if kind == "demo":
        name = f"demo(seed={entry.get('seed', 0)})"
    return SourceConfig(type=kind, name=str(name), options={k: v for k, v in entry.items() if k != "type"})


def parse_config(raw: Any, where: str = "<config>") -> IngestConfig:
    """Validate a parsed YAML mapping."""
    if not isinstance(raw, dict) or not raw.get("sources"):
        raise ConfigError(f"{where}: expected a mapping with a non-empty 'sources' list")
    unknown = set(raw) - {"sources", "image_size", "split"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: sources, image_size, split")
    split = raw.get("split") or {}
    ratios = tuple(split.get(s, d) for s, d in zip(features.SPLITS, IngestConfig.split))
    if not all(_is_number(r) and 0 <= r <= 1 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6 or ratios[0] == 0:
        raise ConfigError(
            f"{where}: split ratios must be numbers >= 0, train > 0, and sum to 1; "
            f"got {dict(zip(features.SPLITS, ratios))}"
        )
    image_size = raw.get("image_size", features.DEFAULT_IMAGE_SIZE)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 32 <= image_size <= 1024:
        raise ConfigError(f"{where}: image_size must be an integer between 32 and 1024, got {image_size!r}")
    sources = tuple(_source(e, i, where) for i, e in enumerate(raw["sources"]))
    names = [s.name for s in sources]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"{where}: source {twice[0]} is listed twice; list it once (give demo sources different seeds)"
        )
    return IngestConfig(sources=sources, image_size=image_size, split=tuple(float(r) for r in ratios))


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def load_config(path: str) -> IngestConfig:
    """Read and validate an ingest YAML file (local or any filesystem)."""
    from core import storage

    try:
        raw = yaml.safe_load(storage.read_bytes(path))
    except (OSError, FileNotFoundError) as err:
        raise ConfigError(f"cannot read ingest config {path}: {err}") from err
    return parse_config(raw, where=path)

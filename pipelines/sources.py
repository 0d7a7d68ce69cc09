"""Read labelled images from every supported source as `RawImage` records.

Each source is a PTransform rooted at the pipeline. Files are listed first, then a
Reshuffle spreads them out; their bytes are read by validation, on its decode threads
(`data` is None until then). A record that cannot become an image carries `error`, so
validation can dead-letter it: nothing is dropped silently.
"""
import dataclasses
import json
import logging
import os
import urllib.parse
from typing import Iterator, Optional

import apache_beam as beam

from core import dead_letters, features, storage
from pipelines.ingest_config import SourceConfig
from pipelines.inputs import list_files

HF_ENDPOINT_ENV = "HF_ENDPOINT"  # the hub address huggingface_hub itself honours


@dataclasses.dataclass(frozen=True)
class RawImage:
    source: str
    uri: str
    label: str  # as mapped by the source config; validated later
    data: Optional[bytes] = None  # None: read `uri` when validating
    error: Optional[str] = None  # reason code when the record cannot become an image
    detail: str = ""


class ReadFolder(beam.PTransform):
    """`<root>/chart/*` and `<root>/non_chart/*` on any filesystem."""

    def __init__(self, source: SourceConfig, allow_outside_root: bool = False):
        super().__init__()
        self._source = source
        self._allow_outside_root = allow_outside_root
        root = source.options["root"].rstrip("/")
        self._patterns = [(storage.join(root, label, "*"), label) for label in features.LABEL_NAMES]
        if not any(next(list_files(pattern, root), None) for pattern, _ in self._patterns):
            raise ValueError(
                f"folder source {source.name!r}: no files in {root}/{features.CHART}/ or {root}/{features.NON_CHART}/ "
                "(a folder source holds one subfolder per label)"
            )

    def expand(self, pbegin):
        name, root, allow = self._source.name, self._source.options["root"].rstrip("/"), self._allow_outside_root

        def records(pattern: str, label: str) -> Iterator[RawImage]:
            for listed in list_files(pattern, root, allow):
                yield RawImage(name, listed.uri, label, error=listed.error, detail=listed.detail)

        return (
            pbegin
            | "Patterns" >> beam.Create(self._patterns)
            | "List" >> beam.FlatMapTuple(records)
            | "Spread" >> beam.Reshuffle()
        )


def _manifest_entries(source: SourceConfig) -> Iterator[RawImage]:
    """One record per manifest line: the image still to read, or the line's error.
    Relative image paths resolve against the manifest's folder."""
    path = source.options["path"]
    base = path.rsplit("/", 1)[0] if "://" in path else os.path.dirname(os.path.abspath(path))
    for number, line in enumerate(storage.read_bytes(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            image, label = _manifest_line(line)
        except (ValueError, KeyError, TypeError) as err:
            yield RawImage(
                source.name,
                f"{path}:{number}",
                "",
                error=dead_letters.BAD_MANIFEST_LINE,
                detail=f"{type(err).__name__}: {err}",
            )
            continue
        uri = image if ("://" in image or os.path.isabs(image)) else storage.join(base, image)
        yield RawImage(source.name, uri, source.label_for(label))


def _manifest_line(line: bytes) -> tuple[str, object]:
    """(image, label) of one manifest line; ValueError/KeyError/TypeError say what is wrong with it."""
    entry = json.loads(line.decode("utf-8"))
    if not isinstance(entry, dict):
        raise TypeError(f"a line must be a JSON object, got {type(entry).__name__}")
    image, label = entry["image"], entry["label"]
    if not isinstance(image, str) or not image.strip():
        raise TypeError(f'"image" must be a path or URI string, got {image!r}')
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise TypeError(f'"label" must be a string or an integer, got {label!r}')
    return image, label


class ReadJsonl(beam.PTransform):
    """A JSONL manifest of `{"image": path-or-URI, "label": ...}` lines."""

    def __init__(self, source: SourceConfig):
        super().__init__()
        self._source = source
        path = source.options["path"]
        try:
            lines = storage.read_bytes(path).split(b"\n")
        except Exception as err:  # any filesystem's error
            raise ValueError(f"jsonl source {source.name!r}: cannot read {path} ({type(err).__name__}: {err})") from err
        if not any(line.strip() for line in lines):
            raise ValueError(
                f"jsonl source {source.name!r}: {path} has no lines; "
                'each line is {"image": path-or-URI, "label": ...}'
            )

    def expand(self, pbegin):
        return (
            pbegin
            | "Manifest" >> beam.Create([self._source])
            | "Lines" >> beam.FlatMap(_manifest_entries)
            | "Spread" >> beam.Reshuffle()
        )


class ReadDemo(beam.PTransform):
    """The embedded demo generator: `size` images, deterministic by `seed`."""

    def __init__(self, source: SourceConfig):
        super().__init__()
        self._source = source
        try:
            import synthetic.generate  # noqa: F401  (checked at launch; the workers import it to render)
        except ImportError as err:
            raise ValueError(f"demo source {source.name!r} needs the synthetic generator's libraries ({err.name} is "
                             "missing): pip install '.[synthetic]'") from err

    def expand(self, pbegin):
        size, seed, name = (
            int(self._source.options["size"]),
            int(self._source.options.get("seed", 0)),
            self._source.name,
        )

        def render(index: int) -> RawImage:
            from synthetic.generate import render_demo_image

            image = render_demo_image(seed, index)
            return RawImage(name, f"demo://{seed}/{image.label}/{image.name}", image.label, image.data)

        return (
            pbegin | "Indices" >> beam.Create(range(size)) | "Spread" >> beam.Reshuffle() | "Render" >> beam.Map(render)
        )


def _load_hf(options: dict, streaming: bool = True):
    """The `datasets` dataset for a source, with images as undecoded {bytes, path}."""
    import datasets

    if options.get("data_files"):
        dataset = datasets.load_dataset(
            "parquet", data_files=options["data_files"], split=options.get("split", "train"), streaming=streaming
        )
    else:
        dataset = datasets.load_dataset(
            options["name"], split=options.get("split", "train"), revision=options.get("revision"), streaming=streaming
        )
    return dataset.cast_column(options.get("image_column", features.IMAGE_KEY), datasets.Image(decode=False))


def check_hub_reachable(source: SourceConfig) -> None:
    """Fail within seconds, naming the dataset and the offline alternatives, when the hub is out of reach."""
    if source.options.get("data_files") or os.environ.get("HF_HUB_OFFLINE") == "1":
        return  # local parquet, or the user asked for the local cache only
    endpoint = urllib.parse.urlsplit(os.environ.get(HF_ENDPOINT_ENV, "https://huggingface.co"))
    storage.require_reachable(
        endpoint.hostname,
        endpoint.port or (443 if endpoint.scheme == "https" else 80),
        what=f"Hugging Face dataset {source.options['name']!r}",
        alternatives="Offline, either set HF_HUB_OFFLINE=1 to use a copy already in the datasets cache, "
        "or point the source at local parquet files with `data_files: path/*.parquet` "
        "(the hub layout: `image` as {bytes, path} and `label`).",
    )


class ReadHuggingFace(beam.PTransform):
    """A Hugging Face image dataset (hub name, or local parquet laid out like one), read shard by shard."""

    def __init__(self, source: SourceConfig):
        super().__init__()
        self._source = source
        check_hub_reachable(source)
        try:
            self._num_shards = _load_hf(source.options).num_shards
        except Exception as err:
            raise ConnectionError(
                f"cannot open Hugging Face source {source.name!r}: {type(err).__name__}: {err}"
            ) from err

    def expand(self, pbegin):
        source = self._source
        num_shards = self._num_shards

        def read_shard(index: int) -> Iterator[RawImage]:
            dataset = _load_hf(source.options).shard(num_shards=num_shards, index=index)
            image_column = source.options.get("image_column", features.IMAGE_KEY)
            label_column = source.options.get("label_column", features.LABEL_KEY)
            for row_number, row in enumerate(dataset):
                image = row[image_column] or {}
                label = source.label_for(row.get(label_column))
                if image.get("bytes"):
                    uri = f"{source.name}/{image.get('path') or f'shard{index}/row{row_number}'}"
                    yield RawImage(source.name, uri, label, image["bytes"])
                elif image.get("path"):
                    yield RawImage(source.name, image["path"], label)
                else:
                    yield RawImage(
                        source.name,
                        f"{source.name}/shard{index}/row{row_number}",
                        label,
                        error=dead_letters.EMPTY_FILE,
                        detail="row has no image bytes or path",
                    )

        logging.info("Hugging Face source %s: %d shard(s)", source.name, num_shards)
        return (
            pbegin
            | "Shards" >> beam.Create(range(num_shards))
            | "Spread" >> beam.Reshuffle()
            | "Rows" >> beam.FlatMap(read_shard)
        )


READERS = {"huggingface": ReadHuggingFace, "folder": ReadFolder, "jsonl": ReadJsonl, "demo": ReadDemo}


def read_source(source: SourceConfig, allow_outside_root: bool = False) -> beam.PTransform:
    """The PTransform that reads one configured source."""
    if source.type == "folder":
        return ReadFolder(source, allow_outside_root)
    return READERS[source.type](source)

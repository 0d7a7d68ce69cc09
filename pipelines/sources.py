"""Read labelled images from every supported source as `RawImage` records.

Each source type is a frozen dataclass (its YAML block, checked by `core.config`) read by a PTransform
rooted at the pipeline; `SOURCE_TYPES` pairs them by type name. Files are listed first, then a
Reshuffle spreads them out; their bytes are read by validation, on its decode threads (`data` is None
until then). A record that cannot become an image carries `error`, so validation can dead-letter it:
nothing is dropped silently.
"""
import abc
import csv
import dataclasses
import glob
import io
import json
import logging
import math
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar, Iterator, NamedTuple, Optional

import apache_beam as beam

from core import config, corrections, dead_letters, features, inputs, storage

HF_ENDPOINT_ENV = "HF_ENDPOINT"  # the hub address huggingface_hub itself honours
# What to do when the hub cannot be read (offline, or HF_HUB_OFFLINE=1 with nothing cached).
HUB_NEXT_STEPS = ("Without the hub, ingest the generated demo images (--config configs/ingest_demo.yaml), a folder "
                  "of your own (a source `type: folder` with `root: DIR` holding DIR/chart/ and DIR/non_chart/), or "
                  "local parquet files laid out like the hub (`data_files: path/*.parquet`, `image` as {bytes, path} "
                  "and `label`).")


@dataclasses.dataclass(frozen=True)
class RawImage:
    source: str
    uri: str
    label: str  # as mapped by the source config; validated later
    data: Optional[bytes] = None  # None: read `uri` when validating
    error: Optional[str] = None  # reason code when the record cannot become an image
    detail: str = ""
    group: str = ""  # images of one group (a source account, channel, repository) share a split; "": its own


@dataclasses.dataclass(frozen=True, kw_only=True)
class Source(abc.ABC):
    """What every source block may say besides its `type`: how much each of its images counts."""

    type: ClassVar[str]  # the block's `type:`
    wins_duplicates: ClassVar[bool] = False  # its copy of a picture is kept over any other source's (ingest.keep_one)
    weight: float = 1.0  # the sample weight of the source's images

    def __post_init__(self):
        if not config.is_number(self.weight) or not 0 < self.weight < math.inf:
            raise config.BadValue("weight", f"must be a finite number above 0, got {self.weight!r}")
        object.__setattr__(self, "weight", float(self.weight))

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A readable id, unique in a config: dead letters and the summary name the source by it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelledSource(Source):
    """A source whose own label values `label_map` maps to chart / non_chart."""

    label_map: Mapping[Any, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        if self.label_map is None:  # `label_map:` left empty
            object.__setattr__(self, "label_map", {})
        if not isinstance(self.label_map, Mapping):
            raise config.BadValue("label_map", f"must be a mapping of source labels to labels, got {self.label_map!r}")
        bad = {k: v for k, v in self.label_map.items() if v not in features.LABEL_NAMES}
        if bad:
            raise config.BadValue("label_map", f"values must be {list(features.LABEL_NAMES)}, got {bad}")

    def label_for(self, value: Any) -> str:
        """Map a source label value to chart / non_chart (unmapped values pass through and are rejected later)."""
        candidates = (value, str(value)) + ((int(value),) if str(value).isascii() and str(value).isdigit() else ())
        return next((str(self.label_map[k]) for k in candidates if k in self.label_map), str(value))


@dataclasses.dataclass(frozen=True, kw_only=True)
class FolderSource(LabelledSource):
    """`type: folder`: one subfolder of images per label; files in its subfolders take its label."""

    type: ClassVar[str] = "folder"
    root: str  # holds <root>/chart/** and <root>/non_chart/**, on any filesystem

    @property
    def name(self) -> str:
        return self.root


@dataclasses.dataclass(frozen=True, kw_only=True)
class JsonlSource(LabelledSource):
    """`type: jsonl`: a manifest of image and label lines."""

    type: ClassVar[str] = "jsonl"
    path: str  # the manifest; relative image paths resolve against its folder

    @property
    def name(self) -> str:
        return self.path


@dataclasses.dataclass(frozen=True, kw_only=True)
class CsvSource(LabelledSource):
    """`type: csv`: a table with a header, a row per image; the columns that hold the image, its label and its
    group are named in the block (a dataset's own manifest.csv, read as it is)."""

    type: ClassVar[str] = "csv"
    path: str  # the table; relative image paths resolve against its folder
    image_column: str = "image"
    label_column: str = "label"
    group_column: str = ""  # "": no groups

    @property
    def name(self) -> str:
        return self.path


@dataclasses.dataclass(frozen=True, kw_only=True)
class HuggingFaceSource(LabelledSource):
    """`type: huggingface`: a hub image dataset (its YAML key `name` is `dataset` here), or local parquet."""

    type: ClassVar[str] = "huggingface"
    dataset: Optional[str] = dataclasses.field(default=None, metadata={config.KEY: "name"})  # a hub dataset ...
    data_files: Any = None  # ... or local parquet files laid out like one (a glob, or a list of them)
    split: str = "train"
    revision: Optional[str] = None
    image_column: str = features.IMAGE_KEY
    label_column: str = features.LABEL_KEY

    def __post_init__(self):
        super().__post_init__()
        if not (self.dataset or self.data_files):
            raise config.BadValue("name or data_files", "is needed: a hub dataset, or local parquet files laid out "
                                                        "like one (image {bytes, path}, label)")

    @property
    def name(self) -> str:
        return str(self.dataset or self.data_files)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoSource(Source):
    """`type: demo`: images rendered by the embedded synthetic generator."""

    type: ClassVar[str] = "demo"
    size: int  # how many images the embedded generator renders
    seed: int = 0  # the same seed renders the same images

    def __post_init__(self):
        super().__post_init__()
        for key, least in (("size", 1), ("seed", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise config.BadValue(key, f"must be an integer {'above 0' if least else '>= 0'}, got {value!r}")

    @property
    def name(self) -> str:
        return f"demo(seed={self.seed})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CorrectionsSource(Source):
    """`type: corrections`: a person's decisions from the review page (core.corrections), each image with the
    label decided last; its copy of a picture wins deduplication over every other source's."""

    type: ClassVar[str] = "corrections"
    wins_duplicates: ClassVar[bool] = True
    path: str  # a local corrections file, or a glob of several
    weight: Optional[float] = None  # None: the heaviest weight of the config's other sources (ingest_config)

    def __post_init__(self):
        if self.weight is not None:
            super().__post_init__()
        if not isinstance(self.path, str) or not self.path.strip():
            raise config.BadValue("path", f"must name a corrections file (or a glob of several), got {self.path!r}")
        if "://" in self.path:
            raise config.BadValue("path", f"must be local (the review page appends to a file on its own disk), got "
                                          f"{self.path!r}")

    @property
    def name(self) -> str:
        return self.path


def folder_patterns(source: FolderSource) -> list[tuple[str, str]]:
    """(pattern, label) for each label folder of a folder source: every file under it, subfolders included
    (a local label folder that does not exist is left out: it holds nothing to dead-letter)."""
    root = source.root.rstrip("/")
    folders = [(storage.join(root, label), label) for label in features.LABEL_NAMES]
    return [(inputs.input_pattern(folder + "/"), label) for folder, label in folders
            if "://" in folder or os.path.isdir(folder)]


def folder_records(folder: tuple[str, str], source: FolderSource,
                   allow_outside_root: bool = False) -> Iterator[RawImage]:
    """The records of one (pattern, label) of folder_patterns: a file to read, or why it cannot be one."""
    pattern, label = folder
    for listed in inputs.list_files(pattern, source.root.rstrip("/"), allow_outside_root):
        yield RawImage(source.name, listed.uri, label, error=listed.error, detail=listed.detail)


class ReadFolder(beam.PTransform):
    """`<root>/chart/**` and `<root>/non_chart/**` on any filesystem (files in subfolders take the label of
    the label folder they are under)."""

    def __init__(self, source: FolderSource, allow_outside_root: bool = False):
        super().__init__()
        self._source = source
        self._allow_outside_root = allow_outside_root
        root = source.root.rstrip("/")
        self._patterns = folder_patterns(source)
        if not any(next(inputs.list_files(pattern, root), None) for pattern, _ in self._patterns):
            raise ValueError(
                f"folder source {source.name!r}: no files in {root}/{features.CHART}/ or {root}/{features.NON_CHART}/ "
                "(a folder source holds one subfolder per label)"
            )

    def expand(self, pbegin):
        return (
            pbegin
            | "Patterns" >> beam.Create(self._patterns)
            | "List" >> beam.FlatMap(folder_records, self._source, self._allow_outside_root)
            | "Spread" >> beam.Reshuffle()
        )


LINE_ERRORS = (ValueError, KeyError, TypeError, RecursionError)  # what parsing a line that is not a record raises


def _numbered_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(number, line) of each line of a JSON-lines file that is not blank, numbered from 1."""
    for number, line in enumerate(storage.read_bytes(path).splitlines(), start=1):
        if line.strip():
            yield number, line


def _folder_of(path: str) -> str:
    """Where the relative image paths of a JSON-lines file resolve: its folder."""
    return path.rsplit("/", 1)[0] if "://" in path else os.path.dirname(os.path.abspath(path))


def _image_uri(base: str, image: str) -> str:
    return image if ("://" in image or os.path.isabs(image)) else storage.join(base, image)


def _bad_line(source: Source, where: str, err: Exception, what: str = "") -> RawImage:
    """The `bad_manifest_line` dead letter of the line at `where` (path:number), saying what is wrong with it."""
    detail = (f"JSON nested deeper than the reader allows ({type(err).__name__})" if isinstance(err, RecursionError)
              else f"{type(err).__name__}: {err}")
    return RawImage(source.name, where, "", error=dead_letters.BAD_MANIFEST_LINE, detail=what + detail)


def _manifest_entries(source: JsonlSource) -> Iterator[RawImage]:
    """One record per manifest line: the image still to read, or the line's error.
    Relative image paths resolve against the manifest's folder."""
    base = _folder_of(source.path)
    for number, line in _numbered_lines(source.path):
        yield manifest_record(source, base, number, line)


def manifest_record(source: JsonlSource, base: str, number: int, line: bytes) -> RawImage:
    """The record of manifest line `number`: the image it names, or a `bad_manifest_line` dead letter
    saying what is wrong with it (whatever the line holds)."""
    try:
        image, label, group = _manifest_line(line)
    except LINE_ERRORS as err:
        return _bad_line(source, f"{source.path}:{number}", err)
    return RawImage(source.name, _image_uri(base, image), source.label_for(label), group=group)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shortened(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _json_object(line: bytes) -> dict:
    entry = json.loads(line.decode("utf-8"))
    if not isinstance(entry, dict):
        raise TypeError(f"a line must be a JSON object, got {type(entry).__name__}")
    return entry


def _image_of(entry: dict, key: str = "image") -> str:
    """An entry's image (`key`: its field or column), checked: a string that can name a file."""
    image = entry[key]
    if not isinstance(image, str) or not image.strip():
        raise TypeError(f'"{key}" must be a path or URI string, got {_shortened(repr(image))}')
    if "\0" in image or not _utf8(image):
        raise ValueError(f'"{key}" cannot name a file: it holds a NUL or a lone surrogate ({_shortened(ascii(image))})')
    return image


def _manifest_line(line: bytes) -> tuple[str, object, str]:
    """(image, label, group) of one manifest line; ValueError/KeyError/TypeError (RecursionError: nested too deep)
    say what is wrong with it."""
    entry = _json_object(line)
    label = entry["label"]
    image = _image_of(entry)
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise TypeError(f'"label" must be a string or an integer, got {_shortened(repr(label))}')
    group = entry.get("group", "")
    if not isinstance(group, str):
        raise TypeError(f'"group" must be a string (where the image came from: an account, a channel), '
                        f"got {_shortened(repr(group))}")
    return image, label, group


class ReadJsonl(beam.PTransform):
    """A JSONL manifest of `{"image": path-or-URI, "label": ...}` lines."""

    def __init__(self, source: JsonlSource):
        super().__init__()
        self._source = source
        path = source.path
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


def csv_table(source: CsvSource) -> csv.DictReader:
    """The source's rows; a ValueError names the file and what is wrong with it (unreadable, no header, a
    column the block names that the header lacks)."""
    where = f"csv source {source.name!r}"
    try:
        text = storage.read_bytes(source.path).decode("utf-8-sig")
    except Exception as err:  # any filesystem's error, or not UTF-8
        raise ValueError(f"{where}: cannot read {source.path} ({type(err).__name__}: {err})") from err
    table = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = table.fieldnames or []
    except csv.Error as err:
        raise ValueError(f"{where}: {source.path} has no readable header row ({err})") from err
    wanted = {"image_column": source.image_column, "label_column": source.label_column,
              "group_column": source.group_column}
    missing = {key: column for key, column in wanted.items() if column and column not in header}
    if missing:
        raise ValueError(f"{where}: {source.path} has no column "
                         + ", ".join(f"{column!r} ({key})" for key, column in missing.items())
                         + f"; its header is {header}: name the right ones in the source block")
    return table


def _table_entries(source: CsvSource) -> Iterator[RawImage]:
    """One record per row: the image still to read, or why the row is not one (`bad_manifest_line`).
    Relative image paths resolve against the table's folder."""
    base = _folder_of(source.path)
    table = csv_table(source)
    while True:
        try:
            row = next(table)
        except StopIteration:
            return
        except csv.Error as err:  # a field over the csv module's limit: that row only (line_num not yet counted)
            yield _bad_line(source, f"{source.path}:{table.line_num + 1}", err)
            continue
        where = f"{source.path}:{table.line_num}"
        try:
            image = _image_of(row, source.image_column)
            label = row[source.label_column]
            if label is None:
                raise ValueError(f"the row is shorter than its header (no {source.label_column!r})")
        except LINE_ERRORS as err:
            yield _bad_line(source, where, err)
            continue
        group = (row[source.group_column] or "") if source.group_column else ""
        yield RawImage(source.name, _image_uri(base, image), source.label_for(label), group=group)


class ReadCsv(beam.PTransform):
    """A CSV table of images, labels and (optionally) groups."""

    def __init__(self, source: CsvSource):
        super().__init__()
        self._source = source
        rows = csv_table(source)  # a bad file or header fails the launch, not a worker
        try:
            empty = next(rows, None) is None
        except csv.Error:  # a bad first row is that row's dead letter
            empty = False
        if empty:
            raise ValueError(f"csv source {source.name!r}: {source.path} has a header but no rows; "
                             "each row names an image and its label")

    def expand(self, pbegin):
        return (
            pbegin
            | "Table" >> beam.Create([self._source])
            | "Rows" >> beam.FlatMap(_table_entries)
            | "Spread" >> beam.Reshuffle()
        )


def _decision_line(line: bytes) -> corrections.Decision:
    """One line of a corrections file as core.corrections reads it, its `image` checked as a manifest's is."""
    entry = _json_object(line)
    _image_of(entry)
    return corrections.Decision(**{key: entry[key] for key in corrections.FIELDS})


class Reviewed(NamedTuple):
    """What a corrections source holds: its records, and the counts the log reports."""

    records: list[RawImage]  # per image its standing decision (the image still to read), and torn lines' dead letters
    files: list[str]
    decisions: int  # whole lines
    relabelled: int  # standing decisions that changed the model's label ...
    confirmed: int  # ... and those that kept it
    taken_back: int  # images whose last decision was undone: the model's label stands, no record
    superseded: int  # decisions a later one for the same image replaced
    torn: int  # lines that are not a whole decision (a write cut short): bad_manifest_line dead letters


def read_decisions(source: CorrectionsSource) -> Reviewed:
    """The decisions of every file `source.path` matches. Within a file the last line for an image wins
    (core.corrections), across files the later `decided_at`. A relative `image` is read from the folder ingest runs
    in, as the review page read it (a label run names its files as its --input named them)."""
    files = sorted(path for path in glob.glob(source.path) if os.path.isfile(path))
    if not files:
        raise ValueError(
            f"corrections source {source.name!r}: no corrections file at {source.path}. The review page writes one "
            f"(serve --review PREFIX appends to PREFIX{corrections.SUFFIX}, or to its --corrections FILE): point "
            "`path:` at it, or leave the source out until someone has reviewed images"
        )
    latest: dict[str, corrections.Decision] = {}
    torn: list[RawImage] = []
    decisions, base = 0, os.getcwd()
    for path in files:
        in_file: dict[str, corrections.Decision] = {}
        try:
            for number, line in _numbered_lines(path):
                try:
                    decision = _decision_line(line)
                except LINE_ERRORS as err:
                    torn.append(_bad_line(source, f"{path}:{number}", err, "not a whole decision (cut short?): "))
                    continue
                decisions += 1
                in_file[_image_uri(base, decision.image)] = decision
        except OSError as err:
            raise ValueError(f"corrections source {source.name!r}: cannot read {path} ({type(err).__name__}: "
                             f"{err})") from err
        for uri, decision in in_file.items():
            if uri not in latest or str(decision.decided_at) >= str(latest[uri].decided_at):
                latest[uri] = decision
    standing = {uri: d for uri, d in sorted(latest.items()) if d.label is not corrections.UNDECIDED}
    confirmed = sum(d.label == d.previous_label for d in standing.values())
    return Reviewed(
        records=[RawImage(source.name, uri, d.label) for uri, d in standing.items()] + torn,
        files=files, decisions=decisions, relabelled=len(standing) - confirmed, confirmed=confirmed,
        taken_back=len(latest) - len(standing), superseded=decisions - len(latest), torn=len(torn),
    )


class ReadCorrections(beam.PTransform):
    """A corrections source: each image whose last decision stands, with the decided label. The file is read at
    launch (it lives on the review page's disk) and its counts logged; the images are read by validation, as a
    manifest's are."""

    def __init__(self, source: CorrectionsSource):
        super().__init__()
        self._source = source
        reviewed = read_decisions(source)
        self._records = reviewed.records
        logging.log(
            logging.WARNING if reviewed.torn or not reviewed.decisions else logging.INFO,
            "corrections source %s: %d decision(s) in %d file(s): %d image(s) relabelled, %d confirmed, %d taken back "
            "(the model's label stands), %d superseded by a later decision, %d torn line(s) (dead letters %s)",
            source.name, reviewed.decisions, len(reviewed.files), reviewed.relabelled, reviewed.confirmed,
            reviewed.taken_back, reviewed.superseded, reviewed.torn, dead_letters.BAD_MANIFEST_LINE,
        )

    def expand(self, pbegin):
        return pbegin | "Decisions" >> beam.Create(self._records) | "Spread" >> beam.Reshuffle()


class ReadDemo(beam.PTransform):
    """The embedded demo generator: `size` images, deterministic by `seed`."""

    def __init__(self, source: DemoSource):
        super().__init__()
        self._source = source
        try:
            import synthetic.generate  # noqa: F401  (checked at launch; the workers import it to render)
        except ImportError as err:
            raise ValueError(f"demo source {source.name!r} needs the synthetic generator's libraries ({err.name} is "
                             "missing): pip install '.[synthetic]'") from err

    def expand(self, pbegin):
        size, seed, name = self._source.size, self._source.seed, self._source.name

        def render(index: int) -> RawImage:
            from synthetic.generate import render_demo_image

            image = render_demo_image(seed, index)
            return RawImage(name, f"demo://{seed}/{image.label}/{image.name}", image.label, image.data)

        return (
            pbegin | "Indices" >> beam.Create(range(size)) | "Spread" >> beam.Reshuffle() | "Render" >> beam.Map(render)
        )


def _load_hf(source: HuggingFaceSource, streaming: bool = True):
    """The `datasets` dataset for a source, with images as undecoded {bytes, path}."""
    import datasets

    if source.data_files:
        dataset = datasets.load_dataset(
            "parquet", data_files=source.data_files, split=source.split, streaming=streaming
        )
    else:
        dataset = datasets.load_dataset(
            source.dataset, split=source.split, revision=source.revision, streaming=streaming
        )
    return dataset.cast_column(source.image_column, datasets.Image(decode=False))


def check_hub_reachable(source: HuggingFaceSource) -> None:
    """Fail within seconds, naming the dataset and the offline alternatives, when the hub is out of reach."""
    if source.data_files or os.environ.get("HF_HUB_OFFLINE") == "1":
        return  # local parquet, or the user asked for the local cache only
    endpoint = urllib.parse.urlsplit(os.environ.get(HF_ENDPOINT_ENV, "https://huggingface.co"))
    storage.require_reachable(
        endpoint.hostname,
        endpoint.port or (443 if endpoint.scheme == "https" else 80),
        what=f"Hugging Face dataset {source.dataset!r}",
        alternatives=f"With a copy already in the datasets cache, set HF_HUB_OFFLINE=1. {HUB_NEXT_STEPS}",
    )


class ReadHuggingFace(beam.PTransform):
    """A Hugging Face image dataset (hub name, or local parquet laid out like one), read shard by shard."""

    def __init__(self, source: HuggingFaceSource):
        super().__init__()
        self._source = source
        check_hub_reachable(source)
        try:
            self._num_shards = _load_hf(source).num_shards
        except Exception as err:
            raise ConnectionError(
                f"cannot open Hugging Face source {source.name!r}: {type(err).__name__}: {err}. "
                + ("HF_HUB_OFFLINE=1 reads only the datasets cache, which does not hold it: run once online to "
                   "cache it. " if os.environ.get("HF_HUB_OFFLINE") == "1" and not source.data_files else "")
                + HUB_NEXT_STEPS
            ) from err

    def expand(self, pbegin):
        source = self._source
        num_shards = self._num_shards

        def read_shard(index: int) -> Iterator[RawImage]:
            dataset = _load_hf(source).shard(num_shards=num_shards, index=index)
            for row_number, row in enumerate(dataset):
                image = row[source.image_column] or {}
                label = source.label_for(row.get(source.label_column))
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


class SourceType(NamedTuple):
    config: type[Source]  # the YAML block
    reader: type[beam.PTransform]  # what reads it


# Every source type, by the `type:` its YAML block names.
SOURCE_TYPES: dict[str, SourceType] = {
    block.type: SourceType(block, reader)
    for block, reader in (
        (HuggingFaceSource, ReadHuggingFace),
        (FolderSource, ReadFolder),
        (JsonlSource, ReadJsonl),
        (CsvSource, ReadCsv),
        (DemoSource, ReadDemo),
        (CorrectionsSource, ReadCorrections),
    )
}


def read_source(source: Source, allow_outside_root: bool = False) -> beam.PTransform:
    """The PTransform that reads one configured source."""
    reader = SOURCE_TYPES[source.type].reader
    return reader(source, allow_outside_root) if isinstance(source, FolderSource) else reader(source)

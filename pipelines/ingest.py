"""Ingest: labelled images from any mix of sources -> validated, deduplicated,
split, tf.Transform-preprocessed TFRecords plus the transform graph.

Data flow (each step is a labelled PTransform):
    Read[i] <source> ... -> Flatten
      -> ValidateAndSplit: Validate (decode once, resize) -> KeyByContent -> GroupCopies -> Deduplicate -> Split
      -> Encode[<split>] -> WriteTFRecords[<split>] (raw RGB pixels: 3 bytes a pixel)
      -> RawFeatures[train] -> AnalyzeTrain -> WriteTransformFn (the trainer and the exported model apply it)
    dead letters -> WriteDeadLetters; dropped copies -> WriteDuplicates; counts -> WriteSummary;
    last, WriteManifest (_SUCCESS). Command line: `python -m pipelines.ingest --help`, README.
"""
import argparse
import dataclasses
import functools
import json
import logging
import posixpath
from typing import Iterable, Iterator, Optional, Union

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from core import dead_letters, features, inputs, storage
from core.dead_letters import DUPLICATES, REJECTED
from pipelines import cli, options, runners
from pipelines.ingest_config import IngestConfig, load_configs, split_of
from pipelines.sources import RawImage, read_source
from pipelines.threaded import ThreadPoolDoFn
from transforms.image import MAX_PIXELS, PreparedImage, RejectedImage, prepare

_METRICS = "chart_sifter.ingest"
DEFAULT_CONFIG = options.shipped_config("ingest.yaml")


@dataclasses.dataclass(frozen=True)
class Example:
    """A validated image, ready for tf.Transform."""

    source: str
    uri: str
    label: int
    image: bytes  # the model's input pixels as raw RGB bytes (transforms.image.prepare)
    sha256: str
    content_hash: str
    weight: float = 1.0  # the source's weight from the ingest config
    group: str = ""  # images of one group share a split (RawImage.group)

    def raw_features(self) -> dict:
        return {features.IMAGE_KEY: self.image, features.LABEL_KEY: self.label,
                features.SHA256_KEY: self.sha256.encode(), features.WEIGHT_KEY: self.weight}


class ValidateImage(ThreadPoolDoFn):
    """RawImage -> Example (weighted by its source), or a dead letter (tagged `rejected`) with the reason.

    Decoding runs on a thread per core (see pipelines.threaded), once per image, by
    `transforms.image.prepare`: the function labelling and serving prepare images with.
    """

    def __init__(
        self,
        source_weights: dict[str, float],
        image_size: int,
        max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB,
        threads: int = 0,
        max_pixels: int = MAX_PIXELS,
        read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S,
    ):
        super().__init__(threads)
        self._source_weights = source_weights
        self._image_size = image_size
        self._max_bytes = inputs.megabytes(max_file_mb)
        self._max_pixels, self._read_timeout = max_pixels, read_timeout
        self._progress = cli.Progress("validating")  # no total: sources are read as they go

    def work(self, raw: RawImage) -> Union[PreparedImage, tuple[str, str], None]:
        """The prepared image, (reason, detail) of why not, or None where the record is already an error."""
        if raw.error or raw.label not in features.LABEL_IDS:
            return None
        try:
            data = inputs.read_bounded(raw.uri, self._max_bytes, self._read_timeout) if raw.data is None else raw.data
            return prepare(data, self._image_size, with_content_hash=True, max_pixels=self._max_pixels)
        except (inputs.ReadError, RejectedImage) as err:
            return err.reason, err.detail

    def emit(self, raw: RawImage, prepared) -> Iterator:
        beam.metrics.Metrics.counter(_METRICS, "images_read").inc()
        self._progress.tick()
        if raw.error:
            yield self._reject(raw, raw.error, raw.detail)
        elif raw.label not in features.LABEL_IDS:
            yield self._reject(
                raw,
                dead_letters.UNKNOWN_LABEL,
                f"label {raw.label!r} is not one of {list(features.LABEL_NAMES)}; "
                "map it with label_map in the source config",
            )
        elif not isinstance(prepared, PreparedImage):
            yield self._reject(raw, *prepared)
        else:
            yield Example(
                raw.source,
                raw.uri,
                features.LABEL_IDS[raw.label],
                prepared.pixels.tobytes(),
                prepared.sha256,
                prepared.content_hash,
                self._source_weights[raw.source],
                raw.group,
            )

    @staticmethod
    def _reject(raw: RawImage, reason: str, detail: str) -> beam.pvalue.TaggedOutput:
        beam.metrics.Metrics.counter(_METRICS, f"rejected_{reason}").inc()
        return beam.pvalue.TaggedOutput(
            REJECTED, dead_letters.ingest_record(raw.source, raw.uri, reason, detail, raw.label)
        )


def keep_one(content_hash: str, copies: Iterable[Example], winners: frozenset[str] = frozenset()) -> Iterator:
    """Deduplicate one group of identical pictures: keep the copy a person decided (from a source in `winners`:
    corrections), else the copy from the heaviest source (ingest config `weight`), then the first by (source, uri).

    Copies with different labels are all dead-lettered (`label_conflict`): which one is right is for a person
    to decide, not for a coin toss. Where a person has decided, that label stands and the other copies are
    dropped, whatever their labels (unless two decisions disagree: a conflict again).
    """
    copies = sorted(copies, key=lambda e: (e.source not in winners, -e.weight, e.source, e.uri))
    decided = [c for c in copies if c.source in winners] or copies
    if len({c.label for c in decided}) > 1:
        others = ", ".join(f"{c.uri}={features.LABEL_NAMES[c.label]}" for c in copies)
        for c in copies:
            beam.metrics.Metrics.counter(_METRICS, "rejected_label_conflict").inc()
            yield beam.pvalue.TaggedOutput(
                REJECTED,
                dead_letters.ingest_record(
                    c.source,
                    c.uri,
                    dead_letters.LABEL_CONFLICT,
                    f"same picture, different labels: {others}",
                    features.LABEL_NAMES[c.label],
                ),
            )
        return
    kept = copies[0]
    for dropped in copies[1:]:
        beam.metrics.Metrics.counter(_METRICS, "duplicates").inc()
        yield beam.pvalue.TaggedOutput(DUPLICATES, dead_letters.duplicate_record(dropped.source, dropped.uri, kept.uri))
    yield kept


class WriteSummary(beam.DoFn):
    """Writes ingest_summary.json from the counted (kind, key) pairs."""

    def __init__(self, path: str, config: IngestConfig):
        self._path = path
        self._config = config

    def process(self, counted: list[tuple[tuple[str, str], int]]) -> Iterator[dict]:
        summary = summary_from_counts(counted, self._config)
        with storage.open_write(self._path) as f:
            f.write(json.dumps(summary, indent=2, sort_keys=True).encode())
        yield summary


PER_SOURCE = ("listed", "examples", "rejected", "duplicates")  # listed = examples + rejected + duplicates


def summary_from_counts(counted: list[tuple[tuple[str, str], int]], config: IngestConfig) -> dict:
    """The summary from counted (kind, key) pairs: ("counts", "split/label"), ("groups", split): the distinct
    groups in it, (REJECTED, reason), (DUPLICATES, ""), and ("source:<what>", source name) for each of PER_SOURCE."""
    counts = {split: dict.fromkeys(features.LABEL_NAMES, 0) for split in features.SPLITS}
    groups = dict.fromkeys(features.SPLITS, 0)
    per_source = {s.name: dict.fromkeys(PER_SOURCE, 0) for s in config.sources}
    rejected: dict[str, int] = {}
    duplicates = 0
    for (kind, key), n in counted:
        if kind == "counts":
            split, label = key.split("/")
            counts[split][label] = n
        elif kind == "groups":
            groups[key] = n
        elif kind == REJECTED:
            rejected[key] = n
        elif kind == DUPLICATES:
            duplicates = n
        else:
            per_source[key][kind.split(":", 1)[1]] = n
    return {
        "per_source": per_source,
        "counts": counts,
        "groups": groups,  # distinct image groups per split (0: no source gave groups)
        "rejected": dict(sorted(rejected.items())),
        "duplicates": duplicates,
        "total_examples": sum(sum(v.values()) for v in counts.values()),
        "total_rejected": sum(rejected.values()),
        "image_size": config.image_size,
        "split_ratios": dict(zip(features.SPLITS, config.split)),
        "sources": [s.name for s in config.sources],
    }


class ValidateAndSplit(beam.PTransform):
    """RawImage records -> validated, deduplicated examples by split, with the dead letters and dropped copies.

    Output: {"examples": every kept example, "train"/"val"/"test": its split's examples, REJECTED: dead
    letters (unreadable, not an image, unknown label, label conflict ...), DUPLICATES: copies dropped}.
    """

    def __init__(self, config: IngestConfig, max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB,
                 max_pixels: int = MAX_PIXELS, read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S):
        super().__init__()
        self._config = config
        self._max_file_mb, self._max_pixels, self._read_timeout = max_file_mb, max_pixels, read_timeout

    def expand(self, records):
        config = self._config
        weights = {s.name: s.weight for s in config.sources}
        winners = frozenset(s.name for s in config.sources if s.wins_duplicates)
        validate = ValidateImage(weights, config.image_size, self._max_file_mb, max_pixels=self._max_pixels,
                                 read_timeout=self._read_timeout)
        validated = records | "Validate" >> beam.ParDo(validate).with_outputs(REJECTED, main="valid")
        deduped = (
            validated.valid
            | "KeyByContent" >> beam.Map(lambda e: (e.content_hash, e))
            | "GroupCopies" >> beam.GroupByKey()
            | "Deduplicate" >> beam.FlatMapTuple(keep_one, winners).with_outputs(REJECTED, DUPLICATES, main="unique")
        )
        splits = deduped.unique | "Split" >> beam.Partition(split_index, len(features.SPLITS), config.split)
        rejected = (validated[REJECTED], deduped[REJECTED]) | "AllRejected" >> beam.Flatten()
        by_split = dict(zip(features.SPLITS, splits))
        return {"examples": deduped.unique, **by_split, REJECTED: rejected, DUPLICATES: deduped[DUPLICATES]}


def split_index(example: Example, splits: int, ratios: tuple[float, float, float]) -> int:
    """beam.Partition's function: the example's split, by its group where it has one (so no group straddles
    train and val: val then measures unseen sources), else by its content hash."""
    return split_of(f"group:{example.group}" if example.group else example.content_hash, ratios)


def build_pipeline(
    p: beam.Pipeline,
    config: IngestConfig,
    output_dir: str,
    max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB,
    allow_outside_root: bool = False,
    max_pixels: int = MAX_PIXELS,
    read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S,
) -> None:
    """Builds the ingest graph on `p` (tests pass a TestPipeline)."""
    read = [
        p | f"Read[{i}] {s.type}: {s.name}" >> read_source(s, allow_outside_root)
        for i, s in enumerate(config.sources)
    ]
    listed = read | "Flatten" >> beam.Flatten()
    ingested = listed | "ValidateAndSplit" >> ValidateAndSplit(config, max_file_mb, max_pixels, read_timeout)
    written = _write_examples(p, ingested, config, output_dir)  # step -> what it wrote, for the manifest
    for name, records, prefix in (
        ("DeadLetters", ingested[REJECTED], features.DEAD_LETTER_PREFIX),
        ("Duplicates", ingested[DUPLICATES], features.DUPLICATES_PREFIX),
    ):
        write = beam.io.WriteToText(storage.join(output_dir, prefix), file_name_suffix=features.JSONL_SUFFIX)
        written[name] = records | f"{name}Json" >> beam.Map(json.dumps, sort_keys=True) | f"Write{name}" >> write
    written["Summary"] = _write_summary(listed, ingested, config, output_dir)
    _ = (
        p
        | "ManifestSeed" >> beam.Create([output_dir])
        | "WriteManifest" >> beam.Map(write_manifest, **{k: beam.pvalue.AsList(v) for k, v in written.items()})
    )


def _write_examples(p: beam.Pipeline, ingested: dict, config: IngestConfig, output_dir: str) -> dict:
    """Each split's TFRecords, and tf.Transform's graph analysed on the train split."""
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    from transforms.preprocessing import RAW_FEATURE_SPEC, preprocessing_fn

    raw_metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_FEATURE_SPEC))
    encode = tft.coders.ExampleProtoCoder(raw_metadata.schema)
    written = {}
    for name in features.SPLITS:
        written[name] = (
            ingested[name]
            | f"Encode[{name}]" >> beam.Map(lambda e: encode.encode(e.raw_features()))
            | f"WriteTFRecords[{name}]" >> beam.io.WriteToTFRecord(
                storage.join(output_dir, features.TFRECORD_DIR, name, "part"),
                file_name_suffix=features.TFRECORD_SUFFIX,
                compression_type=beam.io.filesystem.CompressionTypes.GZIP,
            )
        )
    transform_dir = storage.join(output_dir, features.TRANSFORM_DIR)
    with tft_beam.Context(temp_dir=storage.join(output_dir, "tmp"), desired_batch_size=64):
        train = ingested[features.TRAIN] | "RawFeatures[train]" >> beam.Map(Example.raw_features)
        transform = functools.partial(preprocessing_fn, image_size=config.image_size)
        transform_fn = (train, raw_metadata) | "AnalyzeTrain" >> tft_beam.AnalyzeDataset(transform)
        written["TransformFn"] = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(transform_dir)
        raw_metadata_dir = storage.join(transform_dir, tft.TFTransformOutput.RAW_METADATA_DIR)
        written["RawMetadata"] = raw_metadata | "WriteRawMetadata" >> tft_beam.WriteMetadata(raw_metadata_dir, p)
    return written


def _write_summary(listed, ingested: dict, config: IngestConfig, output_dir: str):
    """ingest_summary.json, from (kind, key) pairs counted over every output (see summary_from_counts)."""
    counted = [
        ingested[name] | f"CountKey[{name}]" >> beam.Map(count_key_of_example, name) for name in features.SPLITS
    ]
    counted += [
        ingested[name]
        | f"Groups[{name}]" >> beam.FlatMap(lambda e: [e.group] if e.group else [])
        | f"DistinctGroups[{name}]" >> beam.Distinct()
        | f"CountKeyGroups[{name}]" >> beam.Map(lambda _, name: ("groups", name), name)
        for name in features.SPLITS
    ]
    counted += [
        ingested[REJECTED] | "CountKeyRejected" >> beam.Map(lambda r: (REJECTED, r["reason"])),
        ingested[DUPLICATES] | "CountKeyDuplicates" >> beam.Map(lambda d: (DUPLICATES, "")),
    ]
    for what, records in zip(PER_SOURCE, (listed, ingested["examples"], ingested[REJECTED], ingested[DUPLICATES])):
        counted.append(records | f"CountKeySource[{what}]" >> beam.Map(count_key_of_source, what))
    return (
        counted
        | "FlattenCounts" >> beam.Flatten()
        | "Count" >> beam.combiners.Count.PerElement()
        | "Gather" >> beam.combiners.ToList()
        | "WriteSummary" >> beam.ParDo(WriteSummary(storage.join(output_dir, features.SUMMARY_FILE), config))
    )


def count_key_of_example(example: Example, split: str) -> tuple[str, str]:
    """("counts", "<split>/<label>"): what summary_from_counts counts per split and label."""
    return "counts", f"{split}/{features.LABEL_NAMES[example.label]}"


def count_key_of_source(record: Union[RawImage, Example, dict], what: str) -> tuple[str, str]:
    """("source:<what>", source name) for a listed record, an example or a dead-letter/duplicate line."""
    return f"source:{what}", record["source"] if isinstance(record, dict) else record.source


def write_manifest(output_dir: str, **written: list) -> None:
    """Last step: `_SUCCESS` lists the TFRecord shards this run wrote (JSON); readers take only those, so
    shards left by an earlier run into the same folder are never mixed in. Its side inputs make it wait
    for every other write."""
    shards = {split: sorted(posixpath.relpath(f, output_dir) for f in written[split]) for split in features.SPLITS}
    with storage.open_write(storage.join(output_dir, features.MANIFEST_FILE)) as f:
        f.write(json.dumps({"tfrecords": shards}, indent=2, sort_keys=True).encode())


def log_summary(summary: dict) -> None:
    """A readable table of what ingest produced."""
    lines = [f"{'split':<6} " + " ".join(f"{label:>10}" for label in features.LABEL_NAMES)]
    for split, by_label in summary["counts"].items():
        lines.append(f"{split:<6} " + " ".join(f"{by_label[label]:>10}" for label in features.LABEL_NAMES))
    if any(summary["groups"].values()):
        lines.append("groups: " + ", ".join(f"{split}={n}" for split, n in summary["groups"].items())
                     + " (a group's images share one split)")
    lines.append(f"duplicates removed: {summary['duplicates']}")
    lines.append("rejected: " + (", ".join(f"{k}={v}" for k, v in summary["rejected"].items()) or "none"))
    logging.info("Ingest summary\n%s", "\n".join(lines))


def parse_args(argv: Optional[list[str]]) -> tuple[argparse.Namespace, list[str]]:
    """(ingest's own flags, the Beam options)."""
    parser = options.parser("ingest", __doc__.split("\n\n")[0], beam=True)
    parser.add_argument("--config", action="append", default=None,
                        help="The ingest YAML: sources, split, image_size (default: configs/ingest.yaml). Repeat it "
                             "to add the sources of more files (a corrections source, say): the first gives "
                             "image_size and split.")
    parser.add_argument("--output_dir", default=None, help="Where TFRecords, the transform graph, dead letters and "
                                                           "the summary go (default: $BASE_DIR/ingest).")
    options.add_input_limits(parser)
    options.add_read_timeout(parser)
    args, beam_args = options.parse_with_beam(parser, argv)
    args.config = args.config or [DEFAULT_CONFIG]
    return args, beam_args


def run(argv: Optional[list[str]] = None) -> dict:
    """Parse options, run the pipeline to completion, return the summary."""
    args, beam_args = parse_args(argv)
    cli.setup_logging(args.debug)
    config = load_configs(args.config)
    output_dir = args.output_dir or storage.join(cli.base_dir(), "ingest")
    storage.check_writable(storage.join(output_dir, ""), "--output_dir")  # one line and exit 1, not a traceback
    logging.info("Ingesting %d source(s) into %s (image_size=%d)", len(config.sources), output_dir, config.image_size)
    with runners.pipeline(PipelineOptions(beam_args)) as p:
        build_pipeline(p, config, output_dir, args.max_file_mb, args.allow_outside_root, args.max_pixels,
                       args.read_timeout)
    cli.finish_progress()
    summary = json.loads(storage.read_bytes(storage.join(output_dir, features.SUMMARY_FILE)))
    log_summary(summary)
    return summary


if __name__ == "__main__":
    cli.main("pipelines.ingest")

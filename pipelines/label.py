"""Label: Beam RunInference over a folder, bucket or Pub/Sub subscription -> JSONL.

Batch:      Pattern -> List -> Spread -> Label -> WriteResults (sharded JSONL), WriteDeadLetters;
            counts -> WriteSummary (PREFIX.summary.json)
Streaming:  WatchFiles -> KeyByPath -> NewVersions -> NotYetLabelled | ReadPubSub -> ImageUris, then Label
            -> WriteResults, WriteDeadLetters[<branch>] (a small JSONL file per bundle)
Label:      ReadAndPrepare (decode once, a thread per core) -> RunInference -> ToResult
Every listed file that is not labelled goes to PREFIX.rejected-*.jsonl with its reason.
Command line: `python -m pipelines.label --help`, README.
"""
import argparse
import dataclasses
import hashlib
import json
import logging
import math
import operator
import os
import time
from datetime import datetime, timezone
from typing import Iterator, NamedTuple, Optional, Union

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.ml.inference.base import KeyedModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from core import dead_letters, features, runs, storage
from core.dead_letters import REJECTED
from models.inference import InferenceError, SavedModelHandler
from pipelines import cli, inputs, options, runners
from pipelines.threaded import ThreadPoolDoFn
from transforms.image import PreparedImage, RejectedImage, prepare

MAX_MESSAGE_BYTES = 64 * 1024  # a Pub/Sub payload naming one image is far smaller
_METRICS = "chart_sifter.label"
PUBSUB_PREFIX = "projects/"


class ImageKey(NamedTuple):
    """What travels through RunInference beside the image bytes."""

    uri: str
    sha256: str
    width: int
    height: int


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    run_dir: str
    model_type: str
    run_id: str
    threshold: float
    image_size: int
    review_band: tuple[float, float] = (0.0, 0.0)  # [low, high): scores inside go to a person

    def verdict(self, score: float) -> dict:
        """The fields every answer about one image carries (JSONL results and /predict alike); label and review
        follow from the score as written (6 decimals), so a reader can recompute them."""
        score = round(score, 6)
        label = features.CHART if score >= self.threshold else features.NON_CHART
        review = self.review_band[0] <= score < self.review_band[1]
        return {"label": label, "score": score, "review": review, "model_type": self.model_type,
                "run_id": self.run_id}


def input_pattern(source: str) -> str:
    """A folder becomes a recursive pattern; globs and URIs pass through."""
    if source.endswith("/") or (("://" not in source) and os.path.isdir(source)):
        return storage.join(source.rstrip("/"), "**")
    return source


def _dead_letter(uri: str, reason: str, detail: str) -> dict:
    """One dead-letter record (a JSONL line of PREFIX.rejected-*.jsonl), counted."""
    beam.metrics.Metrics.counter(_METRICS, f"rejected_{reason}").inc()
    return dead_letters.label_record(uri, reason, detail, _now())


def _reject(uri: str, reason: str, detail: str) -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(REJECTED, _dead_letter(uri, reason, detail))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ReadAndPrepare(ThreadPoolDoFn):
    """uri -> (ImageKey, the model's input pixels as raw RGB bytes), or a dead letter.

    Reading, decoding and resizing run on a thread per core (see pipelines.threaded); each file is
    decoded once, by `transforms.image.prepare`, the function ingest prepares training images with.
    Two model batches are in flight, so the threads decode the next batch while the model scores one
    (with the default 16 they sat idle during scoring: 8-10% fewer images/s, README, Performance).
    """

    def __init__(self, image_size: int, threads: int = 0, max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB,
                 batch_size: int = 64):
        super().__init__(threads, in_flight=2 * batch_size)
        self._image_size = image_size
        self._max_bytes = inputs.megabytes(max_file_mb)

    def work(self, listed: inputs.Listed) -> Union[PreparedImage, tuple[str, str]]:
        """The prepared image, or (reason, detail) of why not."""
        if listed.error:
            return listed.error, listed.detail
        try:
            return prepare(inputs.read_bounded(listed.uri, self._max_bytes), self._image_size)
        except (inputs.ReadError, RejectedImage) as err:
            return err.reason, err.detail

    def emit(self, listed: inputs.Listed, prepared) -> Iterator:
        beam.metrics.Metrics.counter(_METRICS, "images_read").inc()
        if isinstance(prepared, PreparedImage):
            yield ImageKey(listed.uri, prepared.sha256, prepared.width, prepared.height), prepared.pixels.tobytes()
        else:
            yield _reject(listed.uri, *prepared)


class ToResult(beam.DoFn):
    """(ImageKey, PredictionResult) -> the JSONL result object; counts labels and logs progress."""

    def __init__(self, model: ModelInfo):
        self._model = model

    def setup(self):
        self._progress = cli.Progress("images labelled")

    def process(self, element: tuple[ImageKey, PredictionResult]) -> Iterator:
        key, prediction = element
        if isinstance(prediction.inference, InferenceError):
            yield _reject(key.uri, dead_letters.MODEL_ERROR, prediction.inference)
            return
        verdict = self._model.verdict(float(prediction.inference))
        beam.metrics.Metrics.counter(_METRICS, f"labelled_{verdict['label']}").inc()
        if verdict["review"]:
            beam.metrics.Metrics.counter(_METRICS, "labelled_review").inc()
        self._progress.tick()
        yield {
            "uri": key.uri,
            **verdict,
            "sha256": key.sha256,
            "width": key.width,
            "height": key.height,
            "labeled_at": _now(),
        }


class CopyInto(beam.DoFn):
    """--sort_into: copy each image to DIR/<label>/<sha256 prefix>_<name> (DIR/review/ for scores in the review
    band); an existing copy is left alone.

    Only the bytes that were labelled are copied (a file changed since is a dead letter,
    `changed_since_labelled`), through a temporary name so a half-written copy never shows;
    a copy that fails is a dead letter (`sort_failed`), not a failed job.
    """

    def __init__(self, root: str, max_file_mb: float):
        self._root = root
        self._max_bytes = inputs.megabytes(max_file_mb)

    def process(self, result: dict) -> Iterator:
        name = f"{result['sha256'][:12]}_{os.path.basename(result['uri'].rstrip('/')) or 'image'}"
        target = storage.join(self._root, features.REVIEW if result["review"] else result["label"], name)
        try:
            if storage.exists(target):
                return
            data = inputs.read_bounded(result["uri"], self._max_bytes)
            if hashlib.sha256(data).hexdigest() != result["sha256"]:
                yield _dead_letter(
                    result["uri"],
                    dead_letters.CHANGED_SINCE_LABELLED,
                    f"not copied to {target}: the file changed after it was labelled",
                )
                return
            storage.write_atomically(target, data)
        except Exception as err:  # any filesystem's error
            yield _dead_letter(
                result["uri"], dead_letters.SORT_FAILED, f"copy to {target} failed: {type(err).__name__}: {err}"
            )
            return
        beam.metrics.Metrics.counter(_METRICS, "sorted_into").inc()


class NewVersions(beam.DoFn):
    """Streaming over files, keyed by path: a file is labelled when first seen and again when its
    (size, mtime) changes, so a file still being written when listed is labelled once complete and an
    overwritten file is relabelled."""

    VERSION = ReadModifyWriteStateSpec("version", StrUtf8Coder())

    def process(
        self, element: tuple[str, tuple[inputs.Listed, str]], version=beam.DoFn.StateParam(VERSION)
    ) -> Iterator[inputs.Listed]:
        listed, current = element[1]
        if version.read() != current:
            version.write(current)
            yield listed


class WriteBundleFiles(beam.DoFn):
    """Streaming sink: each bundle's lines land in PREFIX-<key>.jsonl within seconds (works on every
    filesystem, object stores included, where appending is impossible). The name is a hash of the
    bundle's (uri, sha256 or reason) keys, so a retried bundle rewrites its file instead of adding one."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def start_bundle(self):
        self._records = []

    def process(self, record: dict) -> None:
        self._records.append(record)

    def finish_bundle(self):
        if self._records:
            keys = sorted(f"{r['uri']}\0{r.get('sha256') or r.get('reason')}" for r in self._records)
            name = hashlib.sha256(chr(1).join(keys).encode()).hexdigest()[:20]
            lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self._records)
            storage.write_atomically(f"{self._prefix}-{name}{features.JSONL_SUFFIX}", lines.encode())
            self._records = []


def uris_from_message(message, allowed_prefixes: tuple[str, ...] = ()) -> Iterator[inputs.Listed]:
    """A Pub/Sub message -> the image to label, or a dead letter (`bad_message`, `not_allowed`).

    A GCS notification (attributes bucketId/objectId, or a JSON payload with bucket/name) names its
    object; other events (deletes, metadata) are skipped. A plain URI payload is read only under an
    --allowed_prefix; with prefixes given, notifications must fall under them too. So a message can
    never make a worker read local files, other buckets or http URLs the operator did not allow.
    """
    where = f"pubsub:{getattr(message, 'message_id', None) or 'message'}"
    attributes = dict(message.attributes or {})
    if attributes.get("eventType") and attributes["eventType"] != "OBJECT_FINALIZE":
        beam.metrics.Metrics.counter(_METRICS, "pubsub_ignored_events").inc()
        return
    data = message.data or b""
    if len(data) > MAX_MESSAGE_BYTES:
        yield inputs.Listed(where, dead_letters.BAD_MESSAGE, f"payload of {len(data)} bytes (over {MAX_MESSAGE_BYTES})")
        return
    payload = data.decode("utf-8", errors="replace").strip()
    uri, notified = _uri_in(attributes, payload)
    if not uri:
        yield inputs.Listed(where, dead_letters.BAD_MESSAGE, f"neither a GCS notification nor a URI: {payload[:200]!r}")
        return
    own_object = notified and not allowed_prefixes and "/../" not in f"{uri}/"  # what a notification names
    if inputs.under_prefix(uri, allowed_prefixes) or own_object:
        yield inputs.Listed(uri)
    else:
        detail = f"outside the allowed prefixes {list(allowed_prefixes)} (--allowed_prefix)"
        yield inputs.Listed(uri, dead_letters.NOT_ALLOWED, detail)


def _uri_in(attributes: dict, payload: str) -> tuple[Optional[str], bool]:
    """(the URI a message names, whether it came from a GCS notification)."""
    if attributes.get("bucketId") and attributes.get("objectId"):
        return f"gs://{attributes['bucketId']}/{attributes['objectId']}", True
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, or nested beyond reason
        body = None
    if isinstance(body, dict):
        bucket, name = body.get("bucket"), body.get("name")
        if isinstance(bucket, str) and isinstance(name, str) and bucket and name:
            return f"gs://{bucket}/{name}", True
        return None, False
    return (payload, False) if payload and body is None and "\n" not in payload else (None, False)


def write_run_summary(counted: list[tuple[tuple[str, str], int]], path: str, input_: str, model: ModelInfo) -> dict:
    """PREFIX.summary.json of a batch run: what was listed and what became of it
    (listed = labelled + rejected; `not_sorted` counts labelled images whose --sort_into copy failed)."""
    summary = {
        "input": input_,
        "listed": 0,
        "labelled": dict.fromkeys(features.LABEL_NAMES, 0),
        "rejected": {},
        "not_sorted": {},
        "model_type": model.model_type,
        "run_id": model.run_id,
        "threshold": model.threshold,
        "review_band": list(model.review_band),
        "review": 0,
        "finished_at": _now(),
    }
    for (kind, key), n in sorted(counted):
        if kind in ("listed", "review"):
            summary[kind] = n
        else:
            summary[kind][key] = n
    with storage.open_write(path) as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True).encode())
    return summary


def _read_jsonl(pattern: str) -> list[dict]:
    """Every record in the files matching `pattern`; a line cut short (a writer killed mid-line) is skipped."""
    records = []
    for path in storage.match(pattern):
        for line in filter(str.strip, storage.read_bytes(path).decode("utf-8", errors="replace").splitlines()):
            try:
                records.append(json.loads(line))
            except ValueError:
                logging.warning("Skipping a line that is not JSON in %s: %.80s", path, line)
    return records


def read_results(output: str) -> tuple[list[dict], list[dict]]:
    """(results, dead letters) written under an output prefix, on any filesystem; each sorted by uri, since
    the order lines were written in depends on the runner."""
    by_uri = operator.itemgetter("uri")
    results = _read_jsonl(f"{output}-*{features.JSONL_SUFFIX}")
    rejected = _read_jsonl(f"{output}{features.DEAD_LETTER_INFIX}-*{features.JSONL_SUFFIX}")
    return sorted(results, key=by_uri), sorted(rejected, key=by_uri)


def already_labelled(output: str) -> set[str]:
    """URIs present in earlier results under the output prefix (restart safety for streaming)."""
    return {r["uri"] for r in _read_jsonl(f"{output}-*{features.JSONL_SUFFIX}")}


def load_model_info(model_dir: Optional[str], threshold: Optional[float] = None,
                    review_band: Optional[tuple[float, float]] = None) -> ModelInfo:
    """The checked model (None: the shipped one), with --threshold / --review_band over its recorded ones."""
    from models.export import check_run_dir  # TensorFlow: at launch only, never on a worker's import

    run_dir = runs.resolve_model_dir(model_dir)
    metadata = check_run_dir(run_dir)
    band = review_band or tuple(metadata.get(runs.REVIEW_BAND_KEY) or (0.0, 0.0))
    return ModelInfo(
        run_dir,
        metadata["model_type"],
        metadata["run_id"],
        metadata["threshold"] if threshold is None else threshold,
        metadata["image_size"],
        (float(band[0]), float(band[1])),
    )


def check_options(args: argparse.Namespace, streaming: bool) -> None:
    """Refuse, before any work, what cannot run: values out of range, a batch input with no files."""
    for name, value, low in (
        ("duration", args.duration, 0),
        ("poll_interval", args.poll_interval, 0),
        ("max_file_mb", args.max_file_mb, 0),
        ("batch_size", args.batch_size, 0),
        ("decode_threads", args.decode_threads, -1),
    ):
        if value is not None and not (math.isfinite(value) and value > low):
            raise ValueError(f"--{name} must be a number above {low}, got {value}")
    storage.check_writable(args.output, "--output")
    if args.input.startswith(PUBSUB_PREFIX):
        return
    if not streaming and next(inputs.list_files(input_pattern(args.input)), None) is None:
        raise ValueError(
            f"--input {args.input} matches no files (a folder, a glob such as 'dir/*.png', or a gs:// pattern)"
        )
    watched = input_pattern(args.input).split("*", 1)[0]
    for name, path in (("output", args.output), ("sort_into", args.sort_into)):
        if path and _inside(path, watched):
            raise ValueError(
                f"--{name} {path} is inside --input {args.input}: its files would be read as input; put it elsewhere"
            )


def _keyed_version(match) -> tuple[str, tuple[inputs.Listed, str]]:
    """A watched file's FileMetadata -> (path, (its Listed record, "size:mtime")) for NewVersions."""
    listed = inputs.named(match.path)
    return listed.uri, (listed, f"{match.size_in_bytes}:{match.last_updated_in_seconds}")


def _inside(path: str, folder: str) -> bool:
    """Whether `path` (a file prefix or folder) lies under `folder`, on local paths and URIs alike."""
    if "://" in path or "://" in folder:
        return path.rstrip("/").startswith(folder.rstrip("/") + "/")
    folder = os.path.realpath(folder)
    return os.path.commonpath([os.path.realpath(path), folder]) == folder


class LabelImages(beam.PTransform):
    """Listed files -> result objects, and the dead letters of files that could not be read or scored.

    Output: {"results": one JSONL result object per labelled image, "Unreadable": dead letters of files that
    are not images the model can take, "Refused": dead letters of images the model refused (model_error)}.
    """

    def __init__(self, model: ModelInfo, batch_size: int = 64, decode_threads: int = 0,
                 max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB, streaming: bool = False):
        super().__init__()
        self._model = model
        self._read = ReadAndPrepare(model.image_size, decode_threads, max_file_mb, batch_size)
        # Batch runs give the model full batches (Beam's adaptive batching would start at 1-2 images);
        # streaming runs label whatever has arrived.
        min_batch = 1 if streaming else batch_size
        self._handler = KeyedModelHandler(SavedModelHandler(model.run_dir, min_batch, batch_size))

    def expand(self, listed):
        prepared = listed | "ReadAndPrepare" >> beam.ParDo(self._read).with_outputs(REJECTED, main="images")
        scored = (
            prepared.images
            | "RunInference" >> RunInference(self._handler)
            | "ToResult" >> beam.ParDo(ToResult(self._model)).with_outputs(REJECTED, main="results")
        )
        return {"results": scored.results, "Unreadable": prepared[REJECTED], "Refused": scored[REJECTED]}


def build_pipeline(
    p: beam.Pipeline, args: argparse.Namespace, streaming: bool, model: ModelInfo, stop_after: Optional[float] = None
):
    """Builds the labelling graph on `p`; returns the results PCollection."""
    listed = _listed_files(p, args, streaming, stop_after)
    labelled = listed | "Label" >> LabelImages(model, args.batch_size, args.decode_threads, args.max_file_mb, streaming)
    results = labelled["results"]
    rejected = {name: labelled[name] for name in ("Unreadable", "Refused")}
    if args.sort_into:
        rejected["NotSorted"] = results | "SortInto" >> beam.ParDo(CopyInto(args.sort_into, args.max_file_mb))
    dead_letter_prefix = args.output + features.DEAD_LETTER_INFIX
    if streaming:  # one writer per branch: a Flatten would hold dead letters back until the run ends
        _ = results | "WriteResults" >> beam.ParDo(WriteBundleFiles(args.output))
        for name, pcoll in rejected.items():
            _ = pcoll | f"WriteDeadLetters[{name}]" >> beam.ParDo(WriteBundleFiles(dead_letter_prefix))
        return results
    all_rejected = list(rejected.values()) | "AllRejected" >> beam.Flatten()
    for name, pcoll, prefix in (("Results", results, args.output), ("DeadLetters", all_rejected, dead_letter_prefix)):
        _ = (
            pcoll
            | f"Json{name}" >> beam.Map(json.dumps, sort_keys=True)
            | f"Write{name}" >> beam.io.WriteToText(prefix, file_name_suffix=features.JSONL_SUFFIX)
        )
    counted = [
        listed | "CountListed" >> beam.Map(lambda _: ("listed", "")),
        results | "CountLabelled" >> beam.Map(lambda r: ("labelled", r["label"])),
        results
        | "Reviewed" >> beam.Filter(lambda r: r["review"])
        | "CountReview" >> beam.Map(lambda _: ("review", "")),
    ]
    for name, pcoll in rejected.items():
        kind = "not_sorted" if name == "NotSorted" else "rejected"
        counted.append(pcoll | f"Count{name}" >> beam.Map(lambda r, kind: (kind, r["reason"]), kind))
    summary = args.output + features.LABEL_SUMMARY_SUFFIX
    _ = (
        counted
        | "FlattenCounts" >> beam.Flatten()
        | "Count" >> beam.combiners.Count.PerElement()
        | "Gather" >> beam.combiners.ToList()
        | "WriteSummary" >> beam.Map(write_run_summary, summary, args.input, model)
    )
    return results


def _listed_files(p: beam.Pipeline, args: argparse.Namespace, streaming: bool, stop_after: Optional[float]):
    """What to label, as inputs.Listed records: from Pub/Sub messages, a watched folder or bucket, or a listing."""
    if args.input.startswith(PUBSUB_PREFIX):
        return (
            p
            | "ReadPubSub" >> beam.io.ReadFromPubSub(subscription=args.input, with_attributes=True)
            | "ImageUris" >> beam.FlatMap(uris_from_message, tuple(args.allowed_prefix or ()))
        )
    if streaming:
        from apache_beam.io import fileio
        from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

        stop = Timestamp.now() + stop_after if stop_after else MAX_TIMESTAMP
        done = already_labelled(args.output)
        watch = fileio.MatchContinuously(
            input_pattern(args.input), interval=args.poll_interval, has_deduplication=False, stop_timestamp=stop
        )
        return (
            p
            | "WatchFiles" >> watch
            | "KeyByPath" >> beam.Map(_keyed_version)
            | "NewVersions" >> beam.ParDo(NewVersions())
            | "NotYetLabelled" >> beam.Filter(lambda listed: listed.uri not in done)
        )
    return (
        p
        | "Pattern" >> beam.Create([input_pattern(args.input)])
        | "List" >> beam.FlatMap(inputs.list_files, allow_outside_root=args.allow_outside_root)
        | "Spread" >> beam.Reshuffle()  # batch only: on the DirectRunner a shuffle holds streams back
    )


def parse_args(argv: Optional[list[str]]) -> tuple[argparse.Namespace, list[str]]:
    """(label's own flags, the Beam options); --streaming is both (Beam runs the pipeline as a stream)."""
    parser = options.parser("label", __doc__.split("\n\n")[0], beam=True)
    options.add_model(parser)
    parser.add_argument("--input", required=True, help="A folder, a glob, a gs:// (any Beam filesystem) pattern, "
                                                       "or a Pub/Sub subscription projects/P/subscriptions/S.")
    parser.add_argument("--output", required=True, help="Output prefix: results go to PREFIX-*.jsonl, "
                                                        "dead letters to PREFIX.rejected-*.jsonl.")
    parser.add_argument("--streaming", action="store_true", help="Watch the folder or bucket for new files, or "
                                                                 "read the subscription, until --duration or Ctrl-C.")
    parser.add_argument("--sort_into", default=None, help="Also copy each image into DIR/chart/ or DIR/non_chart/.")
    parser.add_argument("--duration", type=float, default=None,
                        help="Streaming: stop cleanly after this many seconds (default: run until Ctrl-C).")
    parser.add_argument("--poll_interval", type=float, default=1.0,
                        help="Streaming over files: seconds between listings (each is one list call on a bucket).")
    options.add_batching(parser)
    options.add_input_limits(parser)
    parser.add_argument("--allowed_prefix", action="append", default=None,
                        help="Pub/Sub: read image URIs only under this prefix (repeatable, e.g. gs://bucket/uploads/). "
                             "Without one, only GCS notifications' own objects are read.")
    args, beam_args = parser.parse_known_args(argv)
    return args, beam_args + (["--streaming"] if args.streaming else [])


def run(argv: Optional[list[str]] = None) -> Optional[object]:
    """Parse options, build and run; streaming runs stop after --duration or on Ctrl-C."""
    args, beam_args = parse_args(argv)
    cli.setup_logging(args.debug)
    pipeline_options = PipelineOptions(beam_args)
    streaming = pipeline_options.view_as(StandardOptions).streaming
    check_options(args, streaming)
    model = load_model_info(args.model_dir, args.threshold, args.review_band)
    logging.info(
        "Labelling %s with %s run %s (threshold %.3f) -> %s-*.jsonl",
        args.input,
        model.model_type,
        model.run_id,
        model.threshold,
        args.output,
    )
    p = runners.pipeline(pipeline_options)
    build_pipeline(p, args, streaming, model, stop_after=args.duration)
    result = p.run()
    try:
        if streaming and args.duration and args.input.startswith(PUBSUB_PREFIX):
            _cancel_after(result, args.duration)  # a subscription never ends by itself
        else:
            result.wait_until_finish()  # batch, or file watching up to its stop timestamp
    except KeyboardInterrupt:
        logging.info("Stopping (Ctrl-C): every result labelled so far is already written.")
        result.cancel()
        raise  # exit code 130
    _log_counters(result)
    if str(result.state) == "FAILED":  # a streaming run cancelled after --duration can have failed before
        raise RuntimeError("the labelling pipeline failed; see the errors above")
    return result


def _cancel_after(result, seconds: float) -> None:
    """Let a streaming run go for `seconds`, then cancel it (already-written results stay).
    On the DirectRunner, cancel waits for the Pub/Sub pull in flight (up to ~30 s)."""
    from apache_beam.runners.runner import PipelineState

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not PipelineState.is_terminal(result.state):
        time.sleep(0.5)
    if not PipelineState.is_terminal(result.state):
        logging.info("Duration reached: stopping the streaming run.")
        result.cancel()


def _log_counters(result) -> None:
    try:
        counters = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(_METRICS))["counters"]
    except Exception:  # the DaskRunner reports none; other runners none after cancel
        return
    totals = {c.key.metric.name: c.committed for c in counters}
    logging.info("Label counters: %s", ", ".join(f"{k}={v}" for k, v in sorted(totals.items())) or "none")


if __name__ == "__main__":
    cli.main("pipelines.label")

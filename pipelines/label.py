"""Label: Beam RunInference over a folder, bucket or Pub/Sub subscription -> JSONL.

Batch:      Pattern -> List -> Spread -> Label -> WriteResults (sharded JSONL), WriteDeadLetters;
            counts -> WriteSummary (PREFIX.summary.json)
Streaming:  WatchFiles -> KeyByPath -> NewVersions -> NotYetLabelled | Tick -> PullMessages, then Label
            -> WriteResults, WriteDeadLetters[<branch>] (a small JSONL file per bundle; Pub/Sub acked once written)
Label:      ReadAndPrepare (decode once, a thread per core) -> RunInference -> ToResult (pipelines.labelling)
Every listed file that is not labelled goes to PREFIX.rejected-*.jsonl with its reason.
Command line: `python -m pipelines.label --help`, README.
"""
import _thread
import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
from typing import Optional

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from core import features, inputs, results, storage
from models.run import LoadedRun
from pipelines import cli, options, pubsub, runners
from pipelines.labelling import CopyInto, LabelImages
from pipelines.streaming import NewVersions, WriteBundleFiles, keyed_version
from transforms.image import MAX_PIXELS

COUNTER_RECURSION = 20_000  # Python frames a long streaming run's counters need to be read back


@dataclasses.dataclass(frozen=True)
class LabelOptions:
    """What to label and where the answers go (label's own flags; the runner's are Beam's)."""

    input: str  # a folder, glob, URI pattern, or a Pub/Sub subscription
    output: str  # results PREFIX-*.jsonl, dead letters PREFIX.rejected-*.jsonl, batch summary PREFIX.summary.json
    streaming: bool = False
    sort_into: Optional[str] = None
    duration: Optional[float] = None  # streaming: stop after this many seconds
    poll_interval: float = 1.0
    batch_size: int = 64
    decode_threads: int = 0
    max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB
    max_pixels: int = MAX_PIXELS
    allow_outside_root: bool = False
    read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S  # seconds a remote read may go unanswered
    allowed_prefix: tuple[str, ...] = ()
    allowed_bucket: tuple[str, ...] = ()  # Pub/Sub: buckets whose GCS notifications are read
    ack_deadline: float = pubsub.DEFAULT_ACK_DEADLINE_S  # Pub/Sub: seconds a pulled message is held
    model_check_interval: float = options.DEFAULT_MODEL_CHECK_S  # streaming: seconds between looks for a new run
    folders: tuple[str, ...] = ()  # batch: label only these subfolders of `input` (evaluate: chart, non_chart)
    overwrite: bool = False  # batch: replace what an earlier run left under `output` (else such an output is refused)

    @classmethod
    def from_args(cls, args: argparse.Namespace, streaming: bool) -> "LabelOptions":
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                  if f.name not in ("streaming", "folders")}
        return cls(**{**values, "allowed_prefix": tuple(args.allowed_prefix or ()),
                      "allowed_bucket": tuple(args.allowed_bucket or ())}, streaming=streaming)

    @property
    def reads_pubsub(self) -> bool:
        return self.input.startswith(pubsub.SUBSCRIPTION_PREFIX)

    @property
    def patterns(self) -> list[str]:
        """What a batch run lists: `input`, or each of its `folders` that exists (on object stores: each)."""
        if not self.folders:
            return [inputs.input_pattern(self.input)]
        folders = [storage.join(self.input.rstrip("/"), folder) for folder in self.folders]
        return [inputs.input_pattern(f + "/") for f in folders if "://" in f or os.path.isdir(f)]


def check_options(opts: LabelOptions, names: Optional[dict[str, str]] = None) -> None:
    """Refuse, before any work, what cannot run: values out of range, an output or --sort_into that cannot be
    written, a batch input with no files. `names`: how messages name a field and its value, for a command that
    labels under other flags (evaluate: {"input": "--data_dir DIR", "output": "--output_dir DIR"})."""
    def named(field: str) -> str:
        return (names or {}).get(field) or f"--{field} {getattr(opts, field)}"

    for name in ("duration", "poll_interval", "model_check_interval", "ack_deadline", "read_timeout", "max_file_mb",
                 "max_pixels", "batch_size", "decode_threads"):
        value, low = getattr(opts, name), -1 if name == "decode_threads" else 0
        if value is not None and not (math.isfinite(value) and value > low):
            raise ValueError(f"--{name} must be a number above {low}, got {value}")
    if opts.folders and (opts.streaming or opts.reads_pubsub):
        raise ValueError("labelling only some folders of the input is a batch run's option")
    if not opts.ack_deadline <= pubsub.MAX_ACK_DEADLINE_S:
        raise ValueError(f"--ack_deadline must be at most {pubsub.MAX_ACK_DEADLINE_S} s (Pub/Sub's limit), "
                         f"got {opts.ack_deadline}")
    if opts.overwrite and (opts.streaming or opts.reads_pubsub):
        raise ValueError("--overwrite is a batch run's option: a streaming run adds to what --output holds and "
                         "skips the images already there")
    earlier = [] if opts.streaming or opts.reads_pubsub or opts.overwrite else results.run_files(opts.output)
    if earlier:
        raise ValueError(f"{named('output')} holds an earlier run's files ({_shown(earlier)}): pass --overwrite to "
                         "replace them, or choose another --output (one prefix holds one run's results)")
    _check_writable(opts.output, named("output"))
    if opts.sort_into:  # else every copy fails on the workers: rc 0 and rejected sort_failed for each image
        _check_writable(storage.join(opts.sort_into, ""), named("sort_into"))
    if opts.reads_pubsub:
        if not (opts.allowed_prefix or opts.allowed_bucket):
            raise ValueError(f"{named('input')} is a subscription: name what its messages may make this job read, "
                             "--allowed_bucket BUCKET (its GCS notifications) and/or --allowed_prefix PREFIX "
                             "(URIs and paths under it)")
        return
    if not opts.streaming and not any(next(inputs.list_files(p), None) for p in opts.patterns):
        raise ValueError(
            f"{named('input')} matches no files (a folder, a glob such as 'dir/*.png', or a gs:// pattern)"
        )
    watched = [pattern.split("*", 1)[0] for pattern in opts.patterns]
    for name, path in (("output", opts.output), ("sort_into", opts.sort_into)):
        if path and any(inputs.inside(path, folder) for folder in watched):
            raise ValueError(
                f"{named(name)} is inside {named('input')}: its files would be read as input; put it elsewhere"
            )


def _shown(paths: list[str], most: int = 3) -> str:
    return ", ".join(paths[:most]) + (f" and {len(paths) - most} more" if len(paths) > most else "")


def remove_earlier_run(output: str) -> None:
    """Remove what earlier runs left under a batch run's output prefix (core.results.run_files), so its results are
    never read beside another run's: Beam replaces only shards with its own shard count."""
    earlier = results.run_files(output)
    if not earlier:
        return
    logging.info("--overwrite: removing %d file(s) of an earlier run under %s (%s)", len(earlier), output,
                 _shown(earlier))
    for path in earlier:
        storage.delete(path)
    for folder in {os.path.dirname(path) for path in earlier if "://" not in path}:
        if os.path.basename(folder).startswith("beam-temp-"):
            shutil.rmtree(folder, ignore_errors=True)


def _check_writable(prefix: str, named: str) -> None:
    """storage.check_writable, its message naming the flag and value as the user gave them."""
    try:
        storage.check_writable(prefix, "")
    except ValueError as err:
        cause = err.__cause__ or err
        raise ValueError(f"{named}: cannot write there ({type(cause).__name__}: {cause})") from err


class LabelFiles(beam.PTransform):
    """The whole labelling job as one PTransform on the pipeline's root: list or watch what `opts.input` names,
    label it with `run`, write results, dead letters and (batch) the summary. Returns the results."""

    def __init__(self, opts: LabelOptions, run: LoadedRun):
        super().__init__()
        self._opts, self._run = opts, run

    def expand(self, root):
        opts = self._opts
        listed = root | ListInputs(opts)
        follow = opts.model_check_interval if opts.streaming and self._run.follows else None
        labelled = listed | "Label" >> LabelImages(self._run, opts.batch_size, opts.decode_threads, opts.max_file_mb,
                                                   opts.streaming, opts.max_pixels, opts.read_timeout, follow,
                                                   stop_timestamp(opts))
        labels = labelled["results"]
        rejected = {name: labelled[name] for name in ("Unreadable", "Refused")}
        if opts.sort_into:
            rejected["NotSorted"] = labels | "SortInto" >> beam.ParDo(CopyInto(opts.sort_into, opts.max_file_mb))
        dead_letter_prefix = opts.output + features.DEAD_LETTER_INFIX
        if opts.streaming:  # one writer per branch: a Flatten would hold dead letters back until the run ends
            subscription = opts.input if opts.reads_pubsub else None  # acknowledged once written
            _ = labels | "WriteResults" >> beam.ParDo(WriteBundleFiles(opts.output, subscription))
            for name, pcoll in rejected.items():
                _ = pcoll | f"WriteDeadLetters[{name}]" >> beam.ParDo(WriteBundleFiles(dead_letter_prefix,
                                                                                       subscription))
            return labels
        all_rejected = list(rejected.values()) | "AllRejected" >> beam.Flatten()
        for name, pcoll, prefix in (("Results", labels, opts.output), ("DeadLetters", all_rejected,
                                                                       dead_letter_prefix)):
            _ = (
                pcoll
                | f"Json{name}" >> beam.Map(json.dumps, sort_keys=True)
                | f"Write{name}" >> beam.io.WriteToText(prefix, file_name_suffix=features.JSONL_SUFFIX)
            )
        counted = [
            listed | "CountListed" >> beam.Map(lambda _: ("listed", "")),
            labels | "CountLabelled" >> beam.Map(lambda r: ("labelled", r["label"])),
            labels
            | "Reviewed" >> beam.Filter(lambda r: r["review"])
            | "CountReview" >> beam.Map(lambda _: ("review", "")),
        ]
        for name, pcoll in rejected.items():
            kind = "not_sorted" if name == "NotSorted" else "rejected"
            counted.append(pcoll | f"Count{name}" >> beam.Map(lambda r, kind: (kind, r["reason"]), kind))
        _ = (
            counted
            | "FlattenCounts" >> beam.Flatten()
            | "Count" >> beam.combiners.Count.PerElement()
            | "Gather" >> beam.combiners.ToList()
            | "WriteSummary" >> beam.Map(write_summary, opts.output + features.LABEL_SUMMARY_SUFFIX, opts.input,
                                         self._run.rule)
        )
        return labels


class ListInputs(beam.PTransform):
    """What to label, as inputs.Listed records: from Pub/Sub messages, a watched folder or bucket, or a listing."""

    def __init__(self, opts: LabelOptions):
        super().__init__()
        self._opts = opts

    def expand(self, root):
        opts = self._opts
        stop = stop_timestamp(opts)
        if opts.reads_pubsub:  # pulled each tick, acknowledged by the sink once written (pubsub.PullMessages)
            from apache_beam.transforms.periodicsequence import PeriodicImpulse

            return (
                root
                | "Tick" >> PeriodicImpulse(stop_timestamp=stop, fire_interval=opts.poll_interval)
                | "PullMessages" >> beam.ParDo(pubsub.PullMessages(opts.input, opts.allowed_prefix,
                                                                   opts.allowed_bucket, opts.ack_deadline))
            )
        if opts.streaming:
            from apache_beam.io import fileio

            done = results.already_labelled(opts.output)
            watch = fileio.MatchContinuously(inputs.input_pattern(opts.input), interval=opts.poll_interval,
                                             has_deduplication=False, stop_timestamp=stop)
            return (
                root
                | "WatchFiles" >> watch
                | "KeyByPath" >> beam.Map(keyed_version)
                | "NewVersions" >> beam.ParDo(NewVersions())
                | "NotYetLabelled" >> beam.Filter(lambda listed: listed.uri not in done)
            )
        return (
            root
            | "Pattern" >> beam.Create(opts.patterns)
            | "List" >> beam.FlatMap(inputs.list_files, root=opts.input if opts.folders else None,
                                     allow_outside_root=opts.allow_outside_root)
            | "Spread" >> beam.Reshuffle()  # batch only: on the DirectRunner a shuffle holds streams back
        )


def stop_timestamp(opts: LabelOptions):
    """When a streaming job's watches stop: --duration from now, else never."""
    from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

    return Timestamp.now() + opts.duration if opts.duration else MAX_TIMESTAMP


def write_summary(counted: list[tuple[tuple[str, str], int]], path: str, input_: str, rule: results.Rule) -> dict:
    """PREFIX.summary.json of a batch run (core.results.summary)."""
    summary = results.summary(counted, input_, rule)
    with storage.open_write(path) as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True).encode())
    return summary


def build_pipeline(p: beam.Pipeline, opts: LabelOptions, run: LoadedRun):
    """Builds the labelling graph on `p`; returns the results PCollection."""
    return p | "LabelFiles" >> LabelFiles(opts, run)


def label(opts: LabelOptions, run: LoadedRun, pipeline_options: PipelineOptions):
    """Build and run the job to its end (streaming: --duration or Ctrl-C); `opts` passed check_options."""
    logging.info("Labelling %s with %s run %s (threshold %.3f) -> %s-*.jsonl", opts.input, run.rule.model_type,
                 run.rule.run_id, run.rule.threshold, opts.output)
    if opts.streaming and run.follows:
        logging.info("Following %s: a new run it names is used from then on (checked every %g s)", run.follows,
                     opts.model_check_interval)
    if opts.overwrite and not opts.streaming:
        remove_earlier_run(opts.output)
    p = runners.pipeline(pipeline_options)
    build_pipeline(p, opts, run)
    with _drain_on_ctrl_c(opts):
        result = p.run()
        try:
            result.wait_until_finish()  # batch, or streaming up to its stop timestamp (--duration): then it drains
        except KeyboardInterrupt:
            logging.info("Stopping (Ctrl-C): every result labelled so far is written; Pub/Sub messages not yet "
                         "answered stay on the subscription for the next run.")
            result.cancel()
            raise  # exit code 130
    _log_counters(result)
    if str(result.state) == "FAILED":  # a streaming run cancelled after --duration can have failed before
        raise RuntimeError("the labelling pipeline failed; see the errors above")
    return result


@contextlib.contextmanager
def _drain_on_ctrl_c(opts: LabelOptions):
    """A Pub/Sub job's first Ctrl-C stops the pulls and lets the messages in flight be answered (up to
    --ack_deadline s) before the job ends with 130; a second one stops at once. The DirectRunner runs the
    DoFns in this process, where pubsub.InFlight sees them; elsewhere the held messages come back after their
    deadline."""
    if not (opts.reads_pubsub and threading.current_thread() is threading.main_thread()):
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def stop_pulling(signum, frame):
        logging.info("Stopping (Ctrl-C): no more pulls; answering the %d messages in flight first (Ctrl-C again "
                     "to stop at once).", pubsub.InFlight.count())
        pubsub.InFlight.stopping.set()
        signal.signal(signal.SIGINT, previous)
        threading.Thread(target=_interrupt_when_answered, args=(opts.ack_deadline,), daemon=True).start()

    signal.signal(signal.SIGINT, stop_pulling)
    try:
        yield
    except Exception as err:
        if not pubsub.InFlight.stopping.is_set():
            raise
        # The interrupt can land inside a DoFn, which Beam reports as the step's failure: it is the Ctrl-C.
        raise KeyboardInterrupt from err
    finally:
        signal.signal(signal.SIGINT, previous)
        pubsub.InFlight.stopping.clear()


def _interrupt_when_answered(limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while pubsub.InFlight.count() and time.monotonic() < deadline:
        time.sleep(0.2)
    _thread.interrupt_main()  # the second Ctrl-C: the job ends with 130


def parse_args(argv: Optional[list[str]]) -> tuple[argparse.Namespace, list[str]]:
    """(label's own flags, the Beam options); --streaming is both (Beam runs the pipeline as a stream)."""
    parser = options.parser("label", __doc__.split("\n\n")[0], beam=True)
    options.add_model(parser)
    parser.add_argument("--input", required=True, help="A folder, a glob, a gs:// (any Beam filesystem) pattern, "
                                                       "or a Pub/Sub subscription projects/P/subscriptions/S.")
    parser.add_argument("--output", required=True, help="Output prefix: results go to PREFIX-*.jsonl, "
                                                        "dead letters to PREFIX.rejected-*.jsonl, a batch run's "
                                                        "summary to PREFIX.summary.json.")
    parser.add_argument("--overwrite", action="store_true",
                        help="Batch: first remove what an earlier run left under PREFIX (PREFIX-*.jsonl, "
                             "PREFIX.rejected-*.jsonl, PREFIX.summary.json, and the beam-temp-* folders of a killed "
                             "run). Without it a batch run refuses such a PREFIX, so one prefix never mixes two "
                             "runs' results. A streaming run adds to PREFIX and skips the images it already holds.")
    parser.add_argument("--streaming", action="store_true", help="Watch the folder or bucket for new files, or "
                                                                 "read the subscription, until --duration or Ctrl-C.")
    parser.add_argument("--sort_into", default=None, metavar="DIR",
                        help="Also copy each labelled image into DIR/chart/ or DIR/non_chart/, or DIR/review/ when "
                             "its score is in the review band, named <first 12 hex digits of its sha256>_<its file "
                             "name> (two files of one name never collide; a copy already there is left alone).")
    parser.add_argument("--duration", type=float, default=None,
                        help="Streaming: stop cleanly after this many seconds (default: run until Ctrl-C).")
    parser.add_argument("--poll_interval", type=float, default=1.0,
                        help="Streaming: seconds between listings of the folder or bucket (each is one list call "
                             "on a bucket), or between pulls from the subscription.")
    options.add_model_check(parser, "Streaming")
    options.add_batching(parser)
    options.add_input_limits(parser)
    options.add_read_timeout(parser)
    parser.add_argument("--allowed_prefix", action="append", default=None,
                        help="Pub/Sub: read image URIs, paths (after resolving symlinks) and notified objects only "
                             "under this prefix (repeatable, e.g. gs://bucket/uploads/).")
    parser.add_argument("--allowed_bucket", action="append", default=None,
                        help="Pub/Sub: read the objects that GCS notifications of this bucket name (repeatable). A "
                             "subscription job needs this or --allowed_prefix; nothing else is ever read.")
    parser.add_argument("--ack_deadline", type=float, default=pubsub.DEFAULT_ACK_DEADLINE_S,
                        help="Pub/Sub: seconds a pulled message is held before Pub/Sub delivers it again (at most "
                             "600). A message is acknowledged once its row or dead letter is written, so a crashed "
                             "job's messages come back after this; an image taking longer may be labelled twice.")
    args, beam_args = options.parse_with_beam(parser, argv)
    return args, beam_args + (["--streaming"] if args.streaming else [])


def run(argv: Optional[list[str]] = None):
    """Parse options, load the model, label."""
    args, beam_args = parse_args(argv)
    cli.setup_logging(args.debug)
    pipeline_options = PipelineOptions(beam_args)
    opts = LabelOptions.from_args(args, pipeline_options.view_as(StandardOptions).streaming)
    check_options(opts)
    return label(opts, LoadedRun.open(args.model_dir, args.threshold, args.review_band), pipeline_options)


def _log_counters(result) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, COUNTER_RECURSION))  # the FnApiRunner merges a stream's bundles recursively
    try:
        counters = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(results.METRICS))["counters"]
    except Exception as err:  # the DaskRunner reports none; other runners none after cancel
        logging.info("Label counters: this runner reports none (%s: %s)", type(err).__name__, err)
        return
    finally:
        sys.setrecursionlimit(limit)
    totals = {c.key.metric.name: c.committed for c in counters}
    logging.info("Label counters: %s", ", ".join(f"{k}={v}" for k, v in sorted(totals.items())) or "none")


if __name__ == "__main__":
    cli.main("pipelines.label")

"""Labelling's Beam parts: listed files -> prepared pixels -> RunInference -> result lines, and the
--sort_into copies. Every file that is not labelled becomes a dead letter with its reason
(docs/ARCHITECTURE.md, Contract 5)."""
import hashlib
import os
from typing import Iterator, NamedTuple, Optional, Union

import apache_beam as beam
from apache_beam.ml.inference.base import KeyedModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import StandardOptions

from core import dead_letters, features, inputs, results, storage
from core.dead_letters import REJECTED
from models.inference import InferenceError, SavedModelHandler
from models.run import LoadedRun
from pipelines import cli
from pipelines.streaming import WatchRuns
from pipelines.threaded import ThreadPoolDoFn
from transforms.image import MAX_PIXELS, PreparedImage, RejectedImage, prepare


class ImageKey(NamedTuple):
    """What travels through RunInference beside the image bytes."""

    uri: str
    sha256: str
    width: int
    height: int
    ack_id: str = ""  # the Pub/Sub message that named the image, acknowledged once its row is written


def dead_letter(uri: str, reason: str, detail: str, ack_id: str = "") -> dict:
    """One dead-letter record (a JSONL line of PREFIX.rejected-*.jsonl), counted."""
    beam.metrics.Metrics.counter(results.METRICS, f"rejected_{reason}").inc()
    return _acked_by(dead_letters.label_record(uri, reason, detail, results.timestamp()), ack_id)


def _reject(uri: str, reason: str, detail: str, ack_id: str = "") -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(REJECTED, dead_letter(uri, reason, detail, ack_id))


def _acked_by(record: dict, ack_id: str) -> dict:
    """The record, carrying the ack id of the Pub/Sub message it answers (results.ACK_ID) if there is one."""
    return {**record, results.ACK_ID: ack_id} if ack_id else record


class ReadAndPrepare(ThreadPoolDoFn):
    """uri -> (ImageKey, the model's input pixels as raw RGB bytes), or a dead letter.

    Reading, decoding and resizing run on a thread per core (see pipelines.threaded); each file is
    decoded once, by `transforms.image.prepare`, the function ingest prepares training images with.
    Two model batches are in flight, so the threads decode the next batch while the model scores one
    (with the default 16 they sat idle during scoring: 8-10% fewer images/s, benchmarks/README.md).
    """

    def __init__(self, image_size: int, threads: int = 0, max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB,
                 batch_size: int = 64, max_pixels: int = MAX_PIXELS, progress: Optional[cli.Progress] = None,
                 read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S):
        super().__init__(threads, in_flight=2 * batch_size)
        self._image_size = image_size
        self._max_bytes = inputs.megabytes(max_file_mb)
        self._max_pixels, self._read_timeout = max_pixels, read_timeout
        self._progress = progress  # counts the files it rejects (ToResult counts the rest)

    def setup(self):
        super().setup()
        if self._progress:
            self._progress.start()  # the rate and time left count from here

    def work(self, listed: inputs.Listed) -> Union[PreparedImage, tuple[str, str]]:
        """The prepared image, or (reason, detail) of why not."""
        if listed.error:
            return listed.error, listed.detail
        try:
            return prepare(inputs.read_bounded(listed.uri, self._max_bytes, self._read_timeout), self._image_size,
                           max_pixels=self._max_pixels)
        except (inputs.ReadError, RejectedImage) as err:
            return err.reason, err.detail

    def emit(self, listed: inputs.Listed, prepared) -> Iterator:
        beam.metrics.Metrics.counter(results.METRICS, "images_read").inc()
        if isinstance(prepared, PreparedImage):
            key = ImageKey(listed.uri, prepared.sha256, prepared.width, prepared.height, listed.ack_id)
            yield key, prepared.pixels.tobytes()
        else:
            if self._progress:
                self._progress.tick()
            yield _reject(listed.uri, *prepared, listed.ack_id)


class ToResult(beam.DoFn):
    """(ImageKey, PredictionResult) -> the JSONL result object, by the rule of the run that scored it (its model_id:
    a streaming job may have switched runs); counts labels and shows progress (of `total` listed files, in a batch
    run)."""

    def __init__(self, run: LoadedRun, progress: Optional[cli.Progress] = None):
        self._run = run
        self._progress = progress or cli.Progress("labelling")

    def setup(self):
        self._rules = {}  # run directory -> its rule, read once

    def _rule(self, run_dir: Optional[str]) -> results.Rule:
        if run_dir not in self._rules:
            self._rules[run_dir] = self._run.rule_for(run_dir or "")
        return self._rules[run_dir]

    def process(self, element: tuple[ImageKey, PredictionResult], total: Optional[int] = None) -> Iterator:
        key, prediction = element
        self._progress.tick(total)
        if isinstance(prediction.inference, InferenceError):
            yield _reject(key.uri, dead_letters.MODEL_ERROR, prediction.inference, key.ack_id)
            return
        verdict = self._rule(prediction.model_id).verdict(float(prediction.inference))
        beam.metrics.Metrics.counter(results.METRICS, f"labelled_{verdict['label']}").inc()
        if verdict["review"]:
            beam.metrics.Metrics.counter(results.METRICS, "labelled_review").inc()
        yield _acked_by(results.result_line(key.uri, key.sha256, key.width, key.height, verdict), key.ack_id)


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
                yield dead_letter(
                    result["uri"],
                    dead_letters.CHANGED_SINCE_LABELLED,
                    f"not copied to {target}: the file changed after it was labelled",
                )
                return
            storage.write_atomically(target, data)
        except Exception as err:  # any filesystem's error
            yield dead_letter(
                result["uri"], dead_letters.SORT_FAILED, f"copy to {target} failed: {type(err).__name__}: {err}"
            )
            return
        beam.metrics.Metrics.counter(results.METRICS, "sorted_into").inc()


class LabelImages(beam.PTransform):
    """Listed files -> result objects, and the dead letters of files that could not be read or scored.

    Output: {"results": one JSONL result object per labelled image, "Unreadable": dead letters of files that
    are not images the model can take, "Refused": dead letters of images the model refused (model_error)}.
    """

    def __init__(self, run: LoadedRun, batch_size: int = 64, decode_threads: int = 0,
                 max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB, streaming: bool = False,
                 max_pixels: int = MAX_PIXELS, read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S,
                 follow_every: Optional[float] = None, stop=None):
        super().__init__()
        self._run, self._streaming = run, streaming
        self._follow_every, self._stop = follow_every, stop  # streaming: look for a new run this often, until stop
        self._progress = cli.Progress("labelling")  # files labelled or rejected, of those listed
        self._read = ReadAndPrepare(run.image_size, decode_threads, max_file_mb, batch_size, max_pixels,
                                    self._progress, read_timeout)
        # Batch runs give the model full batches (Beam's adaptive batching would start at 1-2 images);
        # streaming runs label whatever has arrived.
        self._batches = (1 if streaming else batch_size, batch_size)

    def expand(self, listed):
        prepared = listed | "ReadAndPrepare" >> beam.ParDo(self._read).with_outputs(REJECTED, main="images")
        here = _runs_here(listed.pipeline)
        total = []  # the DirectRunner's progress shows the share of the files listed (a stream has no total)
        if not self._streaming and here:
            total.append(beam.pvalue.AsSingleton(listed | "Total" >> beam.combiners.Count.Globally()))
        # A new run: RunInference's model updates where side inputs stream, else the handler follows `latest`.
        follow, updates = self._follow_every, None
        if follow is not None and not here:
            updates = listed.pipeline | "WatchRuns" >> WatchRuns(self._run, follow, self._stop)
            follow = None
        handler = KeyedModelHandler(SavedModelHandler(self._run, *self._batches, follow_every=follow))
        to_result = ToResult(self._run, self._progress)
        scored = (
            prepared.images
            | "RunInference" >> RunInference(handler, model_metadata_pcoll=updates)
            | "ToResult" >> beam.ParDo(to_result, *total).with_outputs(REJECTED, main="results")
        )
        return {"results": scored.results, "Unreadable": prepared[REJECTED], "Refused": scored[REJECTED]}


def _runs_here(pipeline: beam.Pipeline) -> bool:
    """Whether the DirectRunner runs `pipeline` (in this process, where the progress bar is): elsewhere the workers
    log their own counts and need no total."""
    runner = pipeline.options.view_as(StandardOptions).runner
    return runner is None or "direct" in str(runner).lower()

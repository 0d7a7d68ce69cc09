"""Streaming labelling's Beam parts: new versions of watched files, new runs of a watched --model_dir, and the sink
that writes each bundle's lines within seconds."""
import hashlib
import json
from typing import Iterator, Optional

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from core import features, inputs, results, runs, storage
from pipelines import pubsub


def keyed_version(match) -> tuple[str, tuple[inputs.Listed, str]]:
    """A watched file's FileMetadata -> (path, (its Listed record, "size:mtime")) for NewVersions."""
    listed = inputs.named(match.path)
    return listed.uri, (listed, f"{match.size_in_bytes}:{match.last_updated_in_seconds}")



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


class WatchRuns(beam.PTransform):
    """The run directory --model_dir's `latest` names, as RunInference's `model_metadata_pcoll`: looked at every
    `interval` seconds until `stop`, emitted once per change (a singleton side input, in the global window with a
    processing-time trigger, as Beam's WatchFilePattern emits; that one watches new file names and so cannot see
    `latest` being rewritten)."""

    def __init__(self, run, interval: float, stop):
        super().__init__()
        self._model_dir, self._interval, self._stop = run.model_dir, interval, stop

    def expand(self, root):
        from apache_beam.transforms import trigger, window
        from apache_beam.transforms.periodicsequence import PeriodicImpulse

        return (
            root
            | "Tick" >> PeriodicImpulse(stop_timestamp=self._stop, fire_interval=self._interval)
            | "Resolve" >> beam.Map(lambda _, model_dir: ("", runs.resolve_model_dir(model_dir)), self._model_dir)
            | "Changed" >> beam.ParDo(_Changed())
            | "Window" >> beam.WindowInto(window.GlobalWindows(),
                                          trigger=trigger.Repeatedly(trigger.AfterProcessingTime(1)),
                                          accumulation_mode=trigger.AccumulationMode.DISCARDING)
        )


class _Changed(beam.DoFn):
    """(key, run directory) -> ModelMetadata when it differs from the last one emitted."""

    LAST = ReadModifyWriteStateSpec("last", StrUtf8Coder())

    def process(self, element: tuple[str, str], last=beam.DoFn.StateParam(LAST)):
        from apache_beam.ml.inference.base import ModelMetadata

        run_dir = element[1]
        if last.read() != run_dir:
            last.write(run_dir)
            yield ModelMetadata(model_id=run_dir, model_name=run_dir.rstrip("/").rsplit("/", 1)[-1])


class WriteBundleFiles(beam.DoFn):
    """Streaming sink: each bundle's lines land in PREFIX-<key>.jsonl within seconds (works on every
    filesystem, object stores included, where appending is impossible). The name is a hash of the
    bundle's (uri, sha256 or reason) keys, so a retried bundle rewrites its file instead of adding one.

    Records of a Pub/Sub job carry their message's ack id (results.ACK_ID): it is left out of the line, and the
    messages are acknowledged only once the file is written, so a stop, a crash or a failing write leaves them
    on the subscription for the next run (at-least-once)."""

    def __init__(self, prefix: str, subscription: Optional[str] = None):
        self._prefix, self._subscription = prefix, subscription

    def setup(self):
        self._acknowledge = pubsub.Acknowledger(self._subscription) if self._subscription else None

    def start_bundle(self):
        self._records = []

    def process(self, record: dict) -> None:
        self._records.append(record)

    def finish_bundle(self):
        if not self._records:
            return
        lines = [{k: v for k, v in r.items() if k != results.ACK_ID} for r in self._records]
        keys = sorted(f"{r['uri']}\0{r.get('sha256') or r.get('reason')}" for r in lines)
        name = hashlib.sha256(chr(1).join(keys).encode()).hexdigest()[:20]
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in lines)
        ack_ids = [r[results.ACK_ID] for r in self._records if r.get(results.ACK_ID)]
        self._records = []
        try:
            storage.write_atomically(f"{self._prefix}-{name}{features.JSONL_SUFFIX}", text.encode())
        except Exception:
            if self._acknowledge:  # not written: hand the messages back now rather than at their deadline
                self._acknowledge.hold(ack_ids, 0)
            raise
        if self._acknowledge:
            self._acknowledge(ack_ids)

    def teardown(self):
        if self._acknowledge:
            self._acknowledge.close()

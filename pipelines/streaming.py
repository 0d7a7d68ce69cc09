"""Streaming labelling's Beam parts: new versions of watched files, and the sink that writes each bundle's
lines within seconds."""
import hashlib
import json
from typing import Iterator, Optional

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from core import features, inputs, results, storage
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

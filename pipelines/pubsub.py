"""Pub/Sub messages -> the images they name: GCS notifications and plain URIs, under the allowed prefixes."""
import json
import os
import threading
from typing import Iterator, Optional

import apache_beam as beam

from core import dead_letters, inputs, results

SUBSCRIPTION_PREFIX = "projects/"  # --input projects/P/subscriptions/S reads a subscription
MAX_MESSAGE_BYTES = 64 * 1024  # a Pub/Sub payload naming one image is far smaller
DEFAULT_ACK_DEADLINE_S = 60  # a pulled message is held this long before Pub/Sub delivers it again
MAX_ACK_DEADLINE_S = 600  # the most Pub/Sub allows
ACK_CHUNK = 1000  # ack ids per acknowledge request


def uris_from_message(message, allowed_prefixes: tuple[str, ...] = (),
                      allowed_buckets: tuple[str, ...] = ()) -> Iterator[inputs.Listed]:
    """A Pub/Sub message -> the image to label, or a dead letter (`bad_message`, `not_allowed`).

    A GCS notification (attributes bucketId/objectId, or a JSON payload with bucket/name) names its object,
    read only in an --allowed_bucket or under an --allowed_prefix; other events (deletes, metadata) are
    skipped. A plain URI payload is read only under an --allowed_prefix, local paths after resolving their
    symlinks. So a message can never make a worker read local files, buckets or URLs the operator did not allow.
    """
    where = f"pubsub:{getattr(message, 'message_id', None) or 'message'}"
    attributes = dict(message.attributes or {})
    if attributes.get("eventType") and attributes["eventType"] != "OBJECT_FINALIZE":
        beam.metrics.Metrics.counter(results.METRICS, "pubsub_ignored_events").inc()
        return
    data = message.data or b""
    if len(data) > MAX_MESSAGE_BYTES:
        yield inputs.Listed(where, dead_letters.BAD_MESSAGE, f"payload of {len(data)} bytes (over {MAX_MESSAGE_BYTES})")
        return
    payload = data.decode("utf-8", errors="replace").strip()
    uri, bucket = _uri_in(attributes, payload)
    if not uri:
        yield inputs.Listed(where, dead_letters.BAD_MESSAGE, f"neither a GCS notification nor a URI: {payload[:200]!r}")
        return
    if "://" not in uri and "\0" not in uri:
        uri = os.path.realpath(uri)  # a symlink under an allowed prefix must not lead out of it
    if "/../" in f"{uri}/" or not (inputs.under_prefix(uri, allowed_prefixes) or bucket in allowed_buckets):
        detail = (f"outside the allowed buckets {list(allowed_buckets)} (--allowed_bucket) and prefixes "
                  f"{list(allowed_prefixes)} (--allowed_prefix); local paths are compared after resolving symlinks")
        yield inputs.Listed(uri, dead_letters.NOT_ALLOWED, detail)
    else:
        yield inputs.Listed(uri)


class InFlight:
    """The messages this process has pulled and not yet answered, and whether it should pull more. On the
    DirectRunner every DoFn runs in the launching process, so Ctrl-C can stop the pulls and wait for these."""

    _lock = threading.Lock()
    _held: set[str] = set()
    stopping = threading.Event()

    @classmethod
    def add(cls, ack_ids: list[str]) -> None:
        with cls._lock:
            cls._held.update(ack_ids)

    @classmethod
    def done(cls, ack_ids: list[str]) -> None:
        with cls._lock:
            cls._held.difference_update(ack_ids)

    @classmethod
    def count(cls) -> int:
        with cls._lock:
            return len(cls._held)


class PullMessages(beam.DoFn):
    """A tick -> what the subscription holds now, as Listed records carrying their message's ack id.

    Nothing is acknowledged here: the sink acknowledges a message once its row or dead letter is written
    (streaming.WriteBundleFiles), so messages held when a job stops, crashes or cannot write are delivered again
    (at-least-once). Beam's ReadFromPubSub acknowledges on pull on the DirectRunner, which loses them."""

    def __init__(self, subscription: str, allowed_prefixes: tuple[str, ...], allowed_buckets: tuple[str, ...],
                 ack_deadline_s: float = DEFAULT_ACK_DEADLINE_S, max_messages: int = 64, wait_s: float = 1.0):
        self._subscription, self._prefixes, self._buckets = subscription, allowed_prefixes, allowed_buckets
        self._ack_deadline_s, self._max_messages, self._wait_s = ack_deadline_s, max_messages, wait_s

    def setup(self):
        from google.cloud import pubsub_v1

        self._client = pubsub_v1.SubscriberClient()
        self._acknowledge = Acknowledger(self._subscription, self._client)

    def process(self, _tick) -> Iterator[inputs.Listed]:
        from google.api_core import exceptions

        if InFlight.stopping.is_set():  # Ctrl-C: finish what is held, pull nothing more
            return
        try:
            received = self._client.pull(subscription=self._subscription, max_messages=self._max_messages,
                                         timeout=self._wait_s).received_messages
        except (exceptions.DeadlineExceeded, exceptions.ServiceUnavailable):  # nothing yet, or try next tick
            return
        if not received:
            return
        InFlight.add([m.ack_id for m in received])
        self._acknowledge.hold([m.ack_id for m in received], self._ack_deadline_s)
        beam.metrics.Metrics.counter(results.METRICS, "pubsub_messages").inc(len(received))
        skipped = []
        for message in received:
            named = list(uris_from_message(message.message, self._prefixes, self._buckets))
            skipped += [message.ack_id] * (not named)  # an event that names no image is done with now
            yield from (listed._replace(ack_id=message.ack_id) for listed in named)
        self._acknowledge(skipped)

    def teardown(self):
        self._client.close()


class Acknowledger:
    """Acknowledges messages of one subscription (or holds them, or hands them back), ACK_CHUNK ids a request."""

    def __init__(self, subscription: str, client=None):
        from google.cloud import pubsub_v1

        self._subscription, self._client = subscription, client or pubsub_v1.SubscriberClient()

    def __call__(self, ack_ids: list[str]) -> None:
        for chunk in _chunks(ack_ids):
            self._client.acknowledge(subscription=self._subscription, ack_ids=chunk)
        InFlight.done(ack_ids)
        beam.metrics.Metrics.counter(results.METRICS, "pubsub_acknowledged").inc(len(ack_ids))

    def hold(self, ack_ids: list[str], seconds: float) -> None:
        """Keep the messages from being delivered again for `seconds` (0: at once, to another puller)."""
        for chunk in _chunks(ack_ids):
            self._client.modify_ack_deadline(subscription=self._subscription, ack_ids=chunk,
                                             ack_deadline_seconds=int(seconds))
        if not seconds:
            InFlight.done(ack_ids)

    def close(self) -> None:
        self._client.close()


def _chunks(ack_ids: list[str]) -> Iterator[list[str]]:
    return (ack_ids[at:at + ACK_CHUNK] for at in range(0, len(ack_ids), ACK_CHUNK))


def _uri_in(attributes: dict, payload: str) -> tuple[Optional[str], Optional[str]]:
    """(the URI a message names, the bucket of the GCS notification it is, if it is one)."""
    if attributes.get("bucketId") and attributes.get("objectId"):
        return f"gs://{attributes['bucketId']}/{attributes['objectId']}", attributes["bucketId"]
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, or nested beyond reason
        body = None
    if isinstance(body, dict):
        bucket, name = body.get("bucket"), body.get("name")
        if isinstance(bucket, str) and isinstance(name, str) and bucket and name:
            return f"gs://{bucket}/{name}", bucket
        return None, None
    return (payload, None) if payload and body is None and "\n" not in payload else (None, None)

"""Pub/Sub messages -> the images they name: GCS notifications and plain URIs, under the allowed prefixes."""
import json
from typing import Iterator, Optional

import apache_beam as beam

from core import dead_letters, inputs, results

SUBSCRIPTION_PREFIX = "projects/"  # --input projects/P/subscriptions/S reads a subscription
MAX_MESSAGE_BYTES = 64 * 1024  # a Pub/Sub payload naming one image is far smaller


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
        beam.metrics.Metrics.counter(results.METRICS, "pubsub_ignored_events").inc()
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

"""pipelines.pubsub: what a message names, or the dead letter it becomes."""
import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage

from core import dead_letters
from pipelines import pubsub


@pytest.mark.parametrize(
    "data, attributes, allowed, expected",
    [
        (
            b"{}",
            {"bucketId": "uploads", "objectId": "a/b.png", "eventType": "OBJECT_FINALIZE"},
            (),
            ("gs://uploads/a/b.png", None),
        ),
        (b'{"bucket": "uploads", "name": "c.png"}', {}, (), ("gs://uploads/c.png", None)),
        (b"{}", {"bucketId": "uploads", "objectId": "a.png", "eventType": "OBJECT_DELETE"}, (), None),
        (b"gs://uploads/d.png", {}, (), ("gs://uploads/d.png", "not_allowed")),
        (b"gs://uploads/d.png", {}, ("gs://uploads/",), ("gs://uploads/d.png", None)),
        (b"gs://other/d.png", {}, ("gs://uploads/",), ("gs://other/d.png", "not_allowed")),
        (b"gs://uploads/../other/d.png", {}, ("gs://uploads/",), ("gs://uploads/../other/d.png", "not_allowed")),
        (b"/etc/passwd", {}, ("gs://uploads/",), ("/etc/passwd", "not_allowed")),
        (b"http://127.0.0.1/x.png", {}, ("gs://uploads/",), ("http://127.0.0.1/x.png", "not_allowed")),
        (b"{}", {"bucketId": "other", "objectId": "a.png"}, ("gs://uploads/",), ("gs://other/a.png", "not_allowed")),
        (b'{"bucket": 5}', {}, (), ("pubsub:m1", "bad_message")),
        (b"", {}, (), ("pubsub:m1", "bad_message")),
        (b"[" * 100_000, {}, (), ("pubsub:m1", "bad_message")),
        (b'{"name": "' + b"x" * 70_000 + b'"}', {}, (), ("pubsub:m1", "bad_message")),
    ],
)
def test_a_message_names_an_allowed_image_or_becomes_a_dead_letter(data, attributes, allowed, expected):
    from apache_beam.io.gcp.pubsub import PubsubMessage

    got = list(pubsub.uris_from_message(PubsubMessage(data, attributes, message_id="m1"), allowed))
    assert [(g.uri, g.error) for g in got] == ([expected] if expected else [])


@pytest.mark.parametrize("data, attributes, expected", [
    (b"gs://uploads/a.png\ngs://uploads/b.png", {}, ("pubsub:m1", dead_letters.BAD_MESSAGE)),  # one image a message
    (b"  gs://uploads/a.png \n", {}, ("gs://uploads/a.png", None)),
    (b"{}", {"bucketId": "uploads", "objectId": "a.png"}, ("gs://uploads/a.png", None)),  # no eventType: a finalize
    (b"{}", {"bucketId": "uploads", "objectId": "a.png", "eventType": "OBJECT_METADATA_UPDATE"}, None),
    (b'{"bucket": "uploads", "name": ""}', {}, ("pubsub:m1", dead_letters.BAD_MESSAGE)),
])
def test_uris_from_message_more_shapes(data, attributes, expected):
    got = list(pubsub.uris_from_message(PubsubMessage(data, attributes, message_id="m1"), ("gs://uploads/",)))
    assert [(g.uri, g.error) for g in got] == ([expected] if expected else [])

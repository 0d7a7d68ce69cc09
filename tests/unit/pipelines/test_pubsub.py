"""pipelines.pubsub: what a message names, or the dead letter it becomes."""
import os

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
            ((), ("uploads",)),
            ("gs://uploads/a/b.png", None),
        ),
        (b'{"bucket": "uploads", "name": "c.png"}', {}, ((), ("uploads",)), ("gs://uploads/c.png", None)),
        # A forged notification naming a bucket nobody allowed is never read.
        (b"{}", {"bucketId": "evil-bucket", "objectId": "x.png"}, ((), ("uploads",)),
         ("gs://evil-bucket/x.png", "not_allowed")),
        (b'{"bucket": "evil-bucket", "name": "x.png"}', {}, ((), ()), ("gs://evil-bucket/x.png", "not_allowed")),
        (b"gs://uploads/d.png", {}, ((), ("uploads",)), ("gs://uploads/d.png", "not_allowed")),  # not a notification
        (b"{}", {"bucketId": "uploads", "objectId": "a.png", "eventType": "OBJECT_DELETE"}, ((), ()), None),
        (b"gs://uploads/d.png", {}, ((), ()), ("gs://uploads/d.png", "not_allowed")),
        (b"gs://uploads/d.png", {}, (("gs://uploads/",), ()), ("gs://uploads/d.png", None)),
        (b"gs://other/d.png", {}, (("gs://uploads/",), ()), ("gs://other/d.png", "not_allowed")),
        (b"gs://uploads/../other/d.png", {}, (("gs://uploads/",), ()), ("gs://uploads/../other/d.png", "not_allowed")),
        (b"/etc/passwd", {}, (("gs://uploads/",), ()), ("/etc/passwd", "not_allowed")),
        (b"http://127.0.0.1/x.png", {}, (("gs://uploads/",), ()), ("http://127.0.0.1/x.png", "not_allowed")),
        (b"{}", {"bucketId": "other", "objectId": "a.png"}, (("gs://uploads/",), ()),
         ("gs://other/a.png", "not_allowed")),
        (b'{"bucket": 5}', {}, ((), ()), ("pubsub:m1", "bad_message")),
        (b"", {}, ((), ()), ("pubsub:m1", "bad_message")),
        (b"[" * 100_000, {}, ((), ()), ("pubsub:m1", "bad_message")),
        (b'{"name": "' + b"x" * 70_000 + b'"}', {}, ((), ()), ("pubsub:m1", "bad_message")),
    ],
)
def test_a_message_names_an_allowed_image_or_becomes_a_dead_letter(data, attributes, allowed, expected):
    from apache_beam.io.gcp.pubsub import PubsubMessage

    got = list(pubsub.uris_from_message(PubsubMessage(data, attributes, message_id="m1"), *allowed))
    assert [(g.uri, g.error) for g in got] == ([expected] if expected else [])


@pytest.mark.parametrize("data, attributes, expected", [
    (b"gs://uploads/a.png\ngs://uploads/b.png", {}, ("pubsub:m1", dead_letters.BAD_MESSAGE)),  # one image a message
    (b"  gs://uploads/a.png \n", {}, ("gs://uploads/a.png", None)),
    (b"{}", {"bucketId": "uploads", "objectId": "a.png"}, ("gs://uploads/a.png", None)),  # no eventType: a finalize
    (b"{}", {"bucketId": "other", "objectId": "a.png"}, ("gs://other/a.png", dead_letters.NOT_ALLOWED)),
    (b"{}", {"bucketId": "uploads", "objectId": "a.png", "eventType": "OBJECT_METADATA_UPDATE"}, None),
    (b'{"bucket": "uploads", "name": ""}', {}, ("pubsub:m1", dead_letters.BAD_MESSAGE)),
])
def test_uris_from_message_more_shapes(data, attributes, expected):
    got = list(pubsub.uris_from_message(PubsubMessage(data, attributes, message_id="m1"), ("gs://uploads/",)))
    assert [(g.uri, g.error) for g in got] == ([expected] if expected else [])


def test_a_symlink_under_an_allowed_prefix_is_resolved_before_it_is_allowed(tmp_path):
    allowed = tmp_path / "inbox"
    allowed.mkdir()
    (allowed / "a.png").write_bytes(b"x")
    os.symlink("/etc/passwd", allowed / "passwd.png")
    os.symlink(allowed / "a.png", allowed / "also_a.png")
    prefix = (str(allowed) + os.sep,)
    got = {path: list(pubsub.uris_from_message(PubsubMessage(str(allowed / path).encode(), {}), prefix))[0]
           for path in ("a.png", "passwd.png", "also_a.png")}
    assert (got["a.png"].uri, got["a.png"].error) == (str(allowed / "a.png"), None)
    assert (got["passwd.png"].uri, got["passwd.png"].error) == ("/etc/passwd", dead_letters.NOT_ALLOWED)
    assert (got["also_a.png"].uri, got["also_a.png"].error) == (str(allowed / "a.png"), None)  # inside: read

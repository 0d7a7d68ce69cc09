"""pipelines.pubsub.uris_from_message under arbitrary payloads and attributes: every message names one image, is one
dead letter, or is an event that is skipped; nothing escapes and nothing outside the allowed prefixes is read."""
import json

from apache_beam.io.gcp.pubsub import PubsubMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import dead_letters
from pipelines import pubsub

PREFIXES = ("gs://uploads/in/", "/srv/inbox/")

names = st.one_of(st.text(max_size=30), st.sampled_from(["uploads", "in/a.png", "../x", "a/../../b", "\x00", ""]))
payloads = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    st.builds(lambda p, t: (p + t).encode(), st.sampled_from(PREFIXES + ("gs://other/", "/etc/", "http://h/")),
              names),
    st.dictionaries(st.sampled_from(["bucket", "name", "kind"]), st.one_of(names, st.integers(), st.none()),
                    max_size=3).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 5000).map(lambda n: b"[" * n),
    st.just(b"x" * (pubsub.MAX_MESSAGE_BYTES + 1)),
)
attributes = st.dictionaries(
    st.sampled_from(["bucketId", "objectId", "eventType", "objectGeneration", "other"]),
    st.one_of(names, st.sampled_from(["OBJECT_FINALIZE", "OBJECT_DELETE"])),
    max_size=4,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payloads, attrs=attributes, message_id=st.one_of(st.none(), st.text(max_size=10)),
       prefixes=st.sampled_from([(), PREFIXES]))
def test_any_message_becomes_one_image_one_dead_letter_or_a_skipped_event(data, attrs, message_id, prefixes):
    got = list(pubsub.uris_from_message(PubsubMessage(data, attrs, message_id=message_id), prefixes))
    if not got:  # only events other than a finalized object are skipped
        assert attrs.get("eventType") and attrs["eventType"] != "OBJECT_FINALIZE"
        return
    (listed,) = got
    assert isinstance(listed.uri, str) and listed.error in (None, dead_letters.BAD_MESSAGE, dead_letters.NOT_ALLOWED)
    if listed.error:
        assert listed.detail
        return
    assert "/../" not in f"{listed.uri}/"
    if prefixes:
        assert listed.uri.startswith(prefixes), listed
    else:  # nothing but a notification's own object
        assert listed.uri.startswith("gs://"), listed

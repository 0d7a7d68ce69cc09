"""serving.app: what a JSON body of POST /predict becomes, before any model is needed."""
import base64
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import dead_letters, inputs
from serving.app import Limits, Refused, parse_json_request

PREFIX = "gs://bucket/allowed/"


@pytest.fixture(scope="module")
def limits(tmp_path_factory) -> Limits:
    root = os.path.realpath(tmp_path_factory.mktemp("allowed"))
    with open(os.path.join(root, "a.png"), "wb") as f:
        f.write(b"not really a png")
    return Limits(allowed_roots=(root,), allowed_prefixes=(PREFIX,), max_file_mb=0.001)


@pytest.mark.parametrize("field, value", [
    ("image_path", "a\x00.png"), ("image_path", "/x\x00"), ("image_uri", PREFIX + "a\x00.png"),
    ("image_path", "\ud800.png"), ("image_uri", PREFIX + "\udfff"),
])
def test_a_path_or_uri_that_cannot_name_a_file_is_a_bad_request(limits, field, value):
    if field == "image_path":
        value = os.path.join(limits.allowed_roots[0], value)
    with pytest.raises(Refused) as refused:
        parse_json_request(json.dumps({field: value}).encode(), limits)
    assert (refused.value.status, refused.value.reason) == (400, dead_letters.BAD_REQUEST)
    assert ("cannot name a file" if "\x00" in value else "Invalid JSON") in refused.value.detail


def test_a_path_under_the_allowed_root_is_read(limits):
    where, read = parse_json_request(json.dumps({"image_path": f"{limits.allowed_roots[0]}/a.png"}).encode(), limits)
    assert where == {"uri": f"{limits.allowed_roots[0]}/a.png"} and read() == b"not really a png"


texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["/", "..", "a.png", "\x00", "\ud800", PREFIX, "gs://", "~", "\\"]),
    st.text(max_size=3).map(lambda t: f"{PREFIX}{t}"),
)
values = st.one_of(st.none(), texts, st.integers(), st.booleans(), st.lists(st.text(max_size=3), max_size=2),
                   st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()))
bodies = st.one_of(
    st.binary(max_size=100),
    st.dictionaries(st.sampled_from(["image_path", "image_b64", "image_uri", "image_file", ""]), values,
                    max_size=3).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 2000).map(lambda n: b'{"image_path": ' + b"[" * n),
)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=bodies, rooted=st.booleans())
def test_any_json_body_is_refused_with_a_4xx_or_read_as_an_image(limits, body, rooted):
    if rooted:  # make paths absolute under the allowed root, so they reach the filesystem
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, dict) and isinstance(decoded.get("image_path"), str):
            decoded["image_path"] = limits.allowed_roots[0] + "/" + decoded["image_path"]
            body = json.dumps(decoded).encode()
    try:
        where, read = parse_json_request(body, limits)
    except Refused as refused:
        assert 400 <= refused.status < 500 and refused.reason in dead_letters.REASONS and refused.detail
        return
    assert set(where) <= {"uri", "name"} and len(where) == 1
    json.dumps(where)  # the answer can carry it
    if "name" in where or not where["uri"].startswith(PREFIX):  # local bytes only: no bucket in a unit test
        try:
            assert isinstance(read(), bytes)
        except inputs.ReadError as err:
            assert err.reason in dead_letters.REASONS

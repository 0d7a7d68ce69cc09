"""The GCS and Pub/Sub emulators the tests start, with every client the pipelines use."""
import json
import os
import time

import apache_beam as beam
import pytest
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineState
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # not collected as a test class
from apache_beam.testing.util import assert_that, equal_to


def test_gcs_objects_visible_to_every_client(gcs_emulator, gcs_bucket):
    from google.cloud import storage

    assert os.environ["STORAGE_EMULATOR_HOST"] == gcs_emulator.endpoint
    bucket = gcs_bucket[len("gs://"):]
    storage.Client().bucket(bucket).blob("charts/a.png").upload_from_string(b"\x89PNG fake a")
    gcs_emulator.upload(f"{gcs_bucket}/charts/b.png", b"\x89PNG fake b")
    gcs_emulator.upload(f"{gcs_bucket}/other/c.txt", b"not a chart")

    # the fixture's own helpers
    assert gcs_emulator.list(f"{gcs_bucket}/charts/") == [f"{gcs_bucket}/charts/a.png", f"{gcs_bucket}/charts/b.png"]
    assert gcs_emulator.read(f"{gcs_bucket}/charts/a.png") == b"\x89PNG fake a"

    # Beam's FileSystems, outside any pipeline; first use must not sit in the auth retry loop
    start = time.monotonic()
    match = FileSystems.match([f"{gcs_bucket}/charts/*.png"])[0]
    first_match_s = time.monotonic() - start
    print(f"first gs:// FileSystems.match: {first_match_s:.3f} s")
    assert sorted(m.path for m in match.metadata_list) == [f"{gcs_bucket}/charts/a.png", f"{gcs_bucket}/charts/b.png"]
    assert first_match_s < 10, f"first gs:// match took {first_match_s:.1f} s: Beam's auth wait is back"
    with FileSystems.open(f"{gcs_bucket}/charts/b.png") as f:
        assert f.read() == b"\x89PNG fake b"
    with FileSystems.create(f"{gcs_bucket}/written/by-beam.bin") as f:
        f.write(b"from FileSystems.create")
    assert gcs_emulator.read(f"{gcs_bucket}/written/by-beam.bin") == b"from FileSystems.create"

    # gcsfs through fsspec
    import fsspec
    import gcsfs

    assert gcsfs.GCSFileSystem.__name__ == "GCSFileSystem", (
        "extended gcsfs: GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT was not false at import"
    )
    with fsspec.open(f"{gcs_bucket}/charts/a.png", "rb") as f:
        assert f.read() == b"\x89PNG fake a"
    fs = fsspec.filesystem("gs")
    assert sorted(fs.ls(f"{bucket}/charts")) == [f"{bucket}/charts/a.png", f"{bucket}/charts/b.png"]
    with fsspec.open(f"{gcs_bucket}/written/by-gcsfs.bin", "wb") as f:
        f.write(b"from gcsfs")
    assert gcs_emulator.read(f"{gcs_bucket}/written/by-gcsfs.bin") == b"from gcsfs"


def test_gcs_in_batch_directrunner_pipeline(gcs_emulator, gcs_bucket):
    blobs = {f"{gcs_bucket}/in/{i}.bin": bytes([i]) * (i + 1) for i in range(4)}
    for uri, data in blobs.items():
        gcs_emulator.upload(uri, data)
    gcs_emulator.upload(f"{gcs_bucket}/in/skip.txt", b"not matched")

    with BeamTestPipeline(runner="DirectRunner", options=PipelineOptions([])) as p:
        read = (p
                | fileio.MatchFiles(f"{gcs_bucket}/in/*.bin")
                | fileio.ReadMatches()
                | beam.Map(lambda f: (f.metadata.path, f.read())))
        assert_that(read, equal_to(list(blobs.items())))
        (read
         | beam.MapTuple(lambda path, data: f"{path.rsplit('/', 1)[1]}:{len(data)}")
         | beam.io.WriteToText(f"{gcs_bucket}/out/sizes", num_shards=1, shard_name_template=""))

    assert gcs_emulator.list(f"{gcs_bucket}/out/") == [f"{gcs_bucket}/out/sizes"]  # no temp files left
    lines = gcs_emulator.read(f"{gcs_bucket}/out/sizes").decode().splitlines()
    assert sorted(lines) == ["0.bin:1", "1.bin:2", "2.bin:3", "3.bin:4"]


class _AppendToFile(beam.DoFn):
    """Streams each message to a local file as one JSON line (data, attributes)."""

    def __init__(self, path):
        self._path = path

    def process(self, message):
        with open(self._path, "a") as f:
            f.write(json.dumps({"data": message.data.decode(), "attributes": dict(message.attributes)}) + "\n")


def _wait_for_lines(path, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"only {len(lines)} of {count} messages reached {path} within {timeout} s")


def test_pubsub_streaming_directrunner_pipeline(pubsub_emulator, tmp_path):
    topic, sub = pubsub_emulator.create_topic_and_subscription("smoke-uploads", "smoke-uploads-sub")
    out = tmp_path / "messages.jsonl"
    out.write_text("")

    options = PipelineOptions([])
    options.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(runner="DirectRunner", options=options)
    (p
     | beam.io.ReadFromPubSub(subscription=sub, with_attributes=True)
     | beam.ParDo(_AppendToFile(str(out))))
    result = p.run()  # non-blocking in streaming mode
    try:
        # one message, then another only after the first came through: the pipeline is live
        pubsub_emulator.publish(topic, b"gs://charts/new.png", bucketId="charts", objectId="new.png")
        first = _wait_for_lines(out, 1, timeout=60)
        pubsub_emulator.publish(topic, b"plain payload")
        got = _wait_for_lines(out, 2, timeout=60)
    finally:
        stop_s = pubsub_emulator.stop_streaming_pipeline(result, topic)
        print(f"streaming pipeline stopped in {stop_s:.2f} s")

    assert first == [{"data": "gs://charts/new.png", "attributes": {"bucketId": "charts", "objectId": "new.png"}}]
    real = [m for m in got if pubsub_emulator.wakeup_attribute not in m["attributes"]]
    assert real == [
        {"data": "gs://charts/new.png", "attributes": {"bucketId": "charts", "objectId": "new.png"}},
        {"data": "plain payload", "attributes": {}},
    ]
    assert result.state == PipelineState.CANCELLED
    assert stop_s < 10, f"stopping the streaming pipeline took {stop_s:.1f} s"


def test_pubsub_fixture_round_trip(pubsub_emulator):
    topic, sub = pubsub_emulator.create_topic_and_subscription("smoke-roundtrip", "smoke-roundtrip-sub")
    assert os.environ["PUBSUB_EMULATOR_HOST"] == pubsub_emulator.host
    assert topic == f"projects/{pubsub_emulator.project}/topics/smoke-roundtrip"
    pubsub_emulator.publish(topic, b"hello", kind="greeting", n=3)
    messages = []
    deadline = time.monotonic() + 15
    while not messages and time.monotonic() < deadline:
        messages = pubsub_emulator.pull(sub, timeout=5)
    assert [(m.data, dict(m.attributes)) for m in messages] == [(b"hello", {"kind": "greeting", "n": "3"})]
    with pytest.raises(ValueError, match="invalid Pub/Sub topic name"):
        pubsub_emulator.create_topic_and_subscription("t1", "sub-ok")

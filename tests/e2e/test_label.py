"""pipelines.label end to end: batch, streaming, GCS, Pub/Sub, processes."""
import glob
import hashlib
import io
import json
import os
import threading
import time
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from core import features, runs
from core.results import read_results
from models.run import LoadedRun
from pipelines import label
from tests import support
from tests.support.images import image_bytes, label_command

RESULT_KEYS = set(features.RESULT_FIELDS)


MIXED = {
    "a.png": lambda: image_bytes(1, "PNG", size=(120, 80)),
    "b.jpg": lambda: image_bytes(2, "JPEG", size=(90, 140)),
    "c.gif": lambda: image_bytes(3, "GIF"),
    "d.webp": lambda: image_bytes(4, "WEBP"),
    "e.bmp": lambda: image_bytes(5, "BMP"),
    "f.tiff": lambda: image_bytes(6, "TIFF"),
    "g_rgba.png": lambda: image_bytes(7, "PNG", mode="RGBA"),
}


def _write_folder(folder, names) -> dict[str, bytes]:
    os.makedirs(folder, exist_ok=True)
    written = {}
    for name in names:
        data = MIXED[name]()
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        written[name] = data
    return written


def _results(prefix: str) -> tuple[list[dict], list[dict]]:
    return read_results(prefix)


def _serving_scores(run_dir: str, blobs: list[bytes]) -> np.ndarray:
    """The run's score computed by hand: the SavedModel's signature, blended with the LightGBM file's
    prediction on the descriptors of the same pixels (the demo model is an ensemble)."""
    import lightgbm
    import tensorflow as tf

    from transforms.descriptors import describe
    from transforms.image import prepare

    serving = tf.saved_model.load(os.path.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]
    metadata = runs.RunMetadata.read(run_dir).to_dict()
    pixels = np.stack([prepare(b, metadata["image_size"]).pixels for b in blobs])
    network = serving(**{runs.SERVING_INPUT: tf.constant([p.tobytes() for p in pixels])})[runs.SERVING_OUTPUT]
    trees = metadata[runs.BOOSTED_TREES_KEY]
    tree_scores = lightgbm.Booster(model_file=os.path.join(run_dir, trees["file"])).predict(describe(pixels))
    if trees.get("combine", "probability") == "probability":
        return (1 - trees["weight"]) * network.numpy() + trees["weight"] * tree_scores
    assert trees["combine"] == "logit"
    log_odds = [np.log(p / (1 - p)) for p in (np.clip(network.numpy().astype(np.float64), 1e-6, 1 - 1e-6), tree_scores)]
    return 1 / (1 + np.exp(-((1 - trees["weight"]) * log_odds[0] + trees["weight"] * log_odds[1])))


def _label(*args: str):
    return label.run(["--runner=DirectRunner", *args])


def test_batch_over_a_folder_labels_every_image_and_dead_letters_the_corrupt_one(model_dir, trained, tmp_path):
    inbox = tmp_path / "inbox"
    written = _write_folder(str(inbox), MIXED)
    jpeg = MIXED["b.jpg"]()
    (inbox / "corrupt.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # pixel data cut short
    (inbox / "sub").mkdir()
    nested = image_bytes(8, "PNG")
    (inbox / "sub" / "nested.png").write_bytes(nested)
    written["sub/nested.png"] = nested
    output = str(tmp_path / "out" / "labels")
    sorted_dir = tmp_path / "sorted"

    _label("--model_dir", model_dir, "--input", str(inbox), "--output", output, "--sort_into", str(sorted_dir))
    results, rejected = _results(output)

    by_name = {os.path.relpath(r["uri"], inbox): r for r in results}
    assert set(by_name) == set(written)
    assert [(os.path.basename(r["uri"]), r["reason"]) for r in rejected] == [("corrupt.jpg", "truncated")]
    metadata = runs.RunMetadata.read(runs.resolve_model_dir(model_dir)).to_dict()
    names = sorted(written)
    expected = _serving_scores(trained["summary"]["model_dir"], [written[n] for n in names])
    for name, score in zip(names, expected):
        r = by_name[name]
        assert set(r) == RESULT_KEYS
        assert r["score"] == pytest.approx(float(score), abs=1e-5)
        assert r["label"] == (features.CHART if r["score"] >= metadata["threshold"] else features.NON_CHART)
        low, high = metadata[runs.REVIEW_BAND_KEY]
        assert r["review"] == (low <= r["score"] < high)
        assert r["sha256"] == hashlib.sha256(written[name]).hexdigest()
        assert (r["width"], r["height"]) == Image.open(io.BytesIO(written[name])).size
        assert (r["model_type"], r["run_id"]) == ("demo", metadata["run_id"])
        assert datetime.fromisoformat(r["labeled_at"].replace("Z", "+00:00")).tzinfo is not None

    copies = sorted(p.relative_to(sorted_dir).parts[0] for p in sorted_dir.rglob("*") if p.is_file())
    assert copies == sorted(features.REVIEW if r["review"] else r["label"] for r in results)
    # --sort_into is idempotent: a second run adds no copies
    _label(
        "--model_dir",
        model_dir,
        "--input",
        str(inbox),
        "--output",
        str(tmp_path / "again" / "labels"),
        "--sort_into",
        str(sorted_dir),
    )
    assert len([p for p in sorted_dir.rglob("*") if p.is_file()]) == len(copies)


def test_odd_files_are_dead_lettered_and_every_listed_file_is_accounted_for(model_dir, tmp_path):
    """A non-UTF-8 name, a broken symlink, a symlink out of the folder, a FIFO and an oversized file
    each become a dead letter with its reason; the good images are still labelled."""
    inbox = tmp_path / "inbox"
    _write_folder(str(inbox), ["a.png", "b.jpg"])
    with open(os.path.join(os.fsencode(inbox), b"caf\xe9.png"), "wb") as f:  # Latin-1 name: not UTF-8
        f.write(MIXED["c.gif"]())
    os.symlink(tmp_path / "missing.png", inbox / "broken.png")
    (tmp_path / "secret.png").write_bytes(MIXED["d.webp"]())
    os.symlink(tmp_path / "secret.png", inbox / "escape.png")
    os.mkfifo(inbox / "pipe.png")
    (inbox / "huge.png").write_bytes(b"\0" * (2 * 1024 * 1024))
    output = str(tmp_path / "out" / "labels")

    _label("--model_dir", model_dir, "--input", str(inbox), "--output", output, "--max_file_mb", "1")
    results, rejected = _results(output)

    assert sorted(os.path.basename(r["uri"]) for r in results) == ["a.png", "b.jpg"]
    assert {os.path.basename(r["uri"]): r["reason"] for r in rejected} == {
        "caf\\xe9.png": "bad_file_name", "broken.png": "broken_symlink", "escape.png": "outside_root",
        "pipe.png": "not_a_file", "huge.png": "file_too_large",
    }
    assert len(results) + len(rejected) == len(os.listdir(inbox))  # listed = results + dead letters
    summary = json.load(open(output + features.LABEL_SUMMARY_SUFFIX))
    assert (
        summary["listed"]
        == len(os.listdir(inbox))
        == sum(summary["labelled"].values()) + sum(summary["rejected"].values())
    )
    assert summary["rejected"] == {
        "bad_file_name": 1,
        "broken_symlink": 1,
        "file_too_large": 1,
        "not_a_file": 1,
        "outside_root": 1,
    }


def test_max_pixels_dead_letters_larger_images_before_decoding(model_dir, tmp_path):
    _write_folder(str(tmp_path / "inbox"), ["a.png", "b.jpg"])  # 120x80 = 9600 and 90x140 = 12600 pixels
    output = str(tmp_path / "out" / "labels")
    _label("--model_dir", model_dir, "--input", str(tmp_path / "inbox"), "--output", output, "--max_pixels", "1e4")
    results, rejected = _results(output)
    assert [os.path.basename(r["uri"]) for r in results] == ["a.png"]
    assert [(os.path.basename(r["uri"]), r["reason"]) for r in rejected] == [("b.jpg", "decompression_bomb")]
    assert "over 10000 (--max_pixels)" in rejected[0]["detail"]


def test_an_input_that_matches_nothing_is_an_error(model_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="matches no files"):
        _label("--model_dir", model_dir, "--input", str(tmp_path / "empty"), "--output", str(tmp_path / "out"))
    with pytest.raises(ValueError, match="--poll_interval must be a number above 0"):
        _label(
            "--model_dir",
            model_dir,
            "--input",
            str(tmp_path / "empty"),
            "--output",
            str(tmp_path / "out"),
            "--streaming",
            "--poll_interval",
            "0",
        )


def test_command_line_runs_on_worker_processes_and_reports_bad_input(model_dir, tmp_path):
    import subprocess
    import sys

    root = support.REPO_ROOT
    _write_folder(str(tmp_path / "in"), ["a.png", "b.jpg", "c.gif"])
    command = [
        sys.executable,
        "-m",
        "pipelines.label",
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        "--input",
        str(tmp_path / "in"),
        "--output",
        str(tmp_path / "out" / "labels"),
    ]
    env = dict(os.environ, PYTHONPATH=root)
    ok = subprocess.run(
        [*command, "--model_dir", model_dir], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert len(_results(str(tmp_path / "out" / "labels"))[0]) == 3
    bad = subprocess.run(  # --overwrite: removes the earlier results only once the model has loaded
        [*command, "--model_dir", str(tmp_path), "--overwrite"], cwd=root, env=env, capture_output=True, text=True,
        timeout=300
    )
    assert bad.returncode == 1 and "is not a trained model" in bad.stderr
    assert len(_results(str(tmp_path / "out" / "labels"))[0]) == 3


def test_a_rerun_into_one_output_needs_overwrite_and_then_holds_only_its_own_results(model_dir, tmp_path):
    """A run in-process (one shard) then on two worker processes (two shards) into the same prefix, after a
    killed run left a beam-temp folder there: the prefix holds the last run's results only, as its summary says."""
    written = _write_folder(str(tmp_path / "in"), MIXED)
    output = str(tmp_path / "out" / "labels")
    _label("--model_dir", model_dir, "--input", str(tmp_path / "in"), "--output", output)
    leftover = tmp_path / "out" / f"beam-temp-labels-{'0' * 32}" / "shard.jsonl"
    leftover.parent.mkdir()
    leftover.write_text('{"uri": "from a killed run"}\n')
    with pytest.raises(ValueError, match="holds an earlier run's files .*pass --overwrite"):
        _label("--model_dir", model_dir, "--input", str(tmp_path / "in"), "--output", output)

    _label("--model_dir", model_dir, "--input", str(tmp_path / "in"), "--output", output, "--overwrite",
           "--direct_running_mode=multi_processing", "--direct_num_workers=2")

    results, rejected = _results(output)
    summary = json.load(open(output + features.LABEL_SUMMARY_SUFFIX))
    assert sorted(os.path.basename(r["uri"]) for r in results + rejected) == sorted(written)
    assert len(results) == sum(summary["labelled"].values()) and summary["listed"] == len(written)
    shard_counts = {name.rsplit("-of-", 1)[1] for name in os.listdir(tmp_path / "out") if name.startswith("labels-")}
    assert len(shard_counts) == 1, os.listdir(tmp_path / "out")  # one run's shards
    assert not leftover.parent.exists()


def test_a_run_that_blends_log_odds_is_labelled_with_them(trained, tmp_path):
    """`combine: logit` in the run's metadata changes every score (the shipped model's way), and a run
    without the entry (written before it existed) keeps the probability mean."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained["summary"]["model_dir"], run_dir)
    metadata = json.loads((run_dir / runs.METADATA_FILE).read_text())
    metadata[runs.BOOSTED_TREES_KEY]["combine"] = "logit"
    (run_dir / runs.METADATA_FILE).write_text(json.dumps(metadata))
    written = _write_folder(str(tmp_path / "in"), ["a.png", "b.jpg", "c.gif"])
    names = sorted(written)
    probability_mean = _serving_scores(trained["summary"]["model_dir"], [written[n] for n in names])
    expected = _serving_scores(str(run_dir), [written[n] for n in names])
    assert not np.allclose(expected, probability_mean, atol=1e-4)  # the two blends differ on these images
    _label("--model_dir", str(run_dir), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out" / "l"))
    scores = {os.path.basename(r["uri"]): r["score"] for r in _results(str(tmp_path / "out" / "l"))[0]}
    assert [scores[n] for n in names] == pytest.approx(list(expected), abs=1e-5)


@pytest.mark.parametrize(
    "damage", ["metadata_not_json", "metadata_without_image_size", "saved_model_corrupt", "saved_model_missing",
               "boosted_trees_missing", "boosted_trees_corrupt", "boosted_trees_on_other_descriptors",
               "boosted_trees_combine_unknown"]
)
def test_a_damaged_run_directory_fails_at_launch_naming_the_file(trained, tmp_path, damage):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained["summary"]["model_dir"], run_dir)
    metadata, graph = run_dir / runs.METADATA_FILE, run_dir / runs.SAVED_MODEL_DIR / runs.SAVED_MODEL_FILE
    if damage == "metadata_not_json":
        metadata.write_text("{truncated")
    elif damage == "metadata_without_image_size":
        metadata.write_text(
            json.dumps({k: v for k, v in json.loads(metadata.read_text()).items() if k != "image_size"})
        )
    elif damage == "saved_model_corrupt":
        graph.write_bytes(graph.read_bytes()[:100] + b"\xff" * 50)
    elif damage == "saved_model_missing":
        graph.unlink()
    elif damage == "boosted_trees_missing":
        (run_dir / runs.BOOSTED_TREES_FILE).unlink()
    elif damage == "boosted_trees_corrupt":
        (run_dir / runs.BOOSTED_TREES_FILE).write_text("tree\nversion=v4\nnum_class=banana\n")
    elif damage == "boosted_trees_combine_unknown":  # a run from a later version
        entry = json.loads(metadata.read_text())
        entry[runs.BOOSTED_TREES_KEY]["combine"] = "geometric"
        metadata.write_text(json.dumps(entry))
    else:  # a model from a version whose first descriptor was another
        trees = run_dir / runs.BOOSTED_TREES_FILE
        trees.write_text(trees.read_text().replace("feature_names=rgb_mean_0 ", "feature_names=brightness "))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(MIXED["a.png"]())
    match = "metadata.json|saved_model.pb" if "boosted" not in damage else (
        "trained on other descriptors.*retrain" if damage.endswith("descriptors") else
        "metadata.json: boosted_trees combine 'geometric'.*upgrade" if damage.endswith("unknown") else
        "boosted_trees.txt.*corrupt")
    with pytest.raises(ValueError, match=match):
        _label("--model_dir", str(run_dir), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"))


def test_threshold_option_overrides_the_recorded_one(model_dir, tmp_path):
    _write_folder(str(tmp_path / "in"), ["a.png", "b.jpg"])
    for name, threshold, everyone in (("lo", "0", features.CHART), ("hi", "1.01", features.NON_CHART)):
        output = str(tmp_path / name)
        _label("--model_dir", model_dir, "--input", str(tmp_path / "in" / "*.*"), "--output", output,
               "--threshold", threshold)
        assert {r["label"] for r in _results(output)[0]} == {everyone}


def test_batch_over_a_gcs_bucket(model_dir, gcs_emulator, gcs_bucket):
    for name in ("a.png", "b.jpg", "d.webp"):
        gcs_emulator.upload(f"{gcs_bucket}/inbox/{name}", MIXED[name]())
    gcs_emulator.upload(f"{gcs_bucket}/inbox/notes.txt", b"not an image at all")
    output = f"{gcs_bucket}/results/labels"
    _label("--model_dir", model_dir, "--input", f"{gcs_bucket}/inbox/*", "--output", output)
    results, rejected = _results(output)
    assert sorted(r["uri"] for r in results) == [f"{gcs_bucket}/inbox/{n}" for n in ("a.png", "b.jpg", "d.webp")]
    assert [(r["uri"], r["reason"]) for r in rejected] == [(f"{gcs_bucket}/inbox/notes.txt", "not_an_image")]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_streaming_over_a_folder_labels_new_files_once_and_resumes(model_dir, tmp_path):
    inbox, output = tmp_path / "inbox", str(tmp_path / "out" / "labels")
    _write_folder(str(inbox), ["a.png"])
    args = ["--model_dir", model_dir, "--input", str(inbox), "--output", output, "--streaming", "--poll_interval", "1"]
    run = threading.Thread(target=_label, args=(*args, "--duration", "14"))
    run.start()
    _wait_for(lambda: len(_results(output)[0]) == 1, 60, "the file present at start")
    _write_folder(str(inbox), ["b.jpg", "d.webp"])  # dropped while the job runs
    dropped = time.monotonic()
    _wait_for(lambda: len(_results(output)[0]) == 3, 30, "the files dropped later")
    latency = time.monotonic() - dropped
    (inbox / "b.jpg").write_bytes(MIXED["e.bmp"]())  # overwritten while watched: labelled again
    _wait_for(lambda: len(_results(output)[0]) == 4, 30, "the overwritten file")
    run.join(timeout=90)
    assert not run.is_alive(), "--duration did not stop the streaming run"
    assert latency < 10, f"results took {latency:.1f}s to appear"
    results = _results(output)[0]
    assert sorted(os.path.basename(r["uri"]) for r in results) == ["a.png", "b.jpg", "b.jpg", "d.webp"]
    assert {r["sha256"] for r in results if r["uri"].endswith("b.jpg")} == {
        hashlib.sha256(d).hexdigest() for d in (MIXED["b.jpg"](), MIXED["e.bmp"]())
    }

    with open(sorted(glob.glob(output + "-*.jsonl"))[0], "a") as f:
        f.write('{"uri": "cut sho')  # a writer killed mid-line must not break a restart
    _write_folder(str(inbox), ["e.bmp"])  # a restart labels only what the output does not hold yet
    _label(*args, "--duration", "5")
    assert sorted(os.path.basename(r["uri"]) for r in _results(output)[0]) == [
        "a.png",
        "b.jpg",
        "b.jpg",
        "d.webp",
        "e.bmp",
    ]


def test_an_unwritable_output_fails_at_launch(model_dir, tmp_path):
    _write_folder(str(tmp_path / "inbox"), ["a.png"])
    (tmp_path / "file").write_text("not a folder")
    for streaming in ([], ["--streaming", "--duration", "1"]):
        with pytest.raises(ValueError, match="--output .* cannot write there"):
            _label(
                "--model_dir",
                model_dir,
                "--input",
                str(tmp_path / "inbox"),
                "--output",
                str(tmp_path / "file" / "labels"),
                *streaming,
            )


def test_outputs_inside_the_watched_folder_are_refused(model_dir, tmp_path):
    _write_folder(str(tmp_path / "inbox"), ["a.png"])
    for flag, value in (("--output", tmp_path / "inbox" / "labels"), ("--sort_into", tmp_path / "inbox" / "sorted")):
        args = {"--output": str(tmp_path / "out"), flag: str(value)}
        with pytest.raises(ValueError, match="is inside --input"):
            _label(
                "--model_dir",
                model_dir,
                "--input",
                str(tmp_path / "inbox"),
                "--streaming",
                "--duration",
                "1",
                *[x for kv in args.items() for x in kv],
            )


def test_streaming_over_pubsub_handles_gcs_notifications_and_plain_uris(
    model_dir, pubsub_emulator, gcs_emulator, gcs_bucket, tmp_path
):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    topic, subscription = pubsub_emulator.create_topic_and_subscription("uploads", "labeller")
    gcs_emulator.upload(f"{gcs_bucket}/drop/a.png", MIXED["a.png"]())
    local = tmp_path / "b.jpg"
    local.write_bytes(MIXED["b.jpg"]())
    bucket, obj = gcs_bucket[len("gs://"):], "drop/a.png"
    notification = json.dumps({"kind": "storage#object", "bucket": bucket, "name": obj}).encode()
    pubsub_emulator.publish(topic, notification, bucketId=bucket, objectId=obj, eventType="OBJECT_FINALIZE")
    pubsub_emulator.publish(topic, notification, bucketId=bucket, objectId=obj, eventType="OBJECT_DELETE")  # ignored
    pubsub_emulator.publish(topic, notification, bucketId="evil-bucket", objectId=obj)  # a bucket nobody allowed
    pubsub_emulator.publish(topic, str(local).encode())
    output = str(tmp_path / "out" / "labels")
    args, beam_args = label.parse_args(
        ["--runner=DirectRunner", "--streaming", "--model_dir", model_dir, "--input", subscription, "--output", output,
         "--allowed_bucket", bucket, "--allowed_prefix", str(tmp_path) + os.sep, "--duration", "20"])
    p = beam.Pipeline(options=PipelineOptions(beam_args))
    label.build_pipeline(p, label.LabelOptions.from_args(args, streaming=True), LoadedRun.open(model_dir))
    p.run().wait_until_finish()  # up to --duration, then it drains what it pulled
    labelled, rejected = _results(output)
    assert sorted(r["uri"] for r in labelled) == sorted([f"{gcs_bucket}/drop/a.png", str(local)])
    assert [(r["uri"], r["reason"]) for r in rejected] == [(f"gs://evil-bucket/{obj}", "not_allowed")]
    assert pubsub_emulator.pull(subscription, timeout=2) == []  # every message answered was acknowledged


def test_streaming_dead_letters_a_bad_file_name_and_ctrl_c_exits_130(model_dir, tmp_path):
    import signal
    import subprocess

    root = support.REPO_ROOT
    inbox, output = tmp_path / "inbox", str(tmp_path / "out" / "labels")
    _write_folder(str(inbox), ["a.png"])
    with open(os.path.join(os.fsencode(inbox), b"caf\xe9.png"), "wb") as f:
        f.write(MIXED["b.jpg"]())
    command = label_command(model_dir, str(inbox), output, "--streaming", "--poll_interval", "1", "--duration", "300")
    job = subprocess.Popen(
        command,
        cwd=root,
        env=dict(os.environ, PYTHONPATH=root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: len(_results(output)[0]) == 1 and len(_results(output)[1]) == 1, 90, "both files")
        job.send_signal(signal.SIGINT)
        log, _ = job.communicate(timeout=90)
    finally:
        job.kill()
    assert job.returncode == 130, log[-3000:]
    assert [r["reason"] for r in _results(output)[1]] == ["bad_file_name"]

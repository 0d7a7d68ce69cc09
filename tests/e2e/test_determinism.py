"""Training is deterministic for a seed: runs side by side in separate processes (each slowing the others), one
of them on a single core and on records that ingest wrote in another order, export the same network; the two on
all cores and the same records also the same threshold, review band, test metrics and boosted trees."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from core import runs
from tests import support
from tests.support.images import image_bytes

ROOT = support.REPO_ROOT


ONE_CORE = ["taskset", "-c", "0"]  # Linux: the process sees one CPU, as on a smaller or busier machine


def _train(data_dir: str, base: str, prefix: list[str]) -> subprocess.Popen:
    command = [*prefix, sys.executable, "-m", "pipelines.train", "--model_type", "demo", "--data_dir", data_dir,
               "--epochs", "2", "--batch_size", "16"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "BASE_DIR": base}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _reordered(data_dir: str, target: str) -> str:
    """A copy of an ingest output whose shards hold their records in reverse order (ingest's order varies)."""
    import tensorflow as tf

    shutil.copytree(data_dir, target)
    for top, _, names in os.walk(target):
        for shard in (os.path.join(top, name) for name in names if name.endswith(".tfrecord.gz")):
            records = [r.numpy() for r in tf.data.TFRecordDataset(shard, compression_type="GZIP")]
            with tf.io.TFRecordWriter(shard, tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
                for record in reversed(records):
                    writer.write(record)
    return target


def _network_scores(run_dir: str, batch: list[bytes]) -> np.ndarray:
    """The exported SavedModel's own scores (without the boosted trees)."""
    import tensorflow as tf

    signature = tf.saved_model.load(os.path.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]
    return signature(**{runs.SERVING_INPUT: tf.constant(batch, dtype=tf.string)})[runs.SERVING_OUTPUT].numpy()


@pytest.mark.skipif(shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2,
                    reason="needs taskset and two CPUs")
def test_runs_in_parallel_processes_on_any_number_of_cores_export_the_same_model(demo_ingest, tmp_path):
    from transforms.image import prepare

    bases = {name: str(tmp_path / name) for name in ("a", "b", "elsewhere")}
    reordered = _reordered(demo_ingest, str(tmp_path / "reordered"))
    processes = [_train(demo_ingest, bases["a"], []), _train(demo_ingest, bases["b"], []),
                 _train(reordered, bases["elsewhere"], ONE_CORE)]
    for process in processes:  # all at once: each loads the machine for the others
        output = process.communicate(timeout=900)[0]
        assert process.returncode == 0, output[-3000:]
    run_dirs = {name: runs.resolve_model_dir(os.path.join(base, runs.MODELS_DIR, "demo", runs.LATEST_FILE))
                for name, base in bases.items()}
    first, second, third = (runs.RunMetadata.read(run_dirs[name]).to_dict() for name in ("a", "b", "elsewhere"))
    for key in ("threshold", runs.REVIEW_BAND_KEY, "test_metrics"):
        assert first[key] == second[key] == third[key], key
    trees = [open(os.path.join(run_dirs[name], runs.BOOSTED_TREES_FILE)).read() for name in ("a", "b", "elsewhere")]
    assert trees[0] == trees[1] == trees[2]  # LightGBM on a fixed number of threads, whatever the cores
    batch = [prepare(image_bytes(seed, size=(120, 80)), first["image_size"]).pixels.tobytes() for seed in range(16)]
    scores = {name: _network_scores(run_dir, batch) for name, run_dir in run_dirs.items()}
    for name in ("b", "elsewhere"):
        assert np.array_equal(scores["a"], scores[name]), (name, np.abs(scores["a"] - scores[name]).max())

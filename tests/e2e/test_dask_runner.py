"""The pipelines on a local Dask cluster give the DirectRunner's outputs."""
import glob
import json
import os
import pathlib
import shutil
from typing import Iterator

import pytest
import yaml

from core import features
from core.results import read_results
from pipelines import evaluate, ingest, label

DASK = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


PER_LABEL = 6  # real images copied from each of the sample's label folders


BAD = {"chart/truncated.png": "truncated", "non_chart/notes.png": "not_an_image"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The scheduler address of a LocalCluster: 2 worker processes, a thread each, on 127.0.0.1."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def data_dir(real_sample, tmp_path_factory) -> str:
    """chart/ and non_chart/ with PER_LABEL real images each, a PNG cut in half and a text file named .png."""
    root = tmp_path_factory.mktemp("dask_data")
    for name in features.LABEL_NAMES:
        (root / name).mkdir()
        for picture in sorted(os.listdir(os.path.join(real_sample, name)))[:PER_LABEL]:
            shutil.copy(os.path.join(real_sample, name, picture), root / name / picture)
    data = pathlib.Path(sorted(glob.glob(os.path.join(real_sample, features.CHART, "*.png")))[0]).read_bytes()
    (root / "chart" / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "non_chart" / "notes.png").write_bytes(b"this is a text file, not a picture\n" * 20)
    return str(root)


def _runners(cluster: str) -> dict[str, list[str]]:
    return {"direct": ["--runner=DirectRunner"], "dask": [DASK, f"--dask_client_address={cluster}"]}


def test_label_on_dask_gives_the_direct_runners_labels_dead_letters_and_summary(cluster, data_dir, model_dir, tmp_path):
    outputs = {}
    for name, runner in _runners(cluster).items():
        outputs[name] = str(tmp_path / name / "labels")
        label.run([*runner, "--model_dir", model_dir, "--input", data_dir, "--output", outputs[name]])
    (direct, direct_rejected), (dask, dask_rejected) = (
        read_results(outputs[name]) for name in ("direct", "dask")
    )

    assert len(direct) == 2 * PER_LABEL
    assert sorted((r["uri"], r["label"]) for r in dask) == sorted((r["uri"], r["label"]) for r in direct)
    scores = {r["uri"]: r["score"] for r in direct}
    assert {r["uri"]: r["score"] for r in dask} == {
        uri: pytest.approx(score, abs=1e-6) for uri, score in scores.items()
    }
    letters = {name: sorted((os.path.relpath(r["uri"], data_dir), r["reason"], r["detail"]) for r in rejected)
               for name, rejected in (("direct", direct_rejected), ("dask", dask_rejected))}
    assert letters["dask"] == letters["direct"] and [(uri, reason) for uri, reason, _ in letters["dask"]] == sorted(
        BAD.items()
    )
    summaries = [
        json.loads(pathlib.Path(outputs[name] + features.LABEL_SUMMARY_SUFFIX).read_text())
        for name in ("direct", "dask")
    ]
    for summary in summaries:
        summary.pop("finished_at")
    assert summaries[0] == summaries[1] and summaries[1]["listed"] == 2 * PER_LABEL + len(BAD)
    # Reshuffle spread the listed files over the cluster's two worker threads: one result shard each.
    assert len(glob.glob(outputs["dask"] + "-*-of-00002.jsonl")) == 2


def test_evaluate_on_dask_gives_the_direct_runners_metrics(cluster, data_dir, model_dir, tmp_path):
    metrics = {}
    for name, runner in _runners(cluster).items():
        evaluate.run([*runner, "--model_dir", model_dir, "--data_dir", data_dir, "--output_dir", str(tmp_path / name)])
        metrics[name] = json.loads((tmp_path / name / "metrics.json").read_text())

    for key in ("count", "counts", "accuracy", "f1", "roc_auc", "confusion_matrix", "rejected"):
        assert metrics["dask"][key] == metrics["direct"][key], key
    assert metrics["dask"]["count"] == 2 * PER_LABEL and metrics["dask"]["rejected"]["count"] == len(BAD)


def test_ingest_on_dask_writes_the_direct_runners_records_splits_and_summary(cluster, data_dir, tmp_path):
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "folder", "root": data_dir},
                                                                    {"type": "demo", "size": 24, "seed": 5}]}))
    summaries = {name: ingest.run([*runner, f"--config={config}", f"--output_dir={tmp_path / name}"])
                 for name, runner in _runners(cluster).items()}

    assert summaries["dask"] == summaries["direct"]
    assert summaries["dask"]["total_examples"] == 2 * PER_LABEL + 24
    assert summaries["dask"]["rejected"] == dict.fromkeys(BAD.values(), 1)
    for split in features.SPLITS:
        assert _records(tmp_path / "dask", split) == _records(tmp_path / "direct", split), split
    assert (
        sum(len(_records(tmp_path / "dask", split)) for split in features.SPLITS) == summaries["dask"]["total_examples"]
    )


def _records(output_dir, split: str) -> list[bytes]:
    """Every tf.Example of a split (from the shards its manifest lists), serialized with its features
    in key order (the encoder's order follows string hashing, which differs between processes), sorted."""
    import tensorflow as tf

    from models.data import split_files

    records = tf.data.TFRecordDataset(split_files(str(output_dir), split), compression_type="GZIP").as_numpy_iterator()
    return sorted(tf.train.Example.FromString(r).SerializeToString(deterministic=True) for r in records)


def test_a_side_input_from_a_combine_reaches_every_element_run_after_run(cluster, tmp_path):
    """Labelling's progress total: a count of the listed files, read by a step over the spread-out files. The bag
    translation lost the side input's partition on some runs, and the run ended 'done' with nothing written."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.dask_runner import DaskRunner

    for attempt in range(4):
        output = tmp_path / str(attempt) / "out"
        with beam.Pipeline(runner=DaskRunner(), options=PipelineOptions([f"--dask_client_address={cluster}"])) as p:
            listed = p | beam.Create(range(10))
            total = beam.pvalue.AsSingleton(listed | "Total" >> beam.combiners.Count.Globally())
            _ = (listed | beam.Reshuffle() | beam.Map(lambda x, n: f"{x}/{n}", total)
                 | beam.io.WriteToText(str(output)))
        lines = sorted(line for f in output.parent.iterdir() for line in f.read_text().split())
        assert lines == sorted(f"{x}/10" for x in range(10)), attempt


def test_a_run_whose_outputs_the_cluster_cancelled_fails(cluster):
    import time

    from apache_beam.runners.runner import PipelineState
    from dask.distributed import Client
    from distributed.client import FutureCancelledError

    from pipelines.dask_runner import _Result

    client = Client(cluster)
    result = _Result(client, [client.submit(time.sleep, 30, pure=False)])
    client.cancel(result.futures)
    with pytest.raises(FutureCancelledError):
        result.wait_until_finish()
    assert result.state == PipelineState.FAILED

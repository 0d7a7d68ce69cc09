"""A person's corrections train the next model: `python -m pipelines.ingest` over a user's folder (the model's old
labels) plus a corrections source made by the review page's own writer, then ship's provenance of both configs."""
import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from core import corrections, features, runs
from tests import support
from tests.support.images import image_bytes

ROOT = support.REPO_ROOT
CHART, NON_CHART = features.CHART, features.NON_CHART
OLD_LABELS = {"c0.png": CHART, "c1.png": CHART, "c2.png": CHART, "n0.png": NON_CHART, "n1.png": NON_CHART,
              "n2.png": NON_CHART}  # what the model said: the folder a user sorted with it


def _ingest_command(*configs: str, output_dir: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.ingest", "--runner=DirectRunner",
         *(f"--config={c}" for c in configs), f"--output_dir={output_dir}"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> dict:
    """The user's folder, the decisions on it (two flipped, one taken back, a torn last line) and the two configs."""
    root = tmp_path_factory.mktemp("corrections")
    paths = {}
    for seed, (name, label) in enumerate(sorted(OLD_LABELS.items())):
        path = root / "mine" / label / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes(seed, size=(80, 60)))
        paths[name] = str(path)
    review = root / "labels" / "run1.corrections.jsonl"
    review.parent.mkdir()

    def decide(name: str, label) -> None:
        corrections.append(str(review), corrections.Decision(paths[name], label, OLD_LABELS[name], 0.5, "run1"))

    decide("c0.png", NON_CHART)
    decide("n0.png", CHART)
    decide("c1.png", NON_CHART)
    decide("c1.png", corrections.UNDECIDED)  # taken back: the model's chart stands
    with open(review, "ab") as f:
        f.write(b'{"image": "' + paths["n1.png"].encode() + b'", "label": "ch')  # a crash cut this write short
    base = root / "base.yaml"
    base.write_text(yaml.safe_dump({"image_size": 32, "split": {"train": 1.0, "val": 0.0, "test": 0.0},
                                    "sources": [{"type": "folder", "root": str(root / "mine"), "weight": 3}]}))
    extra = root / "my_corrections.yaml"
    extra.write_text(yaml.safe_dump({"sources": [{"type": "corrections", "path": str(review), "weight": 8}]}))
    return {"root": root, "paths": paths, "review": str(review), "base": str(base), "extra": str(extra),
            "mine": str(root / "mine")}


@pytest.fixture(scope="module")
def ingested(reviewed) -> dict:
    output_dir = str(reviewed["root"] / "out")
    result = _ingest_command(reviewed["base"], reviewed["extra"], output_dir=output_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.load(open(os.path.join(output_dir, features.SUMMARY_FILE)))
    return {"dir": output_dir, "summary": summary, "log": result.stderr}


def _records(output_dir: str) -> dict[str, tuple[str, float]]:
    """{sha256 of the original file: (label, weight)} of every record ingest wrote."""
    import tensorflow as tf

    from models.data import sha256s, split_files
    spec = {features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
            features.WEIGHT_KEY: tf.io.FixedLenFeature([], tf.float32)}
    found = {}
    for split in features.SPLITS:
        files = split_files(output_dir, split)
        parsed = tf.data.TFRecordDataset(files, compression_type="GZIP").map(lambda r: tf.io.parse_example(r, spec))
        for sha, record in zip(sha256s(files), parsed.as_numpy_iterator()):
            found[sha] = (features.LABEL_NAMES[record[features.LABEL_KEY]], float(record[features.WEIGHT_KEY]))
    return found


def test_the_records_hold_the_corrected_labels_with_the_corrections_weight(reviewed, ingested):
    sha = {name: hashlib.sha256(open(path, "rb").read()).hexdigest() for name, path in reviewed["paths"].items()}
    assert _records(ingested["dir"]) == {
        sha["c0.png"]: (NON_CHART, 8.0), sha["n0.png"]: (CHART, 8.0),  # flipped by a person
        sha["c1.png"]: (CHART, 3.0),  # the decision was taken back: the folder's label
        sha["c2.png"]: (CHART, 3.0), sha["n1.png"]: (NON_CHART, 3.0), sha["n2.png"]: (NON_CHART, 3.0)}


def test_the_summary_accounts_for_every_decision_and_the_log_for_what_it_left_out(reviewed, ingested):
    summary = ingested["summary"]
    assert summary["counts"][features.TRAIN] == {CHART: 3, NON_CHART: 3}
    assert summary["per_source"] == {
        reviewed["mine"]: {"listed": 6, "examples": 4, "rejected": 0, "duplicates": 2},
        reviewed["review"]: {"listed": 3, "examples": 2, "rejected": 1, "duplicates": 0}}
    assert summary["rejected"] == {"bad_manifest_line": 1} and summary["duplicates"] == 2
    dead = [json.loads(line) for name in os.listdir(os.path.join(ingested["dir"], "dead_letter"))
            for line in open(os.path.join(ingested["dir"], "dead_letter", name))]
    assert [(d["uri"], d["reason"]) for d in dead] == [(f"{reviewed['review']}:5", "bad_manifest_line")]
    (line,) = [line for line in ingested["log"].splitlines() if "corrections source" in line]
    assert "4 decision(s) in 1 file(s): 2 image(s) relabelled" in line and "1 taken back" in line
    assert "1 torn line(s)" in line


def test_a_missing_corrections_file_stops_ingest_naming_the_file_and_the_fix(reviewed, tmp_path):
    missing = str(tmp_path / "labels" / "nobody.corrections.jsonl")
    extra = tmp_path / "missing.yaml"
    extra.write_text(yaml.safe_dump({"sources": [{"type": "corrections", "path": missing}]}))
    result = _ingest_command(reviewed["base"], str(extra), output_dir=str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert missing in error and "serve --review" in error and "`path:`" in error


def test_ship_records_every_config_ingest_read(reviewed, trained, tmp_path):
    from pipelines import ship

    target = tmp_path / "shipped"
    ship.run(["--run_dir", trained["summary"]["model_dir"], "--config", reviewed["base"], "--config",
              reviewed["extra"], "--seed", "0", "--target", str(target)])
    provenance = runs.RunMetadata.read(str(target)).provenance
    assert provenance["ingest_config_files"] == [reviewed["base"], reviewed["extra"]]
    documents = list(yaml.safe_load_all(provenance["ingest_config"]))
    assert documents == [yaml.safe_load(open(reviewed["base"])), yaml.safe_load(open(reviewed["extra"]))]

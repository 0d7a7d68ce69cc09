"""pipelines.ship: the shipped model, its committed review band and provenance."""
import filecmp
import json
import os

import numpy as np
import pytest

from core import features, runs
from tests import support

ROOT = support.REPO_ROOT


BAND_FILE = os.path.join(ROOT, "configs", "shipped_review_band.json")


DEMO_CONFIG = os.path.join(ROOT, "configs", "ingest_demo.yaml")


def _ship(run_dir: str, target, *extra: str) -> dict:
    from pipelines import ship

    ship.run(["--run_dir", run_dir, "--config", DEMO_CONFIG, "--seed", "0", "--target", str(target), *extra])
    return runs.RunMetadata.read(str(target)).to_dict()


def _folds(path, threshold: float = 0.5, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A fold run's results file at `path` with 400 out-of-fold scores over two folds, either class 0.3 from
    `threshold` give or take 0.2 (about one in fifteen on the wrong side of it); their truths and scores."""
    rng = np.random.default_rng(seed)
    truths = rng.integers(0, 2, 400)
    scores = np.clip(threshold + (2 * truths - 1) * 0.3 + rng.normal(0, 0.2, truths.size), 0, 1)

    def fold(images: range) -> dict:
        return {"scores": {f"/real/{i}.png": [features.LABEL_NAMES[truths[i]], float(scores[i])] for i in images}}

    path.write_text(json.dumps({"args": {"seed": seed}, "environment": {"git_commit": "abc1234"},
                                "summary": {"accuracy": {"mean": 0.9}}, "folds": [fold(range(250)),
                                                                                 fold(range(250, 400))]}))
    return truths, scores


def _same_files(compared: filecmp.dircmp) -> bool:
    """Both trees hold the same files, byte for byte."""
    _, mismatch, errors = filecmp.cmpfiles(compared.left, compared.right, compared.common_files, shallow=False)
    return not (compared.left_only or compared.right_only or mismatch or errors) and all(
        _same_files(sub) for sub in compared.subdirs.values())


def test_without_model_dir_the_shipped_model_is_used_with_the_committed_band():
    assert runs.resolve_model_dir(None) == runs.SHIPPED_MODEL_DIR
    metadata = runs.RunMetadata.read(runs.SHIPPED_MODEL_DIR).to_dict()
    assert metadata["model_type"] == "chart-cnn" and metadata["image_size"] == 128
    provenance = metadata["provenance"]
    assert provenance["commit"] and provenance["seed"] == 0 and "real_train" in provenance["ingest_config"]
    assert {"accuracy", "f1", "roc_auc", "accuracy_outside_band"} <= set(provenance["source_disjoint"])
    for entry in (runs.BOOSTED_TREES_KEY, runs.PRETRAINED_MEMBER_KEY):  # the chart-cnn recipe's three members
        assert os.path.isfile(os.path.join(runs.SHIPPED_MODEL_DIR, metadata[entry]["file"]))
    low, high = metadata[runs.REVIEW_BAND_KEY]
    assert 0.0 <= low <= metadata["threshold"] <= high <= 1.0
    chosen = json.load(open(BAND_FILE))  # what `make model` ships: the band chosen on the fold run, committed
    assert metadata[runs.REVIEW_BAND_KEY] == chosen[runs.REVIEW_BAND_KEY]
    assert metadata["review_band_source"] == chosen["review_band_source"]
    assert provenance["source_disjoint"] == chosen["source_disjoint"]
    assert provenance["source_disjoint_run"] == chosen["source_disjoint_run"]
    for top, _, names in os.walk(runs.SHIPPED_MODEL_DIR):
        assert all(os.path.getsize(os.path.join(top, n)) <= 5 * 1024 * 1024 for n in names)


def test_ship_copies_what_labelling_needs_and_records_provenance(trained, tmp_path):
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"args": {"folds": 3, "seed": 2}, "environment": {"git_commit": "abc1234"},
                                 "summary": {"accuracy": {"mean": 0.9}}, "folds": []}))
    run_dir = trained["summary"]["model_dir"]
    target = tmp_path / "shipped"
    metadata = _ship(run_dir, target, "--folds", str(folds))
    assert metadata["provenance"]["seed"] == 0 and metadata["provenance"]["source_disjoint"] == {
        "accuracy": {"mean": 0.9}}
    assert metadata["provenance"]["source_disjoint_run"] == {"args": {"folds": 3, "seed": 2}, "commit": "abc1234",
                                                             "date_utc": None}
    # No out-of-fold scores to choose a band on: the run's own (val-chosen) band is shipped.
    assert metadata[runs.REVIEW_BAND_KEY] == list(runs.RunMetadata.read(run_dir).review_band)
    assert "val split" in metadata["review_band_source"] and "val_review_band" not in metadata["provenance"]
    copied = [runs.BOOSTED_TREES_FILE, runs.TRAINING_IMAGES_FILE]  # the trees, and what evaluate checks overlap with
    assert sorted(os.listdir(target)) == sorted([runs.SAVED_MODEL_DIR, runs.METADATA_FILE, *copied])
    for name in copied:
        assert filecmp.cmp(os.path.join(run_dir, name), target / name, shallow=False)
    assert _same_files(filecmp.dircmp(os.path.join(run_dir, runs.SAVED_MODEL_DIR), target / runs.SAVED_MODEL_DIR))
    assert runs.resolve_model_dir(str(target)) == str(target)


def test_with_fold_results_the_shipped_band_is_chosen_on_their_out_of_fold_scores(trained, tmp_path):
    """Val holds look-alikes of the training sources; the fold run's held-out images come from sources its
    models never saw, as users' images do, so the shipped default band is chosen on those."""
    run_dir = trained["summary"]["model_dir"]
    threshold = runs.RunMetadata.read(run_dir).threshold
    truths, scores = _folds(tmp_path / "folds.json", threshold)
    metadata = _ship(run_dir, tmp_path / "shipped", "--folds", str(tmp_path / "folds.json"), "--review_target", "0.98")
    low, high = metadata[runs.REVIEW_BAND_KEY]
    assert metadata["provenance"]["val_review_band"] == list(runs.RunMetadata.read(run_dir).review_band)
    assert "400 out-of-fold scores" in metadata["review_band_source"] and "0.98" in metadata["review_band_source"]
    outside, right = (scores < low) | (scores >= high), (scores >= threshold) == truths
    for side in (scores < threshold, scores >= threshold):  # each side of the threshold meets the target
        assert right[outside & side].mean() >= 0.98
    assert 0.5 < outside.mean() < 1.0 and right[~outside].mean() < 0.98  # the unsure middle goes to review


def test_shipping_with_the_committed_band_file_gives_its_band_and_provenance(trained, tmp_path):
    run_dir = trained["summary"]["model_dir"]
    metadata = _ship(run_dir, tmp_path / "shipped", "--review_band_file", BAND_FILE)
    chosen = json.load(open(BAND_FILE))
    assert metadata[runs.REVIEW_BAND_KEY] == chosen[runs.REVIEW_BAND_KEY]
    assert metadata["review_band_source"] == chosen["review_band_source"]
    provenance = metadata["provenance"]
    assert provenance["source_disjoint"] == chosen["source_disjoint"] and provenance["review_band_file"] == BAND_FILE
    assert provenance["source_disjoint_run"] == chosen["source_disjoint_run"]
    assert provenance["val_review_band"] == list(runs.RunMetadata.read(run_dir).review_band)


def test_ship_with_folds_writes_the_band_file_that_a_later_ship_reads_back(trained, tmp_path):
    run_dir = trained["summary"]["model_dir"]
    _folds(tmp_path / "folds.json")
    band_file = str(tmp_path / "band.json")
    chosen = _ship(run_dir, tmp_path / "first", "--folds", str(tmp_path / "folds.json"), "--review_band_file",
                   band_file)
    written = json.load(open(band_file))
    assert written[runs.REVIEW_BAND_KEY] == chosen[runs.REVIEW_BAND_KEY] and written["review_target"] == 0.99
    assert written["chosen_at_threshold"] == chosen["threshold"]
    assert written["source_disjoint_run"] == {"args": {"seed": 3}, "commit": "abc1234", "date_utc": None}
    again = _ship(run_dir, tmp_path / "again", "--review_band_file", band_file)  # no fold results this time
    assert "400 out-of-fold scores" in again["review_band_source"] and again == chosen


def test_a_band_at_a_coverage_is_chosen_on_several_fold_runs_pooled_and_read_back(trained, tmp_path):
    """Fold runs of other seeds pool their out-of-fold scores; --review_coverage fixes the share left to the model."""
    from models.metrics import sureness

    run_dir = trained["summary"]["model_dir"]
    threshold = runs.RunMetadata.read(run_dir).threshold
    (_, first), (_, second) = (_folds(tmp_path / f"folds{seed}.json", threshold, seed) for seed in (3, 4))
    scores = np.concatenate([first, second])
    band_file = str(tmp_path / "band.json")
    chosen = _ship(run_dir, tmp_path / "first", "--folds", str(tmp_path / "folds3.json"),
                   str(tmp_path / "folds4.json"), "--review_coverage", "0.9", "--review_band_file", band_file)
    low, high = chosen[runs.REVIEW_BAND_KEY]
    assert np.mean((scores < low) | (scores >= high)) == pytest.approx(0.9, abs=0.003)  # of all 800, not of one run
    assert sureness([low], threshold) == pytest.approx(sureness([high], threshold))
    assert "800 out-of-fold scores of 2 source-disjoint runs" in chosen["review_band_source"]
    assert "90% of them outside it" in chosen["review_band_source"]
    provenance = chosen["provenance"]
    assert provenance["source_disjoint_run"]["args"] == {"seed": 3}  # the first run's figures are the recipe's
    assert [run["args"] for run in provenance["band_fold_runs"]] == [{"seed": 3}, {"seed": 4}]
    written = json.load(open(band_file))
    assert written["review_coverage"] == 0.9 and "review_target" not in written
    assert _ship(run_dir, tmp_path / "again", "--review_band_file", band_file) == chosen
    with pytest.raises(ValueError, match="--review_coverage is the share .* between 0 and 1, got 90"):
        _ship(run_dir, tmp_path / "bad", "--folds", str(tmp_path / "folds3.json"), "--review_coverage", "90")
    with pytest.raises(SystemExit):  # a band is chosen by one rule: argparse refuses both
        _ship(run_dir, tmp_path / "both", "--folds", str(tmp_path / "folds3.json"), "--review_coverage", "0.9",
              "--review_target", "0.99")


def test_a_band_file_that_leaves_the_threshold_outside_is_refused(trained, tmp_path):
    run_dir = trained["summary"]["model_dir"]
    threshold = runs.RunMetadata.read(run_dir).threshold
    band_file = tmp_path / "band.json"
    band_file.write_text(json.dumps({**json.load(open(BAND_FILE)), runs.REVIEW_BAND_KEY: [0.0, threshold / 2]}))
    with pytest.raises(ValueError, match="outside the band"):
        _ship(run_dir, tmp_path / "shipped", "--review_band_file", str(band_file))


def test_fold_results_without_scores_write_no_band_file(trained, tmp_path):
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"args": {}, "environment": {}, "summary": {}, "folds": [{}]}))
    with pytest.raises(ValueError, match="no out-of-fold scores"):
        _ship(trained["summary"]["model_dir"], tmp_path / "shipped", "--folds", str(folds), "--review_band_file",
              str(tmp_path / "band.json"))
    assert not (tmp_path / "band.json").exists()

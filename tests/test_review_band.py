"""The review band: chosen on val by train, recorded with the model, applied by label, evaluate and
serve (scores in [low, high) are marked review: true). The shipped default model's band: tests/test_ship.py."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from core import features, runs
from core.results import read_results
from models.metrics import choose_review_band, selective
from models.run import LoadedRun
from pipelines import evaluate, label, options
from tests.conftest import image_bytes


@pytest.mark.parametrize("labels, scores, target, expected", [
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.99, (0.5, 0.5)),  # all sure: no band
    ([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9], 0.99, (0.15, 0.85)),  # the mistakes nearest the threshold go to review
    ([1, 0, 0, 1], [0.1, 0.2, 0.8, 0.9], 0.99, (0.0, 0.85)),  # the surest non_chart is wrong: that whole side to review
    ([0, 1, 0, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.9], 0.6, (0.5, 0.5)),  # 3 of 4 right below 0.5 meets a 0.6 target
])
def test_the_band_is_the_widest_coverage_meeting_the_target_on_each_side(labels, scores, target, expected):
    assert choose_review_band(labels, scores, 0.5, target) == pytest.approx(expected)


def test_outside_the_chosen_band_val_accuracy_meets_the_target():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 3000)
    scores = np.clip(labels * 0.6 + rng.normal(0.2, 0.2, labels.size), 0, 1)
    band = choose_review_band(labels, scores, 0.5, 0.99)
    chosen = selective(labels, scores, 0.5, band)
    assert chosen["accuracy_outside_band"] >= 0.99 and 0.5 < chosen["coverage"] < 1.0
    assert chosen["accuracy_inside_band"] < 0.9 and chosen["in_review"] == round((1 - chosen["coverage"]) * labels.size)
    wider = selective(labels, scores, 0.5, (band[0] + 0.02, band[1] - 0.02))
    assert wider["accuracy_outside_band"] < 0.99  # a narrower band would miss the target: the chosen one is tight


@pytest.mark.parametrize("text, expected", [("0.2,0.8", (0.2, 0.8)), ("off", (0.0, 0.0)), (" 0.5,0.5", (0.5, 0.5))])
def test_review_band_flag_parses(text, expected):
    assert options.review_band(text) == expected


@pytest.mark.parametrize("text", ["0.8,0.2", "0.5", "a,b", "-0.1,0.5", "0.2,1.5"])
def test_a_bad_review_band_is_refused_with_the_expected_form(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="LOW"):
        options.review_band(text)


def _folder(root) -> None:
    for i in range(4):
        for name in features.LABEL_NAMES:
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{name}_{i}.png").write_bytes(image_bytes(60 + i + 10 * (name == features.CHART), "PNG"))


def test_label_marks_scores_in_the_band_and_sorts_them_into_review(trained, tmp_path):
    _folder(tmp_path / "in")
    output, sorted_dir = str(tmp_path / "out" / "labels"), tmp_path / "sorted"
    model_dir = trained["summary"]["model_dir"]
    label.run(["--runner=DirectRunner", "--model_dir", model_dir, "--input", str(tmp_path / "in"), "--output", output])
    scores = sorted(r["score"] for r in read_results(output)[0])
    band = (scores[2], scores[5])  # three of the eight scores fall in [low, high)
    label.run(["--runner=DirectRunner", "--model_dir", model_dir, "--input", str(tmp_path / "in"),
               "--output", output + "2", "--review_band", f"{band[0]},{band[1]}", "--sort_into", str(sorted_dir)])
    results = read_results(output + "2")[0]
    assert all(r["review"] == (band[0] <= r["score"] < band[1]) for r in results)
    assert sum(r["review"] for r in results) == 3
    review_copies = os.listdir(sorted_dir / features.REVIEW)
    in_review = sorted(os.path.basename(r["uri"]) for r in results if r["review"])
    assert sorted(n.split("_", 1)[1] for n in review_copies) == in_review
    summary = json.load(open(output + "2" + features.LABEL_SUMMARY_SUFFIX))
    assert summary["review"] == 3 and summary["review_band"] == list(band)


def test_label_takes_the_band_recorded_with_the_model_and_off_turns_it_off(trained, tmp_path):
    _folder(tmp_path / "in")
    model_dir = trained["summary"]["model_dir"]
    recorded = runs.RunMetadata.read(model_dir).review_band
    assert LoadedRun.open(model_dir).rule.review_band == tuple(recorded)
    off = LoadedRun.open(model_dir, None, options.review_band("off"))
    assert off.rule.review_band == (0.0, 0.0) and not off.verdict(0.5)["review"]


def test_evaluate_reports_coverage_and_accuracy_outside_the_band(trained, tmp_path):
    _folder(tmp_path / "eval")
    model_dir = trained["summary"]["model_dir"]
    metrics = evaluate.run(["--runner=DirectRunner", "--model_dir", model_dir, "--data_dir", str(tmp_path / "eval"),
                            "--output_dir", str(tmp_path / "out"), "--review_band", "0.0,1.0"])
    assert metrics["coverage"] == 0.0 and metrics["in_review"] == 8 and metrics["accuracy_outside_band"] is None
    metrics = evaluate.run(["--runner=DirectRunner", "--model_dir", model_dir, "--data_dir", str(tmp_path / "eval"),
                            "--output_dir", str(tmp_path / "out"), "--review_band", "off"])
    assert metrics["coverage"] == 1.0 and metrics["accuracy_outside_band"] == metrics["accuracy"]
    assert Image.open(tmp_path / "out" / "coverage.png").size[0] > 300


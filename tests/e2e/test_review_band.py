"""The review band end to end: label marks and sorts it, evaluate reports it."""
import json
import os

from PIL import Image

from core import features, runs
from core.results import read_results
from models.run import LoadedRun
from pipelines import evaluate, label, options
from tests.support.images import image_bytes


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

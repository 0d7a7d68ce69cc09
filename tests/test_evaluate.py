"""The evaluate command and the decision threshold."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from core import features
from models.metrics import binary_metrics, choose_threshold
from pipelines import evaluate
from tests.conftest import image_bytes


def test_evaluate_writes_metrics_plots_and_a_contact_sheet_of_mistakes(trained, tmp_path):
    root = tmp_path / "eval"
    for i in range(4):
        for name in features.LABEL_NAMES:
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{name}_{i}.png").write_bytes(image_bytes(40 + i + 10 * (name == features.CHART), "PNG"))
    (root / features.CHART / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    out = tmp_path / "report"
    model_dir = os.path.join(trained["base"], "models", "demo", "latest")

    metrics = evaluate.run(
        ["--runner=DirectRunner", "--model_dir", model_dir, "--data_dir", str(root), "--output_dir", str(out)]
    )

    written = json.loads((out / "metrics.json").read_text())
    assert written == json.loads(json.dumps(metrics))
    assert written["counts"] == {features.CHART: 4, features.NON_CHART: 4} and written["count"] == 8
    assert written["rejected"]["count"] == 1 and written["rejected"]["files"][0]["uri"].endswith("broken.png")
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix", "threshold"} <= set(written)
    assert np.array(written["confusion_matrix"]["matrix"]).sum() == 8
    assert len(written["misclassified"]) == round((1 - written["accuracy"]) * 8)
    for plot in ("roc_pr.png", "confusion_matrix.png", "misclassified.png"):
        assert Image.open(out / plot).size[0] > 200, plot


@pytest.mark.parametrize("labels, scores, expected", [
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.5),  # clean separation anywhere in (0.2, 0.8): the middle nearest 0.5
    ([0, 0, 1, 1], [0.01, 0.02, 0.03, 0.04], 0.025),  # scores squeezed low: the cut moves to where they separate
    ([0, 0, 1, 1], [0.90, 0.92, 0.96, 0.98], 0.94),
    ([1, 1, 1], [0.2, 0.4, 0.9], 0.5),  # one class only: nothing to choose
])
def test_threshold_is_chosen_on_held_out_scores(labels, scores, expected):
    assert choose_threshold(np.array(labels), np.array(scores)) == pytest.approx(expected)


def test_threshold_follows_the_sample_weights():
    labels, scores = np.array([0, 1, 0, 1]), np.array([0.1, 0.4, 0.8, 0.9])
    assert choose_threshold(labels, scores) == pytest.approx(0.25)  # two cuts tie at 3 of 4; 0.25 is nearer 0.5
    # A heavy non-chart at 0.8 (a real image weighted 5, say) is worth more than the chart at 0.4.
    assert choose_threshold(labels, scores, np.array([1.0, 1.0, 5.0, 1.0])) == pytest.approx(0.85)


def test_chosen_threshold_beats_the_default_when_scores_are_shifted():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    scores = np.clip(0.15 + 0.2 * labels + rng.normal(0, 0.05, 400), 0, 1)  # a model that never reaches 0.5
    chosen = choose_threshold(labels, scores)
    assert binary_metrics(labels, scores, chosen)["accuracy"] > 0.9 > binary_metrics(labels, scores, 0.5)["accuracy"]


def test_a_cut_that_wins_on_val_by_a_hair_does_not_move_the_threshold_from_half():
    """The one-standard-error rule: a cut at 0.30 beats 0.5 by one image of 600, well within the noise."""
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 300)
    scores = np.where(labels == 1, rng.uniform(0.55, 1.0, 600), rng.uniform(0.0, 0.25, 600))
    scores[:4] = [0.46, 0.47, 0.6, 0.65]  # four non-charts above 0.45
    scores[300:303] = [0.35, 0.36, 0.37]  # three charts between 0.3 and 0.45
    assert binary_metrics(labels, scores, 0.30)["accuracy"] - binary_metrics(labels, scores, 0.5)["accuracy"] == (
        pytest.approx(1 / 600))
    assert choose_threshold(labels, scores) == pytest.approx(0.5, abs=0.05)

"""models.trainer without training: which runs are marked useless, and what the leaderboard shows of them."""
import json

import numpy as np

from models import reports, trainer

LABELS = np.array([0, 1] * 10)


def _scored(scores) -> trainer.Scored:
    return trainer.Scored(np.asarray(scores, dtype=float), LABELS, np.ones(LABELS.size))


def test_a_run_that_sorts_images_has_no_warning():
    good = _scored(np.where(LABELS == 1, 0.8, 0.2) + np.linspace(0, 0.1, LABELS.size))
    assert trainer.usefulness_warnings(good, good) == []


def test_constant_test_scores_are_useless_and_the_warning_says_what_to_do():
    good = _scored(np.where(LABELS == 1, 0.8, 0.2))
    warnings = trainer.usefulness_warnings(good, _scored(np.full(LABELS.size, 0.515)))
    assert any("same score (0.5150)" in w for w in warnings)
    assert all("--epochs" in w and "chart-cnn" in w for w in warnings)


def test_a_val_or_test_ranking_near_chance_is_useless():
    good = _scored(np.where(LABELS == 1, 0.8, 0.2))
    chance = _scored(np.tile([0.3, 0.4, 0.4, 0.3], 5))  # AUC 0.5: each class gets 0.3 and 0.4 equally often
    assert [w.split(" ")[0] for w in trainer.usefulness_warnings(chance, good)] == ["val"]
    assert [w.split(" ")[0] for w in trainer.usefulness_warnings(good, chance)] == ["test"]


def test_the_leaderboard_marks_useless_runs(tmp_path):
    row = {"model_type": "mobile", "run_id": "r1", "accuracy": 0.53, "precision": 0.0, "recall": 0.0, "f1": 0.0,
           "roc_auc": 0.5, "threshold": 0.5, "epochs": 2, "train_seconds": 35.0, "useless": True}
    reports.update_leaderboard(str(tmp_path), row)
    reports.update_leaderboard(str(tmp_path), {**row, "run_id": "r2", "accuracy": 0.9, "roc_auc": 0.95,
                                               "useless": False})
    board = json.loads((tmp_path / "leaderboard.json").read_text())
    assert {r["run_id"]: r["useless"] for r in board} == {"r1": True, "r2": False}
    lines = {line.split(" | ")[1]: line for line in (tmp_path / "leaderboard.md").read_text().splitlines()
             if line.startswith("| mobile")}
    assert lines["r1"].rstrip(" |").endswith("yes") and not lines["r2"].rstrip(" |").endswith("yes")


def test_the_accuracy_plot_shows_a_marked_score_beside_the_network_curves(tmp_path):
    """The ensemble's val accuracy is drawn as its own line, so a near-chance network curve is explained."""
    from PIL import Image

    history = {"accuracy": [0.5, 0.55, 0.6], "val_accuracy": [0.5, 0.52, 0.51]}
    plain = reports.plot_history(history, "accuracy", str(tmp_path / "plain.png"), "t", 2)
    marked = reports.plot_history(history, "accuracy", str(tmp_path / "marked.png"), "t", 2,
                                  {"ensemble val accuracy": 0.98})

    def green(path):  # tab:green, the first mark's colour
        pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
        return int((np.abs(pixels - [44, 160, 44]).sum(axis=2) < 30).sum())

    assert green(plain) == 0 and green(marked) > 200

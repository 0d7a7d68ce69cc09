"""benchmarks.pretrained_member's rule: the member re-scores only the held-out images the ensemble is unsure of,
measured from the fold's own threshold, and the sure ones keep the ensemble's call."""
import argparse
import json

import numpy as np

from benchmarks.pretrained_member import score_fold

ARGS = argparse.Namespace(C=1.0, weight=0.5, unsure_low=0.02, unsure_high=0.98)


def _fold(tmp_path, held: dict[str, tuple[str, float]], threshold: float = 0.4):
    """A finished fold: 40 training images whose first feature is their label, and the held-out scores."""
    rng = np.random.default_rng(0)
    feats, train = {}, []
    for i in range(40):
        label = "chart" if i % 2 else "non_chart"
        feats[f"/train/{i}.png"] = np.r_[float(label == "chart"), rng.normal(0, 0.1, 3)]
        train.append({"image": f"/train/{i}.png", "label": label})
    for path, (label, _) in held.items():
        feats[path] = np.r_[float(label == "chart"), rng.normal(0, 0.1, 3)]
    (tmp_path / "fold.json").write_text(json.dumps(
        {"fold": 0, "threshold": threshold, "scores": {path: [label, score] for path, (label, score) in held.items()}}))
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(t) + "\n" for t in train))
    return feats


def test_unsure_images_are_rescored_and_sure_ones_keep_the_ensembles_call(tmp_path):
    held = {"/h/unsure_chart.png": ("chart", 0.3),  # below the threshold 0.4: missed by the ensemble
            "/h/unsure_non_chart.png": ("non_chart", 0.6),  # a false chart
            "/h/sure_wrong.png": ("chart", 0.01),  # sure and wrong: outside [0.02, 0.98), left as it is
            "/h/sure_right.png": ("non_chart", 0.005)}
    row = score_fold(str(tmp_path), _fold(tmp_path, held), ARGS)
    assert row["rescored"] == 0.5 and row["images"] == 4
    assert sorted(row["fixed"]) == ["/h/unsure_chart.png", "/h/unsure_non_chart.png"] and row["broken"] == []
    assert row["before"]["accuracy"] == 0.25 and row["after"]["accuracy"] == 0.75
    assert (row["before"]["missed"], row["before"]["false"]) == (2, 1)
    assert (row["after"]["missed"], row["after"]["false"]) == (1, 0)
    for sure in ("/h/sure_wrong.png", "/h/sure_right.png"):
        truth, after, before = row["scores"][sure]
        assert after == before


"""pipelines.evaluate end to end on a trained model."""
import json
import os

import numpy as np
from PIL import Image

from core import features
from pipelines import evaluate
from tests.support.images import image_bytes


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

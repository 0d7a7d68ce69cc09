"""pipelines.evaluate end to end on a trained model."""
import hashlib
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from core import features, runs
from core.results import read_results
from pipelines import evaluate
from tests.support.images import image_bytes


def _write_tree(root, per_label: int = 4) -> None:
    for i in range(per_label):
        for name in features.LABEL_NAMES:
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{name}_{i}.png").write_bytes(image_bytes(40 + i + 10 * (name == features.CHART), "PNG"))


def test_evaluate_writes_metrics_plots_and_a_contact_sheet_of_mistakes(trained, tmp_path):
    root = tmp_path / "eval"
    _write_tree(root)
    (root / features.CHART / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (root / "README.md").write_text("# my evaluation set\n")  # beside the label folders: not an image to label
    (root / "manifest.csv").write_text("file,label\n")
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
    for plot in ("roc_pr.png", "confusion_matrix.png", "misclassified.png", "review_band.png"):
        assert Image.open(out / plot).size[0] > 200, plot


def test_a_folder_without_the_label_folders_is_refused_before_any_work(model_dir, tmp_path):
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "a.png").write_bytes(image_bytes(1))
    with pytest.raises(ValueError, match=r"--data_dir .*shots holds no file in chart/ or non_chart/.*DIR/chart/"):
        evaluate.run(["--model_dir", model_dir, "--data_dir", str(tmp_path / "shots"),
                      "--output_dir", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_errors_name_evaluate_flags_not_labelling_ones(model_dir, tmp_path):
    _write_tree(tmp_path / "eval", per_label=1)
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(ValueError) as refused:
        evaluate.run(["--model_dir", model_dir, "--data_dir", str(tmp_path / "eval"),
                      "--output_dir", str(tmp_path / "file" / "report")])
    assert str(refused.value).startswith(f"--output_dir {tmp_path / 'file' / 'report'}: cannot write there")
    with pytest.raises(ValueError) as refused:
        evaluate.run(["--model_dir", model_dir, "--data_dir", str(tmp_path / "eval"),
                      "--output_dir", str(tmp_path / "eval" / "chart" / "report")])
    assert str(refused.value).startswith(f"--output_dir {tmp_path / 'eval' / 'chart' / 'report'} is inside "
                                         f"--data_dir {tmp_path / 'eval'}")


def test_two_evaluations_never_share_a_folder(trained, model_dir, tmp_path, monkeypatch, capfd):
    """Default: a new folder each; a given folder holding an earlier evaluation is replaced whole, one holding
    anything else is refused. Images the model was trained on are counted and warned about."""
    run_dir = tmp_path / "run"
    shutil.copytree(runs.resolve_model_dir(model_dir), run_dir)
    root = tmp_path / "eval"
    _write_tree(root, per_label=2)
    trained_on = sorted((root / features.CHART).iterdir())[:1] + sorted((root / features.NON_CHART).iterdir())[:1]
    (run_dir / runs.TRAINING_IMAGES_FILE).write_text(
        "".join(hashlib.sha256(p.read_bytes()).hexdigest() + "\n" for p in trained_on))
    monkeypatch.setenv("BASE_DIR", str(tmp_path / "base"))
    args = ["--runner=DirectRunner", "--model_dir", str(run_dir), "--review_band", "0,1"]
    first = evaluate.run([*args, "--data_dir", str(root)])
    assert first["in_training_data"] == {"count": 2, "fraction": 0.5,
                                         "uris": sorted(str(p) for p in trained_on)}
    assert "WARNING" in capfd.readouterr().err.split("2 of the images (50.0%) were in this model's training data")[0]
    (run_dir / runs.TRAINING_IMAGES_FILE).unlink()  # a run that does not list them: not checked
    second = evaluate.run([*args, "--data_dir", str(root)])
    assert second["in_training_data"] is None
    assert first["output_dir"] != second["output_dir"]
    for metrics in (first, second):
        out = metrics["output_dir"]
        assert os.path.dirname(out) == str(tmp_path / "base" / "evaluations" / f"demo_{metrics['run_id']}")
        assert json.loads(open(os.path.join(out, "metrics.json")).read())["data_dir"] == metrics["data_dir"]
        assert len(read_results(os.path.join(out, evaluate.PREDICTIONS))[0]) == 4
        sheet = Image.open(os.path.join(out, "review_band.png"))
        assert sheet.size[1] > 160  # the 4 images inside the band [0, 1)

    (root / features.NON_CHART / "non_chart_1.png").unlink()
    replaced = evaluate.run([*args, "--data_dir", str(root), "--output_dir", first["output_dir"]])
    assert replaced["output_dir"] == first["output_dir"]
    assert len(read_results(os.path.join(first["output_dir"], evaluate.PREDICTIONS))[0]) == 3  # none left over

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(ValueError, match="--output_dir .*notes holds files that are not an evaluation's"):
        evaluate.run([*args, "--data_dir", str(root), "--output_dir", str(tmp_path / "notes")])
    assert os.listdir(tmp_path / "notes") == ["todo.txt"]

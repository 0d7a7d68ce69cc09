"""pipelines.train end to end on a small demo ingest: outputs, export, datasets, EMA, fine-tuning, useless runs."""
import glob
import json
import os

import numpy as np
import pytest

from core import features, runs
from models import trainer
from pipelines import train

SUMMARY_KEYS = {"run_id", "model_type", "final_training_accuracy", "final_validation_accuracy", "final_training_loss",
                "final_validation_loss", "epochs", "best_epoch", "best_validation_accuracy", "test_metrics",
                "train_seconds", "train_images_per_second", "threshold"}


def test_a_training_run_writes_every_output(trained):
    summary, base = trained["summary"], trained["base"]
    run_id = summary["run_id"]
    assert len(run_id.split("_")) == 3 and len(run_id.split("_")[2]) == 8
    run_dir = os.path.join(base, "models", "demo", run_id)
    assert summary["model_dir"] == run_dir
    assert os.path.isfile(os.path.join(run_dir, "demo_classifier.keras"))
    assert os.path.isfile(os.path.join(run_dir, runs.SAVED_MODEL_DIR, runs.SAVED_MODEL_FILE))
    assert runs.resolve_model_dir(os.path.join(base, "models", "demo", "latest")) == run_dir
    assert runs.resolve_model_dir(os.path.join(base, "models", "demo")) == run_dir
    metadata = runs.RunMetadata.read(run_dir).to_dict()
    assert metadata["positive_label"] == features.CHART and metadata["image_size"] == 32
    assert metadata["model_type"] == "demo" and metadata["run_id"] == run_id and 0.0 < metadata["threshold"] < 1.0
    low, high = metadata[runs.REVIEW_BAND_KEY]
    assert 0.0 <= low <= metadata["threshold"] <= high <= 1.0 and "val split" in metadata["review_band_source"]
    expected_trees = {"file": runs.BOOSTED_TREES_FILE, "weight": 0.4, "combine": "probability"}  # the demo spec's
    assert metadata[runs.BOOSTED_TREES_KEY] == expected_trees
    import lightgbm

    trees = lightgbm.Booster(model_file=os.path.join(run_dir, runs.BOOSTED_TREES_FILE))
    assert trees.feature_importance("gain").sum() > 0  # they split: the ensemble tests below test a real blend

    reports = os.path.join(base, "reports", "demo")
    with open(os.path.join(reports, f"training_summary_{run_id}.json")) as f:
        written = json.load(f)
    assert SUMMARY_KEYS <= set(written) and written["epochs"] == 2
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix", "threshold"} <= set(
        written["test_metrics"]
    )
    matrix = np.array(written["test_metrics"]["confusion_matrix"]["matrix"])
    assert matrix.sum() == sum(
        json.load(open(os.path.join(trained["data_dir"], features.SUMMARY_FILE)))["counts"]["test"].values()
    )
    for plot in ("accuracy_plot", "loss_plot", "roc_pr_plot", "confusion_matrix", "descriptor_importance"):
        path = os.path.join(reports, "plots", f"{plot}_{run_id}.png")
        assert os.path.getsize(path) > 5000, path  # a rendered figure, not an empty file
    board = json.load(open(os.path.join(base, "reports", "leaderboard.json")))
    assert [r["run_id"] for r in board] == [run_id]
    assert board[0]["useless"] == written["useless"] == bool(written["warnings"])
    assert run_id in open(os.path.join(base, "reports", "leaderboard.md")).read()
    assert {"accuracy", "roc_auc"} <= set(written["val_metrics"])  # the ensemble's val figures the plot shows


def test_a_run_records_its_training_images_and_tensorboard_scalars(trained):
    from tensorflow.core.util import event_pb2

    run_dir = trained["summary"]["model_dir"]
    hashes = open(os.path.join(run_dir, runs.TRAINING_IMAGES_FILE)).read().splitlines()
    counts = json.load(open(os.path.join(trained["data_dir"], features.SUMMARY_FILE)))["counts"]
    assert len(hashes) == sum(counts[features.TRAIN].values()) + sum(counts[features.VAL].values())
    assert hashes == sorted(hashes) and all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)

    import tensorflow as tf

    for split, tag in (("train", "epoch_loss"), ("validation", "epoch_auc")):
        events = glob.glob(os.path.join(run_dir, trainer.TENSORBOARD_DIR, split, "events.out.tfevents.*"))
        steps = [event.step for path in events for record in tf.data.TFRecordDataset(path)
                 for event in [event_pb2.Event.FromString(record.numpy())] for v in event.summary.value
                 if v.tag == tag]
        assert sorted(steps) == [0, 1], (split, tag)  # one scalar per epoch, as TensorBoard reads them


BLIND_SPEC = {"blind": {  # sees nothing (every pixel scaled to 0): one score for every image
    "layers": [{"type": "Rescaling", "arguments": {"scale": 0.0}}, {"type": "GlobalAveragePooling2D"},
               {"type": "Dense", "arguments": {"units": 1, "activation": "sigmoid"}}],
    "epochs": 1, "early_stopping": False, "checkpoint": False, "file_name": "blind.keras"}}


def test_a_useless_run_ends_with_a_loud_warning_and_is_marked(demo_ingest, tmp_path, caplog):
    import logging

    import yaml

    config = tmp_path / "models.yaml"
    config.write_text(yaml.safe_dump(BLIND_SPEC))
    args = train.parse_args(["--config", str(config), "--model_type", "blind", "--data_dir", demo_ingest])
    with caplog.at_level(logging.INFO):  # train.run less its console set-up, which would take caplog's handler away
        summary = trainer.run(train.load_spec(args), args.data_dir, str(tmp_path / "base"))
    assert summary["useless"] and any("same score" in w for w in summary["warnings"])
    loud = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "USELESS" in r.getMessage()]
    assert loud and "--epochs" in loud[0]
    written = json.load(open(tmp_path / "base" / "reports" / "blind" / f"training_summary_{summary['run_id']}.json"))
    assert written["useless"] and written["warnings"] == summary["warnings"]
    board = json.load(open(tmp_path / "base" / "reports" / "leaderboard.json"))
    assert [r["useless"] for r in board] == [True]


def test_trainable_overrides_the_spec_and_help_lists_the_model_types(capsys):
    spec = train.load_spec(train.parse_args(["--model_type", "mobile", "--trainable"]))
    assert spec.trainable and spec.pretrained
    assert not train.load_spec(train.parse_args(["--model_type", "mobile", "--no-trainable"])).trainable
    with pytest.raises(ValueError, match="--trainable"):
        train.load_spec(train.parse_args(["--model_type", "demo", "--trainable"]))
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    shown = capsys.readouterr().out
    for model_type in ("mobile", "efficientnet", "demo", "chart-cnn"):
        assert f"  {model_type} " in shown
    assert "needs ImageNet weights" in shown and "--weights null" in shown


def test_exported_model_scores_prepared_pixels_like_the_keras_model(trained, real_sample):
    """Serving (pixels -> transform graph -> model) equals the Keras model on the same pixels."""
    import keras
    import tensorflow as tf

    from transforms.image import prepare

    run_dir = trained["summary"]["model_dir"]
    model = keras.models.load_model(os.path.join(run_dir, "demo_classifier.keras"))
    serving = tf.saved_model.load(os.path.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]
    files = (
        sorted(glob.glob(os.path.join(real_sample, "chart", "*.png")))[:3]
        + sorted(glob.glob(os.path.join(real_sample, "non_chart", "*.jpg")))[:3]
    )
    pixels = np.stack([prepare(open(f, "rb").read(), 32).pixels for f in files])
    expected = model.predict(pixels.astype(np.float32), verbose=0).reshape(-1)
    served = serving(**{runs.SERVING_INPUT: tf.constant([p.tobytes() for p in pixels])})[runs.SERVING_OUTPUT].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert expected.std() > 0  # different pictures, different scores: the comparison means something


def test_serving_refuses_pixels_of_another_size(trained):
    import tensorflow as tf

    serving = tf.saved_model.load(os.path.join(trained["summary"]["model_dir"], runs.SAVED_MODEL_DIR)).signatures[
        runs.SERVING_SIGNATURE
    ]
    with pytest.raises(tf.errors.InvalidArgumentError):
        serving(**{runs.SERVING_INPUT: tf.constant([bytes(64 * 64 * 3)])})  # a 64 px image for a 32 px model


def test_datasets_weigh_each_image_by_its_source_and_class(demo_ingest):
    import tensorflow_transform as tft

    from models.data import make_dataset, split_files

    transform_output = tft.TFTransformOutput(os.path.join(demo_ingest, features.TRANSFORM_DIR))
    per_label = {features.LABEL_IDS[features.CHART]: 0.5, features.LABEL_IDS[features.NON_CHART]: 2.0}
    dataset = make_dataset(
        split_files(demo_ingest, features.TRAIN), transform_output, 8, training=True, class_weights=per_label
    )
    batches = [(y.numpy(), w.numpy()) for _, y, w in dataset]
    labels, weights = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    assert set(labels) == {0.0, 1.0}
    np.testing.assert_array_equal(weights, [per_label[int(y)] for y in labels])  # demo source weight 1 x class weight


def _fit_on_demo(demo_ingest: str, run_dir: str, model_type: str, **changes):
    """A real short fit of a shipped spec (with `changes`) on the demo ingest:
    (model, val dataset, history, kept epoch)."""
    import dataclasses

    import keras
    import tensorflow_transform as tft

    from models.builder import build_model
    from models.data import make_dataset, split_files
    from models.spec import load_model_spec

    spec = dataclasses.replace(load_model_spec(train.DEFAULT_MODEL_CONFIG, model_type), **changes)
    transform_output = tft.TFTransformOutput(os.path.join(demo_ingest, features.TRANSFORM_DIR))
    keras.utils.set_random_seed(0)
    train_ds, val_ds = (
        make_dataset(split_files(demo_ingest, split), transform_output, 8, training=split == features.TRAIN)
        for split in (features.TRAIN, features.VAL)
    )
    model = build_model(spec, tuple(transform_output.transformed_feature_spec()[features.IMAGE_KEY].shape))
    return (model, val_ds, *trainer.fit(model, spec, train_ds, val_ds, run_dir))


def test_with_ema_the_logged_val_loss_is_that_of_the_averaged_weights_the_model_keeps(demo_ingest, tmp_path):
    """optimizer_args {use_ema: true}: validation (and so early stopping and the checkpoint) sees the
    EMA weights, and those are the weights the trained model ends with."""
    model, val_ds, history, _ = _fit_on_demo(
        demo_ingest,
        str(tmp_path),
        "demo",
        epochs=2,
        early_stopping=None,
        checkpoint=False,
        optimizer_args={"use_ema": True, "ema_momentum": 0.5},
    )
    assert model.optimizer.use_ema
    kept = model.evaluate(val_ds, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(kept, history["val_loss"][-1], rtol=1e-4)


def test_fine_tuning_keeps_one_history_one_best_and_reports_the_exported_epoch(demo_ingest, tmp_path):
    """Phase 2 appends to history.csv and shares phase 1's best checkpoint; fit reports the epoch whose
    weights the model ends with (early stopping's best by val_loss), and the model scores as that epoch did."""
    import csv

    import keras

    from models.spec import FineTune

    weights = str(tmp_path / "pretrained.weights.h5")  # a stand-in for ImageNet weights: fine-tuning needs some
    keras.applications.MobileNetV3Small(include_top=False, input_shape=(32, 32, 3), weights=None).save_weights(weights)
    model, val_ds, history, kept = _fit_on_demo(
        demo_ingest, str(tmp_path), "mobile", weights=weights, epochs=2, checkpoint=True,
        early_stopping={"monitor": "val_loss", "patience": 5, "restore_best_weights": True},
        fine_tune=FineTune(epochs=2, learning_rate=1e-4, unfreeze_from=-10))

    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert kept in (2, 3) and history["val_loss"][kept] == min(history["val_loss"][2:])
    np.testing.assert_allclose(
        model.evaluate(val_ds, verbose=0, return_dict=True)["loss"], history["val_loss"][kept], rtol=1e-4
    )
    best = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_allclose(
        best.evaluate(val_ds, verbose=0, return_dict=True)["loss"], min(history["val_loss"]), rtol=1e-4
    )

"""Every shipped model_type trains a real model offline: 3 epochs from scratch (weights null) on a small, clearly
separable set give varied scores and a val ROC AUC well above chance."""
import dataclasses
import hashlib
import io
import json
import logging
import os
import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import features, runs
from models import trainer
from models.spec import available_model_types, load_model_spec
from pipelines import train
from tests.support.images import image_bytes

MODEL_TYPES = available_model_types(train.DEFAULT_MODEL_CONFIG)
IMAGE_SIZE = 32
PER_CLASS = 60
EPOCHS = 3


def _line_chart(seed: int) -> bytes:
    """A dark price line on a white background: what a chart looks like at 32 px."""
    rng = np.random.default_rng(seed)
    width, height = 120, 80
    ys = height / 2 + np.cumsum(rng.normal(0, 4, width // 4))
    picture = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(picture).line([(4 * i, float(np.clip(y, 5, height - 5))) for i, y in enumerate(ys)],
                                 fill=(20, 40, 160), width=3)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def separable_ingest(tmp_path_factory) -> str:
    """Ingest output (32 px) of line charts against blocks of random colour."""
    import yaml

    from pipelines import ingest

    root = tmp_path_factory.mktemp("separable")
    for label, render in ((features.CHART, _line_chart), (features.NON_CHART, image_bytes)):
        os.makedirs(root / "images" / label)
        for i in range(PER_CLASS):
            (root / "images" / label / f"{i}.png").write_bytes(render(1000 + i))
    config = root / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": IMAGE_SIZE, "split": {"train": 0.6, "val": 0.2, "test": 0.2},
                                      "sources": [{"type": "folder", "root": str(root / "images")}]}))
    ingest.run(["--runner=DirectRunner", f"--config={config}", f"--output_dir={root / 'out'}"])
    return str(root / "out")


def test_the_config_ships_base_models_and_layer_stacks():
    kinds = {load_model_spec(train.DEFAULT_MODEL_CONFIG, t).base_model is None for t in MODEL_TYPES}
    assert kinds == {True, False} and len(MODEL_TYPES) >= 9


# mobile: the end-to-end test below trains it from scratch through trainer.run, with these checks and more.
LEARNERS = [t for t in MODEL_TYPES if t != "mobile"]
HEAVIEST_FIRST = ("densenet", "resnet", "efficientnet")  # the two workers finish together


def _learn(model_type: str, data_dir: str, run_dir: str) -> dict:
    """Train `model_type` from scratch for EPOCHS on the separable set (in a worker process: Keras builds the
    big bases' graphs in Python, one core each); what the test asserts on."""
    import keras
    from sklearn.metrics import roc_auc_score

    spec = load_model_spec(train.DEFAULT_MODEL_CONFIG, model_type)
    optimizer_args = dict(spec.optimizer_args)
    if optimizer_args.get("use_ema"):  # chart-cnn validates an average of ~50 steps' weights; this run has 18
        optimizer_args["ema_momentum"] = 0.5
    spec = dataclasses.replace(spec, weights=None, epochs=EPOCHS, batch_size=8, early_stopping=None, checkpoint=False,
                               boosted_trees=None, optimizer_args=optimizer_args)
    data = trainer.load_data(data_dir)
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, history, kept, _ = trainer.train(spec, data, run_dir, seed=0)
    val = trainer.score_split(_KerasScorer(model), data, features.VAL, 16)
    return {"epochs": len(history["loss"]), "noise": _keras_noise(caught), "spread": float(val.scores.std()),
            "roc_auc": float(roc_auc_score(val.labels, val.scores)), "scores": np.round(val.scores, 3).tolist()}


@pytest.fixture(scope="module")
def learned(separable_ingest, tmp_path_factory) -> dict:
    """Every model type's _learn, two at a time in fresh processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(LEARNERS, key=lambda t: t not in HEAVIEST_FIRST)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {t: pool.submit(_learn, t, separable_ingest, str(tmp_path_factory.mktemp(t))) for t in order}
        return {t: future.result() for t, future in futures.items()}


@pytest.mark.parametrize("model_type", LEARNERS)
def test_every_model_type_learns_from_scratch(model_type, learned):
    result = learned[model_type]
    assert result["epochs"] == EPOCHS  # no fine-tuning phase on a base without pretrained weights
    assert result["noise"] == []
    assert result["spread"] > 1e-3, f"{model_type}: constant val scores"
    assert result["roc_auc"] >= 0.75, f"{model_type}: val scores {result['scores']}"


def test_mobile_without_weights_trains_a_useful_model_end_to_end(separable_ingest, tmp_path, caplog):
    """What a user without ImageNet weights runs: `train --model_type mobile --weights null`."""
    args = train.parse_args(["--model_type", "mobile", "--weights", "null", "--data_dir", separable_ingest,
                             "--epochs", "2", "--batch_size", "8"])
    with caplog.at_level(logging.INFO), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = trainer.run(train.load_spec(args), args.data_dir, str(tmp_path))  # less train.run's console set-up
    assert _keras_noise(caught) == []
    assert not summary["useless"] and summary["warnings"] == []
    assert summary["test_metrics"]["roc_auc"] >= 0.8 and summary["val_metrics"]["roc_auc"] >= 0.8
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for line in ("trains from scratch", "Training done after 2 epochs; keeping epoch", "Scoring the val and test"):
        assert line in logged

    images = os.path.join(os.path.dirname(separable_ingest), "images")
    on_disk = {hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
               for d, _, files in os.walk(images) for f in files}
    recorded = open(os.path.join(summary["model_dir"], runs.TRAINING_IMAGES_FILE)).read().splitlines()
    counts = json.load(open(os.path.join(separable_ingest, features.SUMMARY_FILE)))["counts"]
    assert set(recorded) <= on_disk and len(set(recorded)) == len(recorded)
    assert len(recorded) == sum(counts[features.TRAIN].values()) + sum(counts[features.VAL].values())


def _keras_noise(caught) -> list[str]:
    """Keras's warnings that the datasets do not know their length, or that fit asked it to shuffle them."""
    return [str(w.message) for w in caught if "ran out of data" in str(w.message) or "shuffle=True" in str(w.message)]


class _KerasScorer:
    """Prepared pixel bytes -> the Keras model's chart probability (the network alone, no export)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, pixels: list[bytes]) -> np.ndarray:
        batch = np.stack([np.frombuffer(p, np.uint8) for p in pixels]).reshape(len(pixels), IMAGE_SIZE, IMAGE_SIZE, 3)
        return self.model.predict(batch.astype(np.float32), verbose=0).reshape(-1)

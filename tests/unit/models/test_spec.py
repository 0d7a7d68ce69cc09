"""models.spec and models.factory: the YAML model spec, validated plain data, built into Keras parts."""
import dataclasses
import os
import socket
import time

import keras
import numpy as np
import pytest

from models import factory
from models.builder import AUGMENTATION, BACKBONE, PREPROCESS, RESIZE, WEIGHTS_HOST_ENV, build_model, start_fine_tuning
from models.factory import build_optimizer
from models.spec import (
    ALLOWLISTS,
    BASE_MODELS,
    DEFAULT_EARLY_STOPPING,
    ModelSpec,
    SpecError,
    available_model_types,
    load_model_spec,
    load_specs,
    parse_spec,
)
from tests import support

CONFIG = os.path.join(support.REPO_ROOT, "configs", "model_config.yaml")


RAW = load_specs(CONFIG)


SHIPPED = available_model_types(CONFIG)


SHAPE = (64, 64, 3)  # small, so ResNet50 and DenseNet121 build and run in seconds


VALID = {"base_model": "MobileNetV3Small", "weights": None}  # the smallest spec that builds offline


def offline_spec(model_type: str) -> ModelSpec:
    """A shipped spec with `weights: null`, buildable without the ImageNet download."""
    return dataclasses.replace(load_model_spec(CONFIG, model_type), weights=None)


_BUILT: dict[str, keras.Model] = {}


def built(model_type: str) -> keras.Model:
    """Each shipped entry is built once per test session."""
    if model_type not in _BUILT:
        _BUILT[model_type] = build_model(offline_spec(model_type), SHAPE)
    return _BUILT[model_type]


def images(n: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, *SHAPE)).astype("float32")


def spec_error(raw: dict, model_type: str = "probe") -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(model_type, raw)
    return str(caught.value)


def test_ships_the_original_entries_with_imagenet_weights():
    pretrained = ("mobile", "mobile_large", "custom-mobile", "efficientnet", "resnet", "densenet")
    assert {*pretrained, "custom-1", "demo"} <= set(SHIPPED)
    for model_type in pretrained:
        assert load_model_spec(CONFIG, model_type).weights == "imagenet"
    assert load_model_spec(CONFIG, "demo").weights is None


@pytest.mark.parametrize("model_type", SHIPPED)
def test_every_entry_builds_and_outputs_chart_probabilities(model_type):
    model = built(model_type)
    assert tuple(model.input.shape) == (None, *SHAPE)
    scores = np.asarray(model(images(5), training=False))  # eager: no tf.function to trace per model
    assert scores.shape == (5, 1)
    assert np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("model_type", SHIPPED)
def test_spec_keys_reach_the_compiled_model(model_type):
    raw, model = RAW[model_type], built(model_type)
    optimizer = model.optimizer.get_config()
    assert type(model.optimizer).__name__ == raw.get("optimizer", "Adam")
    if "learning_rate_schedule" in raw:
        schedule = raw["learning_rate_schedule"]
        assert optimizer["learning_rate"]["class_name"] == schedule["type"]
        assert schedule["arguments"].items() <= optimizer["learning_rate"]["config"].items()
    else:
        expected = raw.get("learning_rate", raw.get("optimizer_args", {}).get("learning_rate"))
        assert optimizer["learning_rate"] == pytest.approx(expected)
    for name, value in raw.get("optimizer_args", {}).items():
        assert optimizer[name] == pytest.approx(value)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy) and raw["loss"] == "binary_crossentropy"
    metrics = model.get_compile_config()["metrics"]
    assert metrics[0]["class_name"] == "BinaryAccuracy" and metrics[0]["config"]["name"] == "accuracy"
    auc = [m["config"] for m in metrics if m["class_name"] == "AUC"]
    assert len(auc) == 1 and auc[0]["curve"] == "ROC"
    results = model.evaluate(images(4), np.array([[0], [1], [0], [1]], "float32"), verbose=0, return_dict=True)
    assert {"loss", "accuracy", "auc"} <= set(results)


@pytest.mark.parametrize("model_type", [t for t in SHIPPED if "base_model" in RAW[t]])
def test_base_model_head_and_a_base_without_pretrained_weights_that_trains_whole(model_type):
    """Built offline (weights null), the base trains whole whatever the spec's `trainable` (it is for pretrained
    bases: tests/unit/models/test_builder.py)."""
    raw, model = RAW[model_type], built(model_type)
    assert model.get_layer("dropout").rate == raw["dropout_rate"]
    assert model.get_layer("head_dropout").rate == raw["dropout_rate"]
    assert model.get_layer("dense").units == raw["dense_units"]
    backbone = model.get_layer(BACKBONE)
    assert raw["trainable"] is False and backbone.trainable
    assert len(backbone.trainable_weights) > 0 and len(model.trainable_weights) > 4  # not only the head's Dense layers


@pytest.mark.parametrize("model_type", [t for t in SHIPPED if "layers" in RAW[t]])
def test_custom_stack_is_the_spec_layers_in_order(model_type):
    stack = built(model_type).get_layer(BACKBONE)
    assert [type(layer).__name__ for layer in stack.layers] == [layer["type"] for layer in RAW[model_type]["layers"]]
    assert stack.trainable and len(stack.trainable_weights) > 0


def _head(model: keras.Model, features):
    for name in ("pool", "dropout", "dense", "head_dropout", "chart_probability"):
        features = model.get_layer(name)(features)
    return features


@pytest.mark.parametrize("model_type", ["mobile", "efficientnet"])
def test_self_rescaling_bases_get_raw_pixels(model_type):
    """MobileNetV3 and EfficientNet rescale 0-255 themselves: the model adds no scaling of its own."""
    model, x = built(model_type), images()
    assert PREPROCESS not in [layer.name for layer in model.layers]
    backbone = model.get_layer(BACKBONE)
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in backbone.layers)
    direct = _head(model, backbone(x, training=False))
    np.testing.assert_allclose(model(x, training=False), direct, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model_type, expected", [
    ("resnet", [200 - 103.939, 100 - 116.779, 10 - 123.68]),  # caffe: RGB -> BGR, minus the ImageNet mean
    ("densenet", [(10 / 255 - 0.485) / 0.229, (100 / 255 - 0.456) / 0.224, (200 / 255 - 0.406) / 0.225]),  # torch
])
def test_other_bases_get_their_preprocess_input_once(model_type, expected):
    model = built(model_type)
    pixel = np.broadcast_to(np.array([10.0, 100.0, 200.0], "float32"), (1, *SHAPE))
    preprocess = model.get_layer(PREPROCESS)
    np.testing.assert_allclose(preprocess(pixel)[0, 0, 0], expected, rtol=1e-5)
    x = images()
    direct = _head(model, model.get_layer(BACKBONE)(preprocess(x), training=False))
    np.testing.assert_allclose(model(x, training=False), direct, rtol=1e-4, atol=1e-6)


def test_demo_resizes_to_its_image_size_and_augments_only_in_training():
    model = built("demo")
    assert tuple(model.get_layer(RESIZE).output.shape) == (None, 128, 128, 3)
    augmentation, x = model.get_layer(AUGMENTATION), np.full((2, 128, 128, 3), 100.0, "float32")
    x[:, :, :64] = 20.0  # left half dark: a horizontal flip shows
    np.testing.assert_array_equal(augmentation(x, training=False), x)
    assert any(not np.allclose(augmentation(x, training=True), x) for _ in range(5))
    np.testing.assert_array_equal(model(images(), training=False), model(images(), training=False))


def test_saved_model_file_reloads_with_the_same_outputs(tmp_path):
    """The trainer saves `.keras` files that the labeller loads (safe mode: no lambdas)."""
    model, x = built("resnet"), images()
    path = str(tmp_path / "resnet.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)), np.asarray(model(x, training=False)),
                               rtol=1e-5, atol=1e-6)


def test_fine_tune_phase_unfreezes_the_tail_at_the_lower_rate(tmp_path):
    weights = str(tmp_path / "pretrained.weights.h5")  # a stand-in for ImageNet weights: fine-tuning needs some
    keras.applications.MobileNetV3Large(include_top=False, input_shape=SHAPE, weights=None).save_weights(weights)
    spec = dataclasses.replace(offline_spec("mobile_large"), weights=weights)
    model = build_model(spec, SHAPE)
    assert spec.fine_tune.unfreeze_from == -30 and spec.fine_tune.learning_rate == pytest.approx(1e-5)
    start_fine_tuning(model, spec)
    backbone = model.get_layer(BACKBONE)
    trained = [layer for layer in backbone.layers if layer.trainable_weights]
    assert trained and all(backbone.layers.index(layer) >= len(backbone.layers) - 30 for layer in trained)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trained)  # BatchNorm stays frozen
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(1e-5)


def test_optimizer_args_and_their_learning_rate_are_honoured():
    spec = parse_spec("probe", {**VALID, "optimizer": "RMSprop", "optimizer_args": {"learning_rate": 0.02, "rho": 0.8}})
    config = build_optimizer(spec).get_config()
    assert config["learning_rate"] == pytest.approx(0.02) and config["rho"] == pytest.approx(0.8)


def test_fine_tune_rate_overrides_the_schedule():
    spec = offline_spec("custom-mobile")
    assert isinstance(build_optimizer(spec).get_config()["learning_rate"], dict)
    assert build_optimizer(spec, learning_rate=1e-5).get_config()["learning_rate"] == pytest.approx(1e-5)


def test_local_weights_file_is_loaded_into_the_backbone(tmp_path):
    source = build_model(parse_spec("probe", VALID), SHAPE)
    path = str(tmp_path / "backbone.weights.h5")
    source.get_layer(BACKBONE).save_weights(path)
    loaded = build_model(parse_spec("probe", {**VALID, "weights": path}), SHAPE)
    fresh = build_model(parse_spec("probe", VALID), SHAPE)
    original = source.get_layer(BACKBONE).weights
    assert all(np.array_equal(a, b) for a, b in zip(original, loaded.get_layer(BACKBONE).weights, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(original, fresh.get_layer(BACKBONE).weights, strict=True))


def test_missing_weights_file_names_the_path(tmp_path):
    missing = str(tmp_path / "nowhere.h5")
    with pytest.raises(SpecError, match=f"model 'probe': weights: .*{missing}"):
        build_model(parse_spec("probe", {**VALID, "weights": missing}), SHAPE)


def test_imagenet_offline_fails_fast_naming_the_alternatives(monkeypatch, tmp_path):
    with socket.socket() as probe:  # a port that was just free: connecting to it is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(WEIGHTS_HOST_ENV, f"127.0.0.1:{port}")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache
    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        build_model(load_model_spec(CONFIG, "mobile"), (224, 224, 3))
    assert time.monotonic() - started < 5
    message = str(caught.value)
    for part in ("model 'mobile'", "MobileNetV3Small", "weights: null", "weights: /path/to/file.h5"):
        assert part in message


def test_defaults_for_every_training_knob():
    spec = parse_spec("probe", {"base_model": "EfficientNetB0"})
    assert (spec.weights, spec.trainable, spec.dense_units, spec.dropout_rate) == ("imagenet", False, 128, 0.3)
    assert (spec.optimizer, spec.learning_rate, spec.learning_rate_schedule) == ("Adam", 0.001, None)
    assert (spec.loss.type, [m.type for m in spec.metrics]) == ("binary_crossentropy", ["accuracy"])
    assert (spec.epochs, spec.batch_size, spec.checkpoint, spec.class_weights) == (10, 32, True, None)
    assert spec.early_stopping == DEFAULT_EARLY_STOPPING
    assert (spec.augmentation, spec.fine_tune, spec.image_size, spec.file_name) == ((), None, None, "probe.keras")
    tuned = parse_spec("probe", {**VALID, "early_stopping": {"patience": 7},
                                 "class_weights": {"chart": 2, "non_chart": 1}})
    assert tuned.early_stopping == {**DEFAULT_EARLY_STOPPING, "patience": 7}
    assert tuned.class_weights == {"chart": 2.0, "non_chart": 1.0}
    assert parse_spec("probe", {**VALID, "early_stopping": False}).early_stopping is None


def test_unknown_model_type_lists_the_available_ones():
    with pytest.raises(SpecError) as caught:
        load_model_spec(CONFIG, "mobil")
    assert "'mobil'" in str(caught.value) and all(name in str(caught.value) for name in SHIPPED)


@pytest.mark.parametrize("change, key, bad, allowed", [
    ({"base_model": "MobileNetV4"}, "base_model", "MobileNetV4", "MobileNetV3Small"),
    ({"optimizer": "Adamm"}, "optimizer", "Adamm", "RMSprop"),
    ({"loss": "categorical_crossentropy"}, "loss", "categorical_crossentropy", "binary_crossentropy"),
    ({"metrics": [{"name": "AUCC"}]}, "metrics", "AUCC", "AUC"),
    ({"learning_rate_schedule": {"type": "StepDecay"}}, "learning_rate_schedule", "StepDecay", "ExponentialDecay"),
    ({"augmentation": [{"type": "RandomRotation"}]}, "augmentation", "RandomRotation", "RandomZoom"),
])
def test_unknown_names_fail_naming_key_value_model_and_allowed(change, key, bad, allowed):
    message = spec_error({**VALID, **change})
    assert f"model 'probe': {key}: unknown '{bad}'" in message and allowed in message


SIGMOID = {"type": "Dense", "arguments": {"units": 1, "activation": "sigmoid"}}  # the last layer of a custom stack


def test_unknown_layer_type_fails():
    message = spec_error({"layers": [{"type": "Lambda", "arguments": {}}, SIGMOID]})
    assert "model 'probe': layers: unknown 'Lambda'" in message and "Conv2D" in message


@pytest.mark.parametrize("raw, key", [
    ({"layers": [{"type": "Conv2D", "arguments": {"filterz": 8, "kernel_size": 3}}, SIGMOID]}, "layers: Conv2D"),
    ({**VALID, "optimizer_args": {"momentun": 0.9}}, "optimizer: Adam"),
    ({**VALID, "learning_rate_schedule": {"type": "ExponentialDecay", "arguments": {"initial_learning_rate": 0.1}}},
     "learning_rate_schedule: ExponentialDecay"),
    ({**VALID, "metrics": [{"name": "AUC", "args": {"curve": "ROCK"}}]}, "metrics: AUC"),
    ({**VALID, "early_stopping": {"patients": 3}}, "early_stopping"),
])
def test_bad_arguments_fail_naming_key_and_model(raw, key):
    assert f"model 'probe': {key}: bad arguments" in spec_error(raw)


@pytest.mark.parametrize("flip", [{"type": "RandomFlip"}, {"type": "RandomFlip", "arguments": {"mode": "vertical"}},
                                  {"type": "RandomFlip", "arguments": {"mode": "horizontal_and_vertical"}}])
def test_vertical_flips_are_refused(flip):
    message = spec_error({**VALID, "augmentation": [flip]})
    assert "model 'probe': augmentation: RandomFlip must use mode 'horizontal'" in message
    assert "changes what the chart means" in message


@pytest.mark.parametrize("rates", [
    {"learning_rate": 0.01,
     "learning_rate_schedule": {"type": "CosineDecay", "arguments": {"initial_learning_rate": 0.1, "decay_steps": 9}}},
    {"learning_rate": 0.01, "optimizer_args": {"learning_rate": 0.02}},
])
def test_only_one_learning_rate_source(rates):
    assert "give only one of learning_rate and" in spec_error({**VALID, **rates})


@pytest.mark.parametrize("change, key", [
    ({"learning_rat": 0.01}, "learning_rat"),
    ({"learning_rate": "1e-4"}, "learning_rate"),
    ({"dropout_rate": 1.5}, "dropout_rate"),
    ({"epochs": 0}, "epochs"),
    ({"trainable": "yes"}, "trainable"),
    ({"layers": [SIGMOID]}, "base_model"),
    ({"class_weights": {"chart": 2}}, "class_weights"),
    ({"fine_tune": {"epochs": 2}}, "fine_tune"),
    ({"file_name": "../model.keras"}, "file_name"),
    ({"augmentation": [{"type": "RandomZoom", "arguments": {"height_factor": {"class_name": "X"}}}]}, "augmentation"),
    ({"boosted_trees": {"arguments": {}}}, "boosted_trees"),
    ({"boosted_trees": {"weight": 1.0}}, "boosted_trees.weight"),
    ({"boosted_trees": {"weight": 0}}, "boosted_trees.weight"),
    ({"boosted_trees": {"weight": 0.4, "arguments": {"n_estimator": 10}}}, "boosted_trees.arguments"),
    ({"boosted_trees": {"weight": 0.4, "combine": "mean"}}, "boosted_trees.combine"),
    ({"pretrained_member": 0.35}, "pretrained_member"),
    ({"pretrained_member": {"weigth": 0.35}}, "pretrained_member"),
    ({"pretrained_member": {"weight": 1}}, "pretrained_member.weight"),
    ({"pretrained_member": {"unsure": [0.9, 0.1]}}, "pretrained_member.unsure"),
    ({"pretrained_member": {"unsure": [0.1]}}, "pretrained_member.unsure"),
    ({"pretrained_member": {"C": 0}}, "pretrained_member.C"),
    ({"pretrained_member": {"input_size": 16}}, "pretrained_member.input_size"),
    ({"pretrained_member": {"input_size": 160.5}}, "pretrained_member.input_size"),
])
def test_malformed_values_fail_naming_the_key(change, key):
    message = spec_error({**VALID, **change})
    assert f"model 'probe': {key}" in message
    if key == "learning_rate":
        assert "write 1.0e-4" in message


@pytest.mark.parametrize("raw, key", [
    ({"layers": [{"type": "Flatten"}, {"type": "Dense", "arguments": {"units": 2, "activation": "relu"}}]}, "layers"),
    ({"layers": [{"type": "Flatten"}, SIGMOID], "weights": "imagenet"}, "weights"),
    ({"layers": [{"type": "Flatten"}, SIGMOID], "dropout_rate": 0.5}, "dropout_rate"),
])
def test_custom_stacks_must_end_in_a_sigmoid_and_own_their_head(raw, key):
    assert f"model 'probe': {key}" in spec_error(raw)


def test_boosted_trees_reach_the_spec_and_unknown_arguments_list_lightgbms():
    spec = parse_spec("probe", {**VALID, "boosted_trees": {"weight": 0.3, "arguments": {"num_leaves": 7}}})
    assert (spec.boosted_trees.weight, spec.boosted_trees.arguments) == (0.3, {"num_leaves": 7})
    assert spec.boosted_trees.combine == "probability"  # what runs written before `combine` existed did
    logit = parse_spec("probe", {**VALID, "boosted_trees": {"weight": 0.3, "combine": "logit"}})
    assert logit.boosted_trees.combine == "logit"
    assert parse_spec("probe", VALID).boosted_trees is None
    message = spec_error({**VALID, "boosted_trees": {"weight": 0.3, "arguments": {"leaves": 7}}})
    assert "unknown ['leaves']" in message and "num_leaves" in message


def test_the_pretrained_member_reaches_the_spec_with_its_defaults_and_a_typo_names_the_key_meant():
    spec = parse_spec("probe", {**VALID, "pretrained_member": {"weight": 0.2, "unsure": [0.1, 0.9]}})
    assert (spec.pretrained_member.weight, spec.pretrained_member.unsure) == (0.2, (0.1, 0.9))
    assert (spec.pretrained_member.C, spec.pretrained_member.min_relative_weight) == (0.1, 0.0)
    assert spec.pretrained_member.input_size == 224
    assert parse_spec("probe", VALID).pretrained_member is None
    assert "did you mean 'weight'" in spec_error({**VALID, "pretrained_member": {"weigth": 0.35}})


def test_the_spec_allows_exactly_the_names_the_factory_has_classes_for():
    assert set(BASE_MODELS) == set(factory.BASE_MODELS)
    assert set(ALLOWLISTS) == set(factory.REGISTRIES)
    for key, names in ALLOWLISTS.items():
        assert set(names) == set(factory.REGISTRIES[key]), key


def test_metrics_get_their_fixed_history_names_unless_the_spec_names_them():
    metrics = factory.build_metrics(parse_spec("probe", {**VALID, "metrics": [
        {"name": "Accuracy"}, {"name": "AUC"}, {"name": "AUC", "args": {"curve": "PR", "name": "pr_auc"}}]}))
    assert [(type(m).__name__, m.name) for m in metrics] == [
        ("BinaryAccuracy", "accuracy"), ("AUC", "auc"), ("AUC", "pr_auc")]


def test_a_misspelt_key_names_the_one_meant():
    assert "model 'probe': learning_rat: unknown keys ['learning_rat']" in spec_error({**VALID, "learning_rat": 0.1})
    assert "did you mean 'learning_rate'?" in spec_error({**VALID, "learning_rat": 0.1})
    message = spec_error({**VALID, "fine_tune": {"epoch": 2, "learning_rate": 1.0e-5}})
    assert "model 'probe': fine_tune: unknown keys ['epoch']" in message and "did you mean 'epochs'?" in message


def test_config_file_must_be_a_mapping_of_specs(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- mobile\n- demo\n")
    with pytest.raises(SpecError, match="expected a mapping"):
        load_specs(str(path))

"""Build and compile the Keras 3 model a `ModelSpec` describes: float32 images [None, H, W, 3] of 0-255
pixels in, [None, 1] chart probability out. Inside, in order: an optional resize to `image_size`, the
augmentation (training only), the base model's own `preprocess_input` where it needs one, the backbone,
then for base models the head GAP -> Dropout -> Dense(relu) -> Dropout -> Dense(1, sigmoid).
"""
from __future__ import annotations

import inspect
import os

import keras

from core import storage
from models.factory import (
    BASE_MODELS,
    Backbone,
    build_augmentation,
    build_layers,
    build_loss,
    build_metrics,
    build_optimizer,
)
from models.spec import ModelSpec, SpecError

# Layer names the trainer can look up with `model.get_layer(...)`.
BACKBONE = "backbone"  # the base model (fine-tuning unfreezes it) or the custom layers stack
PREPROCESS = "preprocess"  # the base model's preprocess_input, only where it needs one
AUGMENTATION = "augmentation"
RESIZE = "resize"

# host:port that serves the Keras application weights; tests point it at a closed port.
WEIGHTS_HOST_ENV = "CHART_SIFTER_WEIGHTS_HOST"
DEFAULT_WEIGHTS_HOST = "storage.googleapis.com:443"
REACHABILITY_TIMEOUT_S = 3.0


def build_model(spec: ModelSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    """The compiled model for `spec` on images of `image_shape` (H, W, 3)."""
    inputs = keras.Input(shape=tuple(image_shape), dtype="float32", name="image")
    x = inputs
    side = spec.image_size
    if side is not None and tuple(image_shape[:2]) != (side, side):
        x = keras.layers.Resizing(side, side, antialias=True, name=RESIZE)(x)  # as ingest resizes
    if spec.augmentation:
        x = keras.Sequential(build_augmentation(spec), name=AUGMENTATION)(x)
    outputs = _transfer(spec, x) if spec.base_model else _custom_stack(spec, x)
    model = keras.Model(inputs, outputs, name=spec.model_type)
    compile_model(model, spec)
    return model


def compile_model(model: keras.Model, spec: ModelSpec, learning_rate: float | None = None) -> None:
    """(Re)compile with the spec's optimizer, loss and metrics; fine-tuning passes its learning_rate."""
    model.compile(
        optimizer=build_optimizer(spec, learning_rate),
        loss=build_loss(spec),
        metrics=build_metrics(spec),
    )


def start_fine_tuning(model: keras.Model, spec: ModelSpec) -> None:
    """Unfreeze the pretrained backbone from `fine_tune.unfreeze_from` on and recompile at the fine-tune rate.

    BatchNorm stays frozen, in inference mode (freeze_batch_norm).
    """
    if spec.fine_tune is None or not spec.pretrained:
        raise SpecError(f"model '{spec.model_type}': fine_tune: applies to a base_model with pretrained weights only")
    backbone = model.get_layer(BACKBONE)
    backbone.trainable = True
    for layer in backbone.layers[: spec.fine_tune.unfreeze_from or 0]:
        layer.trainable = False
    freeze_batch_norm(backbone)
    compile_model(model, spec, spec.fine_tune.learning_rate)


def freeze_batch_norm(backbone: keras.Model) -> None:
    """A pretrained backbone's BatchNorm layers keep their statistics and run in inference mode. Calling the
    backbone with training=False is not enough in Keras 3: a functional model passes the outer call's
    training=True on to every layer inside it, so only a non-trainable BatchNorm stays frozen."""
    for layer in backbone._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def _transfer(spec: ModelSpec, x: keras.KerasTensor) -> keras.KerasTensor:
    """Base model plus the classification head. A pretrained base the keras-io way: frozen unless `trainable`,
    BatchNorm always frozen in inference mode (freeze_batch_norm). Without pretrained weights the whole base trains,
    BatchNorm included (the trainer recomputes its statistics before each validation: models.trainer)."""
    entry = BASE_MODELS[spec.base_model]
    shape = tuple(x.shape[1:])
    if entry.preprocess_input is not None:
        x = _preprocess(entry, shape)(x)
    base = _base_model(spec, entry, shape)
    if spec.pretrained:
        base.trainable = spec.trainable
        freeze_batch_norm(base)
        x = base(x, training=False)
    else:
        base.trainable = True
        x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(spec.dropout_rate, name="dropout")(x)
    x = keras.layers.Dense(spec.dense_units, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(spec.dropout_rate, name="head_dropout")(x)
    return keras.layers.Dense(1, activation="sigmoid", name="chart_probability")(x)


def _preprocess(entry: Backbone, shape: tuple[int, ...]) -> keras.Model:
    """The family's own `preprocess_input` as a named sub-model (plain Keras ops: saves safely)."""
    inputs = keras.Input(shape=shape, dtype="float32")
    return keras.Model(inputs, entry.preprocess_input(inputs), name=PREPROCESS)


def _base_model(spec: ModelSpec, entry: Backbone, shape: tuple[int, ...]) -> keras.Model:
    """The headless application model with the spec's weights, named BACKBONE."""
    if spec.weights == "imagenet":
        _require_imagenet_weights(spec, entry, shape)
    weights = "imagenet" if spec.weights == "imagenet" else None  # a local file is loaded below
    kwargs = {"include_top": False, "input_shape": shape, "weights": weights}
    if "include_preprocessing" in inspect.signature(entry.constructor).parameters:
        kwargs["include_preprocessing"] = True
    try:
        base = entry.constructor(**kwargs)
    except ValueError as err:
        raise SpecError(
            f"model '{spec.model_type}': base_model: {spec.base_model} cannot take input {shape}: {err}") from err
    # Set after construction: a `name=` argument would change the weights file Keras looks for.
    base.name = BACKBONE
    if spec.weights not in (None, "imagenet"):
        _load_weights(spec, base)
    return base


def _custom_stack(spec: ModelSpec, x: keras.KerasTensor) -> keras.KerasTensor:
    """The spec's `layers`, on raw 0-255 pixels (the stack rescales them itself)."""
    stack = keras.Sequential(build_layers(spec), name=BACKBONE)
    outputs = stack(x)
    if spec.weights is not None:
        _load_weights(spec, stack)
    return outputs


def _load_weights(spec: ModelSpec, backbone: keras.Model) -> None:
    """Load the spec's local weights file (.h5 or .weights.h5) into the backbone."""
    if not os.path.isfile(spec.weights):
        raise SpecError(f"model '{spec.model_type}': weights: no weights file at {spec.weights}")
    try:
        backbone.load_weights(spec.weights)
    except (ValueError, OSError) as err:
        raise SpecError(
            f"model '{spec.model_type}': weights: cannot load {spec.weights} into the {BACKBONE}: {err}") from err


def _imagenet_cache_path(entry: Backbone, shape: tuple[int, ...]) -> str:
    """Where Keras caches (and first looks for) the no-top ImageNet weights of `entry`."""
    sides = entry.weights_sides
    side = shape[0] if shape[0] == shape[1] and shape[0] in sides else (sides[-1] if sides else None)
    home = os.environ.get("KERAS_HOME")
    if not home:  # Keras's own rule
        user_home = os.path.expanduser("~")
        home = os.path.join(user_home if os.access(user_home, os.W_OK) else "/tmp", ".keras")
    return os.path.join(home, "models", entry.weights_file.format(side=side))


def _require_imagenet_weights(spec: ModelSpec, entry: Backbone, shape: tuple[int, ...]) -> None:
    """Fail fast, instead of hanging in a download, when ImageNet weights cannot be had."""
    cached = _imagenet_cache_path(entry, shape)
    host = os.environ.get(WEIGHTS_HOST_ENV, DEFAULT_WEIGHTS_HOST)
    name, _, port = host.rpartition(":")
    if os.path.isfile(cached) or storage.reachable(name, int(port), REACHABILITY_TIMEOUT_S):
        return
    raise SpecError(
        f"model '{spec.model_type}': weights: the ImageNet weights of {spec.base_model} are not cached "
        f"({cached}) and {host} cannot be reached. Use `weights: null` to train from scratch, or "
        f"`weights: /path/to/file.h5` to load a local weights file."
    )

"""Keras objects from a validated `ModelSpec`: the layers of a custom stack, the augmentation layers, the
optimizer with its rate or schedule, the loss and the metrics. Types come from `models.spec`'s allowlists."""
from typing import Any

import keras

from models.spec import REGISTRIES, Component, ModelSpec, construct


def create(model_type: str, key: str, component: Component, **extra: Any) -> Any:
    """The component built from the allowlist of spec key `key` (`extra` arguments first, the spec's win)."""
    return construct(model_type, f"{key}: {component.type}", REGISTRIES[key][component.type],
                     {**extra, **component.arguments})


def build_layers(spec: ModelSpec) -> list[keras.layers.Layer]:
    """A custom stack's `layers`, in order."""
    return [create(spec.model_type, "layers", c) for c in spec.layers]


def build_augmentation(spec: ModelSpec) -> list[keras.layers.Layer]:
    """The `augmentation` layers (active only in training)."""
    return [create(spec.model_type, "augmentation", c) for c in spec.augmentation]


def build_optimizer(spec: ModelSpec, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """The spec's optimizer; `learning_rate` (the fine-tune phase's) overrides the spec's rate or schedule."""
    if learning_rate is None and spec.learning_rate_schedule is not None:
        learning_rate = create(spec.model_type, "learning_rate_schedule", spec.learning_rate_schedule)
    rate = spec.learning_rate if learning_rate is None else learning_rate
    optimizer = Component(spec.optimizer, spec.optimizer_args)
    return create(spec.model_type, "optimizer", optimizer, learning_rate=rate)


def build_loss(spec: ModelSpec) -> keras.losses.Loss:
    return create(spec.model_type, "loss", spec.loss)


def build_metrics(spec: ModelSpec) -> list[keras.metrics.Metric]:
    return [create(spec.model_type, "metrics", m) for m in spec.metrics]

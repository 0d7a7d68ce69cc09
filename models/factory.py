"""Keras and LightGBM objects from a validated `ModelSpec`: the class behind each name `models.spec` allows
(base models, layers, augmentation, optimizer, schedule, loss, metrics), the builders of each component, and
`check`, which constructs every component once so that arguments a class refuses fail at load time."""
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import keras
import lightgbm

from models.spec import METRIC_NAMES, Component, ModelSpec, SpecError


class Backbone(NamedTuple):
    """An allowlisted `keras.applications` base model (always built without its top)."""

    constructor: Callable[..., keras.Model]
    # The model's `keras.applications.<family>.preprocess_input`, applied inside our model;
    # None where the base model rescales 0-255 pixels itself.
    preprocess_input: Callable[[Any], Any] | None
    # Name of the no-top ImageNet weights file Keras caches under ~/.keras/models.
    # `{side}` stands for the input side, one of `weights_sides` (else the last of them).
    weights_file: str
    weights_sides: tuple[int, ...] = ()


_apps = keras.applications
_layers = keras.layers
_WEIGHTS_FILE = "{}_weights_tf_dim_ordering_tf_kernels_notop.h5"  # ResNet, DenseNet, VGG, ...

# Keyed by `models.spec.BASE_MODELS`.
BASE_MODELS: dict[str, Backbone] = {
    "MobileNetV3Small": Backbone(
        _apps.MobileNetV3Small, None, "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"),
    "MobileNetV3Large": Backbone(
        _apps.MobileNetV3Large, None, "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5"),
    "MobileNetV2": Backbone(
        _apps.MobileNetV2, _apps.mobilenet_v2.preprocess_input,
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{side}_no_top.h5", (96, 128, 160, 192, 224),
    ),
    "EfficientNetB0": Backbone(_apps.EfficientNetB0, None, "efficientnetb0_notop.h5"),
    "EfficientNetB1": Backbone(_apps.EfficientNetB1, None, "efficientnetb1_notop.h5"),
    "EfficientNetB2": Backbone(_apps.EfficientNetB2, None, "efficientnetb2_notop.h5"),
    "EfficientNetB3": Backbone(_apps.EfficientNetB3, None, "efficientnetb3_notop.h5"),
    "EfficientNetB4": Backbone(_apps.EfficientNetB4, None, "efficientnetb4_notop.h5"),
    "EfficientNetB5": Backbone(_apps.EfficientNetB5, None, "efficientnetb5_notop.h5"),
    "EfficientNetB6": Backbone(_apps.EfficientNetB6, None, "efficientnetb6_notop.h5"),
    "EfficientNetB7": Backbone(_apps.EfficientNetB7, None, "efficientnetb7_notop.h5"),
    "EfficientNetV2B0": Backbone(_apps.EfficientNetV2B0, None, "efficientnetv2-b0_notop.h5"),
    "EfficientNetV2B1": Backbone(_apps.EfficientNetV2B1, None, "efficientnetv2-b1_notop.h5"),
    "EfficientNetV2B2": Backbone(_apps.EfficientNetV2B2, None, "efficientnetv2-b2_notop.h5"),
    "EfficientNetV2B3": Backbone(_apps.EfficientNetV2B3, None, "efficientnetv2-b3_notop.h5"),
    "EfficientNetV2S": Backbone(_apps.EfficientNetV2S, None, "efficientnetv2-s_notop.h5"),
    "EfficientNetV2M": Backbone(_apps.EfficientNetV2M, None, "efficientnetv2-m_notop.h5"),
    "EfficientNetV2L": Backbone(_apps.EfficientNetV2L, None, "efficientnetv2-l_notop.h5"),
    "ConvNeXtTiny": Backbone(_apps.ConvNeXtTiny, None, "convnext_tiny_notop.h5"),
    "ConvNeXtSmall": Backbone(_apps.ConvNeXtSmall, None, "convnext_small_notop.h5"),
    "ConvNeXtBase": Backbone(_apps.ConvNeXtBase, None, "convnext_base_notop.h5"),
    "ResNet50": Backbone(_apps.ResNet50, _apps.resnet.preprocess_input, _WEIGHTS_FILE.format("resnet50")),
    "ResNet101": Backbone(_apps.ResNet101, _apps.resnet.preprocess_input, _WEIGHTS_FILE.format("resnet101")),
    "ResNet152": Backbone(_apps.ResNet152, _apps.resnet.preprocess_input, _WEIGHTS_FILE.format("resnet152")),
    "ResNet50V2": Backbone(_apps.ResNet50V2, _apps.resnet_v2.preprocess_input, _WEIGHTS_FILE.format("resnet50v2")),
    "ResNet101V2": Backbone(_apps.ResNet101V2, _apps.resnet_v2.preprocess_input, _WEIGHTS_FILE.format("resnet101v2")),
    "ResNet152V2": Backbone(_apps.ResNet152V2, _apps.resnet_v2.preprocess_input, _WEIGHTS_FILE.format("resnet152v2")),
    "DenseNet121": Backbone(_apps.DenseNet121, _apps.densenet.preprocess_input, _WEIGHTS_FILE.format("densenet121")),
    "DenseNet169": Backbone(_apps.DenseNet169, _apps.densenet.preprocess_input, _WEIGHTS_FILE.format("densenet169")),
    "DenseNet201": Backbone(_apps.DenseNet201, _apps.densenet.preprocess_input, _WEIGHTS_FILE.format("densenet201")),
    "Xception": Backbone(_apps.Xception, _apps.xception.preprocess_input, _WEIGHTS_FILE.format("xception")),
    "InceptionV3": Backbone(
        _apps.InceptionV3, _apps.inception_v3.preprocess_input, _WEIGHTS_FILE.format("inception_v3")),
    "VGG16": Backbone(_apps.VGG16, _apps.vgg16.preprocess_input, _WEIGHTS_FILE.format("vgg16")),
    "VGG19": Backbone(_apps.VGG19, _apps.vgg19.preprocess_input, _WEIGHTS_FILE.format("vgg19")),
}

# The class behind each name of `models.spec.ALLOWLISTS`, keyed the same way.
REGISTRIES: dict[str, dict[str, Callable[..., Any]]] = {
    "layers": {cls.__name__: cls for cls in (
        _layers.Conv2D, _layers.SeparableConv2D, _layers.DepthwiseConv2D, _layers.Conv2DTranspose,
        _layers.MaxPooling2D, _layers.AveragePooling2D, _layers.GlobalAveragePooling2D,
        _layers.GlobalMaxPooling2D, _layers.Flatten, _layers.Dense, _layers.Dropout,
        _layers.SpatialDropout2D, _layers.GaussianDropout, _layers.GaussianNoise,
        _layers.BatchNormalization, _layers.LayerNormalization, _layers.GroupNormalization,
        _layers.Activation, _layers.ReLU, _layers.LeakyReLU, _layers.ELU, _layers.PReLU,
        _layers.Rescaling, _layers.Resizing, _layers.CenterCrop, _layers.ZeroPadding2D,
        _layers.Cropping2D,
    )},
    "augmentation": {cls.__name__: cls for cls in (
        _layers.RandomFlip, _layers.RandomZoom, _layers.RandomTranslation, _layers.RandomContrast,
        _layers.RandomBrightness, _layers.RandomCrop, _layers.RandomGrayscale,
        _layers.RandomSharpness, _layers.RandomGaussianBlur, _layers.GaussianNoise,
    )},
    "optimizer": {cls.__name__: cls for cls in (
        keras.optimizers.Adam, keras.optimizers.AdamW, keras.optimizers.Adamax, keras.optimizers.Nadam,
        keras.optimizers.RMSprop, keras.optimizers.SGD, keras.optimizers.Adagrad,
        keras.optimizers.Adadelta, keras.optimizers.Adafactor, keras.optimizers.Ftrl,
        keras.optimizers.Lion, keras.optimizers.Lamb,
    )},
    "learning_rate_schedule": {cls.__name__: cls for cls in (
        keras.optimizers.schedules.ExponentialDecay, keras.optimizers.schedules.PiecewiseConstantDecay,
        keras.optimizers.schedules.PolynomialDecay, keras.optimizers.schedules.InverseTimeDecay,
        keras.optimizers.schedules.CosineDecay, keras.optimizers.schedules.CosineDecayRestarts,
    )},
    "loss": {
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
        "mean_squared_error": keras.losses.MeanSquaredError,
    },
    # Every accuracy spelling is BinaryAccuracy (see models.spec.METRIC_NAMES); build_metrics names each metric.
    "metrics": {
        "accuracy": keras.metrics.BinaryAccuracy, "Accuracy": keras.metrics.BinaryAccuracy,
        **{cls.__name__: cls for cls in (
            keras.metrics.BinaryAccuracy, keras.metrics.AUC, keras.metrics.Precision, keras.metrics.Recall,
            keras.metrics.PrecisionAtRecall, keras.metrics.RecallAtPrecision, keras.metrics.SensitivityAtSpecificity,
            keras.metrics.SpecificityAtSensitivity, keras.metrics.TruePositives, keras.metrics.TrueNegatives,
            keras.metrics.FalsePositives, keras.metrics.FalseNegatives, keras.metrics.BinaryCrossentropy,
        )},
    },
}


def construct(model_type: str, key: str, constructor: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
    """`constructor(**arguments)`; arguments it refuses become a SpecError naming the model_type and key."""
    try:
        return constructor(**arguments)
    except (TypeError, ValueError) as err:
        raise SpecError(f"model '{model_type}': {key}: bad arguments {dict(arguments)}: {err}") from err


def create(model_type: str, key: str, component: Component, **extra: Any) -> Any:
    """The component built from the registry of spec key `key` (`extra` arguments first, the spec's win)."""
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
    """The metrics, each under its fixed history name unless the spec names it."""
    return [create(spec.model_type, "metrics", m, name=METRIC_NAMES[m.type]) for m in spec.metrics]


def check(spec: ModelSpec) -> None:
    """Construct every component of `spec` once, so arguments Keras or LightGBM refuse fail now, naming the
    model_type and key, rather than mid-build (models.spec.parse_spec ends with it)."""
    build_layers(spec)
    build_loss(spec)
    build_metrics(spec)
    if spec.early_stopping is not None:
        construct(spec.model_type, "early_stopping", keras.callbacks.EarlyStopping, spec.early_stopping)
    build_augmentation(spec)
    build_optimizer(spec)
    if spec.boosted_trees is not None:
        known = lightgbm.LGBMClassifier().get_params()
        unknown = sorted(set(spec.boosted_trees.arguments) - set(known))
        if unknown:
            raise SpecError(f"model '{spec.model_type}': boosted_trees.arguments: unknown {unknown}; "
                            f"lightgbm.LGBMClassifier takes {', '.join(sorted(known))}")

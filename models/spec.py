"""The YAML model spec as validated plain data (`ModelSpec`): its keys, the allowlisted names its components
may take, and its parsing. Nothing from the file is deserialized or resolved with getattr, and arguments are
YAML scalars or lists. models/factory.py maps each allowed name to its Keras or LightGBM class; parsing ends
by constructing each component there once, so Keras checks the arguments at load time. docs/CONFIG.md (Model
config) describes every key.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from core import config
from core.features import CHART, NON_CHART
from models import boosted, pretrained


class SpecError(ValueError):
    """A model spec that cannot be honoured; the message names the model_type and the key."""


# `keras.applications` base models (always built without their top).
BASE_MODELS = (
    "MobileNetV3Small", "MobileNetV3Large", "MobileNetV2",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5",
    "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
    "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
    "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase",
    "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
    "DenseNet121", "DenseNet169", "DenseNet201", "Xception", "InceptionV3", "VGG16", "VGG19",
)

ACCURACY = "accuracy"  # the metric name reports read from history (`accuracy`, `val_accuracy`)
# Each metric's history name, unless its args name it. Keras's `Accuracy` counts exact equality, which a
# sigmoid probability never meets: every accuracy spelling means BinaryAccuracy named "accuracy". Fixed
# names (Keras would number them: auc_1, auc_2, ...) give stable history keys.
METRIC_NAMES = {
    ACCURACY: ACCURACY, "Accuracy": ACCURACY, "BinaryAccuracy": ACCURACY,
    "AUC": "auc", "Precision": "precision", "Recall": "recall", "PrecisionAtRecall": "precision_at_recall",
    "RecallAtPrecision": "recall_at_precision", "SensitivityAtSpecificity": "sensitivity_at_specificity",
    "SpecificityAtSensitivity": "specificity_at_sensitivity", "TruePositives": "true_positives",
    "TrueNegatives": "true_negatives", "FalsePositives": "false_positives", "FalseNegatives": "false_negatives",
    "BinaryCrossentropy": "binary_crossentropy",
}

# The names each component key allows (Keras class names, or the loss's snake_case name).
ALLOWLISTS: dict[str, tuple[str, ...]] = {
    "layers": (
        "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Dense", "Dropout", "SpatialDropout2D",
        "GaussianDropout", "GaussianNoise", "BatchNormalization", "LayerNormalization", "GroupNormalization",
        "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Rescaling", "Resizing", "CenterCrop", "ZeroPadding2D",
        "Cropping2D",
    ),
    # Chart-safe augmentations only: no vertical flips, rotations, hue shifts or inversions.
    "augmentation": (
        "RandomFlip", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "RandomCrop",
        "RandomGrayscale", "RandomSharpness", "RandomGaussianBlur", "GaussianNoise",
    ),
    "optimizer": (
        "Adam", "AdamW", "Adamax", "Nadam", "RMSprop", "SGD", "Adagrad", "Adadelta", "Adafactor", "Ftrl", "Lion",
        "Lamb",
    ),
    "learning_rate_schedule": (
        "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay", "InverseTimeDecay", "CosineDecay",
        "CosineDecayRestarts",
    ),
    "loss": ("binary_crossentropy", "binary_focal_crossentropy", "mean_squared_error"),
    "metrics": tuple(METRIC_NAMES),
}

CLASS_WEIGHT_MODES = ("balanced",)
MIN_MEMBER_INPUT = 32  # px: the smallest input MobileNetV2 takes
DEFAULT_EARLY_STOPPING = {"monitor": "val_loss", "patience": 3, "restore_best_weights": True}
VERTICAL_FLIP_ERROR = (
    "RandomFlip must use mode 'horizontal': a vertical flip turns a rising chart into a falling "
    "one and puts its axes upside down, so it changes what the chart means"
)


@dataclasses.dataclass(frozen=True)
class Component:
    """One allowlisted Keras object: its allowlisted name and constructor arguments."""

    type: str
    arguments: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class FineTune:
    """Second training phase of a pretrained base: unfreeze it and train on at a lower learning rate."""

    epochs: int
    learning_rate: float
    unfreeze_from: int | None = None  # first base layer index made trainable; None: all of them


@dataclasses.dataclass(frozen=True)
class BoostedTrees:
    """The ensemble's second model: LightGBM on `transforms.descriptors`, blended with the network's score."""

    weight: float  # share of the score from the trees: score = (1 - weight) * network + weight * trees
    arguments: dict[str, Any] = dataclasses.field(default_factory=dict)  # lightgbm.LGBMClassifier's
    combine: str = boosted.PROBABILITY  # or boosted.LOGIT: the weighted mean of the log-odds


@dataclasses.dataclass(frozen=True)
class PretrainedMember:
    """The ensemble's third model: a logistic regression on frozen pretrained features (models/member.py), with a
    say only where the network and trees are unsure."""

    C: float = 0.1  # the regression's inverse regularisation
    weight: float = 0.35  # its share of the blended log-odds
    unsure: tuple[float, float] = (0.02, 0.98)  # [low, high) of the ensemble's score where it has a say
    # it learns the train images of sources weighted (ingest `weight`) at least this share of the heaviest source's
    min_relative_weight: float = 0.0
    input_size: int = pretrained.INPUT_SIZE  # px of the backbone's input: its work grows with the square


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A validated model spec (see configs/model_config.yaml for the meaning of each key)."""

    model_type: str
    file_name: str
    base_model: str | None = None
    layers: tuple[Component, ...] = ()
    weights: str | None = None  # "imagenet", a local weights file, or None (from scratch)
    trainable: bool = False
    dense_units: int = 128
    dropout_rate: float = 0.3
    image_size: int | None = None
    optimizer: str = "Adam"
    optimizer_args: dict[str, Any] = dataclasses.field(default_factory=dict)
    learning_rate: float | None = 0.001  # None exactly when learning_rate_schedule is set
    learning_rate_schedule: Component | None = None
    loss: Component = dataclasses.field(default_factory=lambda: Component("binary_crossentropy"))
    metrics: tuple[Component, ...] = (Component(ACCURACY),)
    epochs: int = 10
    batch_size: int = 32
    early_stopping: dict[str, Any] | None = dataclasses.field(default_factory=lambda: dict(DEFAULT_EARLY_STOPPING))
    checkpoint: bool = True
    class_weights: str | dict[str, float] | None = None
    augmentation: tuple[Component, ...] = ()
    fine_tune: FineTune | None = None
    boosted_trees: BoostedTrees | None = None
    pretrained_member: PretrainedMember | None = None

    @property
    def pretrained(self) -> bool:
        """A base model that starts from weights (ImageNet or a file): `trainable` and `fine_tune` apply to it.
        Without them the whole network trains from scratch, BatchNorm included."""
        return self.base_model is not None and self.weights is not None


SPEC_KEYS = frozenset(f.name for f in dataclasses.fields(ModelSpec)) - {"model_type"}
_HEAD_KEYS = ("trainable", "dense_units", "dropout_rate", "fine_tune")  # base_model models only


def load_specs(path: str) -> dict[str, dict]:
    """The raw YAML mapping of model_type -> spec mapping (yaml.safe_load)."""
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in raw.items()):
        raise SpecError(f"{path}: expected a mapping of model_type names to spec mappings")
    return raw


def available_model_types(path: str) -> list[str]:
    """The model_types defined in the file, in file order."""
    return list(load_specs(path))


def load_model_spec(path: str, model_type: str) -> ModelSpec:
    """Load and validate one model spec."""
    specs = load_specs(path)
    if model_type not in specs:
        raise SpecError(f"unknown model_type '{model_type}' in {path}; available: {', '.join(specs)}")
    return parse_spec(model_type, specs[model_type])


def parse_spec(model_type: str, raw: Mapping[str, Any]) -> ModelSpec:
    """Validate a raw spec mapping: its keys and names here, then its arguments by constructing each
    component once (models.factory.check)."""
    from models import factory  # Keras and LightGBM, which this module keeps out of its import

    spec = _Parser(model_type, raw).spec()
    factory.check(spec)
    return spec


def _is_plain(value: Any) -> bool:
    """True for YAML scalars and (nested) lists of them."""
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


_TYPES: dict[type, Callable[[Any], bool]] = {
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
    str: lambda v: isinstance(v, str),
}


class _Parser:
    """Reads one raw spec; every problem becomes a SpecError naming the model_type and key."""

    def __init__(self, model_type: str, raw: Mapping[str, Any]):
        self.model_type = model_type
        self.raw = raw

    def error(self, key: str, problem: str) -> SpecError:
        return SpecError(f"model '{self.model_type}': {key}: {problem}")

    def typed(self, key: str, value: Any, kind: type, positive: bool = False) -> Any:
        """`value` checked to be of `kind` (int, float, bool or str) and, if asked, above zero."""
        if not _TYPES[kind](value):
            hint = " (PyYAML reads 1e-4 as text: write 1.0e-4)" if kind is float and isinstance(value, str) else ""
            raise self.error(key, f"expected {kind.__name__}, got {value!r}{hint}")
        if positive and value <= 0:
            raise self.error(key, f"must be positive, got {value!r}")
        return float(value) if kind is float else value

    def get(self, key: str, kind: type, default: Any, positive: bool = False) -> Any:
        """Top-level `key` (None or absent gives `default`), type-checked."""
        value = self.raw.get(key)
        return default if value is None else self.typed(key, value, kind, positive)

    def mapping(self, key: str, value: Any) -> dict[str, Any]:
        """A mapping of string keys to plain YAML values (constructor arguments)."""
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise self.error(key, f"expected a mapping of argument names to values, got {value!r}")
        if not all(_is_plain(v) for v in value.values()):
            raise self.error(key, f"arguments must be YAML scalars or lists, got {dict(value)!r}")
        return dict(value)

    def component(self, key: str, value: Any, name_key: str = "type", args_key: str = "arguments") -> Component:
        """`{type, arguments}` (or `{name, args}`, or a bare name where name_key is 'name')."""
        if name_key == "name" and isinstance(value, str):
            value = {name_key: value}
        if not isinstance(value, Mapping) or name_key not in value or not set(value) <= {name_key, args_key}:
            raise self.error(key, f"expected {{{name_key}: ..., {args_key}: {{...}}}}, got {value!r}")
        name = self.allowed(key, value[name_key], ALLOWLISTS[key])
        return Component(name, self.mapping(key, value.get(args_key)))

    def allowed(self, key: str, name: Any, allowlist: tuple[str, ...]) -> str:
        """`name`, if `allowlist` has it."""
        if not isinstance(name, str) or name not in allowlist:
            raise self.error(key, f"unknown {name!r}; allowed: {', '.join(sorted(allowlist))}")
        return name

    def components(self, key: str, **names: str) -> tuple[Component, ...]:
        """The list of components under `key` (parsed, not yet instantiated)."""
        value = self.raw.get(key) or []
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {value!r}")
        return tuple(self.component(key, item, **names) for item in value)

    def spec(self) -> ModelSpec:
        config.check_keys(self.raw, SPEC_KEYS, (), self.error)
        base_model = self.raw.get("base_model")
        layers = self.components("layers")
        if (base_model is None) == (not layers):
            raise self.error("base_model", "give exactly one of base_model or layers")
        if base_model is not None:
            self.allowed("base_model", base_model, BASE_MODELS)
        if layers:
            self.check_custom_stack(layers)
        learning_rate, schedule, optimizer_args = self.learning_rate()
        loss = self.component("loss", self.raw.get("loss") or "binary_crossentropy", "name", "args")
        return ModelSpec(
            model_type=self.model_type,
            file_name=self.file_name(),
            base_model=base_model,
            layers=layers,
            weights=self.weights(base_model),
            trainable=self.get("trainable", bool, False) if base_model else True,
            dense_units=self.get("dense_units", int, ModelSpec.dense_units, positive=True),
            dropout_rate=self.dropout_rate(),
            image_size=self.get("image_size", int, None, positive=True),
            optimizer=self.component("optimizer", {"type": self.raw.get("optimizer") or "Adam"}).type,
            optimizer_args=optimizer_args,
            learning_rate=learning_rate,
            learning_rate_schedule=schedule,
            loss=loss,
            metrics=self.metrics(),
            epochs=self.get("epochs", int, ModelSpec.epochs, positive=True),
            batch_size=self.get("batch_size", int, ModelSpec.batch_size, positive=True),
            early_stopping=self.early_stopping(),
            checkpoint=self.get("checkpoint", bool, True),
            class_weights=self.class_weights(),
            augmentation=self.augmentation(),
            fine_tune=self.fine_tune(),
            boosted_trees=self.boosted_trees(),
            pretrained_member=self.pretrained_member(),
        )

    def check_custom_stack(self, layers: tuple[Component, ...]) -> None:
        """A `layers` model owns its whole network, so the base_model-only keys make no sense."""
        for key in _HEAD_KEYS:
            if key in self.raw:
                raise self.error(key, "applies to base_model models only; a layers stack defines its own head")
        last = layers[-1]
        if (last.type, last.arguments.get("units"), last.arguments.get("activation")) != ("Dense", 1, "sigmoid"):
            raise self.error("layers", "the last layer must be Dense with units: 1, activation: sigmoid "
                                       "(the probability of class 'chart')")

    def learning_rate(self) -> tuple[float | None, Component | None, dict[str, Any]]:
        """(learning_rate, schedule, optimizer_args without learning_rate): exactly one rate source."""
        optimizer_args = self.mapping("optimizer_args", self.raw.get("optimizer_args"))
        sources = [k for k in ("learning_rate", "learning_rate_schedule") if self.raw.get(k) is not None]
        if "learning_rate" in optimizer_args:
            sources.append("optimizer_args.learning_rate")
        if len(sources) > 1:
            raise self.error(sources[-1], f"give only one of {' and '.join(sources)}")
        if "learning_rate_schedule" in sources:
            schedule = self.component("learning_rate_schedule", self.raw["learning_rate_schedule"])
            return None, schedule, optimizer_args
        source = sources[0] if sources else "learning_rate"
        value = optimizer_args.pop("learning_rate", self.raw.get("learning_rate"))
        if value is None:
            return ModelSpec.learning_rate, None, optimizer_args
        return self.typed(source, value, float, positive=True), None, optimizer_args

    def metrics(self) -> tuple[Component, ...]:
        """The configured metrics, with an "accuracy" metric first unless one is already named so."""
        metrics = self.components("metrics", name_key="name", args_key="args")
        names = [m.arguments.get("name", METRIC_NAMES[m.type]) for m in metrics]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise self.error("metrics", f"two metrics named {duplicates[0]!r}; rename one with args: {{name: ...}}")
        return metrics if ACCURACY in names else (Component(ACCURACY), *metrics)

    def augmentation(self) -> tuple[Component, ...]:
        augmentation = self.components("augmentation")
        for item in augmentation:
            if item.type == "RandomFlip" and item.arguments.get("mode", "horizontal_and_vertical") != "horizontal":
                raise self.error("augmentation", VERTICAL_FLIP_ERROR)
        return augmentation

    def file_name(self) -> str:
        name = self.get("file_name", str, f"{self.model_type}.keras")
        if "/" in name or "\\" in name or not name.endswith(".keras"):
            raise self.error("file_name", f"expected a bare file name ending in .keras, got {name!r}")
        return name

    def weights(self, base_model: str | None) -> str | None:
        if "weights" not in self.raw:  # an explicit null means from scratch
            return "imagenet" if base_model else None
        weights = self.get("weights", str, None)
        if weights == "imagenet" and base_model is None:
            raise self.error("weights", "imagenet weights need a base_model; use null or a local weights file")
        return weights

    def dropout_rate(self) -> float:
        rate = self.get("dropout_rate", float, ModelSpec.dropout_rate)
        if not 0 <= rate < 1:
            raise self.error("dropout_rate", f"must be in [0, 1), got {rate!r}")
        return rate

    def early_stopping(self) -> dict[str, Any] | None:
        value = self.raw.get("early_stopping", True)
        if value is False or value is None:
            return None
        return {**DEFAULT_EARLY_STOPPING, **self.mapping("early_stopping", None if value is True else value)}

    def class_weights(self) -> str | dict[str, float] | None:
        value = self.raw.get("class_weights")
        if value is None or value in CLASS_WEIGHT_MODES:
            return value
        if not isinstance(value, Mapping) or set(value) != {CHART, NON_CHART}:
            expected = f"balanced, null or {{{CHART}: w, {NON_CHART}: w}}"
            raise self.error("class_weights", f"expected {expected}, got {value!r}")
        return {k: self.typed(f"class_weights.{k}", w, float, positive=True) for k, w in value.items()}

    def fine_tune(self) -> FineTune | None:
        value = self.raw.get("fine_tune")
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error("fine_tune", f"expected {{epochs, learning_rate, unfreeze_from}} or null, got {value!r}")
        config.check_keys(value, *config.block_keys(FineTune), lambda _, problem: self.error("fine_tune", problem))
        unfreeze_from = value.get("unfreeze_from")
        return FineTune(
            epochs=self.typed("fine_tune.epochs", value["epochs"], int, positive=True),
            learning_rate=self.typed("fine_tune.learning_rate", value["learning_rate"], float, positive=True),
            unfreeze_from=None if unfreeze_from is None else self.typed("fine_tune.unfreeze_from", unfreeze_from, int),
        )

    def boosted_trees(self) -> BoostedTrees | None:
        value = self.raw.get("boosted_trees")
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error("boosted_trees", f"expected {{weight, combine, arguments}} or null, got {value!r}")
        config.check_keys(value, *config.block_keys(BoostedTrees),
                          lambda _, problem: self.error("boosted_trees", problem))
        weight = self.typed("boosted_trees.weight", value["weight"], float, positive=True)
        if weight >= 1:
            raise self.error("boosted_trees.weight", f"must be below 1 (the network gets 1 - weight), got {weight}")
        arguments = self.mapping("boosted_trees.arguments", value.get("arguments"))
        combine = value.get("combine", boosted.PROBABILITY)
        if combine not in boosted.COMBINES:
            raise self.error("boosted_trees.combine", f"expected one of {', '.join(boosted.COMBINES)}, got {combine!r}")
        return BoostedTrees(weight, arguments, combine)

    def pretrained_member(self) -> PretrainedMember | None:
        value = self.raw.get("pretrained_member")
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error("pretrained_member", f"expected {{C, weight, unsure, min_relative_weight, input_size}} or "
                                                  f"null, got {value!r}")
        config.check_keys(value, *config.block_keys(PretrainedMember),
                          lambda _, problem: self.error("pretrained_member", problem))
        default = PretrainedMember()
        weight = self.typed("pretrained_member.weight", value.get("weight", default.weight), float, positive=True)
        if weight >= 1:
            raise self.error("pretrained_member.weight",
                             f"must be below 1 (the ensemble gets 1 - weight), got {weight}")
        unsure = value.get("unsure", list(default.unsure))
        if not (isinstance(unsure, list) and len(unsure) == 2 and all(map(config.is_number, unsure))
                and 0 <= unsure[0] < unsure[1] <= 1):
            raise self.error("pretrained_member.unsure",
                             f"expected [low, high] with 0 <= low < high <= 1, got {unsure!r}")
        return PretrainedMember(
            C=self.typed("pretrained_member.C", value.get("C", default.C), float, positive=True),
            weight=weight,
            unsure=(float(unsure[0]), float(unsure[1])),
            min_relative_weight=self.typed("pretrained_member.min_relative_weight",
                                           value.get("min_relative_weight", default.min_relative_weight), float),
            input_size=self.input_size(value.get("input_size", default.input_size)),
        )

    def input_size(self, value: Any) -> int:
        size = self.typed("pretrained_member.input_size", value, int, positive=True)
        if size < MIN_MEMBER_INPUT:
            raise self.error("pretrained_member.input_size",
                             f"MobileNetV2 needs at least {MIN_MEMBER_INPUT} px, got {size}")
        return size

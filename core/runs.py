"""Training runs on disk: the run-directory layout, the serving signature's names, the metadata keys,
and finding a run from --model_dir (docs/ARCHITECTURE.md, Contract 4). TensorFlow-free."""
import dataclasses
import json
import os
import posixpath
from typing import Any, Optional

from core import features, storage

# $BASE_DIR/models/<model_type>/<run_id>/ holds one training run; <model_type>/latest names the newest.
MODELS_DIR = "models"
LATEST_FILE = "latest"  # a text file holding the newest run_id
SAVED_MODEL_DIR = "saved_model"  # the serving SavedModel (transform graph included)
SAVED_MODEL_FILE = "saved_model.pb"
METADATA_FILE = "metadata.json"  # label convention, threshold, image size, provenance, test metrics
BEST_CHECKPOINT_FILE = "best.keras"
TRAINING_IMAGES_FILE = "training_images.sha256"  # sha256 of every train and val image, one a line (sorted)
HISTORY_FILE = "history.csv"

# The SavedModel's signature: raw RGB bytes of prepare(file, S).pixels in, chart probabilities out.
SERVING_SIGNATURE = "serving_default"
SERVING_INPUT = "rgb_pixels"  # string [N]
SERVING_OUTPUT = "score"  # float32 [N]

METADATA_KEYS = ("model_type", "run_id", "threshold", "image_size")  # what labelling and serving rely on
REVIEW_BAND_KEY = "review_band"  # optional [low, high): scores inside go to a person (train: on val; ship: out-of-fold)
REFITTED_FROM_KEY = "member_refitted_from"  # provenance of a run made by `train --refit_member`: its source run
# Optional {"file", "weight", "combine"}: the run is an ensemble, and its score blends the SavedModel's with
# LightGBM's on transforms.descriptors (the model file in LightGBM's text format, in the run directory);
# combine is "probability" or "logit" (models/boosted.py), "probability" where it is absent.
BOOSTED_TREES_KEY = "boosted_trees"
BOOSTED_TREES_FILE = "boosted_trees.txt"
# Optional {"file", "backbone_file", "weight", "unsure", "center", "input_size", "backbone", "backbone_sha256",
# "images"}: the ensemble's pretrained member (models/member.py), a logistic regression (numpy .npz in the run
# directory) on the features of the backbone weights the package ships (converted for LiteRT: backbone_file), with a
# say where the score before it is in [unsure[0], unsure[1]).
PRETRAINED_MEMBER_KEY = "pretrained_member"
PRETRAINED_MEMBER_FILE = "pretrained_member.npz"
PRETRAINED_BACKBONE_FILE = "pretrained_member.tflite"

# The ready model shipped in the repository (`make model` writes it): the default --model_dir.
SHIPPED_MODEL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "shipped")


def model_type_dir(base_dir: str, model_type: str) -> str:
    """$BASE_DIR/models/<model_type>: the runs of one model type and their `latest` file."""
    return storage.join(base_dir, MODELS_DIR, model_type)


@dataclasses.dataclass(frozen=True)
class RunMetadata:
    """A run's metadata.json: what training decided and measured, what labelling and serving rely on
    (the first four fields are required), and what shipping adds (provenance)."""

    model_type: str
    run_id: str
    threshold: float  # chart at or above it
    image_size: int  # side of the square input the model takes
    review_band: tuple[float, float] = (0.0, 0.0)  # [low, high): scores inside go to a person
    boosted_trees: Optional[dict] = None  # the ensemble's trees, see BOOSTED_TREES_KEY
    pretrained_member: Optional[dict] = None  # the ensemble's pretrained member, see PRETRAINED_MEMBER_KEY
    keras_file: Optional[str] = None
    threshold_source: str = ""
    review_band_source: str = ""
    data: dict = dataclasses.field(default_factory=dict)  # data_dir, sources, counts per split and label
    test_metrics: dict = dataclasses.field(default_factory=dict)
    provenance: Optional[dict] = None  # pipelines.ship: ingest config, commit, seed, source-disjoint figures
    positive_label: str = features.CHART
    label_names: tuple[str, ...] = features.LABEL_NAMES
    score: str = "probability that the image is a chart"
    serving_signature: dict = dataclasses.field(
        default_factory=lambda: {"input": SERVING_INPUT, "output": SERVING_OUTPUT})

    @classmethod
    def from_dict(cls, values: dict) -> "RunMetadata":
        """ValueError naming the missing or unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        missing = [k for k in METADATA_KEYS if k not in values]
        unknown = sorted(set(values) - names)
        if missing or unknown:
            wrong = [f"lacks {missing}"] * bool(missing) + [f"has unknown keys {unknown}"] * bool(unknown)
            raise ValueError(f"{METADATA_FILE} {' and '.join(wrong)}")
        typed = {"review_band": tuple(float(v) for v in values.get("review_band") or (0.0, 0.0)),
                 "label_names": tuple(values.get("label_names") or features.LABEL_NAMES),
                 "threshold": float(values["threshold"]), "image_size": int(values["image_size"])}
        return cls(**{**values, **typed})

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values.update(review_band=list(self.review_band), label_names=list(self.label_names))
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def read(cls, run_dir: str) -> "RunMetadata":
        """ValueError when the file is not JSON or lacks a required key (FileNotFoundError when absent)."""
        try:
            values = json.loads(storage.read_bytes(storage.join(run_dir, METADATA_FILE)))
        except ValueError as err:
            raise ValueError(f"{METADATA_FILE} is not valid JSON ({err})") from err
        return cls.from_dict(values)

    def write(self, run_dir: str) -> None:
        with storage.open_write(storage.join(run_dir, METADATA_FILE)) as f:
            f.write(json.dumps(self.to_dict(), indent=2, sort_keys=True).encode())


def point_latest(model_type_dir: str, run_id: str) -> None:
    """Make `<model_type_dir>/latest` name `run_id` (a small file: works on every filesystem)."""
    with storage.open_write(storage.join(model_type_dir, LATEST_FILE)) as f:
        f.write(f"{run_id}\n".encode())


def latest_file(model_dir: Optional[str]) -> Optional[str]:
    """The `latest` file that --model_dir follows (it names the file, or a folder holding one), else None: a run
    directory, or the shipped model, is one fixed run."""
    if model_dir is None:
        return None
    model_dir = model_dir.rstrip("/")
    if storage.exists(storage.join(model_dir, METADATA_FILE)):
        return None
    latest = model_dir if posixpath.basename(model_dir) == LATEST_FILE else storage.join(model_dir, LATEST_FILE)
    return latest if storage.exists(latest) else None


def resolve_model_dir(model_dir: Optional[str]) -> str:
    """A run directory from a run directory, a `latest` file, or the folder holding `latest`;
    None: the shipped model."""
    if model_dir is None:
        if not os.path.exists(os.path.join(SHIPPED_MODEL_DIR, METADATA_FILE)):
            raise FileNotFoundError(f"no --model_dir given and no shipped model in {SHIPPED_MODEL_DIR}: "
                                    "pass --model_dir, or build the shipped model with `make model`")
        return SHIPPED_MODEL_DIR
    model_dir = model_dir.rstrip("/")
    if storage.exists(storage.join(model_dir, METADATA_FILE)):
        return model_dir
    is_latest = posixpath.basename(model_dir) == LATEST_FILE
    latest = model_dir if is_latest else storage.join(model_dir, LATEST_FILE)
    if storage.exists(latest):
        run_dir = storage.join(posixpath.dirname(latest) or ".", storage.read_bytes(latest).decode().strip())
        if storage.exists(storage.join(run_dir, METADATA_FILE)):
            return run_dir
    raise FileNotFoundError(
        f"--model_dir {model_dir} is not a trained model: expected a run directory holding {METADATA_FILE} "
        f"(e.g. artifacts/models/<model_type>/<run_id>), a '{LATEST_FILE}' file, "
        "or the model_type folder that holds one. Train one with: python -m pipelines.train --model_type demo"
    )

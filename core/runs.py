"""Training runs on disk: the run-directory layout, the serving signature's names, the metadata keys,
and finding a run from --model_dir (docs/ARCHITECTURE.md, Contract 4). TensorFlow-free."""
import json
import os
import posixpath
from typing import Optional

from core import storage

# $BASE_DIR/models/<model_type>/<run_id>/ holds one training run; <model_type>/latest names the newest.
MODELS_DIR = "models"
LATEST_FILE = "latest"  # a text file holding the newest run_id
SAVED_MODEL_DIR = "saved_model"  # the serving SavedModel (transform graph included)
SAVED_MODEL_FILE = "saved_model.pb"
METADATA_FILE = "metadata.json"  # label convention, threshold, image size, provenance, test metrics
BEST_CHECKPOINT_FILE = "best.keras"
HISTORY_FILE = "history.csv"

# The SavedModel's signature: raw RGB bytes of prepare(file, S).pixels in, chart probabilities out.
SERVING_SIGNATURE = "serving_default"
SERVING_INPUT = "rgb_pixels"  # string [N]
SERVING_OUTPUT = "score"  # float32 [N]

METADATA_KEYS = ("model_type", "run_id", "threshold", "image_size")  # what labelling and serving rely on
REVIEW_BAND_KEY = "review_band"  # optional [low, high): scores inside go to a person (train: on val; ship: out-of-fold)
# Optional {"file", "weight", "combine"}: the run is an ensemble, and its score blends the SavedModel's with
# LightGBM's on transforms.descriptors (the model file in LightGBM's text format, in the run directory);
# combine is "probability" or "logit" (models/boosted.py), "probability" where it is absent.
BOOSTED_TREES_KEY = "boosted_trees"
BOOSTED_TREES_FILE = "boosted_trees.txt"

# The ready model shipped in the repository (`make model` writes it): the default --model_dir.
SHIPPED_MODEL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "shipped")


def model_type_dir(base_dir: str, model_type: str) -> str:
    """$BASE_DIR/models/<model_type>: the runs of one model type and their `latest` file."""
    return storage.join(base_dir, MODELS_DIR, model_type)


def read_metadata(run_dir: str) -> dict:
    return json.loads(storage.read_bytes(storage.join(run_dir, METADATA_FILE)))


def write_metadata(run_dir: str, metadata: dict) -> None:
    with storage.open_write(storage.join(run_dir, METADATA_FILE)) as f:
        f.write(json.dumps(metadata, indent=2, sort_keys=True).encode())


def point_latest(model_type_dir: str, run_id: str) -> None:
    """Make `<model_type_dir>/latest` name `run_id` (a small file: works on every filesystem)."""
    with storage.open_write(storage.join(model_type_dir, LATEST_FILE)) as f:
        f.write(f"{run_id}\n".encode())


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

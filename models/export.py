"""The exported model: a SavedModel that takes the prepared pixels of a batch of images.

Layout of a run directory (`$BASE_DIR/models/<model_type>/<run_id>/`):
    <file_name>.keras     the Keras 3 model (input: transformed pixels)
    saved_model/          serving_default(rgb_pixels: string[N]) -> {score: float32[N]}
                          each input: the raw RGB bytes (S*S*3, row order) of
                          transforms.image.prepare(file, S).pixels; the tf.Transform
                          graph turns them into the model's input, then the model
    metadata.json         label convention, threshold, image size, provenance
`$BASE_DIR/models/<model_type>/latest` holds the newest run_id; every command
taking --model_dir accepts the run directory, the `latest` file, or the
model_type folder that holds it.
"""
import json
import posixpath
from typing import Any

import tensorflow as tf

from pipelines import storage
from transforms import features

SAVED_MODEL_DIR = "saved_model"
METADATA_FILE = "metadata.json"
LATEST_FILE = "latest"
SERVING_INPUT = "rgb_pixels"
SERVING_OUTPUT = "score"


class ServingModule(tf.Module):
    """Tracks the Keras 3 model and the tf.Transform layer (Keras 2) side by side;
    a Keras 3 functional model cannot hold the Keras 2 layer itself."""

    def __init__(self, model: Any, transform_layer: Any):
        super().__init__()
        self.model = model
        self.transform_layer = transform_layer
        # Keras 3 variables (seed generators included) are not tf.Module-tracked by themselves.
        self.model_variables = [v.value for v in model.variables]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=SERVING_INPUT)])
    def serve(self, rgb_pixels: tf.Tensor) -> dict:
        pixels = self.transform_layer({features.IMAGE_KEY: rgb_pixels})[features.IMAGE_KEY]
        scores = self.model(pixels, training=False)
        return {SERVING_OUTPUT: tf.reshape(tf.cast(scores, tf.float32), [-1])}


def export_saved_model(model: Any, transform_output: Any, run_dir: str) -> str:
    """Save the serving SavedModel (transform graph and its assets included)."""
    module = ServingModule(model, transform_output.transform_features_layer())
    path = storage.join(run_dir, SAVED_MODEL_DIR)
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


def write_metadata(run_dir: str, metadata: dict) -> None:
    with storage.open_write(storage.join(run_dir, METADATA_FILE)) as f:
        f.write(json.dumps(metadata, indent=2, sort_keys=True).encode())


METADATA_KEYS = ("model_type", "run_id", "threshold", "image_size")  # what labelling and serving rely on


def read_metadata(run_dir: str) -> dict:
    return json.loads(storage.read_bytes(storage.join(run_dir, METADATA_FILE)))


def check_run_dir(run_dir: str) -> dict:
    """The run's metadata, after checking that it and the SavedModel are whole (at launch, not on the
    workers); raises ValueError naming what is wrong."""
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        metadata = read_metadata(run_dir)
    except ValueError as err:
        raise ValueError(f"{run_dir}/{METADATA_FILE} is not valid JSON ({err}); retrain or restore the run directory") from err
    missing = [k for k in METADATA_KEYS if k not in metadata]
    if missing:
        raise ValueError(f"{run_dir}/{METADATA_FILE} lacks {missing}; retrain or restore the run directory")
    graph = storage.join(run_dir, SAVED_MODEL_DIR, "saved_model.pb")
    try:
        saved_model_pb2.SavedModel().ParseFromString(storage.read_bytes(graph))
    except Exception as err:  # missing (any filesystem's error) or not a SavedModel (protobuf's DecodeError)
        raise ValueError(f"{graph} is missing or corrupt ({type(err).__name__}: {err}); retrain or restore the run directory") from err
    return metadata


def point_latest(model_type_dir: str, run_id: str) -> None:
    """Make `<model_type_dir>/latest` name `run_id` (a small file: works on every filesystem)."""
    with storage.open_write(storage.join(model_type_dir, LATEST_FILE)) as f:
        f.write(f"{run_id}\n".encode())


def resolve_model_dir(model_dir: str) -> str:
    """A run directory from a run directory, a `latest` file, or the folder holding `latest`."""
    model_dir = model_dir.rstrip("/")
    if storage.exists(storage.join(model_dir, METADATA_FILE)):
        return model_dir
    latest = model_dir if posixpath.basename(model_dir) == LATEST_FILE else storage.join(model_dir, LATEST_FILE)
    if storage.exists(latest):
        run_dir = storage.join(posixpath.dirname(latest) or ".", storage.read_bytes(latest).decode().strip())
        if storage.exists(storage.join(run_dir, METADATA_FILE)):
            return run_dir
    raise FileNotFoundError(
        f"--model_dir {model_dir} is not a trained model: expected a run directory holding {METADATA_FILE} "
        f"(e.g. artifacts/models/<model_type>/<run_id>), a '{LATEST_FILE}' file, or the model_type folder that holds one. "
        "Train one with: python -m pipelines.train --model_type demo")

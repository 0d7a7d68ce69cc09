"""The exported model: a SavedModel that takes the prepared pixels of a batch of images, and the check
that a run directory is whole. The layout and names are `core.runs`'s (docs/ARCHITECTURE.md, Contract 4)."""
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from core import features, runs, storage
from models import boosted, member


class ServingModule(tf.Module):
    """Tracks the Keras 3 model and the tf.Transform layer (Keras 2) side by side;
    a Keras 3 functional model cannot hold the Keras 2 layer itself."""

    def __init__(self, model: Any, transform_layer: Any):
        super().__init__()
        self.model = model
        self.transform_layer = transform_layer
        # Keras 3 variables (seed generators included) are not tf.Module-tracked by themselves.
        self.model_variables = [v.value for v in model.variables]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=runs.SERVING_INPUT)])
    def serve(self, rgb_pixels: tf.Tensor) -> dict:
        pixels = self.transform_layer({features.IMAGE_KEY: rgb_pixels})[features.IMAGE_KEY]
        scores = self.model(pixels, training=False)
        return {runs.SERVING_OUTPUT: tf.reshape(tf.cast(scores, tf.float32), [-1])}


def export_saved_model(model: Any, transform_output: Any, run_dir: str) -> str:
    """Save the serving SavedModel (transform graph and its assets included)."""
    module = ServingModule(model, transform_output.transform_features_layer())
    path = storage.join(run_dir, runs.SAVED_MODEL_DIR)
    tf.saved_model.save(module, path, signatures={runs.SERVING_SIGNATURE: module.serve})
    return path


def check_run_dir(run_dir: str) -> runs.RunMetadata:
    """The run's metadata, after checking that it and the SavedModel are whole (at launch, not on the
    workers); raises ValueError naming what is wrong."""
    restore = "retrain or restore the run directory"
    try:
        metadata = runs.RunMetadata.read(run_dir)
    except ValueError as err:
        raise ValueError(f"{run_dir}/{err}; {restore}") from err
    graph = storage.join(run_dir, runs.SAVED_MODEL_DIR, runs.SAVED_MODEL_FILE)
    try:
        saved_model_pb2.SavedModel().ParseFromString(storage.read_bytes(graph))
    except Exception as err:  # missing (any filesystem's error) or not a SavedModel (protobuf's DecodeError)
        raise ValueError(f"{graph} is missing or corrupt ({type(err).__name__}: {err}); {restore}") from err
    trees = metadata.boosted_trees
    if trees:
        try:
            boosted.load(run_dir, trees)
        except ValueError:
            raise  # other descriptors: the message says what to do
        except Exception as err:  # missing (any filesystem's error), or not a LightGBM model
            raise ValueError(f"{run_dir}/{trees.get('file')}, the run's boosted trees, is missing or corrupt "
                             f"({type(err).__name__}: {err}); {restore}") from err
    entry = metadata.pretrained_member
    if entry:
        try:
            member.load(run_dir, entry, metadata.image_size)
        except ValueError:
            raise  # other backbone weights: the message says what to do
        except Exception as err:  # missing (any filesystem's error), or not the regression's arrays
            raise ValueError(f"{run_dir}/{entry.get('file')}, the run's pretrained member, is missing or corrupt "
                             f"({type(err).__name__}: {err}); {restore}") from err
    return metadata

"""A Beam RunInference model handler for an exported run: the SavedModel, and its boosted trees where the run
is an ensemble (core.runs.BOOSTED_TREES_KEY).

Beam's TensorFlow handlers load `.keras` files, and Keras 3 refuses to load a SavedModel, so this one
loads it with `tf.saved_model.load` and calls its serving signature on batches of prepared pixels.
TensorFlow and LightGBM are imported only when a worker loads the model, never by importing this module.
"""
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from core import runs, storage
from models import boosted


class InferenceError(str):
    """Why the model refused one image (stands in for its score)."""


def load_signature(run_dir: str) -> Any:
    """The run's SavedModel serving signature: prepared RGB bytes [N] -> the network's scores [N]."""
    import tensorflow as tf

    return tf.saved_model.load(storage.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]


class RunModel:
    """A loaded run: prepared RGB bytes of a batch -> chart scores (the ensemble's blend where it has trees)."""

    def __init__(self, signature: Any, image_size: int, trees: Any = None, weight: float = 0.0,
                 combine: str = boosted.PROBABILITY):
        self.signature, self.image_size, self.trees, self.weight = signature, image_size, trees, weight
        self.combine = combine

    @classmethod
    def load(cls, run_dir: str) -> "RunModel":
        metadata = runs.read_metadata(run_dir)
        signature = load_signature(run_dir)
        entry = metadata.get(runs.BOOSTED_TREES_KEY)
        if not entry:
            return cls(signature, int(metadata["image_size"]))
        return cls(signature, int(metadata["image_size"]), boosted.load(run_dir, entry), float(entry["weight"]),
                   boosted.combine_of(run_dir, entry))

    def __call__(self, batch: Sequence[bytes]) -> np.ndarray:
        import tensorflow as tf

        scores = self.signature(**{runs.SERVING_INPUT: tf.constant(list(batch), dtype=tf.string)})[
            runs.SERVING_OUTPUT].numpy()
        if self.trees is None:
            return scores
        return boosted.blend(scores, boosted.tree_scores(self.trees, batch, self.image_size), self.weight,
                             self.combine)


class SavedModelHandler(ModelHandler[bytes, PredictionResult, RunModel]):
    """bytes (an image's prepared RGB pixels) -> PredictionResult(example, chart probability)."""

    def __init__(self, run_dir: str, min_batch_size: int = 1, max_batch_size: int = 64):
        # No max_batch_duration_secs: its stateful real-time batching would push streaming file
        # watches onto the DirectRunner path that cannot run MatchContinuously (apache/beam#26577).
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)
        self._run_dir = run_dir

    def load_model(self) -> RunModel:
        return RunModel.load(self._run_dir)

    def run_inference(
        self, batch: Sequence[bytes], model: RunModel, inference_args: Optional[dict] = None
    ) -> Iterable[PredictionResult]:
        """Scores for the batch; if the model refuses it, each image alone, so one bad input costs only itself
        (its PredictionResult then holds an InferenceError instead of a score)."""
        import tensorflow as tf

        try:
            return [PredictionResult(x, float(s)) for x, s in zip(batch, model(batch))]
        except (tf.errors.OpError, ValueError):
            return [self._alone(x, model) for x in batch]

    @staticmethod
    def _alone(example: bytes, model: RunModel) -> PredictionResult:
        import tensorflow as tf

        try:
            return PredictionResult(example, float(model([example])[0]))
        except tf.errors.OpError as err:
            return PredictionResult(example, InferenceError(f"{type(err).__name__}: {err.message.splitlines()[0]}"))
        except ValueError as err:
            return PredictionResult(example, InferenceError(f"{type(err).__name__}: {err}"))

    def get_num_bytes(self, batch: Sequence[bytes]) -> int:
        return sum(len(b) for b in batch)

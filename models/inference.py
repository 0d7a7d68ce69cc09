"""A Beam RunInference model handler for a LoadedRun: its SavedModel, and its boosted trees where the run
is an ensemble (core.runs.BOOSTED_TREES_KEY).

Beam's TensorFlow handlers load `.keras` files, and Keras 3 refuses to load a SavedModel, so this one
loads it with `tf.saved_model.load` and calls its serving signature on batches of prepared pixels.
TensorFlow and LightGBM are imported only when a worker loads the model, never by importing this module.
"""
from typing import Iterable, Optional, Sequence

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from models.run import LoadedRun, Scorer


class InferenceError(str):
    """Why the model refused one image (stands in for its score)."""


class SavedModelHandler(ModelHandler[bytes, PredictionResult, Scorer]):
    """bytes (an image's prepared RGB pixels) -> PredictionResult(example, chart probability)."""

    def __init__(self, run: LoadedRun, min_batch_size: int = 1, max_batch_size: int = 64):
        # No max_batch_duration_secs: its stateful real-time batching would push streaming file
        # watches onto the DirectRunner path that cannot run MatchContinuously (apache/beam#26577).
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)
        self._run = run

    def load_model(self) -> Scorer:
        return self._run.scorer()

    def run_inference(
        self, batch: Sequence[bytes], model: Scorer, inference_args: Optional[dict] = None
    ) -> Iterable[PredictionResult]:
        """Scores for the batch; if the model refuses it, each image alone, so one bad input costs only itself
        (its PredictionResult then holds an InferenceError instead of a score)."""
        import tensorflow as tf

        try:
            return [PredictionResult(x, float(s)) for x, s in zip(batch, model(batch))]
        except (tf.errors.OpError, ValueError):
            return [self._alone(x, model) for x in batch]

    @staticmethod
    def _alone(example: bytes, model: Scorer) -> PredictionResult:
        import tensorflow as tf

        try:
            return PredictionResult(example, float(model([example])[0]))
        except tf.errors.OpError as err:
            return PredictionResult(example, InferenceError(f"{type(err).__name__}: {err.message.splitlines()[0]}"))
        except ValueError as err:
            return PredictionResult(example, InferenceError(f"{type(err).__name__}: {err}"))

    def get_num_bytes(self, batch: Sequence[bytes]) -> int:
        return sum(len(b) for b in batch)

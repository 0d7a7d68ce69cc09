"""A Beam RunInference model handler for a LoadedRun: its SavedModel, and its boosted trees where the run
is an ensemble (core.runs.BOOSTED_TREES_KEY).

Beam's TensorFlow handlers load `.keras` files, and Keras 3 refuses to load a SavedModel, so this one
loads it with `tf.saved_model.load` and calls its serving signature on batches of prepared pixels.
TensorFlow and LightGBM are imported only when a worker loads the model, never by importing this module.

A streaming job switches to a new run without a restart in one of two ways (docs/ARCHITECTURE.md, Contract 4):
RunInference's model updates, where its `model_metadata_pcoll` side input names the new run directory and Beam
calls `update_model_path` and reloads (runners whose side inputs stream: Dataflow, Flink); or, on the
DirectRunner, whose side inputs are computed whole before any element reaches RunInference, a FollowingScorer
(`follow_every`). Either way each PredictionResult's model_id is the run directory that scored it.
"""
from typing import Iterable, Optional, Sequence, Union

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from core.runs import RunMetadata
from models.run import FollowingScorer, LoadedRun, Scorer


class InferenceError(str):
    """Why the model refused one image (stands in for its score)."""


class SavedModelHandler(ModelHandler[bytes, PredictionResult, Scorer]):
    """bytes (an image's prepared RGB pixels) -> PredictionResult(example, chart probability)."""

    def __init__(self, run: LoadedRun, min_batch_size: int = 1, max_batch_size: int = 64,
                 follow_every: Optional[float] = None):
        # No max_batch_duration_secs: its stateful real-time batching would push streaming file
        # watches onto the DirectRunner path that cannot run MatchContinuously (apache/beam#26577).
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)
        self._run, self._run_dir, self._follow_every = run, run.run_dir, follow_every

    def update_model_path(self, model_path: Optional[str] = None) -> None:
        """RunInference's model update: the run directory its side input names ("" or None: keep this one)."""
        if model_path:
            self._run_dir = model_path

    def load_model(self) -> Union[Scorer, FollowingScorer]:
        if self._follow_every is not None:
            return self._run.following_scorer(self._follow_every)
        if self._run_dir == self._run.run_dir:
            return self._run.scorer()
        return Scorer.load(self._run_dir, RunMetadata.read(self._run_dir))

    def run_inference(
        self, batch: Sequence[bytes], model: Scorer, inference_args: Optional[dict] = None
    ) -> Iterable[PredictionResult]:
        """Scores for the batch; if the model refuses it, each image alone, so one bad input costs only itself
        (its PredictionResult then holds an InferenceError instead of a score)."""
        import tensorflow as tf

        try:
            run_dir, scores = model.scored(batch)
            return [PredictionResult(x, float(s), run_dir) for x, s in zip(batch, scores)]
        except (tf.errors.OpError, ValueError):
            return [self._alone(x, model) for x in batch]

    @staticmethod
    def _alone(example: bytes, model: Union[Scorer, FollowingScorer]) -> PredictionResult:
        import tensorflow as tf

        try:
            run_dir, scores = model.scored([example])
            return PredictionResult(example, float(scores[0]), run_dir)
        except tf.errors.OpError as err:
            return PredictionResult(example, InferenceError(f"{type(err).__name__}: {err.message.splitlines()[0]}"))
        except ValueError as err:
            return PredictionResult(example, InferenceError(f"{type(err).__name__}: {err}"))

    def get_num_bytes(self, batch: Sequence[bytes]) -> int:
        return sum(len(b) for b in batch)

"""A trained run as labelling and serving use it: its checked metadata, the rule that turns a score into a
label, and (once loaded, on a worker) the scorer. TensorFlow and LightGBM load only with the scorer."""
import dataclasses
from typing import Any, Optional, Sequence

import numpy as np

from core import runs, storage
from core.results import Rule
from models import boosted


def load_signature(run_dir: str) -> Any:
    """The run's SavedModel serving signature: prepared RGB bytes [N] -> the network's scores [N]."""
    import tensorflow as tf

    return tf.saved_model.load(storage.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]


class Scorer:
    """Prepared RGB bytes of a batch -> chart scores: the SavedModel's, blended with the boosted trees' where the
    run is an ensemble."""

    def __init__(self, signature: Any, image_size: int, trees: Any = None, weight: float = 0.0,
                 combine: str = boosted.PROBABILITY):
        self.signature, self.image_size, self.trees, self.weight = signature, image_size, trees, weight
        self.combine = combine

    @classmethod
    def load(cls, run_dir: str, metadata: runs.RunMetadata) -> "Scorer":
        signature = load_signature(run_dir)
        entry = metadata.boosted_trees
        if not entry:
            return cls(signature, metadata.image_size)
        return cls(signature, metadata.image_size, boosted.load(run_dir, entry), float(entry["weight"]),
                   boosted.combine_of(run_dir, entry))

    def __call__(self, batch: Sequence[bytes]) -> np.ndarray:
        import tensorflow as tf

        scores = self.signature(**{runs.SERVING_INPUT: tf.constant(list(batch), dtype=tf.string)})[
            runs.SERVING_OUTPUT].numpy()
        if self.trees is None:
            return scores
        return boosted.blend(scores, boosted.tree_scores(self.trees, batch, self.image_size), self.weight,
                             self.combine)


@dataclasses.dataclass(frozen=True)
class LoadedRun:
    """A checked run directory and its labelling rule; small enough to pickle to workers, which call `scorer()`."""

    run_dir: str
    metadata: runs.RunMetadata
    rule: Rule

    @classmethod
    def open(cls, model_dir: Optional[str], threshold: Optional[float] = None,
             review_band: Optional[tuple[float, float]] = None) -> "LoadedRun":
        """The checked run (None: the shipped one), with --threshold / --review_band over its recorded ones."""
        from models.export import check_run_dir  # TensorFlow: at launch only, never on a worker's import

        run_dir = runs.resolve_model_dir(model_dir)
        metadata = check_run_dir(run_dir)
        return cls(run_dir, metadata, Rule.of(metadata, threshold, review_band))

    @property
    def image_size(self) -> int:
        return self.metadata.image_size

    def verdict(self, score: float) -> dict:
        return self.rule.verdict(score)

    def scorer(self) -> Scorer:
        return Scorer.load(self.run_dir, self.metadata)

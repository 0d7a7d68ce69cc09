"""A trained run as labelling and serving use it: its checked metadata, the rule that turns a score into a
label, and (once loaded, on a worker) the scorer. TensorFlow and LightGBM load only with the scorer."""
import dataclasses
import logging
import threading
import time
from typing import Any, Optional, Sequence

import numpy as np

from core import runs, storage
from core.results import Rule
from models import boosted
from models import member as members


def load_signature(run_dir: str) -> Any:
    """The run's SavedModel serving signature: prepared RGB bytes [N] -> the network's scores [N]."""
    import tensorflow as tf

    return tf.saved_model.load(storage.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]


class Scorer:
    """Prepared RGB bytes of a batch -> chart scores: the SavedModel's, blended with the boosted trees' where the
    run is an ensemble, and then the pretrained member's where it has one and the score is unsure."""

    def __init__(self, signature: Any, image_size: int, trees: Any = None, weight: float = 0.0,
                 combine: str = boosted.PROBABILITY, run_dir: str = "", member: Optional[members.Member] = None):
        self.signature, self.image_size, self.trees, self.weight = signature, image_size, trees, weight
        self.combine, self.run_dir, self.member = combine, run_dir, member

    @classmethod
    def load(cls, run_dir: str, metadata: runs.RunMetadata) -> "Scorer":
        scorer = cls(load_signature(run_dir), metadata.image_size, run_dir=run_dir)
        entry = metadata.boosted_trees
        if entry:
            scorer.trees, scorer.weight = boosted.load(run_dir, entry), float(entry["weight"])
            scorer.combine = boosted.combine_of(run_dir, entry)
        if metadata.pretrained_member:
            scorer.member = members.load(run_dir, metadata.pretrained_member, metadata.image_size)
        return scorer

    def scored(self, batch: Sequence[bytes]) -> tuple[str, np.ndarray]:
        """(the run directory that scored, the scores): what a result records, from one model, whatever swaps."""
        return self.run_dir, self(batch)

    def __call__(self, batch: Sequence[bytes]) -> np.ndarray:
        scores = self.ensemble(batch)
        return scores if self.member is None else self.member.rescore(scores, batch)

    def ensemble(self, batch: Sequence[bytes]) -> np.ndarray:
        """The scores before the pretrained member's say: the network's, blended with the trees'."""
        import tensorflow as tf

        scores = self.signature(**{runs.SERVING_INPUT: tf.constant(list(batch), dtype=tf.string)})[
            runs.SERVING_OUTPUT].numpy()
        if self.trees is None:
            return scores
        return boosted.blend(scores, boosted.tree_scores(self.trees, batch, self.image_size), self.weight,
                             self.combine)


class FollowingScorer:
    """A Scorer that follows --model_dir's `latest` file: at most every `check_every` seconds, before a batch, it
    looks at which run `latest` names and, when that changed, loads it and scores from then on with it. A batch is
    scored whole by one run, and `scored` says which; a run that fails to load is logged and retried, the old
    one scoring meanwhile. For runners whose side inputs cannot stream (models.inference)."""

    def __init__(self, run: "LoadedRun", check_every: float):
        self._run, self._check_every = run, check_every
        self._current, self._checked = run.scorer(), time.monotonic()
        self._lock = threading.Lock()

    def scored(self, batch: Sequence[bytes]) -> tuple[str, np.ndarray]:
        with self._lock:
            if time.monotonic() - self._checked >= self._check_every:
                self._checked = time.monotonic()
                self._current = self._newest() or self._current
            current = self._current
        return current.scored(batch)

    def _newest(self) -> Optional[Scorer]:
        try:
            newer = self._run.newer(self._current.run_dir)
            if newer is None:
                return None
            scorer = newer.scorer()
        except Exception as err:  # a run still being written, a store that hiccups: try again next time
            logging.warning("Keeping run %s: cannot load the run %s names yet (%s: %s)", self._current.run_dir,
                            self._run.model_dir, type(err).__name__, err)
            return None
        logging.info("Switched to run %s (%s)", newer.run_dir, self._run.model_dir)
        return scorer


@dataclasses.dataclass(frozen=True)
class LoadedRun:
    """A checked run directory and its labelling rule; small enough to pickle to workers, which call `scorer()`.
    `model_dir` is --model_dir as given: where a newer run may appear (core.runs.latest_file)."""

    run_dir: str
    metadata: runs.RunMetadata
    rule: Rule
    model_dir: Optional[str] = None
    threshold: Optional[float] = None  # --threshold: over every run's recorded one
    review_band: Optional[tuple[float, float]] = None  # --review_band: likewise

    @classmethod
    def open(cls, model_dir: Optional[str], threshold: Optional[float] = None,
             review_band: Optional[tuple[float, float]] = None) -> "LoadedRun":
        """The checked run (None: the shipped one), with --threshold / --review_band over its recorded ones."""
        from models.export import check_run_dir  # TensorFlow: at launch only, never on a worker's import

        run_dir = runs.resolve_model_dir(model_dir)
        metadata = check_run_dir(run_dir)
        return cls(run_dir, metadata, Rule.of(metadata, threshold, review_band), model_dir, threshold, review_band)

    @property
    def follows(self) -> Optional[str]:
        """The `latest` file a long-running job watches for a new run, or None (a fixed run)."""
        return runs.latest_file(self.model_dir)

    def newer(self, current_dir: str) -> Optional["LoadedRun"]:
        """The checked run `latest` names now, with the same overrides, if it is not `current_dir`; else None."""
        if runs.resolve_model_dir(self.model_dir) == current_dir:
            return None
        return LoadedRun.open(self.model_dir, self.threshold, self.review_band)

    def rule_for(self, run_dir: str) -> Rule:
        """The labelling rule of the run in `run_dir` (this one, or one that replaced it), overrides applied."""
        if run_dir in ("", self.run_dir):
            return self.rule
        return Rule.of(runs.RunMetadata.read(run_dir), self.threshold, self.review_band)

    @property
    def image_size(self) -> int:
        return self.metadata.image_size

    def verdict(self, score: float) -> dict:
        return self.rule.verdict(score)

    def scorer(self) -> Scorer:
        return Scorer.load(self.run_dir, self.metadata)

    def following_scorer(self, check_every: float) -> FollowingScorer:
        return FollowingScorer(self, check_every)

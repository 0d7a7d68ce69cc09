"""The boosted-trees half of an ensemble: LightGBM on `transforms.descriptors` of the prepared pixels,
kept in LightGBM's own text format beside the SavedModel, and how its score blends with the network's."""
from typing import Any, Sequence

import numpy as np

from core import runs, storage
from transforms.descriptors import DESCRIPTOR_COUNT, DESCRIPTOR_NAMES, describe_prepared

# How the two scores combine: a weighted mean of the probabilities (what runs without a `combine` entry
# used), or of their log-odds (a sure network outvotes unsure trees; the better review band on unseen sources).
PROBABILITY, LOGIT = "probability", "logit"
COMBINES = (PROBABILITY, LOGIT)
_EPSILON = 1e-6  # probabilities are clipped to [eps, 1 - eps] before their log-odds are taken


def fit(descriptors: np.ndarray, labels: np.ndarray, weights: np.ndarray, arguments: dict, seed: int) -> Any:
    """A LightGBM booster for P(chart | descriptors), sample-weighted like the network's training."""
    import lightgbm

    from models.determinism import THREADS  # LightGBM's default, one thread per core, would tie the trees to it

    classifier = lightgbm.LGBMClassifier(**{"random_state": seed, "verbose": -1, "n_jobs": THREADS, **arguments})
    return classifier.fit(descriptors, labels, sample_weight=weights, feature_name=list(DESCRIPTOR_NAMES)).booster_


def save(booster: Any, run_dir: str, weight: float, combine: str) -> dict:
    """Write the booster into the run directory; returns the metadata entry that names it."""
    storage.write_atomically(storage.join(run_dir, runs.BOOSTED_TREES_FILE), booster.model_to_string().encode())
    return {"file": runs.BOOSTED_TREES_FILE, "weight": weight, "combine": combine}


def combine_of(run_dir: str, entry: dict) -> str:
    """How a run's metadata entry combines the scores (runs written before `combine` existed blended
    probabilities); ValueError if this version does not know the way."""
    combine = entry.get("combine", PROBABILITY)
    if combine not in COMBINES:
        raise ValueError(f"{storage.join(run_dir, runs.METADATA_FILE)}: boosted_trees combine {combine!r} is not one "
                         f"of {', '.join(COMBINES)}; upgrade Chart Sifter or retrain the model")
    return combine


def load(run_dir: str, entry: dict) -> Any:
    """The booster a run's metadata entry names; ValueError if it was trained on other descriptors or the
    entry names a way to combine the scores that this version does not know."""
    import lightgbm

    combine_of(run_dir, entry)
    path = storage.join(run_dir, entry["file"])
    booster = lightgbm.Booster(model_str=storage.read_bytes(path).decode())
    if booster.feature_name() != list(DESCRIPTOR_NAMES):
        raise ValueError(f"{path} was trained on other descriptors ({booster.num_feature()}) than this version "
                         f"computes ({DESCRIPTOR_COUNT}, transforms/descriptors.py); retrain the model")
    return booster


def tree_scores(booster: Any, batch: Sequence[bytes], side: int) -> np.ndarray:
    """P(chart) from the trees, for a batch of prepared RGB bytes."""
    return booster.predict(describe_prepared(batch, side))


def blend(network: np.ndarray, trees: np.ndarray, weight: float, combine: str = PROBABILITY) -> np.ndarray:
    """The ensemble's score: still a chart probability, and what the threshold and review band apply to."""
    network, trees = np.asarray(network, np.float64), np.asarray(trees, np.float64)
    if combine == PROBABILITY:
        return (1.0 - weight) * network + weight * trees
    if combine != LOGIT:
        raise ValueError(f"unknown boosted_trees combine {combine!r}; expected one of {', '.join(COMBINES)}")
    return sigmoid((1.0 - weight) * logit(network) + weight * logit(trees))


def logit(p) -> np.ndarray:
    """The log-odds of probabilities, clipped to [eps, 1 - eps] first."""
    p = np.clip(np.asarray(p, np.float64), _EPSILON, 1.0 - _EPSILON)
    return np.log(p / (1.0 - p))


def sigmoid(log_odds) -> np.ndarray:
    """Log-odds back to probabilities."""
    return 1.0 / (1.0 + np.exp(-np.asarray(log_odds, np.float64)))

"""The boosted-trees half of an ensemble: LightGBM on `transforms.descriptors` of the prepared pixels,
kept in LightGBM's own text format beside the SavedModel, and how its score blends with the network's."""
from typing import Any, Sequence

import numpy as np

from core import runs, storage
from transforms.descriptors import DESCRIPTOR_COUNT, DESCRIPTOR_NAMES, describe_prepared


def fit(descriptors: np.ndarray, labels: np.ndarray, weights: np.ndarray, arguments: dict, seed: int) -> Any:
    """A LightGBM booster for P(chart | descriptors), sample-weighted like the network's training."""
    import lightgbm

    classifier = lightgbm.LGBMClassifier(**{"random_state": seed, "verbose": -1, **arguments})
    return classifier.fit(descriptors, labels, sample_weight=weights, feature_name=list(DESCRIPTOR_NAMES)).booster_


def save(booster: Any, run_dir: str, weight: float) -> dict:
    """Write the booster into the run directory; returns the metadata entry that names it."""
    storage.write_atomically(storage.join(run_dir, runs.BOOSTED_TREES_FILE), booster.model_to_string().encode())
    return {"file": runs.BOOSTED_TREES_FILE, "weight": weight}


def load(run_dir: str, entry: dict) -> Any:
    """The booster a run's metadata entry names; ValueError if it was trained on other descriptors."""
    import lightgbm

    path = storage.join(run_dir, entry["file"])
    booster = lightgbm.Booster(model_str=storage.read_bytes(path).decode())
    if booster.feature_name() != list(DESCRIPTOR_NAMES):
        raise ValueError(f"{path} was trained on other descriptors ({booster.num_feature()}) than this version "
                         f"computes ({DESCRIPTOR_COUNT}, transforms/descriptors.py); retrain the model")
    return booster


def tree_scores(booster: Any, batch: Sequence[bytes], side: int) -> np.ndarray:
    """P(chart) from the trees, for a batch of prepared RGB bytes."""
    return booster.predict(describe_prepared(batch, side))


def blend(network: np.ndarray, trees: np.ndarray, weight: float) -> np.ndarray:
    """The ensemble's score: still a chart probability, and what the threshold and review band apply to."""
    return (1.0 - weight) * np.asarray(network, np.float64) + weight * np.asarray(trees, np.float64)

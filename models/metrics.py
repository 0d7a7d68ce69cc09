"""Binary classification metrics for `chart` (the positive class), shared by the
trainer's test-split evaluation and the evaluate command."""
import numpy as np
from sklearn import metrics as skm

from core import features


def choose_threshold(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The decision threshold from held-out data, by the one-standard-error rule: of the cuts whose
    (sample-weighted) accuracy is within one standard error of the best, the one nearest 0.5.

    A cut that wins on val by a few images is mostly noise, and the model's own 0.5 (classes are balanced
    in training) is the better prior: on source-disjoint folds this rule lifted the ensemble from 0.940
    to 0.950 and left the network alone as it was (docs/EXPERIMENTS.md). The standard error is that of the
    best accuracy over the weights' effective sample size; a perfect separation has none, and the cut
    goes to the middle of the gap nearest 0.5. With a single class (or no data) there is nothing to choose: 0.5.
    """
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    if labels.size == 0 or labels.min() == labels.max():
        return 0.5
    cuts = np.unique(np.concatenate([[0.0, 1.0], scores]))
    candidates = (cuts[:-1] + cuts[1:]) / 2.0  # midpoints between distinct scores
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=float)
    accuracy = np.array([np.average((scores >= t) == labels, weights=weights) for t in candidates])
    best = accuracy.max()
    effective_n = weights.sum() ** 2 / np.sum(weights**2)
    good = candidates[accuracy >= best - np.sqrt(best * (1.0 - best) / effective_n) - 1e-12]
    return float(good[np.argmin(np.abs(good - 0.5))])


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Accuracy, precision, recall, F1 (for `chart`), ROC AUC and the confusion matrix at `threshold`."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    predicted = (scores >= threshold).astype(int)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        labels, predicted, average="binary", pos_label=1, zero_division=0
    )
    matrix = skm.confusion_matrix(labels, predicted, labels=[0, 1])
    both_classes = labels.size > 0 and labels.min() != labels.max()
    return {
        "threshold": float(threshold),
        "count": int(labels.size),
        "accuracy": float(np.mean(predicted == labels)) if labels.size else 0.0,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(skm.roc_auc_score(labels, scores)) if both_classes else None,
        "confusion_matrix": {
            "labels": list(features.LABEL_NAMES),  # rows: true label, columns: predicted label
            "matrix": matrix.tolist(),
        },
        "counts": {name: int(np.sum(labels == i)) for i, name in enumerate(features.LABEL_NAMES)},
    }


def choose_review_band(labels, scores, threshold: float, target: float = 0.99, weights=None) -> tuple[float, float]:
    """The review band [low, high): the widest automatic coverage such that, on held-out data, the images
    scored below `low` (labelled non_chart) and at or above `high` (labelled chart) are each right at least
    `target` of the time (sample-weighted). Scores inside the band go to a person."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=float)
    below = scores < threshold
    low = _widest_side(scores[below], labels[below] == 0, weights[below], target, True, edge=0.0, cap=threshold)
    high = _widest_side(scores[~below], labels[~below] == 1, weights[~below], target, False, edge=1.0, cap=threshold)
    return low, high


def sureness(scores, threshold: float) -> np.ndarray:
    """How sure each score is of its label: its distance from the threshold as a share of its side's range
    (0 at the threshold, 1 at 0 or 1)."""
    scores = np.asarray(scores, dtype=float)
    return np.where(scores >= threshold, (scores - threshold) / max(1 - threshold, 1e-9),
                    (threshold - scores) / max(threshold, 1e-9))


def band_at_coverage(scores, threshold: float, coverage: float) -> tuple[float, float]:
    """The review band [low, high) that leaves `coverage` of `scores` outside it: the least sure images go to a
    person, equally sure on both sides (one cut in `sureness`). Fixing the share rather than the accuracy outside
    (choose_review_band) holds better on new sources, where the few mistakes in the sure tail move the accuracy
    more than the scores' spread (docs/EXPERIMENTS.md)."""
    cut = float(np.quantile(sureness(scores, threshold), 1 - coverage))
    return threshold * (1 - cut), threshold + (1 - threshold) * cut


def _widest_side(scores, right, weights, target: float, ascending: bool, edge: float, cap: float) -> float:
    """The cut that keeps the most images on one side of the threshold while their accuracy is >= target."""
    order = np.argsort(scores if ascending else -scores, kind="stable")
    scores, right, weights = scores[order], right[order], weights[order]
    accuracy = np.cumsum(weights * right) / np.maximum(np.cumsum(weights), 1e-12)
    good = np.flatnonzero(accuracy >= target - 1e-12)
    if good.size == 0:
        return edge  # nothing on this side is sure enough: all of it goes to review
    k = good[-1]
    if k == scores.size - 1:
        return cap  # the whole side is sure enough: no band on this side
    return float((scores[k] + scores[k + 1]) / 2.0)


def selective(labels, scores, threshold: float, band: tuple[float, float]) -> dict:
    """Coverage (share labelled automatically) and accuracy outside and inside the review band."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    inside = (scores >= band[0]) & (scores < band[1])
    right = (scores >= threshold) == labels
    return {"review_band": [float(band[0]), float(band[1])],
            "coverage": float(np.mean(~inside)) if labels.size else 0.0,
            "in_review": int(inside.sum()),
            "accuracy_outside_band": float(right[~inside].mean()) if (~inside).any() else None,
            "accuracy_inside_band": float(right[inside].mean()) if inside.any() else None}

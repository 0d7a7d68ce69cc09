"""models.metrics: the threshold and the review band, chosen on held-out scores."""
import numpy as np
import pytest

from models.metrics import band_at_coverage, binary_metrics, choose_review_band, choose_threshold, selective, sureness


@pytest.mark.parametrize("labels, scores, expected", [
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.5),  # clean separation anywhere in (0.2, 0.8): the middle nearest 0.5
    ([0, 0, 1, 1], [0.01, 0.02, 0.03, 0.04], 0.025),  # scores squeezed low: the cut moves to where they separate
    ([0, 0, 1, 1], [0.90, 0.92, 0.96, 0.98], 0.94),
    ([1, 1, 1], [0.2, 0.4, 0.9], 0.5),  # one class only: nothing to choose
])
def test_threshold_is_chosen_on_held_out_scores(labels, scores, expected):
    assert choose_threshold(np.array(labels), np.array(scores)) == pytest.approx(expected)


def test_threshold_follows_the_sample_weights():
    labels, scores = np.array([0, 1, 0, 1]), np.array([0.1, 0.4, 0.8, 0.9])
    assert choose_threshold(labels, scores) == pytest.approx(0.25)  # two cuts tie at 3 of 4; 0.25 is nearer 0.5
    # A heavy non-chart at 0.8 (a real image weighted 5, say) is worth more than the chart at 0.4.
    assert choose_threshold(labels, scores, np.array([1.0, 1.0, 5.0, 1.0])) == pytest.approx(0.85)


def test_chosen_threshold_beats_the_default_when_scores_are_shifted():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    scores = np.clip(0.15 + 0.2 * labels + rng.normal(0, 0.05, 400), 0, 1)  # a model that never reaches 0.5
    chosen = choose_threshold(labels, scores)
    assert binary_metrics(labels, scores, chosen)["accuracy"] > 0.9 > binary_metrics(labels, scores, 0.5)["accuracy"]


def test_a_cut_that_wins_on_val_by_a_hair_does_not_move_the_threshold_from_half():
    """The one-standard-error rule: a cut at 0.30 beats 0.5 by one image of 600, well within the noise."""
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 300)
    scores = np.where(labels == 1, rng.uniform(0.55, 1.0, 600), rng.uniform(0.0, 0.25, 600))
    scores[:4] = [0.46, 0.47, 0.6, 0.65]  # four non-charts above 0.45
    scores[300:303] = [0.35, 0.36, 0.37]  # three charts between 0.3 and 0.45
    assert binary_metrics(labels, scores, 0.30)["accuracy"] - binary_metrics(labels, scores, 0.5)["accuracy"] == (
        pytest.approx(1 / 600))
    assert choose_threshold(labels, scores) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("labels, scores, target, expected", [
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.99, (0.5, 0.5)),  # all sure: no band
    ([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9], 0.99, (0.15, 0.85)),  # the mistakes nearest the threshold go to review
    ([1, 0, 0, 1], [0.1, 0.2, 0.8, 0.9], 0.99, (0.0, 0.85)),  # the surest non_chart is wrong: that whole side to review
    ([0, 1, 0, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.9], 0.6, (0.5, 0.5)),  # 3 of 4 right below 0.5 meets a 0.6 target
])
def test_the_band_is_the_widest_coverage_meeting_the_target_on_each_side(labels, scores, target, expected):
    assert choose_review_band(labels, scores, 0.5, target) == pytest.approx(expected)


def test_outside_the_chosen_band_val_accuracy_meets_the_target():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 3000)
    scores = np.clip(labels * 0.6 + rng.normal(0.2, 0.2, labels.size), 0, 1)
    band = choose_review_band(labels, scores, 0.5, 0.99)
    chosen = selective(labels, scores, 0.5, band)
    assert chosen["accuracy_outside_band"] >= 0.99 and 0.5 < chosen["coverage"] < 1.0
    assert chosen["accuracy_inside_band"] < 0.9 and chosen["in_review"] == round((1 - chosen["coverage"]) * labels.size)
    wider = selective(labels, scores, 0.5, (band[0] + 0.02, band[1] - 0.02))
    assert wider["accuracy_outside_band"] < 0.99  # a narrower band would miss the target: the chosen one is tight


def test_sureness_is_the_distance_from_the_threshold_as_a_share_of_its_side():
    assert sureness([0.0, 0.3, 0.6, 0.8, 1.0], 0.6) == pytest.approx([1.0, 0.5, 0.0, 0.5, 1.0])


@pytest.mark.parametrize("threshold, coverage", [(0.5, 0.9), (0.547, 0.92), (0.3, 0.75)])
def test_the_band_at_a_coverage_leaves_that_share_outside_equally_sure_at_both_edges(threshold, coverage):
    scores = np.random.default_rng(1).beta(0.5, 0.5, 5000)
    low, high = band_at_coverage(scores, threshold, coverage)
    assert low < threshold < high
    covered = selective(np.zeros(scores.size), scores, threshold, (low, high))["coverage"]
    assert covered == pytest.approx(coverage, abs=1e-3)
    assert sureness([low], threshold) == pytest.approx(sureness([high], threshold))
    inside = (scores >= low) & (scores < high)  # every image in the band is less sure than every image outside it
    assert sureness(scores[inside], threshold).max() <= sureness(scores[~inside], threshold).min()

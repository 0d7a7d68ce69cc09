"""models.boosted: blending the trees' scores with the network's."""
import numpy as np
import pytest

from models import boosted


@pytest.mark.parametrize("combine", boosted.COMBINES)
def test_blends_are_probabilities_that_agree_when_the_models_do(combine):
    network = np.array([0.0, 1e-9, 0.2, 0.5, 0.8, 1.0 - 1e-9, 1.0])
    blended = boosted.blend(network, network, 0.3, combine)
    assert np.all((blended >= 0) & (blended <= 1)) and not np.isnan(blended).any()
    assert blended[2:5] == pytest.approx(network[2:5])
    assert np.all(np.diff(boosted.blend(network, np.full(7, 0.4), 0.3, combine)) >= 0)  # monotone in the network


def test_a_sure_network_outvotes_unsure_trees_only_in_log_odds():
    network, trees = np.array([0.999, 0.001]), np.array([0.2, 0.8])
    assert boosted.blend(network, trees, 0.3, boosted.PROBABILITY) == pytest.approx([0.7593, 0.2407], abs=1e-4)
    # sigmoid(0.7 * logit(0.999) + 0.3 * logit(0.2)) = sigmoid(0.7 * 6.9068 - 0.3 * 1.3863) = sigmoid(4.4189)
    assert boosted.blend(network, trees, 0.3, boosted.LOGIT) == pytest.approx([0.9881, 0.0119], abs=1e-4)


def test_an_unknown_combine_is_refused():
    with pytest.raises(ValueError, match="unknown boosted_trees combine 'mean'.*probability, logit"):
        boosted.blend(np.array([0.5]), np.array([0.5]), 0.3, "mean")

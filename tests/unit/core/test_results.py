"""core.results: the verdict a score gets."""
from core import features
from core.results import Rule


def test_a_verdict_is_chart_at_or_above_the_threshold():
    model = Rule("demo", "r1", 0.4)
    assert model.verdict(0.4) == {"label": features.CHART, "score": 0.4, "review": False, "model_type": "demo",
                                  "run_id": "r1"}
    assert model.verdict(0.3999994)["label"] == features.NON_CHART
    assert model.verdict(0.3999996)["label"] == features.CHART  # written as 0.4: the label follows the written score
    banded = Rule("demo", "r1", 0.4, (0.3, 0.5))
    assert [banded.verdict(s)["review"] for s in (0.29, 0.3, 0.45, 0.5)] == [False, True, True, False]
    assert model.verdict(0.123456789)["score"] == 0.123457

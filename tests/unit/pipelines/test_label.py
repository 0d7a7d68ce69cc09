"""pipelines.label: the batch run's summary."""
import json

from core.results import Rule
from pipelines import label


def test_the_run_summary_counts_what_became_of_every_listed_file(tmp_path):
    model = Rule("demo", "r1", 0.5)
    counted = [(("listed", ""), 5), (("labelled", "chart"), 2), (("labelled", "non_chart"), 1),
               (("rejected", "truncated"), 2), (("not_sorted", "sort_failed"), 1)]
    path = str(tmp_path / "labels.summary.json")
    summary = label.write_summary(counted, path, "inbox/", model)
    assert json.loads(open(path).read()) == summary
    assert (summary["listed"], summary["labelled"], summary["rejected"], summary["not_sorted"]) == (
        5, {"non_chart": 1, "chart": 2}, {"truncated": 2}, {"sort_failed": 1})
    assert summary["listed"] == sum(summary["labelled"].values()) + sum(summary["rejected"].values())
    assert [summary[k] for k in ("model_type", "run_id", "threshold", "input")] == ["demo", "r1", 0.5, "inbox/"]

"""pipelines.evaluate: the truth a file's folder gives it."""
import pytest

from pipelines import evaluate


@pytest.mark.parametrize("uri, expected", [
    ("/data/eval/chart/a.png", 1),
    ("/data/eval/non_chart/sub/b.jpg", 0),
    ("/data/eval/other/c.png", None),
    ("/data/eval/charts/d.png", None),
    ("/data/evalchart/e.png", None),  # a sibling folder whose name starts like the root
    ("/data/eval_chart/chart/e.png", None),
    ("/elsewhere/chart/f.png", None),
])
def test_truth_of_reads_the_label_from_the_first_folder_under_the_root(uri, expected):
    assert evaluate.truth_of(uri, "/data/eval") == expected
    assert evaluate.truth_of(uri, "/data/eval/") == expected
    assert evaluate.truth_of(uri.replace("/data/eval", "gs://b/eval", 1), "gs://b/eval") == expected

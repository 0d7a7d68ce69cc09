"""pipelines.evaluate: the truth a file's folder gives it, the layout it accepts."""
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


def test_a_tree_of_symlinks_out_of_the_root_is_a_layout_with_allow_outside_root(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"x")
    (tmp_path / "eval" / "chart").mkdir(parents=True)
    (tmp_path / "eval" / "chart" / "a.png").symlink_to(tmp_path / "images" / "a.png")  # benchmarks.source_folds' tree
    evaluate.check_layout(str(tmp_path / "eval"), allow_outside_root=True)
    with pytest.raises(ValueError, match="holds no file"):
        evaluate.check_layout(str(tmp_path / "eval"))

"""pipelines.label: the batch run's summary, the checks at launch, the options."""
import json

import pytest

from core import inputs
from core.results import Rule
from pipelines import label
from tests.support.images import image_bytes


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


def _folder(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.png").write_bytes(image_bytes(1))
    (tmp_path / "file").write_text("in the way")  # root can write anywhere: a file in the path stops anyone
    return str(tmp_path / "inbox")


def test_an_unwritable_sort_into_fails_at_launch(tmp_path):
    opts = label.LabelOptions(_folder(tmp_path), str(tmp_path / "out" / "labels"),
                              sort_into=str(tmp_path / "file" / "sorted"))
    with pytest.raises(ValueError, match=f"^--sort_into {tmp_path / 'file' / 'sorted'}: cannot write there"):
        label.check_options(opts)


def test_messages_name_the_flags_of_the_command_that_labels(tmp_path):
    names = {"input": "--data_dir D", "output": "--output_dir O"}
    unwritable = label.LabelOptions(_folder(tmp_path), str(tmp_path / "file" / "labels"))
    with pytest.raises(ValueError, match="^--output_dir O: cannot write there"):
        label.check_options(unwritable, names)
    empty = label.LabelOptions(str(tmp_path / "inbox"), str(tmp_path / "out" / "labels"),
                               folders=("chart", "non_chart"))
    with pytest.raises(ValueError, match="^--data_dir D matches no files"):
        label.check_options(empty, names)


def test_only_the_named_folders_are_listed(tmp_path):
    root = tmp_path / "eval"
    for name in ("chart", "non_chart", "other"):
        (root / name).mkdir(parents=True)
        (root / name / f"{name}.png").write_bytes(image_bytes(2))
    (root / "README.md").write_text("notes")
    opts = label.LabelOptions(str(root), str(tmp_path / "out" / "labels"), folders=("chart", "non_chart"))
    label.check_options(opts)
    listed = [f.uri for pattern in opts.patterns for f in inputs.list_files(pattern, root=str(root))]
    assert sorted(listed) == [str(root / "chart" / "chart.png"), str(root / "non_chart" / "non_chart.png")]


def test_max_pixels_reaches_the_labelling_options():
    args, _ = label.parse_args(["--input", "in", "--output", "out", "--max_pixels", "2e6"])
    assert label.LabelOptions.from_args(args, streaming=False).max_pixels == 2_000_000
    default, _ = label.parse_args(["--input", "in", "--output", "out"])
    assert label.LabelOptions.from_args(default, streaming=False).max_pixels == 50_000_000


def test_help_explains_the_sorted_copies_names_and_the_review_folder(capsys):
    with pytest.raises(SystemExit):
        label.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "DIR/review/" in text and "<first 12 hex digits of its sha256>_<its file name>" in text


def _earlier_run(folder, name="labels") -> list[str]:
    """What two earlier batch runs (one and two shards) and a killed one leave under folder/name."""
    files = [f"{name}-00000-of-00001.jsonl", f"{name}-00000-of-00002.jsonl", f"{name}-00001-of-00002.jsonl",
             f"{name}.rejected-00000-of-00001.jsonl", f"{name}.summary.json",
             f"beam-temp-{name}-{'a' * 32}/{'b' * 32}.jsonl", f"beam-temp-{name}.rejected-{'c' * 32}/x"]
    for path in files:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text('{"uri": "x"}\n')
    return files


def test_a_batch_run_refuses_an_output_holding_an_earlier_run_and_names_overwrite(tmp_path):
    inbox, out = _folder(tmp_path), tmp_path / "out"
    out.mkdir()
    _earlier_run(out)
    with pytest.raises(ValueError, match=r"^--output .*labels holds an earlier run's files .*pass --overwrite"):
        label.check_options(label.LabelOptions(inbox, str(out / "labels")))
    label.check_options(label.LabelOptions(inbox, str(out / "labels"), overwrite=True))
    label.check_options(label.LabelOptions(inbox, str(out / "labels2")))  # another prefix is free
    label.check_options(label.LabelOptions(inbox, str(out / "labels"), streaming=True))  # streaming adds to it
    with pytest.raises(ValueError, match="--overwrite is a batch run's option"):
        label.check_options(label.LabelOptions(inbox, str(out / "labels"), streaming=True, overwrite=True))


def test_overwrite_removes_the_earlier_run_and_nothing_of_other_prefixes(tmp_path):
    _earlier_run(tmp_path)
    others = _earlier_run(tmp_path, "labels-2") + ["notes.txt"]
    (tmp_path / "notes.txt").write_text("mine")
    label.remove_earlier_run(str(tmp_path / "labels"))
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(others)
    assert not list(tmp_path.glob("beam-temp-labels-a*")) and not list(tmp_path.glob("beam-temp-labels.rejected-*"))


def test_overwrite_is_a_flag_of_label_and_evaluate_always_overwrites_its_own_folder(capsys):
    args, _ = label.parse_args(["--input", "in", "--output", "out", "--overwrite"])
    assert label.LabelOptions.from_args(args, streaming=False).overwrite
    with pytest.raises(SystemExit):
        label.parse_args(["--help"])
    assert "--overwrite" in capsys.readouterr().out
    from pipelines import evaluate

    eval_args, _ = evaluate.parse_args(["--data_dir", "d"])
    assert evaluate.labelling_options(eval_args, "d", "o/predictions/labels").overwrite

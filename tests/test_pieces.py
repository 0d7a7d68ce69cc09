"""The pipelines' graph pieces one by one, as plain functions: deduplication, split keys, the summaries,
input patterns, Pub/Sub messages, ground truth from folders, verdicts, and the contracts in core."""
import json
import os
import signal
import subprocess
import sys
import time

import apache_beam as beam
import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage

from core import dead_letters, features, inputs, runs
from core.dead_letters import DUPLICATES, REJECTED
from core.results import Rule
from pipelines import evaluate, ingest, label, pubsub
from pipelines.ingest_config import parse_config, split_of
from pipelines.sources import RawImage

CONFIG = parse_config({"sources": [{"type": "folder", "root": "a"}, {"type": "jsonl", "path": "b.jsonl"}]})


def example(uri: str, label: int = 1, source: str = "a", weight: float = 1.0, content: str = "h") -> ingest.Example:
    return ingest.Example(source, uri, label, b"\0" * 12, "f" * 64, content, weight)


def by_tag(outputs) -> dict[str, list]:
    """keep_one's outputs grouped by tag ("main" for the kept example)."""
    grouped: dict[str, list] = {}
    for output in outputs:
        tag, value = (output.tag, output.value) if isinstance(output, beam.pvalue.TaggedOutput) else ("main", output)
        grouped.setdefault(tag, []).append(value)
    return grouped


def test_keep_one_keeps_the_copy_of_the_heaviest_source_then_the_first_by_source_and_uri():
    copies = [example("z.png", source="b"), example("y.png", source="a", weight=5.0), example("x.png", source="a")]
    out = by_tag(ingest.keep_one("h", copies))
    assert [e.uri for e in out["main"]] == ["y.png"]
    assert out[DUPLICATES] == [dead_letters.duplicate_record("a", "x.png", "y.png"),
                               dead_letters.duplicate_record("b", "z.png", "y.png")]
    assert REJECTED not in out


def test_keep_one_keeps_a_lone_picture_as_it_is():
    only = example("a.png")
    assert list(ingest.keep_one("h", [only])) == [only]


def test_keep_one_dead_letters_every_copy_when_the_labels_disagree():
    out = by_tag(ingest.keep_one("h", [example("a.png", label=1), example("b.png", label=0, source="b")]))
    assert "main" not in out and DUPLICATES not in out
    conflict = dead_letters.LABEL_CONFLICT
    assert [(r["uri"], r["reason"], r["label"]) for r in out[REJECTED]] == [
        ("a.png", conflict, features.CHART), ("b.png", conflict, features.NON_CHART)]
    assert all("a.png=chart" in r["detail"] and "b.png=non_chart" in r["detail"] for r in out[REJECTED])


def test_split_index_is_split_of_the_content_hash():
    ratios = (0.5, 0.25, 0.25)
    for content in ("a", "b", "c", "d"):
        assert ingest.split_index(example("x", content=content), 3, ratios) == split_of(content, ratios)


def test_count_keys_name_the_split_label_and_source():
    assert ingest.count_key_of_example(example("x", label=0), features.VAL) == ("counts", "val/non_chart")
    assert ingest.count_key_of_source(RawImage("a", "x.png", "chart"), "listed") == ("source:listed", "a")
    assert ingest.count_key_of_source(example("x", source="b"), "examples") == ("source:examples", "b")
    record = dead_letters.ingest_record("b", "y.png", dead_letters.TRUNCATED, "cut")
    assert ingest.count_key_of_source(record, "rejected") == ("source:rejected", "b")


def test_summary_from_counts_fills_every_split_label_and_source():
    counted = [(("counts", "train/chart"), 3), (("counts", "test/non_chart"), 1), ((REJECTED, "truncated"), 2),
               ((REJECTED, "empty_file"), 1), ((DUPLICATES, ""), 4), (("source:listed", "a"), 10),
               (("source:examples", "a"), 4), (("source:rejected", "b.jsonl"), 3), (("source:duplicates", "a"), 4)]
    summary = ingest.summary_from_counts(counted, CONFIG)
    assert summary["counts"] == {"train": {"non_chart": 0, "chart": 3}, "val": {"non_chart": 0, "chart": 0},
                                 "test": {"non_chart": 1, "chart": 0}}
    assert list(summary["rejected"].items()) == [("empty_file", 1), ("truncated", 2)]  # sorted by reason
    assert (summary["duplicates"], summary["total_examples"], summary["total_rejected"]) == (4, 4, 3)
    assert summary["per_source"] == {"a": {"listed": 10, "examples": 4, "rejected": 0, "duplicates": 4},
                                     "b.jsonl": {"listed": 0, "examples": 0, "rejected": 3, "duplicates": 0}}
    assert summary["split_ratios"] == {"train": 0.8, "val": 0.1, "test": 0.1} and summary["sources"] == ["a", "b.jsonl"]


def test_summary_from_nothing_counted_is_all_zeros():
    summary = ingest.summary_from_counts([], CONFIG)
    assert summary["total_examples"] == summary["total_rejected"] == summary["duplicates"] == 0
    assert summary["rejected"] == {}


def test_input_pattern_lists_a_folder_recursively_and_passes_globs_through(tmp_path):
    assert inputs.input_pattern(str(tmp_path)) == os.path.join(str(tmp_path), "**")
    assert inputs.input_pattern(str(tmp_path) + "/") == os.path.join(str(tmp_path), "**")
    assert inputs.input_pattern("gs://bucket/inbox/") == "gs://bucket/inbox/**"
    assert inputs.input_pattern("gs://bucket/inbox/*.png") == "gs://bucket/inbox/*.png"
    assert inputs.input_pattern(str(tmp_path / "*.jpg")) == str(tmp_path / "*.jpg")
    assert inputs.input_pattern(str(tmp_path / "missing")) == str(tmp_path / "missing")  # not a folder (yet)


@pytest.mark.parametrize("data, attributes, expected", [
    (b"gs://uploads/a.png\ngs://uploads/b.png", {}, ("pubsub:m1", dead_letters.BAD_MESSAGE)),  # one image a message
    (b"  gs://uploads/a.png \n", {}, ("gs://uploads/a.png", None)),
    (b"{}", {"bucketId": "uploads", "objectId": "a.png"}, ("gs://uploads/a.png", None)),  # no eventType: a finalize
    (b"{}", {"bucketId": "uploads", "objectId": "a.png", "eventType": "OBJECT_METADATA_UPDATE"}, None),
    (b'{"bucket": "uploads", "name": ""}', {}, ("pubsub:m1", dead_letters.BAD_MESSAGE)),
])
def test_uris_from_message_more_shapes(data, attributes, expected):
    got = list(pubsub.uris_from_message(PubsubMessage(data, attributes, message_id="m1"), ("gs://uploads/",)))
    assert [(g.uri, g.error) for g in got] == ([expected] if expected else [])


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


def test_a_verdict_is_chart_at_or_above_the_threshold():
    model = Rule("demo", "r1", 0.4)
    assert model.verdict(0.4) == {"label": features.CHART, "score": 0.4, "review": False, "model_type": "demo",
                                  "run_id": "r1"}
    assert model.verdict(0.3999994)["label"] == features.NON_CHART
    assert model.verdict(0.3999996)["label"] == features.CHART  # written as 0.4: the label follows the written score
    banded = Rule("demo", "r1", 0.4, (0.3, 0.5))
    assert [banded.verdict(s)["review"] for s in (0.29, 0.3, 0.45, 0.5)] == [False, True, True, False]
    assert model.verdict(0.123456789)["score"] == 0.123457


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


def test_inside_compares_whole_path_steps(tmp_path):
    assert inputs.inside(str(tmp_path / "in" / "out"), str(tmp_path / "in"))
    assert not inputs.inside(str(tmp_path / "inbox2"), str(tmp_path / "inbox"))
    assert inputs.inside("gs://b/in/out/labels", "gs://b/in/")
    assert not inputs.inside("gs://b/inbox2/labels", "gs://b/inbox")


def test_dead_letter_and_refusal_shapes():
    expected = {"source": "s", "uri": "u", "label": "", "reason": "r", "detail": "d"}
    assert dead_letters.ingest_record("s", "u", "r", "d") == expected
    assert set(dead_letters.label_record("u", "r", "d", "t")) == {"uri", "reason", "detail", "rejected_at"}
    assert dead_letters.refusal("r", "d", {"name": "n"}) == {"name": "n", "reason": "r", "detail": "d"}
    assert len(set(dead_letters.REASONS)) == len(dead_letters.REASONS)


def test_resolve_model_dir_accepts_a_run_a_latest_file_or_its_folder(tmp_path):
    base = str(tmp_path)
    run_dir = os.path.join(runs.model_type_dir(base, "demo"), "20260101_000000_abcdef01")
    os.makedirs(run_dir)
    metadata = runs.RunMetadata("demo", "20260101_000000_abcdef01", 0.5, 32, review_band=(0.2, 0.8))
    metadata.write(run_dir)
    with pytest.raises(FileNotFoundError, match="is not a trained model"):
        runs.resolve_model_dir(runs.model_type_dir(base, "demo"))  # no `latest` yet
    runs.point_latest(runs.model_type_dir(base, "demo"), "20260101_000000_abcdef01")
    for given in (run_dir, run_dir + "/", runs.model_type_dir(base, "demo"),
                  os.path.join(runs.model_type_dir(base, "demo"), runs.LATEST_FILE)):
        assert runs.resolve_model_dir(given) == run_dir
    assert runs.RunMetadata.read(run_dir) == metadata


def test_run_metadata_names_a_missing_or_unknown_key(tmp_path):
    values = runs.RunMetadata("demo", "r1", 0.5, 32).to_dict()
    assert runs.RunMetadata.from_dict(values).to_dict() == values
    with pytest.raises(ValueError, match=r"lacks \['threshold'\]"):
        runs.RunMetadata.from_dict({k: v for k, v in values.items() if k != "threshold"})
    with pytest.raises(ValueError, match=r"unknown keys \['thresold'\]"):
        runs.RunMetadata.from_dict({**values, "thresold": 0.4})


STUBBORN = """import time
from pipelines import cli

cli.INTERRUPT_GRACE_S = 1.0


def run(argv):
    announced = False
    while True:  # swallows every Ctrl-C, as a runner stuck in a bundle does
        try:
            if not announced:  # inside the try: a Ctrl-C right after the announcement is swallowed too
                announced = True
                print("running", flush=True)
            time.sleep(0.1)
        except KeyboardInterrupt:
            print("swallowed", flush=True)
"""


def test_a_command_that_does_not_stop_on_ctrl_c_is_ended_with_130(tmp_path):
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    job = subprocess.Popen([sys.executable, "-c", "from pipelines import cli; cli.main('stubborn')"], cwd=root,
                           env=dict(os.environ, PYTHONPATH=f"{root}:{tmp_path}"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        assert job.stdout.readline().strip() == "running"
        job.send_signal(signal.SIGINT)
        started = time.monotonic()
        log, _ = job.communicate(timeout=30)
    finally:
        job.kill()
    assert job.returncode == 130 and "swallowed" in log and "still running" in log, log[-2000:]
    assert time.monotonic() - started < 10

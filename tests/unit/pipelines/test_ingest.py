"""pipelines.ingest's pieces: keeping one copy, the content-hash split, the summary."""
import apache_beam as beam

from core import dead_letters, features
from core.dead_letters import DUPLICATES, REJECTED
from pipelines import ingest
from pipelines.ingest_config import parse_config, split_of
from pipelines.sources import RawImage


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


CONFIG = parse_config({"sources": [{"type": "folder", "root": "a"}, {"type": "jsonl", "path": "b.jsonl"}]})


def test_summary_from_counts_fills_every_split_label_and_source():
    counted = [(("counts", "train/chart"), 3), (("counts", "test/non_chart"), 1), ((REJECTED, "truncated"), 2),
               ((REJECTED, "empty_file"), 1), ((DUPLICATES, ""), 4), (("source:listed", "a"), 10),
               (("source:examples", "a"), 4), (("source:rejected", "b.jsonl"), 3), (("source:duplicates", "a"), 4),
               (("groups", "val"), 2)]
    summary = ingest.summary_from_counts(counted, CONFIG)
    assert summary["groups"] == {"train": 0, "val": 2, "test": 0}
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

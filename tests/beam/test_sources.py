"""pipelines.sources on Beam's TestPipeline."""
import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # not collected as a test class
from apache_beam.testing.util import assert_that, equal_to

from core import corrections, dead_letters, features
from core.dead_letters import DUPLICATES, REJECTED
from pipelines import ingest
from pipelines.ingest_config import parse_config
from pipelines.sources import HuggingFaceSource, read_source
from tests.support.images import image_bytes

CHART, NON_CHART = features.CHART, features.NON_CHART


def test_a_hub_source_reads_the_columns_and_labels_its_block_names(tmp_path):
    table = pa.table({
        "picture": [{"bytes": image_bytes(i), "path": f"p{i}.png"} for i in range(3)],
        "kind": pa.array([7, 8, 7], pa.int64()),
    })
    pq.write_table(table, tmp_path / "rows.parquet")
    source = HuggingFaceSource(data_files=str(tmp_path / "rows.parquet"), image_column="picture",
                               label_column="kind", label_map={7: "chart", 8: "non_chart"})
    with BeamTestPipeline() as p:
        records = p | read_source(source) | beam.Map(lambda r: (os.path.basename(r.uri), r.label, r.data))
        assert_that(records, equal_to([
            ("p0.png", "chart", image_bytes(0)), ("p1.png", "non_chart", image_bytes(1)),
            ("p2.png", "chart", image_bytes(2)),
        ]))


def _decide(path, image: str, label, previous: str) -> None:
    """One decision, appended as the review page appends it."""
    corrections.append(str(path), corrections.Decision(image, label, previous, 0.5, "run1"))


def _users_folder(root, labels: dict[str, str]) -> dict[str, str]:
    """root/<label>/<name> for each {name: the model's label}, a distinct picture each; {name: its path}."""
    paths = {}
    for seed, (name, label) in enumerate(sorted(labels.items())):
        path = root / label / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes(seed))
        paths[name] = str(path)
    return paths


def test_the_corrections_reader_yields_each_images_last_standing_decision(tmp_path):
    path = tmp_path / "review.corrections.jsonl"
    _decide(path, "/img/a.png", CHART, NON_CHART)
    _decide(path, "/img/b.png", CHART, NON_CHART)
    _decide(path, "/img/b.png", NON_CHART, NON_CHART)  # changed their mind: the last decision wins
    _decide(path, "/img/c.png", NON_CHART, CHART)
    _decide(path, "/img/c.png", corrections.UNDECIDED, CHART)  # taken back: no record, the model's label stands
    (source,) = parse_config({"sources": [{"type": "corrections", "path": str(path)}]}).sources
    with BeamTestPipeline() as p:
        records = p | read_source(source) | beam.Map(lambda r: (r.source, r.uri, r.label, r.data, r.error))
        assert_that(records, equal_to([(str(path), "/img/a.png", CHART, None, None),
                                       (str(path), "/img/b.png", NON_CHART, None, None)]))


def _ingested(config):
    """Run every source of `config` through ingest's ValidateAndSplit; assert_that on what it keeps and drops."""
    p = BeamTestPipeline()
    listed = [p | f"Read{i}" >> read_source(s) for i, s in enumerate(config.sources)] | beam.Flatten()
    return p, listed | ingest.ValidateAndSplit(config)


def test_a_persons_decision_wins_deduplication_over_every_other_source_whatever_its_weight(tmp_path):
    folder = _users_folder(tmp_path / "mine", {"a.png": NON_CHART, "b.png": CHART, "c.png": CHART, "d.png": NON_CHART})
    manifest = tmp_path / "manifest.jsonl"  # the same pictures again, in a heavier source, with the model's labels
    manifest.write_text(f'{{"image": "{folder["a.png"]}", "label": "non_chart"}}\n'
                        f'{{"image": "{folder["c.png"]}", "label": "chart"}}\n')
    review = tmp_path / "review.corrections.jsonl"
    _decide(review, folder["a.png"], CHART, NON_CHART)  # the model said non_chart: a person says chart
    _decide(review, folder["b.png"], NON_CHART, CHART)
    _decide(review, folder["c.png"], NON_CHART, CHART)
    _decide(review, folder["c.png"], corrections.UNDECIDED, CHART)  # taken back: the folder's label stands
    config = parse_config({"image_size": 32, "sources": [
        {"type": "folder", "root": str(tmp_path / "mine"), "weight": 5},
        {"type": "jsonl", "path": str(manifest), "weight": 10},
        {"type": "corrections", "path": str(review), "weight": 1}]})
    mine, listing, decided = (s.name for s in config.sources)

    p, out = _ingested(config)
    with p:
        assert_that(out["examples"] | "Kept" >> beam.Map(lambda e: (e.source, e.uri, features.LABEL_NAMES[e.label],
                                                                    e.weight)),
                    equal_to([(decided, folder["a.png"], CHART, 1.0), (decided, folder["b.png"], NON_CHART, 1.0),
                              (listing, folder["c.png"], CHART, 10.0), (mine, folder["d.png"], NON_CHART, 5.0)]),
                    label="CheckKept")
        assert_that(out[DUPLICATES], equal_to([
            dead_letters.duplicate_record(mine, folder["a.png"], folder["a.png"]),
            dead_letters.duplicate_record(listing, folder["a.png"], folder["a.png"]),
            dead_letters.duplicate_record(mine, folder["b.png"], folder["b.png"]),
            dead_letters.duplicate_record(mine, folder["c.png"], folder["c.png"])]), label="CheckDropped")
        assert_that(out[REJECTED], equal_to([]), label="CheckNoConflict")


def test_two_decisions_that_disagree_on_one_picture_are_a_conflict(tmp_path):
    folder = _users_folder(tmp_path / "mine", {"a.png": NON_CHART})
    copy = tmp_path / "elsewhere" / "a_copy.png"
    copy.parent.mkdir()
    copy.write_bytes(open(folder["a.png"], "rb").read())
    first, second = tmp_path / "first.corrections.jsonl", tmp_path / "second.corrections.jsonl"
    _decide(first, folder["a.png"], CHART, NON_CHART)
    _decide(second, str(copy), NON_CHART, CHART)
    config = parse_config({"image_size": 32, "sources": [
        {"type": "folder", "root": str(tmp_path / "mine")},
        {"type": "corrections", "path": str(first)}, {"type": "corrections", "path": str(second)}]})

    p, out = _ingested(config)
    with p:
        assert_that(out["examples"], equal_to([]), label="CheckNoneKept")
        assert_that(out[REJECTED] | beam.Map(lambda r: (r["source"], r["reason"], r["label"])), equal_to([
            (str(tmp_path / "mine"), dead_letters.LABEL_CONFLICT, NON_CHART),
            (str(first), dead_letters.LABEL_CONFLICT, CHART),
            (str(second), dead_letters.LABEL_CONFLICT, NON_CHART)]), label="CheckConflict")

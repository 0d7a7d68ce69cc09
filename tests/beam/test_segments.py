"""The pipelines' segments on Beam's TestPipeline: sources, validation and split, listing, labelling."""
import json
import os

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # not collected as a test class
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from core import dead_letters, features, inputs
from core.dead_letters import DUPLICATES, REJECTED
from core.results import Rule
from core.runs import RunMetadata
from models.run import LoadedRun
from pipelines import ingest, label, labelling, streaming
from pipelines.ingest_config import parse_config, split_of
from pipelines.sources import RawImage, ReadCsv, ReadDemo, ReadFolder, ReadJsonl
from synthetic.generate import render_demo_image
from tests.support import servers
from tests.support.images import image_bytes
from transforms.image import prepare

SIZE = 32


def test_folder_and_jsonl_sources_yield_every_listed_file_or_line(tmp_path):
    root = tmp_path / "images"
    for name, label_name in (("a.png", "chart"), ("b.jpg", "non_chart")):
        (root / label_name).mkdir(parents=True, exist_ok=True)
        (root / label_name / name).write_bytes(image_bytes(len(name), "JPEG" if name.endswith("jpg") else "PNG"))
    os.symlink(tmp_path / "missing.png", root / "chart" / "broken.png")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text('{"image": "images/chart/a.png", "label": "charts"}\nnot json\n{"image": "x.png"}\n')
    config = parse_config({"sources": [{"type": "folder", "root": str(root)},
                                       {"type": "jsonl", "path": str(manifest), "label_map": {"charts": "chart"}}]})
    folder, jsonl = config.sources
    with BeamTestPipeline() as p:
        from_folder = p | "Folder" >> ReadFolder(folder)
        from_jsonl = p | "Jsonl" >> ReadJsonl(jsonl)
        assert_that(from_folder | "F" >> beam.Map(lambda r: (os.path.basename(r.uri), r.label, r.error)), equal_to([
            ("a.png", "chart", None), ("broken.png", "chart", dead_letters.BROKEN_SYMLINK),
            ("b.jpg", "non_chart", None)]), label="CheckFolder")
        assert_that(from_jsonl | "J" >> beam.Map(lambda r: (r.uri, r.label, r.error)), equal_to([
            (str(root / "chart" / "a.png"), "chart", None),
            (f"{manifest}:2", "", dead_letters.BAD_MANIFEST_LINE),
            (f"{manifest}:3", "", dead_letters.BAD_MANIFEST_LINE)]), label="CheckJsonl")


def test_a_csv_source_reads_the_columns_its_block_names_with_each_rows_group(tmp_path):
    (tmp_path / "chart").mkdir()
    table = tmp_path / "manifest.csv"  # a dataset's own table, read as it is: other columns, quoted commas
    table.write_text('file,notes,label,source_repo\n'
                     'chart/a.png,"candles, dark",chart,alice/bot\n'
                     '"",empty,chart,alice/bot\n'
                     'non_chart/b.png,,0,bob/app\n'
                     'chart/c.png,no group,chart,\n'
                     f'chart/d.png,{"x" * 200_000},chart,bob/app\n'  # a field over the csv module's limit
                     'chart/e.png,,chart,bob/app\n')
    (source,) = parse_config({"sources": [{"type": "csv", "path": str(table), "image_column": "file",
                                           "group_column": "source_repo", "label_map": {0: "non_chart"}}]}).sources
    with BeamTestPipeline() as p:
        records = p | ReadCsv(source)
        assert_that(records | beam.Map(lambda r: (r.uri, r.label, r.group, r.error)), equal_to([
            (str(tmp_path / "chart" / "a.png"), "chart", "alice/bot", None),
            (f"{table}:3", "", "", dead_letters.BAD_MANIFEST_LINE),
            (str(tmp_path / "non_chart" / "b.png"), "non_chart", "bob/app", None),
            (str(tmp_path / "chart" / "c.png"), "chart", "", None),
            (f"{table}:6", "", "", dead_letters.BAD_MANIFEST_LINE),
            (str(tmp_path / "chart" / "e.png"), "chart", "bob/app", None)]))


def test_a_csv_source_without_a_column_it_names_is_refused_at_launch_naming_the_header(tmp_path):
    table = tmp_path / "manifest.csv"
    table.write_text("file,label\nchart/a.png,chart\n")
    (source,) = parse_config({"sources": [{"type": "csv", "path": str(table), "group_column": "source"}]}).sources
    missing = r"no column 'image' \(image_column\), 'source' \(group_column\).*\['file', 'label'\]"
    with pytest.raises(ValueError, match=missing):
        ReadCsv(source)
    table.write_text("image,label,source\n")  # the right header, no rows: refused like an empty JSONL manifest
    with pytest.raises(ValueError, match="has a header but no rows"):
        ReadCsv(source)


def test_ingest_keeps_each_group_in_one_split_so_val_holds_unseen_groups():
    config = parse_config({"image_size": SIZE, "split": {"train": 0.34, "val": 0.33, "test": 0.33},
                           "sources": [{"type": "jsonl", "path": "m"}]})
    groups = [f"account{g}" for g in range(8)]
    records = [RawImage("m", f"{g}/{i}.png", "chart", image_bytes(10 * n + i), group=g)
               for n, g in enumerate(groups) for i in range(4)]
    with BeamTestPipeline() as p:
        out = p | beam.Create(records) | ingest.ValidateAndSplit(config)
        placed = [out[name] | f"Place[{name}]" >> beam.Map(lambda e, name: (e.group, name), name)
                  for name in features.SPLITS] | beam.Flatten() | beam.Distinct()

        def one_split_per_group(pairs):
            splits_of = {g: {split for group, split in pairs if group == g} for g in groups}
            if any(len(splits) != 1 for splits in splits_of.values()):
                raise BeamAssertException(f"a group straddles splits: {splits_of}")
            if len({split for split, in splits_of.values()}) < 2:
                raise BeamAssertException(f"every group in one split: {splits_of}")

        assert_that(placed, one_split_per_group)


def test_the_demo_source_renders_the_generator_images():
    (demo,) = parse_config({"sources": [{"type": "demo", "size": 4, "seed": 3}]}).sources
    expected = [render_demo_image(3, i) for i in range(4)]
    with BeamTestPipeline() as p:
        records = p | ReadDemo(demo)
        assert_that(records | beam.Map(lambda r: (r.source, r.uri, r.label, r.data)), equal_to([
            ("demo(seed=3)", f"demo://3/{image.label}/{image.name}", image.label, image.data) for image in expected]))


def test_ingest_validates_keeps_one_copy_and_splits_by_content(tmp_path):
    config = parse_config({"image_size": SIZE, "split": {"train": 0.5, "val": 0.25, "test": 0.25},
                           "sources": [{"type": "folder", "root": "a"}, {"type": "jsonl", "path": "b", "weight": 2.0}]})
    on_disk = tmp_path / "read_by_validation.png"
    on_disk.write_bytes(image_bytes(6))
    records = [
        RawImage("a", "a/chart/1.png", "chart", image_bytes(1)),
        RawImage("b", "b/1.png", "chart", image_bytes(1)),  # the same picture from the heavier source: kept
        RawImage("a", "a/non_chart/2.png", "non_chart", image_bytes(2)),
        RawImage("a", "a/chart/3.jpg", "chart", image_bytes(3, "JPEG")),
        RawImage("a", "a/chart/4.png", "chart", image_bytes(4)),
        RawImage("b", "b/4.png", "non_chart", image_bytes(4, "BMP")),  # the same picture, another label
        RawImage("a", "a/chart/bad.png", "chart", b"not an image at all"),
        RawImage("a", "a/cat/5.png", "cat", image_bytes(5)),
        RawImage("b", "b:7", "", error=dead_letters.BAD_MANIFEST_LINE, detail="not JSON"),
        RawImage("a", str(on_disk), "non_chart"),
    ]
    kept = {  # uri: (bytes, label, weight)
        "b/1.png": (image_bytes(1), "chart", 2.0),
        "a/non_chart/2.png": (image_bytes(2), "non_chart", 1.0),
        "a/chart/3.jpg": (image_bytes(3, "JPEG"), "chart", 1.0),
        str(on_disk): (image_bytes(6), "non_chart", 1.0),
    }
    prepared = {uri: prepare(data, SIZE, with_content_hash=True) for uri, (data, _, _) in kept.items()}
    examples = [(uri, features.LABEL_IDS[name], weight, prepared[uri].pixels.tobytes())
                for uri, (_, name, weight) in kept.items()]
    by_split = {name: sorted(uri for uri, image in prepared.items() if split_of(image.content_hash, config.split) == i)
                for i, name in enumerate(features.SPLITS)}
    conflict = dead_letters.LABEL_CONFLICT
    rejected = [("a/chart/4.png", conflict, "chart"), ("b/4.png", conflict, "non_chart"),
                ("a/chart/bad.png", dead_letters.NOT_AN_IMAGE, "chart"),
                ("a/cat/5.png", dead_letters.UNKNOWN_LABEL, "cat"), ("b:7", dead_letters.BAD_MANIFEST_LINE, "")]
    with BeamTestPipeline() as p:
        out = p | beam.Create(records) | ingest.ValidateAndSplit(config)
        for name in features.SPLITS:
            assert_that(out[name] | f"Uris[{name}]" >> beam.Map(lambda e: e.uri), equal_to(by_split[name]),
                        label=f"Check[{name}]")
        assert_that(out["examples"] | "Examples" >> beam.Map(lambda e: (e.uri, e.label, e.weight, e.image)),
                    equal_to(examples), label="CheckExamples")
        assert_that(out[REJECTED] | "Rejected" >> beam.Map(lambda r: (r["uri"], r["reason"], r["label"])),
                    equal_to(rejected), label="CheckRejected")
        assert_that(out[DUPLICATES], equal_to([dead_letters.duplicate_record("a", "a/chart/1.png", "b/1.png")]),
                    label="CheckDuplicates")


def test_ingest_gives_up_a_read_from_a_store_that_hangs_after_read_timeout_and_keeps_the_rest():
    config = parse_config({"image_size": SIZE, "sources": [{"type": "jsonl", "path": "m"}]})
    with servers.hanging_store() as prefix:
        records = [RawImage("m", f"{prefix}{i}.png", "chart") for i in range(2)]
        records.append(RawImage("m", "m/fine.png", "non_chart", image_bytes(1)))
        with BeamTestPipeline() as p:
            out = p | beam.Create(records) | ingest.ValidateAndSplit(config, read_timeout=0.5)
            assert_that(out["examples"] | beam.Map(lambda e: e.uri), equal_to(["m/fine.png"]), label="CheckKept")
            assert_that(out[REJECTED] | "Rejected" >> beam.Map(lambda r: (r["uri"], r["reason"], r["detail"])),
                        equal_to([(r.uri, dead_letters.UNREADABLE, "no answer within 0.5 s (--read_timeout)")
                                  for r in records[:2]]), label="CheckRejected")


def test_batch_listing_lists_every_file_and_says_why_some_cannot_be_read(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "a.png").write_bytes(image_bytes(1))
    (inbox / "sub" / "b.png").write_bytes(image_bytes(2))
    os.symlink(tmp_path / "missing.png", inbox / "broken.png")
    os.mkfifo(inbox / "pipe.png")
    opts = label.LabelOptions(str(inbox), str(tmp_path / "out"))
    with BeamTestPipeline() as p:
        listed = p | label.ListInputs(opts)
        assert_that(listed | beam.Map(lambda r: (os.path.relpath(r.uri, inbox), r.error)), equal_to([
            ("a.png", None), (os.path.join("sub", "b.png"), None), ("broken.png", dead_letters.BROKEN_SYMLINK),
            ("pipe.png", dead_letters.NOT_A_FILE)]))


def test_new_versions_passes_each_version_of_a_file_once():
    versions = [("a", (inputs.Listed("a"), "10:1.0")), ("a", (inputs.Listed("a"), "10:1.0")),
                ("b", (inputs.Listed("b"), "7:2.0")), ("a", (inputs.Listed("a"), "10:1.0"))]
    with BeamTestPipeline() as p:
        emitted = p | beam.Create(versions) | beam.ParDo(streaming.NewVersions())
        assert_that(emitted | beam.Map(lambda listed: listed.uri), equal_to(["a", "b"]))


def _scores_match(expected: dict[str, float]):
    """An assert_that matcher: (file name, label, score) per result, scores within float noise of `expected`."""
    def match(actual):
        got = {name: score for name, _, score in actual}
        if sorted(got) != sorted(expected) or any(abs(got[n] - expected[n]) > 1e-5 for n in expected):
            raise BeamAssertException(f"scores {got} != {expected}")
    return match


@pytest.fixture(scope="module")
def model(trained) -> LoadedRun:
    return LoadedRun.open(trained["summary"]["model_dir"])


def test_label_reads_scores_and_answers_each_file_and_dead_letters_the_rest(model, tmp_path):
    good = {f"{i}.png": image_bytes(i, "PNG") for i in range(5)} | {"5.jpg": image_bytes(5, "JPEG")}
    for name, data in good.items():
        (tmp_path / name).write_bytes(data)
    jpeg = image_bytes(9, "JPEG", size=(300, 200))
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (tmp_path / "big.png").write_bytes(image_bytes(8, "PNG", size=(400, 400)))
    (tmp_path / "notes.png").write_text("not a picture")
    listed = [inputs.Listed(str(tmp_path / name)) for name in [*good, "cut.jpg", "big.png", "notes.png"]]
    listed.append(inputs.Listed(str(tmp_path / "gone.png"), dead_letters.BROKEN_SYMLINK, "symlink to missing x"))
    scorer = model.scorer()  # the run, loaded outside Beam (its boosted trees included)
    expected = dict(zip(good, scorer([prepare(data, model.image_size).pixels.tobytes() for data in good.values()])))
    max_file_mb = 0.9 * len((tmp_path / "big.png").read_bytes()) / 2**20  # big.png alone is over the limit
    with BeamTestPipeline() as p:
        segment = labelling.LabelImages(model, batch_size=4, decode_threads=2, max_file_mb=max_file_mb)
        out = p | beam.Create(listed) | segment
        results = out["results"] | "Results" >> beam.Map(lambda r: (os.path.basename(r["uri"]), r["label"], r["score"]))
        assert_that(results, _scores_match(expected), label="CheckScores")
        assert_that(out["results"] | "Labels" >> beam.Map(
            lambda r: (r["label"] == (features.CHART if r["score"] >= model.rule.threshold else features.NON_CHART),
                       sorted(r), r["model_type"], r["run_id"])),
            equal_to([(True, sorted(features.RESULT_FIELDS), model.rule.model_type, model.rule.run_id)] * len(good)),
            label="CheckFields")
        assert_that(out["Unreadable"] | "Unreadable" >> beam.Map(
            lambda r: (os.path.basename(r["uri"]), r["reason"], sorted(r))), equal_to([
                ("cut.jpg", dead_letters.TRUNCATED, ["detail", "reason", "rejected_at", "uri"]),
                ("big.png", dead_letters.FILE_TOO_LARGE, ["detail", "reason", "rejected_at", "uri"]),
                ("notes.png", dead_letters.NOT_AN_IMAGE, ["detail", "reason", "rejected_at", "uri"]),
                ("gone.png", dead_letters.BROKEN_SYMLINK, ["detail", "reason", "rejected_at", "uri"])]),
            label="CheckUnreadable")
        assert_that(out["Refused"], equal_to([]), label="CheckRefused")


def test_a_refused_image_becomes_a_model_error_dead_letter_with_the_models_message():
    from apache_beam.ml.inference.base import PredictionResult

    from models.inference import InferenceError

    rule = Rule("demo", "r1", 0.5)
    run = LoadedRun("", RunMetadata("demo", "r1", 0.5, 32), rule)
    key = labelling.ImageKey("x.png", "0" * 64, 40, 30)
    scored = [(key, PredictionResult(b"", InferenceError("InvalidArgumentError: bad shape"))),
              (key._replace(uri="y.png"), PredictionResult(b"", np.float32(0.75)))]
    with BeamTestPipeline() as p:
        out = p | beam.Create(scored) | beam.ParDo(labelling.ToResult(run)).with_outputs(REJECTED, main="results")
        assert_that(out[REJECTED] | "Dead" >> beam.Map(lambda r: (r["uri"], r["reason"], r["detail"])), equal_to([
            ("x.png", dead_letters.MODEL_ERROR, "InvalidArgumentError: bad shape")]), label="CheckDead")
        assert_that(out.results | "Json" >> beam.Map(lambda r: json.loads(json.dumps(r))["score"]), equal_to([0.75]))

"""pipelines.ingest end to end: TFRecords, transform graph, dead letters, duplicates, splits, summary."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from core import features
from pipelines import ingest
from pipelines.ingest_config import parse_config
from tests import support
from tests.support.images import image_bytes

GOOD_FORMATS = {  # file name -> bytes: each must become a record
    "png_rgb.png": lambda: image_bytes(1, "PNG"),
    "png_palette.png": lambda: image_bytes(2, "PNG", mode="P"),
    "png_alpha.png": lambda: image_bytes(3, "PNG", mode="RGBA"),
    "jpeg_progressive.jpg": lambda: image_bytes(4, "JPEG", progressive=True, quality=90),
    "jpeg_cmyk.jpg": lambda: image_bytes(5, "JPEG", mode="CMYK"),
    "anim.gif": lambda: image_bytes(6, "GIF", save_all=True, append_images=[]),
    "lossless.webp": lambda: image_bytes(7, "WEBP", lossless=True),
    "bitmap.bmp": lambda: image_bytes(8, "BMP"),
    "scan.tiff": lambda: image_bytes(9, "TIFF"),
    "mislabelled_ext.png": lambda: image_bytes(10, "JPEG"),
}


BAD_FILES = {  # file name -> (bytes, expected reason)
    "zero.png": (b"", "empty_file"),
    "notes.png": (b"this is a text file, not a picture\n" * 20, "not_an_image"),
    "truncated.png": (image_bytes(11, "PNG", size=(400, 300))[:600], "truncated"),
    "tiny.png": (image_bytes(12, "PNG", size=(5, 5)), "too_small"),
}


def _write(path: str, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _hub_parquet(path: str, rows: list[tuple[bytes, int]]) -> str:
    """A parquet file laid out like the hub's image datasets: image {bytes, path}, label (0 charts, 1 non-charts)."""
    table = pa.table({
        "image": [{"bytes": data, "path": f"img_{i}.png"} for i, (data, _) in enumerate(rows)],
        "label": pa.array([label for _, label in rows], pa.int64()),
    })
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> dict:
    """Every source type, with cross-source duplicates, a label conflict and bad inputs."""
    root = tmp_path_factory.mktemp("sources")
    folder = root / "folder"
    for name, make in GOOD_FORMATS.items():
        _write(str(folder / features.CHART / name), make())
    for i in range(4):
        _write(str(folder / features.NON_CHART / f"photo_{i}.jpg"), image_bytes(100 + i, "JPEG"))
    for name, (data, _) in BAD_FILES.items():
        _write(str(folder / features.NON_CHART / name), data)

    jsonl_images = {f"img/j{i}.png": image_bytes(200 + i, "PNG") for i in range(3)}
    for rel, data in jsonl_images.items():
        _write(str(root / rel), data)
    manifest = [
        {"image": "img/j0.png", "label": "chart"},
        {"image": "img/j1.png", "label": "non_chart"},
        {"image": str(root / "img" / "j2.png"), "label": "charts"},  # mapped by label_map
        {"image": "img/j0.png", "label": "chart"},  # exact duplicate line
        {"image": "img/missing.png", "label": "chart"},  # unreadable
        {"image": "img/j1.png", "label": "cat"},  # unknown label (and same picture as a valid one)
    ]
    manifest_path = root / "manifest.jsonl"
    wrong_types = [
        {"image": 123, "label": "chart"},
        {"image": None, "label": "chart"},
        {"image": "img/j0.png", "label": ["chart"]},
        [1, 2],
    ]
    manifest_path.write_bytes(
        (
            "\n".join(json.dumps(m) for m in manifest)
            + "\n{not json\n"
            + "\n".join(json.dumps(m) for m in wrong_types)
            + "\n"
        ).encode()
        + b'{"image": "caf\xe9.png", "label": "chart"}\n'
    )

    hub_rows = [(image_bytes(300 + i, "PNG"), i % 2) for i in range(6)]
    hub_rows.append((image_bytes(100, "JPEG"), 1))  # the same picture as folder non_chart/photo_0.jpg
    hub_rows.append((image_bytes(101, "JPEG"), 0))  # photo_1.jpg again, but labelled chart: a conflict
    hub_rows.append((image_bytes(202, "PNG"), 0))  # the jsonl's j2.png again: the heavier jsonl copy is kept
    parquet = _hub_parquet(str(root / "hub" / "data" / "train-00000-of-00001.parquet"), hub_rows)

    config = {
        "image_size": 64,
        "split": {"train": 0.6, "val": 0.2, "test": 0.2},
        "sources": [
            {"type": "folder", "root": str(folder)},
            {"type": "jsonl", "path": str(manifest_path), "label_map": {"charts": "chart"}, "weight": 3},
            {"type": "huggingface", "data_files": parquet, "label_map": {0: "chart", 1: "non_chart"}},
            {"type": "demo", "size": 6, "seed": 3},
        ],
    }
    config_path = root / "ingest.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return {"root": str(root), "config": str(config_path), "raw": config, "folder": str(folder), "parquet": parquet,
            "jsonl_images": jsonl_images}


def _ingest(config_path: str, output_dir: str) -> dict:
    return ingest.run(["--runner=DirectRunner", f"--config={config_path}", f"--output_dir={output_dir}"])


@pytest.fixture(scope="session")
def ingested(sources, tmp_path_factory) -> dict:
    output_dir = str(tmp_path_factory.mktemp("ingest_out"))
    summary = _ingest(sources["config"], output_dir)
    return {"dir": output_dir, "summary": summary}


def _dead_letters(output_dir: str) -> list[dict]:
    folder = os.path.join(output_dir, os.path.dirname(features.DEAD_LETTER_PREFIX))
    return [
        json.loads(line)
        for name in sorted(os.listdir(folder))
        for line in open(os.path.join(folder, name))
        if line.strip()
    ]


def test_every_bad_input_is_dead_lettered_with_its_reason(ingested):
    letters = _dead_letters(ingested["dir"])
    by_uri = {os.path.basename(d["uri"]): d["reason"] for d in letters}
    for name, (_, reason) in BAD_FILES.items():
        assert by_uri[name] == reason, (name, letters)
    assert by_uri["missing.png"] == "unreadable"
    assert sorted(int(d["uri"].rsplit(":", 1)[1]) for d in letters if d["reason"] == "bad_manifest_line") == [
        7,
        8,
        9,
        10,
        11,
        12,
    ]
    assert any(d["reason"] == "unknown_label" and d["label"] == "cat" for d in letters)
    conflict = [d for d in letters if d["reason"] == "label_conflict"]
    assert sorted(os.path.basename(d["uri"]) for d in conflict) == ["img_7.png", "photo_1.jpg"]
    assert all({"source", "uri", "reason", "detail", "label"} <= set(d) for d in letters)


def test_odd_files_in_a_folder_source_are_dead_lettered_not_fatal(tmp_path):
    root = tmp_path / "folder"
    _write(str(root / features.CHART / "ok.png"), image_bytes(1, "PNG"))
    with open(os.path.join(os.fsencode(root / features.CHART), b"caf\xe9.png"), "wb") as f:
        f.write(image_bytes(2, "PNG"))
    os.makedirs(root / features.NON_CHART)
    os.symlink(tmp_path / "missing.png", root / features.NON_CHART / "broken.png")
    _write(str(tmp_path / "elsewhere.png"), image_bytes(3, "PNG"))
    os.symlink(tmp_path / "elsewhere.png", root / features.NON_CHART / "escape.png")
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "folder", "root": str(root)}]}))

    summary = _ingest(str(config), str(tmp_path / "out"))

    assert summary["total_examples"] == 1
    assert summary["rejected"] == {"bad_file_name": 1, "broken_symlink": 1, "outside_root": 1}
    assert {d["reason"] for d in _dead_letters(str(tmp_path / "out"))} == {
        "bad_file_name",
        "broken_symlink",
        "outside_root",
    }


def test_subfolders_are_read_and_a_deeply_nested_manifest_line_is_a_dead_letter(tmp_path):
    root = tmp_path / "folder"
    _write(str(root / features.CHART / "top.png"), image_bytes(1, "PNG"))
    _write(str(root / features.CHART / "sub" / "nested.png"), image_bytes(2, "PNG"))
    _write(str(root / features.NON_CHART / "2026" / "11" / "deep.png"), image_bytes(3, "PNG"))
    _write(str(tmp_path / "j.png"), image_bytes(4, "PNG"))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(b'{"image": "j.png", "label": "chart"}\n' + b"[" * 1000 + b"]" * 1000 + b"\n")
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "folder", "root": str(root)},
                                                                    {"type": "jsonl", "path": str(manifest)}]}))

    summary = _ingest(str(config), str(tmp_path / "out"))

    assert summary["total_examples"] == 4 and summary["rejected"] == {"bad_manifest_line": 1}
    assert summary["per_source"][str(root)]["examples"] == 3
    (letter,) = _dead_letters(str(tmp_path / "out"))
    assert letter["uri"] == f"{manifest}:2" and "nested" in letter["detail"]


def test_max_pixels_dead_letters_larger_images(tmp_path):
    root = tmp_path / "folder"
    _write(str(root / features.CHART / "small.png"), image_bytes(1, "PNG", size=(96, 64)))
    _write(str(root / features.NON_CHART / "large.png"), image_bytes(2, "PNG", size=(200, 100)))
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "folder", "root": str(root)}]}))

    summary = ingest.run(["--runner=DirectRunner", f"--config={config}", f"--output_dir={tmp_path / 'out'}",
                          "--max_pixels", "1e4"])

    assert summary["total_examples"] == 1 and summary["rejected"] == {"decompression_bomb": 1}
    (letter,) = _dead_letters(str(tmp_path / "out"))
    assert letter["uri"].endswith("large.png") and "over 10000 (--max_pixels)" in letter["detail"]


def test_dropped_duplicates_are_listed_with_the_copy_kept(ingested):
    folder = os.path.join(ingested["dir"], os.path.dirname(features.DUPLICATES_PREFIX))
    dropped = [
        json.loads(line)
        for name in sorted(os.listdir(folder))
        for line in open(os.path.join(folder, name))
        if line.strip()
    ]
    pairs = sorted((os.path.basename(d["uri"]), os.path.basename(d["duplicate_of"])) for d in dropped)
    # j0.png listed twice in the manifest (one copy kept); photo_0.jpg and j2.png again in the hub parquet
    assert pairs == [("img_6.png", "photo_0.jpg"), ("img_8.png", "j2.png"), ("j0.png", "j0.png")]


def test_summary_counts_rejects_and_duplicates(ingested, sources):
    summary = ingested["summary"]
    with open(os.path.join(ingested["dir"], features.SUMMARY_FILE)) as f:
        assert json.load(f) == summary
    assert summary["rejected"] == {
        "bad_manifest_line": 6, "empty_file": 1, "label_conflict": 2, "not_an_image": 1,
        "too_small": 1, "truncated": 1, "unknown_label": 1, "unreadable": 1,
    }
    # j0.png listed twice in the manifest; photo_0.jpg and j2.png again in the hub parquet.
    assert summary["duplicates"] == 3
    per_source = summary["per_source"]
    assert set(per_source) == {s.name for s in parse_config(sources["raw"]).sources}
    for name, n in per_source.items():  # nothing vanishes: every record read is kept, rejected or a dropped copy
        assert n["listed"] == n["examples"] + n["rejected"] + n["duplicates"], name
    assert sum(n["examples"] for n in per_source.values()) == summary["total_examples"]
    assert sum(n["rejected"] for n in per_source.values()) == summary["total_rejected"]
    assert per_source[sources["folder"]]["listed"] == len(GOOD_FORMATS) + 4 + len(BAD_FILES)
    # folder: 10 good charts + 3 of 4 photos (photo_1 conflicts); jsonl: j0, j1, j2; hub: 6 + 0; demo: 6
    assert summary["total_examples"] == 13 + 3 + 6 + 6
    assert set(summary["counts"]) == set(features.SPLITS)
    assert sum(summary["counts"][s][features.CHART] for s in features.SPLITS) == 10 + 2 + 3 + 3


def _records(output_dir: str, split: str) -> list[dict]:
    import tensorflow as tf
    import tensorflow_transform as tft

    from models.data import split_files

    spec = tft.TFTransformOutput(os.path.join(output_dir, features.TRANSFORM_DIR)).raw_feature_spec()
    files = split_files(output_dir, split)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").map(lambda r: tf.io.parse_single_example(r, spec))
    return list(dataset.as_numpy_iterator())


def test_tfrecords_hold_every_example_once_as_compact_pixels(ingested, sources):
    seen = {}
    for split in features.SPLITS:
        records = _records(ingested["dir"], split)
        assert len(records) == sum(ingested["summary"]["counts"][split].values())
        for r in records:
            assert (
                isinstance(r[features.IMAGE_KEY], bytes) and len(r[features.IMAGE_KEY]) == 64 * 64 * 3
            )  # 1 byte a value
            assert r[features.LABEL_KEY] in (0, 1)
            assert r[features.SHA256_KEY] not in seen, "an image landed twice (duplicate or cross-split leak)"
            seen[r[features.SHA256_KEY]] = split
    assert len(seen) == ingested["summary"]["total_examples"]
    import hashlib

    for name, make in GOOD_FORMATS.items():  # every odd format became a record
        assert hashlib.sha256(make()).hexdigest().encode() in seen, name


def test_records_carry_their_source_weight(ingested, sources):
    import hashlib

    jsonl = {hashlib.sha256(data).hexdigest().encode() for data in sources["jsonl_images"].values()}
    weights = {
        r[features.SHA256_KEY]: r[features.WEIGHT_KEY]
        for split in features.SPLITS
        for r in _records(ingested["dir"], split)
    }
    assert {sha: weights[sha] for sha in jsonl} == dict.fromkeys(jsonl, 3.0)  # the jsonl source's weight: 3
    assert {w for sha, w in weights.items() if sha not in jsonl} == {1.0}  # every other source: the default


def test_records_hold_the_prepared_pixels_and_the_transform_gives_them_to_the_model(ingested, sources):
    """Exactly `prepare`'s pixels in the TFRecords; the saved transform_fn turns them into model input unchanged."""
    import hashlib

    import tensorflow as tf
    import tensorflow_transform as tft

    from transforms.image import prepare

    output = tft.TFTransformOutput(os.path.join(ingested["dir"], features.TRANSFORM_DIR))
    records = {r[features.SHA256_KEY]: r for split in features.SPLITS for r in _records(ingested["dir"], split)}
    for name in ("jpeg_cmyk.jpg", "png_alpha.png", "lossless.webp", "anim.gif"):
        data = GOOD_FORMATS[name]()
        stored = records[hashlib.sha256(data).hexdigest().encode()][features.IMAGE_KEY]
        assert stored == prepare(data, 64).pixels.tobytes(), name
        model_input = output.transform_raw_features({features.IMAGE_KEY: tf.constant([stored])})[features.IMAGE_KEY]
        np.testing.assert_array_equal(model_input[0].numpy(), prepare(data, 64).pixels.astype(np.float32))


def test_readers_take_only_the_shards_the_last_run_listed(ingested, tmp_path):
    import shutil

    from models.data import split_files

    out = tmp_path / "out"
    shutil.copytree(ingested["dir"], out)
    listed = split_files(str(out), features.TRAIN)
    assert listed and all(os.path.exists(f) for f in listed)
    stale = out / features.TFRECORD_DIR / features.TRAIN / f"part-00009-of-00010{features.TFRECORD_SUFFIX}"
    shutil.copy(listed[0], stale)  # left behind by an earlier run into the same folder
    assert split_files(str(out), features.TRAIN) == listed
    os.remove(out / features.MANIFEST_FILE)  # a run that did not finish
    with pytest.raises(FileNotFoundError, match="did not finish"):
        split_files(str(out), features.TRAIN)


def test_splits_are_stable_whatever_the_source_order(ingested, sources, tmp_path):
    raw = dict(sources["raw"], sources=list(reversed(sources["raw"]["sources"])))
    config = tmp_path / "reversed.yaml"
    config.write_text(yaml.safe_dump(raw))
    again = _ingest(str(config), str(tmp_path / "out"))
    assert again["counts"] == ingested["summary"]["counts"]
    for split in features.SPLITS:
        first = {r[features.SHA256_KEY] for r in _records(ingested["dir"], split)}
        assert {r[features.SHA256_KEY] for r in _records(str(tmp_path / "out"), split)} == first


ROOT = support.REPO_ROOT


def test_command_line_exits_zero_on_success_and_nonzero_on_failure(tmp_path):
    """The tf.Transform exit-time segfault must not leak into the exit code, and worker
    processes (as on Dataflow) must be able to unpickle what `python -m` defines."""
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "demo", "size": 4, "seed": 1}]}))
    env = dict(os.environ, PYTHONPATH=ROOT)
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.ingest",
            "--runner=DirectRunner",
            "--direct_running_mode=multi_processing",
            "--direct_num_workers=2",
            f"--config={config}",
            f"--output_dir={tmp_path / 'out'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "Ingest summary" in ok.stderr and (tmp_path / "out" / features.SUMMARY_FILE).exists()
    bad = subprocess.run(
        [sys.executable, "-m", "pipelines.ingest", "--runner=DirectRunner", f"--config={tmp_path / 'nope.yaml'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 1 and "nope.yaml" in bad.stderr


def test_an_unwritable_output_dir_fails_at_launch_in_one_line(tmp_path):
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "demo", "size": 4, "seed": 1}]}))
    (tmp_path / "file").write_text("in the way")  # root writes anywhere: a file in the path is what stops it
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.ingest", "--runner=DirectRunner", f"--config={config}",
         f"--output_dir={tmp_path / 'file' / 'out'}"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"--output_dir {tmp_path / 'file' / 'out'}" in errors[0], result.stderr[-3000:]
    assert "cannot write there" in errors[0] and "Traceback" not in result.stderr


def test_the_real_sample_ingests_with_every_file_accounted_for(real_sample, tmp_path):
    """327 real files from 120 repositories, odd formats included: each becomes a record, a
    dead letter with a reason, or a listed duplicate; nothing crashes, nothing vanishes."""
    config = tmp_path / "real.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [{"type": "folder", "root": real_sample}]}))
    summary = _ingest(str(config), str(tmp_path / "out"))
    files = sum(len(os.listdir(os.path.join(real_sample, label))) for label in features.LABEL_NAMES)
    assert summary["total_examples"] + summary["total_rejected"] + summary["duplicates"] == files
    assert summary["total_examples"] >= 0.95 * files
    for split in features.SPLITS:
        assert len(_records(str(tmp_path / "out"), split)) == sum(summary["counts"][split].values())


def test_the_real_samples_own_table_ingests_with_each_source_repository_in_one_split(real_sample, tmp_path):
    """The real sample read through its manifest.csv, grouped by `source_repo` as the shipped configs do:
    every row accounted for, and no repository has images on both sides of a split."""
    table = os.path.join(real_sample, "manifest.csv")
    config = tmp_path / "real.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "sources": [
        {"type": "csv", "path": table, "image_column": "file", "group_column": "source_repo"}]}))
    summary = _ingest(str(config), str(tmp_path / "out"))
    with open(table, newline="") as f:
        repo_of = {row["sha256"]: row["source_repo"] for row in csv.DictReader(f)}
    assert summary["total_examples"] + summary["total_rejected"] + summary["duplicates"] == len(repo_of)
    splits_of: dict[str, set] = {}
    for split in features.SPLITS:
        for record in _records(str(tmp_path / "out"), split):
            splits_of.setdefault(repo_of[record[features.SHA256_KEY].decode()], set()).add(split)
    assert all(len(splits) == 1 for splits in splits_of.values())
    assert sum(summary["groups"].values()) == len(splits_of) and summary["groups"]["val"] > 0


def test_an_empty_or_missing_manifest_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    for manifest, message in (("empty.jsonl", "has no lines"), ("missing.jsonl", "cannot read")):
        config = tmp_path / "ingest.yaml"
        config.write_text(yaml.safe_dump({"sources": [{"type": "jsonl", "path": str(tmp_path / manifest)}]}))
        with pytest.raises(ValueError, match=message):
            _ingest(str(config), str(tmp_path / "out"))


def test_a_folder_source_without_files_is_an_error(tmp_path):
    (tmp_path / "folder" / "charts").mkdir(parents=True)  # the wrong subfolder name
    (tmp_path / "folder" / "charts" / "a.png").write_bytes(image_bytes(1))
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"sources": [{"type": "folder", "root": str(tmp_path / "folder")}]}))
    with pytest.raises(ValueError, match="one subfolder per label"):
        _ingest(str(config), str(tmp_path / "out"))

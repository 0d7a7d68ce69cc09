"""The pretrained member end to end: training fits it and records it, labelling scores with it exactly as the
run's Scorer does (the member's say only where the ensemble was unsure), ship carries it, and a run whose member
is missing or learned other backbone weights fails at launch, naming the file and the fix."""
import dataclasses
import glob
import json
import os
import shutil

import numpy as np
import pytest

from core import features, runs
from core.results import read_results
from models import member
from models.run import LoadedRun
from pipelines import label
from tests import support
from transforms.image import prepare


def _images(real_sample: str) -> dict[str, bytes]:
    paths = sorted(glob.glob(os.path.join(real_sample, "chart", "*.png")))[:4] + sorted(
        glob.glob(os.path.join(real_sample, "non_chart", "*.jpg")))[:4]
    return {os.path.basename(p): open(p, "rb").read() for p in paths}


def test_training_records_the_member_and_labelling_scores_with_it(member_run, demo_ingest, real_sample, tmp_path):
    metadata = runs.RunMetadata.read(member_run)
    entry = metadata.pretrained_member
    summary = json.load(open(os.path.join(demo_ingest, features.SUMMARY_FILE)))
    assert entry["images"] == sum(summary["counts"][features.TRAIN].values())  # one source: every train image
    assert os.path.isfile(os.path.join(member_run, entry["file"])) and 0 < entry["center"] < 1

    images = _images(real_sample)
    (tmp_path / "in").mkdir()
    for name, data in images.items():
        (tmp_path / "in" / name).write_bytes(data)
    label.run(["--runner=DirectRunner", "--model_dir", member_run, "--input", str(tmp_path / "in" / "*"),
               "--output", str(tmp_path / "out" / "labels")])
    labelled = {os.path.basename(r["uri"]): r["score"] for r in read_results(str(tmp_path / "out" / "labels"))[0]}

    scorer = LoadedRun.open(member_run).scorer()
    batch = [prepare(data, metadata.image_size).pixels.tobytes() for data in images.values()]
    before, after = scorer.ensemble(batch), scorer(batch)
    assert [labelled[name] for name in images] == pytest.approx(list(after), abs=1e-5)
    low, high = entry["unsure"]
    unsure = (before >= low) & (before < high)
    assert unsure.any()
    sure = member.from_center(before, entry["center"])
    assert after[~unsure] == pytest.approx(sure[~unsure])
    assert not np.allclose(after[unsure], sure[unsure])  # the member moved the unsure ones


def test_ship_carries_the_member(member_run, tmp_path):
    from pipelines import ship

    config = os.path.join(support.REPO_ROOT, "configs", "ingest_demo.yaml")
    ship.run(["--run_dir", member_run, "--config", config, "--seed", "0", "--target", str(tmp_path / "shipped")])
    shipped = LoadedRun.open(str(tmp_path / "shipped"))
    assert shipped.metadata.pretrained_member == runs.RunMetadata.read(member_run).pretrained_member
    for name in (runs.PRETRAINED_MEMBER_FILE, runs.PRETRAINED_BACKBONE_FILE):
        assert (tmp_path / "shipped" / name).read_bytes() == open(os.path.join(member_run, name), "rb").read()


def test_a_run_from_before_the_stored_backbone_converts_it_and_scores_the_same(member_run, real_sample, tmp_path,
                                                                                 caplog):
    run_dir = tmp_path / "older"
    shutil.copytree(member_run, run_dir)
    (run_dir / runs.PRETRAINED_BACKBONE_FILE).unlink()
    metadata = json.loads((run_dir / runs.METADATA_FILE).read_text())
    del metadata[runs.PRETRAINED_MEMBER_KEY]["backbone_file"]
    (run_dir / runs.METADATA_FILE).write_text(json.dumps(metadata))
    batch = [prepare(data, metadata["image_size"]).pixels.tobytes() for data in _images(real_sample).values()]
    current = LoadedRun.open(member_run).scorer()
    older = LoadedRun.open(str(run_dir)).scorer()
    unsure = np.array([0.5] * len(batch))  # every image asks the member
    assert older.member.rescore(unsure, batch) == pytest.approx(current.member.rescore(unsure, batch), abs=1e-5)
    assert "has no pretrained_member.tflite (trained before it was stored): converting" in caplog.text


@pytest.mark.parametrize("damage", ["missing", "corrupt", "corrupt_backbone", "other_backbone"])
def test_a_damaged_member_fails_at_launch_naming_the_file(member_run, tmp_path, damage):
    run_dir = tmp_path / "run"
    shutil.copytree(member_run, run_dir)
    if damage == "missing":
        (run_dir / runs.PRETRAINED_MEMBER_FILE).unlink()
    elif damage == "corrupt":
        (run_dir / runs.PRETRAINED_MEMBER_FILE).write_bytes(b"PK\x03\x04 not an archive")
    elif damage == "corrupt_backbone":
        (run_dir / runs.PRETRAINED_BACKBONE_FILE).write_bytes(b"\x00" * 64)
    else:  # a run trained by a version that shipped other backbone weights
        metadata = json.loads((run_dir / runs.METADATA_FILE).read_text())
        metadata[runs.PRETRAINED_MEMBER_KEY]["backbone_sha256"] = "f" * 64
        (run_dir / runs.METADATA_FILE).write_text(json.dumps(metadata))
    match = {"other_backbone": "learned backbone weights f+, this version ships.*retrain",
             "corrupt_backbone": "pretrained_member.tflite, the run's pretrained backbone .*, is missing or corrupt",
             }.get(damage, "pretrained_member.npz, the run's pretrained member, is missing or corrupt")
    with pytest.raises(ValueError, match=match):
        LoadedRun.open(str(run_dir))


def test_refit_member_gives_a_new_run_with_the_same_network_and_the_specs_member(member_run, real_sample, tmp_path,
                                                                                  monkeypatch):
    """`train --refit_member RUN`: what a change to pretrained_member does, without training the network again."""
    import yaml

    from pipelines import train

    specs = yaml.safe_load(open(train.DEFAULT_MODEL_CONFIG))
    specs["demo"]["pretrained_member"] = {"input_size": 96, "unsure": [0.0, 1.0]}
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(specs))
    monkeypatch.setenv("BASE_DIR", str(tmp_path / "base"))
    refit = ["--model_type", "demo", "--config", str(tmp_path / "models.yaml"), "--refit_member"]
    with pytest.raises(ValueError, match="is a demo run; pass --model_type demo"):
        train.run(["--model_type", "chart-cnn", "--refit_member", member_run])
    with pytest.raises(ValueError, match="demo has no pretrained_member to fit.*--pretrained_member"):
        train.run(["--model_type", "demo", "--refit_member", member_run])
    with pytest.raises(ValueError, match="fits only the member, on the data the run trained on: drop --data_dir"):
        train.run(refit + [member_run, "--data_dir", str(tmp_path)])
    source_files = {name: open(os.path.join(member_run, name), "rb").read()
                    for name in (runs.PRETRAINED_MEMBER_FILE, runs.PRETRAINED_BACKBONE_FILE)}

    summary = train.run(refit + [member_run])
    run_dir = summary["model_dir"]
    assert runs.resolve_model_dir(str(tmp_path / "base" / "models" / "demo")) == run_dir
    metadata, source = runs.RunMetadata.read(run_dir), runs.RunMetadata.read(member_run)
    assert metadata.pretrained_member["input_size"] == 96 and metadata.pretrained_member["unsure"] == [0.0, 1.0]
    assert metadata.provenance == {runs.REFITTED_FROM_KEY: member_run} and metadata.run_id != source.run_id
    assert metadata.boosted_trees == source.boosted_trees and metadata.data == source.data
    assert summary["threshold"] == metadata.threshold and summary["test_metrics"] == metadata.test_metrics
    for name, data in source_files.items():  # the source run untouched; the new one has its own 96 px backbone
        assert open(os.path.join(member_run, name), "rb").read() == data
        assert open(os.path.join(run_dir, name), "rb").read() != data

    images = _images(real_sample)
    batch = [prepare(data, metadata.image_size).pixels.tobytes() for data in images.values()]
    old, new = LoadedRun.open(member_run).scorer(), LoadedRun.open(run_dir).scorer()
    assert new.member.input_size == 96 and new.ensemble(batch) == pytest.approx(old.ensemble(batch), abs=1e-6)
    assert not np.allclose(new(batch), old(batch))  # every score is unsure now, and the member's features differ

    from pipelines import ship

    config = os.path.join(support.REPO_ROOT, "configs", "ingest_demo.yaml")
    ship.run(["--run_dir", run_dir, "--config", config, "--seed", "0", "--target", str(tmp_path / "shipped")])
    shipped = runs.RunMetadata.read(str(tmp_path / "shipped")).provenance
    assert shipped[runs.REFITTED_FROM_KEY] == member_run and shipped["trained_in"] == run_dir


def test_heaviest_sources_of_one_label_stop_the_member_naming_the_key_and_the_fixes(tmp_path):
    """The member learns only the most-weighted sources' images; if those are all charts it cannot learn, and says
    how to go on rather than fitting a regression that calls everything a chart."""
    import yaml

    from core.features import CHART, NON_CHART
    from models import trainer
    from models.spec import PretrainedMember, load_model_spec
    from pipelines import ingest
    from pipelines.train import DEFAULT_MODEL_CONFIG
    from tests.support.images import image_bytes

    seed = 0
    for folder, names in (("heavy", (CHART,)), ("light", (CHART, NON_CHART))):
        for name in names:
            (tmp_path / folder / name).mkdir(parents=True)
            for i in range(4):
                seed += 1
                (tmp_path / folder / name / f"{i}.png").write_bytes(image_bytes(seed))
    (tmp_path / "ingest.yaml").write_text(yaml.safe_dump({
        "image_size": 32, "split": {"train": 1.0, "val": 0.0, "test": 0.0},
        "sources": [{"type": "folder", "root": str(tmp_path / "heavy"), "weight": 5},
                    {"type": "folder", "root": str(tmp_path / "light"), "weight": 1}]}))
    ingest.run(["--runner=DirectRunner", f"--config={tmp_path / 'ingest.yaml'}", f"--output_dir={tmp_path / 'out'}"])
    spec = dataclasses.replace(load_model_spec(DEFAULT_MODEL_CONFIG, "demo"),
                               pretrained_member=PretrainedMember(min_relative_weight=0.5, input_size=32))
    with pytest.raises(ValueError, match="sources weighted at least 2.5, and all 4 are chart: add images of both "
                                         "labels, or lower pretrained_member.min_relative_weight"):
        trainer.join_member(None, spec, trainer.load_data(str(tmp_path / "out")), str(tmp_path / "run"))

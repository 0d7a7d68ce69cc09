"""The bad-input corpus through label and ingest: every file accounted for with its reason."""
import os
import subprocess

import yaml

from core import features
from core.results import read_results
from pipelines import ingest
from tests import support
from tests.support import bad_inputs
from tests.support.images import image_bytes, label_command

ROOT = support.REPO_ROOT


def test_labelling_the_corpus_accounts_for_every_file_with_its_reason(trained, tmp_path):
    expected = bad_inputs.write(str(tmp_path / "corpus"), str(tmp_path))
    assert len(expected) >= 40
    output = str(tmp_path / "out" / "labels")
    command = label_command(trained["summary"]["model_dir"], str(tmp_path / "corpus"), output,
                            "--max_file_mb", str(bad_inputs.MAX_FILE_MB))
    done = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]

    results, rejected = read_results(output)
    got = {os.path.basename(r["uri"]): bad_inputs.LABELLED for r in results}
    got.update({os.path.basename(r["uri"]): r["reason"] for r in rejected})
    assert got == expected
    summary = yaml.safe_load(open(output + features.LABEL_SUMMARY_SUFFIX))
    assert summary["listed"] == len(expected) == sum(summary["labelled"].values()) + sum(summary["rejected"].values())


def test_a_label_run_with_nothing_to_read_exits_1(trained, tmp_path):
    (tmp_path / "empty").mkdir()
    command = label_command(trained["summary"]["model_dir"], str(tmp_path / "empty"), str(tmp_path / "out"))
    done = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1 and "matches no files" in done.stderr


def test_ingesting_the_corpus_accounts_for_every_file(tmp_path):
    expected = bad_inputs.write(str(tmp_path / "folder" / features.CHART), str(tmp_path))
    (tmp_path / "folder" / features.NON_CHART).mkdir()
    (tmp_path / "folder" / features.NON_CHART / "photo.jpg").write_bytes(image_bytes(7, "JPEG"))
    config = tmp_path / "ingest.yaml"
    config.write_text(
        yaml.safe_dump({"image_size": 32, "sources": [{"type": "folder", "root": str(tmp_path / "folder")}]})
    )

    summary = ingest.run(["--runner=DirectRunner", f"--config={config}", f"--output_dir={tmp_path / 'out'}",
                          "--max_file_mb", str(bad_inputs.MAX_FILE_MB)])

    (counts,) = summary["per_source"].values()
    assert counts["listed"] == len(expected) + 1
    assert counts["listed"] == counts["examples"] + counts["rejected"] + counts["duplicates"]
    reasons = [r for r in expected.values() if r != bad_inputs.LABELLED]
    assert summary["rejected"] == {r: reasons.count(r) for r in set(reasons)}

"""The bad-input corpus (tests/bad_inputs.py) through the real commands, and mutated images through
validation: every file is labelled or dead-lettered with its reason, none is lost, no job dies."""
import io
import os
import subprocess
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core import features
from core.results import read_results
from pipelines import ingest
from tests import bad_inputs
from tests.conftest import image_bytes, label_command
from transforms.image import PreparedImage, RejectedImage, prepare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _valid(fmt: str) -> bytes:
    out = io.BytesIO()
    picture = Image.open(io.BytesIO(image_bytes(3, "PNG", size=(64, 48))))
    picture.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


VALID = {fmt: _valid(fmt) for fmt in ("PNG", "JPEG", "GIF")}


@st.composite
def mutated(draw) -> bytes:
    """A valid PNG, JPEG or GIF with bytes flipped, cut, inserted or overwritten."""
    data = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff"]))
        if not data:
            break
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_validation_returns_an_image_or_a_rejection_and_nothing_else_quickly(data):
    started = time.monotonic()
    try:
        prepared = prepare(data, 32, with_content_hash=True)
    except RejectedImage:
        pass
    else:
        assert isinstance(prepared, PreparedImage) and prepared.pixels.shape == (32, 32, 3)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_the_unmutated_images_are_valid(fmt):
    assert prepare(VALID[fmt], 32).pixels.shape == (32, 32, 3)

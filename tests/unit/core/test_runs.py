"""core.runs: finding a run from --model_dir, and metadata.json as a typed record."""
import os

import pytest

from core import runs


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

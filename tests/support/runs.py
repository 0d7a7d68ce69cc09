"""New runs for the model-swap tests: a copy of a trained run under another run id and threshold."""
import os
import shutil

from core import runs


def ship_copy(run_dir: str, models: str, run_id: str, threshold: float) -> str:
    """A new run in `models` (a model_type folder), pointed to by `latest` as the trainer points it: the run directory
    is whole before `latest` names it. Same weights, so only the run id and the rule tell the runs apart."""
    target = os.path.join(models, run_id)
    shutil.copytree(run_dir, target)
    metadata = runs.RunMetadata.read(target)
    runs.RunMetadata.from_dict({**metadata.to_dict(), "run_id": run_id, "threshold": threshold}).write(target)
    runs.point_latest(models, run_id)
    return target

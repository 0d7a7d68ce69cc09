"""Modules that run on workers import without TensorFlow; prepare leaves Pillow's globals alone (fresh interpreters)."""
from __future__ import annotations

import pathlib
import subprocess
import sys

from tests import support

ROOT = pathlib.Path(support.REPO_ROOT)


# Imported by Beam workers (DoFns, the model handler) or by every command at start-up.
TENSORFLOW_FREE = ("core.features", "core.runs", "core.results", "core.dead_letters", "core.storage", "core.inputs",
                   "core.config", "transforms.image", "transforms.descriptors", "models.boosted", "models.run",
                   "models.spec", "models.inference", "pipelines.sources", "pipelines.ingest", "pipelines.label",
                   "pipelines.labelling", "pipelines.streaming", "pipelines.pubsub")


def test_worker_modules_import_without_tensorflow():
    loaded = "sorted(m for m in ('tensorflow', 'keras', 'lightgbm') if m in sys.modules)"
    probe = f"import sys\nimport {', '.join(TENSORFLOW_FREE)}\nprint({loaded})"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


REPO_ROOT = pathlib.Path(support.REPO_ROOT)


def test_module_imports_without_tensorflow_and_leaves_pillow_globals_alone() -> None:
    script = (
        "import sys\n"
        "from PIL import Image, ImageFile\n"
        "limit = Image.MAX_IMAGE_PIXELS\n"
        "import transforms.image\n"
        "assert 'tensorflow' not in sys.modules, 'transforms.image imported tensorflow'\n"
        "assert Image.MAX_IMAGE_PIXELS == limit and ImageFile.LOAD_TRUNCATED_IMAGES is False\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True)

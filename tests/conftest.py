"""Shared fixtures, and an honest exit code for processes that ran tf.Transform."""
import io
import os
import sys

import numpy as np
import pytest
from PIL import Image

pytest_plugins = ["tests.emulators"]  # first, so its environment is set before gcsfs is imported

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub from a test
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REAL_SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "real_sample")


def image_bytes(seed: int, fmt: str = "PNG", size: tuple[int, int] = (96, 64), mode: str = "RGB", **save_args) -> bytes:
    """A small, distinct test picture (blocks of colour plus noise) encoded as `fmt`."""
    rng = np.random.default_rng(seed)
    pixels = np.repeat(np.repeat(rng.integers(0, 256, (size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8), 8, 0), 8, 1)
    picture = Image.fromarray(pixels[: size[1], : size[0]]).convert(mode)
    out = io.BytesIO()
    picture.save(out, fmt, **save_args)
    return out.getvalue()


@pytest.fixture(scope="session")
def real_sample() -> str:
    if not os.path.isdir(REAL_SAMPLE):
        pytest.skip(f"real sample not found at {REAL_SAMPLE} (it lives in ../shared beside the checkout)")
    return os.path.abspath(REAL_SAMPLE)


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT] = int(exitstatus)


def pytest_unconfigure(config):
    """A process that ran a tf.Transform pipeline segfaults at interpreter exit
    (rc 139) after the work is done: leave with pytest's own status instead."""
    if "tensorflow_transform.beam" in sys.modules and _EXIT in config.stash:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash[_EXIT])


_EXIT = pytest.StashKey[int]()

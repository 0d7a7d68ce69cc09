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
    pixels = np.repeat(
        np.repeat(rng.integers(0, 256, (size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8), 8, 0), 8, 1
    )
    picture = Image.fromarray(pixels[: size[1], : size[0]]).convert(mode)
    out = io.BytesIO()
    picture.save(out, fmt, **save_args)
    return out.getvalue()


def label_command(model_dir: str, input_: str, output: str, *extra: str) -> list[str]:
    """`python -m pipelines.label` on the DirectRunner, as a user types it (for tests that run it as a process)."""
    return [sys.executable, "-m", "pipelines.label", "--runner=DirectRunner", "--model_dir", model_dir,
            "--input", input_, "--output", output, *extra]


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
        from pipelines import cli

        cli.exit_now(config.stash[_EXIT])


_EXIT = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def demo_ingest(tmp_path_factory) -> str:
    """A small ingest output (demo generator, 32 px) shared by the trainer and labeller tests."""
    import yaml

    from pipelines import ingest

    root = tmp_path_factory.mktemp("demo_ingest")
    config = root / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": 32, "split": {"train": 0.6, "val": 0.2, "test": 0.2},
                                      "sources": [{"type": "demo", "size": 60, "seed": 11}]}))
    ingest.run(["--runner=DirectRunner", f"--config={config}", f"--output_dir={root / 'out'}"])
    return str(root / "out")


@pytest.fixture(scope="session")
def trained(demo_ingest, tmp_path_factory) -> dict:
    """One short real training run of the shipped `demo` model; its summary and BASE_DIR."""
    from pipelines import train

    base = str(tmp_path_factory.mktemp("base"))
    previous = os.environ.get("BASE_DIR")
    os.environ["BASE_DIR"] = base
    try:
        summary = train.run(["--model_type", "demo", "--data_dir", demo_ingest, "--epochs", "2", "--batch_size", "16"])
    finally:
        if previous is None:
            os.environ.pop("BASE_DIR")
        else:
            os.environ["BASE_DIR"] = previous
    return {"summary": summary, "base": base, "data_dir": demo_ingest}

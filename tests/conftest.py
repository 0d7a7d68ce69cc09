"""Test layers (docs/ARCHITECTURE.md, Tests): unit/ (no training, no process: `pytest tests/unit`), beam/
(TestPipeline segments and parity), e2e/ (processes, emulators, Chromium, Dask, training; marked `e2e`).
Shared fixtures live in tests/support; an honest exit code for processes that ran tf.Transform."""
import os
import pathlib
import sys

import pytest

# The emulators first, so their environment is set before gcsfs is imported.
pytest_plugins = ["tests.support.emulators", "tests.support.fixtures"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub from a test
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

E2E = pathlib.Path(__file__).parent / "e2e"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: starts processes, emulators, a browser or a cluster, or trains a model")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT] = int(exitstatus)


def pytest_unconfigure(config):
    """A process that ran a tf.Transform pipeline segfaults at interpreter exit
    (rc 139) after the work is done: leave with pytest's own status instead."""
    if "tensorflow_transform.beam" in sys.modules and _EXIT in config.stash:
        from pipelines import cli

        cli.exit_now(config.stash[_EXIT])


_EXIT = pytest.StashKey[int]()

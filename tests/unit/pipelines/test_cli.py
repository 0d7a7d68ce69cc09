"""pipelines.cli: progress a user can read, and a console without Beam's noise."""
import logging
import os
import pickle

import pytest

from pipelines import cli


@pytest.fixture
def root_logger():
    """setup_logging replaces the root logger's handlers: put them back after the test."""
    root = logging.getLogger()
    saved = root.handlers[:], root.filters[:], root.level
    yield
    root.handlers[:], root.filters[:] = saved[0], saved[1]
    root.setLevel(saved[2])


def test_the_launcher_logs_count_share_and_rate_when_not_on_a_terminal(root_logger, monkeypatch, capsys):
    cli.setup_logging(debug=False)
    monkeypatch.setattr(cli, "_launcher_pid", os.getpid())  # this process as the one cli.main started the command in
    progress = cli.Progress("labelling")
    copy = pickle.loads(pickle.dumps(progress))  # what a DoFn holds on the worker: one display for both
    progress.tick()
    for _ in range(2):
        copy.tick(total=3)
    lines = [line for line in capsys.readouterr().err.splitlines() if "labelling" in line]
    assert len(lines) == 1 and "labelling: 3/3 (100%) in 00:00," in lines[0] and "images/s" in lines[0], lines


def test_a_worker_process_logs_its_own_count_without_the_job_total(root_logger, capsys):
    cli.setup_logging(debug=False)
    progress = cli.Progress("validating")
    for _ in range(4):
        progress.tick(total=10)  # the job's total is not this worker's
    cli.finish_progress()
    err = capsys.readouterr().err
    assert "validating (this worker process): 4 in " in err and "/10" not in err, err


def test_beams_memory_warning_is_left_out_unless_debugging(root_logger, capsys):
    message = "Resource module is not available for current platform, memory usage cannot be fetched."
    cli.setup_logging(debug=False)
    logging.warning(message)
    logging.warning("a warning of ours")
    err = capsys.readouterr().err
    assert message not in err and "a warning of ours" in err
    cli.setup_logging(debug=True)
    logging.warning(message)
    assert message in capsys.readouterr().err

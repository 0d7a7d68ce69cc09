"""Commands as processes: --help, and Ctrl-C that a command does not stop on."""
import os
import pathlib
import signal
import subprocess
import sys
import time

from tests import support

ROOT = pathlib.Path(support.REPO_ROOT)


def test_help_from_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.ingest", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m pipelines.ingest"), done.stderr[-2000:]
    assert "--output_dir" in done.stdout and "--help_beam" in done.stdout


STUBBORN = """import time
from pipelines import cli
from tests import support

cli.INTERRUPT_GRACE_S = 1.0


def run(argv):
    announced = False
    while True:  # swallows every Ctrl-C, as a runner stuck in a bundle does
        try:
            if not announced:  # inside the try: a Ctrl-C right after the announcement is swallowed too
                announced = True
                print("running", flush=True)
            time.sleep(0.1)
        except KeyboardInterrupt:
            print("swallowed", flush=True)
"""


def test_a_command_that_does_not_stop_on_ctrl_c_is_ended_with_130(tmp_path):
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    root = support.REPO_ROOT
    job = subprocess.Popen([sys.executable, "-c", "from pipelines import cli; cli.main('stubborn')"], cwd=root,
                           env=dict(os.environ, PYTHONPATH=f"{root}:{tmp_path}"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        assert job.stdout.readline().strip() == "running"
        job.send_signal(signal.SIGINT)
        started = time.monotonic()
        log, _ = job.communicate(timeout=30)
    finally:
        job.kill()
    assert job.returncode == 130 and "swallowed" in log and "still running" in log, log[-2000:]
    assert time.monotonic() - started < 10

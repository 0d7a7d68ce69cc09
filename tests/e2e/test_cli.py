"""Commands as processes: --help, and Ctrl-C that a command does not stop on."""
import os
import pathlib
import re
import shutil
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


def _interrupted(tmp_path, name: str, source: str) -> tuple[int, str, float]:
    """Run the stub command `name` (its module `source`) under cli.main and Ctrl-C it once it prints "running":
    its exit code, its output and the seconds it took to end."""
    (tmp_path / f"{name}.py").write_text(source)
    root = support.REPO_ROOT
    job = subprocess.Popen([sys.executable, "-c", f"from pipelines import cli; cli.main('{name}')"], cwd=root,
                           env=dict(os.environ, PYTHONPATH=f"{root}:{tmp_path}"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        assert job.stdout.readline().strip() == "running"
        job.send_signal(signal.SIGINT)
        started = time.monotonic()
        log, _ = job.communicate(timeout=30)
    finally:
        job.kill()
    return job.returncode, log, time.monotonic() - started


def test_a_command_that_does_not_stop_on_ctrl_c_is_ended_with_130(tmp_path):
    code, log, seconds = _interrupted(tmp_path, "stubborn", STUBBORN)
    assert code == 130 and "swallowed" in log and "still running" in log, log[-2000:]
    assert seconds < 10


WRAPPING = """
import time


def run(argv):
    print("running", flush=True)
    try:
        while True:
            time.sleep(0.1)
    except KeyboardInterrupt as err:  # as Beam re-raises a Ctrl-C that lands inside a bundle
        raise RuntimeError("KeyboardInterrupt [while running 'Label/RunInference']") from err
"""


def test_ctrl_c_that_the_runner_re_raises_as_another_error_still_exits_130_without_a_traceback(tmp_path):
    code, log, _ = _interrupted(tmp_path, "wrapping", WRAPPING)
    assert code == 130 and "Interrupted." in log, log[-2000:]
    assert "Traceback" not in log and "Failed." not in log, log[-2000:]


# What TensorFlow (absl, oneDNN, CUDA) and Beam print on their own at start-up.
NOISE = re.compile(r"^[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\]|absl::InitializeLog|Resource module is not available"
                   r"|Missing pipeline option")


def _quiet_env() -> dict:
    """The user's environment: no TF_CPP_MIN_LOG_LEVEL (the tests' conftest sets one)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _three_images(real_sample: str, folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir()
    images = sorted(p for p in pathlib.Path(real_sample).rglob("*") if p.suffix in (".png", ".jpg"))[:3]
    for image in images:
        shutil.copy(image, folder / image.name)
    return folder


def test_a_mistyped_flag_stops_label_before_any_work(real_sample, tmp_path):
    images = _three_images(real_sample, tmp_path / "in")
    done = subprocess.run([sys.executable, "-m", "pipelines.label", "--runner=DirectRunner", "--input", str(images),
                           "--output", str(tmp_path / "out" / "labels"), "--treshold", "0.9"],
                          cwd=ROOT, env=_quiet_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "unrecognized arguments: --treshold 0.9 (did you mean --threshold?)" in done.stderr
    assert "Labelling" not in done.stderr and not (tmp_path / "out").exists()


def test_label_prints_no_start_up_noise_unless_debugging(real_sample, tmp_path):
    """The README's command (no --runner) on three real images: log lines, progress and counters only; --debug
    shows the rest."""
    images = _three_images(real_sample, tmp_path / "in")
    command = [sys.executable, "-m", "pipelines.label", "--input", str(images)]
    quiet = subprocess.run([*command, "--output", str(tmp_path / "quiet" / "labels")], cwd=ROOT, env=_quiet_env(),
                           capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert [line for line in quiet.stderr.splitlines() if NOISE.search(line)] == [], quiet.stderr
    assert "labelling: 3/3 (100%)" in quiet.stderr
    assert len((tmp_path / "quiet" / "labels-00000-of-00001.jsonl").read_text().splitlines()) == 3
    debug = subprocess.run([*command, "--output", str(tmp_path / "debug" / "labels"), "--debug"], cwd=ROOT,
                           env=_quiet_env(), capture_output=True, text=True, timeout=300)
    assert debug.returncode == 0, debug.stderr[-3000:]
    assert any(NOISE.search(line) for line in debug.stderr.splitlines()), debug.stderr[-3000:]


def test_the_installed_command_works_from_any_folder(tmp_path):
    """`chart-sifter` (setup.py's console script, in the venv's bin) needs neither the checkout as working
    directory nor PYTHONPATH: train's default model config is found as shipped."""
    program = pathlib.Path(sys.executable).parent / "chart-sifter"
    assert program.exists(), "the console script is missing: reinstall (`make install`, pip install -e '.[dev]')"
    env = {k: v for k, v in _quiet_env().items() if k != "PYTHONPATH"}
    listed = subprocess.run([str(program), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and all(f"  {c} " in listed.stdout for c in ("ingest", "train", "label", "demo"))
    helped = subprocess.run([str(program), "train", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: chart-sifter train "), helped.stderr[-3000:]
    config = ROOT / "configs" / "model_config.yaml"
    assert str(config) in helped.stdout.replace("\n", "").replace(" ", "")
    refused = subprocess.run([str(program), "train", "--model_type", "nope"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and f"unknown model_type 'nope' in {config}" in refused.stderr, refused.stderr
    assert [line for line in refused.stderr.splitlines() if NOISE.search(line)] == []

"""What every command shares: logging (a quiet console unless --debug), the base directory, progress, and a
clean exit code."""
import atexit
import importlib
import importlib.abc
import importlib.util
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from typing import Optional

from core import stderr

BASE_DIR_ENV = "BASE_DIR"
DEFAULT_BASE_DIR = "artifacts"
INTERRUPT_GRACE_S = 30.0  # after Ctrl-C, how long a command may take to stop before it is ended anyway
PROGRESS_LOG_EVERY_S = 30.0  # progress as log lines (not a terminal, or a worker process): at most this often

# TensorFlow's start-up lines (oneDNN, CUDA stubs, CPU features) are written by absl's C++ logging to stderr while
# `import tensorflow` loads its libraries, before any setting is read; later ones (cuInit) obey TF_CPP_MIN_LOG_LEVEL.
_TF_START_UP = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called"
                          r"|[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] |To enable the following instructions: ")
_BEAM_NOISE = ("Resource module is not available",)  # RunInference, each batch: it fails to import torch
_launcher_pid: Optional[int] = None  # the process cli.main runs its command in
_interrupt_seen = False  # set by the first Ctrl-C: what the command raises after it is the interrupt's doing


def base_dir() -> str:
    """Where outputs go by default: $BASE_DIR, else artifacts/."""
    return os.environ.get(BASE_DIR_ENV, DEFAULT_BASE_DIR)


def setup_logging(debug: bool) -> None:
    """Log lines on stderr (above the progress bar, on a terminal). Unless `debug`: our libraries' INFO chatter,
    Beam's and (in a command's process, before TensorFlow loads) TensorFlow's start-up messages are left out."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[_AboveTheBar() if _shows_bars() else logging.StreamHandler()],
        force=True,
    )
    if debug:
        logging.getLogger().removeFilter(_drop_beam_noise)
        return
    for noisy in ("apache_beam", "tensorflow", "h5py", "matplotlib", "urllib3", "google",
                  "distributed"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("absl").setLevel(logging.ERROR)  # tf.Transform's format advice, once per dataset
    logging.getLogger().addFilter(_drop_beam_noise)  # Beam logs it on the root logger
    if in_launcher() and "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read when TensorFlow loads; hides no GPU
        if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _QuietTensorFlowImport())


def _drop_beam_noise(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_BEAM_NOISE)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs `import tensorflow` (once) with TensorFlow's start-up lines filtered out of stderr (fd 2)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader  # as if it had been imported plainly
        with stderr.without(_TF_START_UP):
            self._loader.exec_module(module)


def in_launcher() -> bool:
    """Whether this is the process a command was started in (the DirectRunner runs the pipeline in it too)."""
    return os.getpid() == _launcher_pid


def _shows_bars() -> bool:
    return in_launcher() and sys.stderr.isatty()


class _AboveTheBar(logging.StreamHandler):
    """Writes log lines above the progress bars instead of through them."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001  (logging's own contract: never raise from a handler)
            self.handleError(record)


class Progress:
    """Items done, their rate, and with a total the share done and the time left (tqdm): a bar on a terminal, else a
    log line every PROGRESS_LOG_EVERY_S. The process that launched the command (the DirectRunner's, where the whole
    pipeline runs) shows the job's; a worker process elsewhere logs its own count (there, Beam's counters are the
    job's progress). Pickled into DoFns: the copies in one process share one display."""

    def __init__(self, what: str, unit: str = "image"):
        self.what, self.unit = what, unit
        self._key = uuid.uuid4().hex

    def start(self) -> None:
        """Start the clock (a DoFn's setup); the first tick does it otherwise."""
        self._display()

    def tick(self, total: Optional[int] = None) -> None:
        """One more item done; `total`: how many the job has, where known."""
        self._display().tick(total)

    def _display(self) -> "_Display":
        with _displays_lock:
            display = _displays.get(self._key)
            if display is None:
                display = _displays[self._key] = _Display(self.what, self.unit)
            return display


class _Display:
    """One Progress's tqdm counter in this process: a bar on the launcher's terminal, else log lines."""

    BAR = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}]"
    COUNT = "{desc}: {n_fmt} [{elapsed}, {rate_noinv_fmt}]"
    LINE = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%) in {elapsed}, {rate_noinv_fmt}, {remaining} left"
    COUNT_LINE = "{desc}: {n_fmt} in {elapsed}, {rate_noinv_fmt}"

    def __init__(self, what: str, unit: str):
        from tqdm import tqdm

        self._lock = threading.Lock()
        self._bar_shown, self._whole_job = _shows_bars(), in_launcher()
        self._out = sys.stderr if self._bar_shown else open(os.devnull, "w")
        self._bar = tqdm(desc=what if self._whole_job else f"{what} (this worker process)", unit=f" {unit}s",
                         bar_format=self.COUNT, file=self._out, dynamic_ncols=True)
        self._logged = time.monotonic()

    def tick(self, total: Optional[int]) -> None:
        with self._lock:
            if self._bar.disable:  # closed
                return
            if total is not None and self._whole_job and self._bar.total != total:  # a worker's share has none
                self._bar.total, self._bar.bar_format = total, self.BAR
            self._bar.update(1)
            done = self._bar.total is not None and self._bar.n >= self._bar.total
            if not self._bar_shown and (done or time.monotonic() - self._logged >= PROGRESS_LOG_EVERY_S):
                self._log(final=done)
            if done:
                self._close()

    def _log(self, final: bool) -> None:
        line = self.COUNT_LINE if self._bar.total is None else self.LINE
        meter = {**self._bar.format_dict, "bar_format": line}
        if final:  # the whole run's rate, as tqdm's own last line shows
            meter.update(rate=None, bar_format=line.replace(", {remaining} left", ""))
        logging.info("%s", self._bar.format_meter(**meter))
        self._logged = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if not self._bar.disable:
                if not self._bar_shown:
                    self._log(final=True)
                self._close()

    def _close(self) -> None:
        self._bar.close()
        if self._out is not sys.stderr:
            self._out.close()


_displays: dict[str, _Display] = {}
_displays_lock = threading.Lock()


def finish_progress() -> None:
    """Close every progress display of this process (its last state stays on screen)."""
    with _displays_lock:
        displays = list(_displays.values())
        _displays.clear()
    for display in displays:
        display.close()


def main(module: str) -> None:
    """Run `<module>.run(sys.argv[1:])`; exit 0 on success, 1 on failure, 130 on Ctrl-C.

    The module is imported by name rather than used as `__main__` (what `python -m` makes
    it), so Beam workers in other processes can unpickle its DoFns and element types.
    Any process that ran a tf.Transform pipeline segfaults while the interpreter shuts
    down, after the work is done: after the exit handlers have run (they delete
    TensorFlow's temporary files), `os._exit` skips that teardown so the exit code
    tells the truth. Ctrl-C that Beam swallows or hangs on still ends the run (see `_interrupted`).
    """
    global _launcher_pid
    _launcher_pid = os.getpid()
    code = 0
    signal.signal(signal.SIGINT, _interrupted)
    try:
        importlib.import_module(module).run(sys.argv[1:])
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except KeyboardInterrupt:
        code = _stopped()
    except Exception as err:  # after a Ctrl-C, Beam re-raises it from inside a bundle as a RuntimeError
        if _interrupt_seen:
            code = _stopped()
        elif isinstance(err, (ValueError, ConnectionError, FileNotFoundError)):
            logging.error("%s", err)
            code = 1
        else:
            logging.exception("Failed.")
            code = 1
    exit_now(code)


def _stopped() -> int:
    logging.error("Interrupted.")
    return 130


def _interrupted(signum: int, frame) -> None:
    """Ctrl-C: raise KeyboardInterrupt as usual, and exit 130 if the command is still running
    INTERRUPT_GRACE_S later (Beam's FnApiRunner can hang in the bundle the interrupt landed in)."""
    global _interrupt_seen
    _interrupt_seen = True
    watchdog = threading.Timer(INTERRUPT_GRACE_S, _still_running)
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt


def _still_running() -> None:
    logging.error("Interrupted, and still running %.0f s later: exiting.", INTERRUPT_GRACE_S)
    exit_now(130)


def exit_now(code: int) -> None:
    """Run the exit handlers, flush, and leave without the interpreter teardown."""
    finish_progress()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

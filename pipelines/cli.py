"""What every command shares: logging, the base directory, and a clean exit code."""
import atexit
import importlib
import logging
import os
import signal
import sys
import threading
import time

BASE_DIR_ENV = "BASE_DIR"
DEFAULT_BASE_DIR = "artifacts"
INTERRUPT_GRACE_S = 30.0  # after Ctrl-C, how long a command may take to stop before it is ended anyway


def base_dir() -> str:
    """Where outputs go by default: $BASE_DIR, else artifacts/."""
    return os.environ.get(BASE_DIR_ENV, DEFAULT_BASE_DIR)


def setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if not debug:
        for noisy in ("apache_beam", "tensorflow", "h5py", "matplotlib", "urllib3", "google",
                      "distributed"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        logging.getLogger("absl").setLevel(logging.ERROR)  # tf.Transform's format advice, once per dataset


class Progress:
    """A progress line every `every` items, per worker: long runs show they are moving."""

    def __init__(self, what: str, every: int = 500):
        self._what, self._every = what, every
        self._count, self._started = 0, time.monotonic()

    def tick(self) -> None:
        self._count += 1
        if self._count % self._every == 0:
            rate = self._count / max(time.monotonic() - self._started, 1e-9)
            logging.info("%s: %d in this worker (%.1f/s)", self._what, self._count, rate)


def main(module: str) -> None:
    """Run `<module>.run(sys.argv[1:])`; exit 0 on success, 1 on failure, 130 on Ctrl-C.

    The module is imported by name rather than used as `__main__` (what `python -m` makes
    it), so Beam workers in other processes can unpickle its DoFns and element types.
    Any process that ran a tf.Transform pipeline segfaults while the interpreter shuts
    down, after the work is done: after the exit handlers have run (they delete
    TensorFlow's temporary files), `os._exit` skips that teardown so the exit code
    tells the truth. Ctrl-C that Beam swallows or hangs on still ends the run (see `_interrupted`).
    """
    code = 0
    signal.signal(signal.SIGINT, _interrupted)
    try:
        importlib.import_module(module).run(sys.argv[1:])
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except KeyboardInterrupt:
        logging.error("Interrupted.")
        code = 130
    except (ValueError, ConnectionError, FileNotFoundError) as err:
        logging.error("%s", err)
        code = 1
    except Exception:
        logging.exception("Failed.")
        code = 1
    exit_now(code)


def _interrupted(signum: int, frame) -> None:
    """Ctrl-C: raise KeyboardInterrupt as usual, and exit 130 if the command is still running
    INTERRUPT_GRACE_S later (Beam's FnApiRunner can hang in the bundle the interrupt landed in)."""
    watchdog = threading.Timer(INTERRUPT_GRACE_S, _still_running)
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt


def _still_running() -> None:
    logging.error("Interrupted, and still running %.0f s later: exiting.", INTERRUPT_GRACE_S)
    exit_now(130)


def exit_now(code: int) -> None:
    """Run the exit handlers, flush, and leave without the interpreter teardown."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

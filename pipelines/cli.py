"""What every command shares: logging, the base directory, and a clean exit code."""
import logging
import os
import sys
import time
from typing import Callable

from apache_beam.options.pipeline_options import PipelineOptions

BASE_DIR_ENV = "BASE_DIR"
DEFAULT_BASE_DIR = "artifacts"


class ChartSifterOptions(PipelineOptions):
    """Options every Chart Sifter pipeline takes (Beam parses all option classes together,
    so a flag shared by several pipelines is declared once, here)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--debug", action="store_true", help="Verbose logging.")


def base_dir() -> str:
    """Where outputs go by default: $BASE_DIR, else artifacts/."""
    return os.environ.get(BASE_DIR_ENV, DEFAULT_BASE_DIR)


def setup_logging(debug: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    if not debug:
        for noisy in ("apache_beam", "tensorflow", "h5py", "matplotlib", "urllib3", "google"):
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


def main(run: Callable[[list[str]], object]) -> None:
    """Run a command and exit 0 on success, 1 on failure.

    Any process that ran a tf.Transform pipeline segfaults while the interpreter
    shuts down, after the work is done; `os._exit` skips that teardown so the
    exit code tells the truth.
    """
    code = 0
    try:
        run(sys.argv[1:])
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
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

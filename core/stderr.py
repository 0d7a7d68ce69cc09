"""Native libraries' chatter kept off the console: what C++ code writes to fd 2 while it loads, filtered by line."""
import contextlib
import os
import re
import sys
import tempfile


@contextlib.contextmanager
def without(noise: re.Pattern):
    """Everything written to fd 2 meanwhile (C++ included) is held back, then written without lines matching
    `noise`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not noise.match(line)))
            sys.stderr.flush()

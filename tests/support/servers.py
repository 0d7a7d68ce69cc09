"""`pipelines.serve` started as a user starts it (on a free port of 127.0.0.1), and headless Chromium for its pages."""
import contextlib
import os
import socket
import subprocess
import sys
import time
from typing import Iterator

import httpx
import pytest

from tests import support

CHROMIUM = "/usr/bin/chromium"  # Debian's (make test installs it); Playwright never downloads one
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str, log=subprocess.PIPE) -> subprocess.Popen:
    """`python -m pipelines.serve ARGS` from the repository root (its output to `log`: a file, or a pipe to read)."""
    return subprocess.Popen([sys.executable, "-m", "pipelines.serve", *args], cwd=support.REPO_ROOT,
                            env=dict(os.environ, PYTHONPATH=support.REPO_ROOT), stdout=log, stderr=subprocess.STDOUT,
                            text=True)


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: str, timeout: float = 120) -> None:
    """Until /health answers 200; fails with the server's log if it exits or does not answer in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, open(log_path).read()[-3000:]
        time.sleep(0.3)


@contextlib.contextmanager
def hanging_store() -> Iterator[str]:
    """An http:// prefix whose server takes connections and never answers (a store that hangs)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    finally:
        server.close()


@contextlib.contextmanager
def serving(*args: str, log_path: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """(its URL, the process) of a server with these flags, healthy; stopped on exit. Its log goes to `log_path`."""
    port = free_port()
    with open(log_path, "w") as log:
        process = start(*args, "--port", str(port), log=log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process, log_path)
            yield url, process
        finally:
            process.terminate()
            process.wait(30)


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright's Browser); skips the test where it is missing unless
    CHART_SIFTER_REQUIRE_BROWSER is set (make test sets it: there a missing browser fails)."""
    if not os.path.exists(CHROMIUM) and not os.environ.get("CHART_SIFTER_REQUIRE_BROWSER"):
        pytest.skip(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()

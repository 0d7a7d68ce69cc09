"""Local stand-ins for Google Cloud Storage and Pub/Sub, as pytest fixtures.

Google Cloud is unreachable from tests, so these fixtures start emulators on
127.0.0.1 (a free port each), point every client library at them through the
environment, and stop them at the end of the session.

Use them by registering this module as a plugin, in a test module or in the
top-level ``tests/conftest.py``::

    pytest_plugins = ["tests.support.emulators"]

Fixtures
--------
``gcs_emulator`` (session)
    ``gcp-storage-emulator`` in a subprocess, in memory. Yields a
    :class:`GcsEmulator`: ``.endpoint``, ``.project``, ``.client``,
    ``make_bucket(name) -> "gs://name"``, ``unique_bucket()``,
    ``upload(uri, data)``, ``list(prefix_uri)``, ``read(uri)``.
    Works with google-cloud-storage, gcsfs / ``fsspec.open("gs://...")`` and
    Beam's ``FileSystems`` (also inside DirectRunner pipelines).
``gcs_bucket`` (function)
    A fresh, empty bucket on that emulator, as ``"gs://name"``.
``pubsub_emulator`` (session)
    The official Pub/Sub emulator (Java, from the Cloud SDK). Yields a
    :class:`PubSubEmulator`: ``.host``, ``.project``,
    ``create_topic_and_subscription(topic, sub)``, ``publish(topic_path, data,
    **attributes)``, ``pull(...)``, ``stop_streaming_pipeline(result,
    topic_path)``. Skips the test when the emulator or Java is missing.

Environment, and why
--------------------
``STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT``
    Read by google-cloud-storage (which then goes anonymous), by gcsfs and
    therefore by Beam's ``gs://`` filesystem, which uses google-cloud-storage.
``GOOGLE_CLOUD_PROJECT=test-project``
    The project the clients report.
``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``
    gcsfs reads this **once, when it is imported**. Left at its default
    (true) gcsfs swaps in its ``ExtendedGcsFileSystem``, whose bucket probe
    waits out a 60 s gRPC timeout against an emulator. This module sets it at
    import time, so the plugin must be loaded before anything imports gcsfs
    (registering it via ``pytest_plugins`` does that; the fixture raises if
    gcsfs was imported with the extended class anyway).
``GOOGLE_APPLICATION_CREDENTIALS=<tmp>/emulator-adc.json``
    The fix for Beam's ~25 s wait on its first ``gs://`` access. Beam's
    ``apache_beam.internal.gcp.auth`` calls ``google.auth.default()`` with
    ``@retry.with_exponential_backoff(num_retries=4, initial_delay_secs=2)``;
    with no credentials on the machine every try fails at once and the retry
    sleeps (2+4+8+16 s, fuzzed) before Beam falls back to an anonymous client.
    Beam's ``--no_auth`` / ``GoogleCloudOptions.no_auth`` does NOT help: only
    the Dataflow client reads it, ``gcsio`` does not (measured: still 24 s).
    Instead the fixture writes an Application Default Credentials file of type
    ``authorized_user`` holding a dummy access token that expires in 2099, so
    ``google.auth.default()`` succeeds on the first try and never needs to
    refresh (no network); the emulator ignores the ``Authorization`` header.
    Being an environment variable it also covers ``FileSystems`` used outside
    any pipeline and Beam worker subprocesses (``multi_processing`` mode),
    which an in-process patch could not. First ``gs://`` match: ~0.015 s.
    (An in-process alternative is to pre-seed Beam's private cache:
    ``auth._Credentials._credentials_init = True; auth._Credentials._credentials
    = None``, which gives the anonymous client at once; private API, so not
    used here.) Beam caches the credentials for the rest of the process.
``PUBSUB_EMULATOR_HOST=127.0.0.1:PORT``
    Read by google-cloud-pubsub when a client is created (plain-text gRPC,
    anonymous). Beam's DirectRunner ``ReadFromPubSub`` creates its own
    ``SubscriberClient``, so it follows too.

Every variable is restored when the fixture ends.

Stopping a streaming DirectRunner pipeline
------------------------------------------
``result.cancel()`` on a streaming DirectRunner (BundleBasedDirectRunner)
pipeline reading Pub/Sub takes ~24-30 s: the runner has ONE worker thread,
and it sits in a synchronous ``pull(timeout=30)`` that the emulator holds open
until a message arrives; ``cancel()`` joins that thread. Publishing one
message while ``cancel()`` runs ends the pull at once and the pipeline stops in
~0.3 s: :func:`cancel_streaming_pipeline` / ``PubSubEmulator.
stop_streaming_pipeline`` do that (the wake-up message carries the attribute
:data:`WAKEUP_ATTRIBUTE`; in a rare race a pipeline may see it, so filter it if
a test counts every message).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Callable, Iterator, Optional

import pytest

# Must happen before gcsfs is imported anywhere in this process (see above).
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

PROJECT = "test-project"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
PUBSUB_MISSING = "Pub/Sub emulator not installed: apt-get install google-cloud-cli-pubsub-emulator (needs Java)"
WAKEUP_ATTRIBUTE = "chart_sifter_wakeup"
WAKEUP_DATA = b"__chart_sifter_wakeup__"

_FAKE_ADC = {
    "type": "authorized_user",
    "client_id": "chart-sifter-emulator",
    "client_secret": "unused",
    "refresh_token": "unused",
    "token": "emulator-dummy-token",  # valid until expiry: google-auth never refreshes it
    "expiry": "2099-12-31T23:59:59Z",
}


# --------------------------------------------------------------------------- helpers

def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.25) -> bool:
    try:
        socket.create_connection((host, port), timeout).close()
        return True
    except OSError:
        return False


def _log_tail(path: str, limit: int = 3000) -> str:
    try:
        with open(path, "rb") as f:
            return f.read()[-limit:].decode("utf-8", "replace")
    except OSError:
        return "<no log>"


def stop_process_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM the process group started with ``start_new_session=True``, then SIGKILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.killpg(proc.pid, sig)  # pgid == pid (new session)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


_DEATH_SIG_PREFIX: Optional[list[str]] = None


def orphan_guard() -> list[str]:
    """Command prefix that SIGTERMs the emulator if this process dies without teardown.

    pytest killed by SIGKILL or a CI timeout never runs fixture teardown, and the
    emulators live in their own sessions, so they would linger holding ports and
    memory. ``setpriv --pdeathsig TERM`` (util-linux) arms PR_SET_PDEATHSIG, which
    survives the launcher's ``exec java``. Empty where setpriv lacks the option.
    """
    global _DEATH_SIG_PREFIX
    if _DEATH_SIG_PREFIX is None:
        _DEATH_SIG_PREFIX = []
        setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
        if setpriv:
            try:
                usage = subprocess.run([setpriv, "--help"], capture_output=True, text=True, timeout=10).stdout
            except (OSError, subprocess.SubprocessError):
                usage = ""
            if "--pdeathsig" in usage:
                _DEATH_SIG_PREFIX = [setpriv, "--pdeathsig", "TERM", "--"]
    return list(_DEATH_SIG_PREFIX)


def split_gs(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``; ``gs://bucket`` -> ``("bucket", "")``."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket, _, name = uri[len("gs://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, name


def _gcsfs_sanity_check() -> None:
    """Fail loudly if gcsfs was imported before GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false."""
    gcsfs = sys.modules.get("gcsfs")
    if gcsfs is None:
        return
    if gcsfs.GCSFileSystem.__name__ == "ExtendedGcsFileSystem":
        raise RuntimeError(
            "gcsfs was imported before tests/support/emulators.py set GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false; "
            "its bucket probes would wait out 60 s gRPC timeouts against the emulator. Register "
            "pytest_plugins = ['tests.support.emulators'] in the top-level conftest, or export the variable.")
    # fsspec caches filesystem instances; one made before the emulator existed points elsewhere.
    gcsfs.GCSFileSystem.clear_instance_cache()


# --------------------------------------------------------------------------- GCS

class GcsEmulator:
    """Handle on a running gcp-storage-emulator (``gs://`` URIs everywhere)."""

    def __init__(self, endpoint: str, project: str, proc: subprocess.Popen, log_path: str):
        self.endpoint = endpoint
        self.project = project
        self.proc = proc
        self.log_path = log_path
        self._client = None

    @property
    def client(self):
        """A google-cloud-storage client on the emulator (anonymous)."""
        if self._client is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._client = storage.Client(
                project=self.project, credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.endpoint})
        return self._client

    def make_bucket(self, name: str) -> str:
        """Create bucket `name` (no error if it exists); returns ``"gs://name"``."""
        from google.api_core.exceptions import Conflict

        try:
            self.client.create_bucket(name)
        except Conflict:
            pass
        return f"gs://{name}"

    def unique_bucket(self, prefix: str = "test") -> str:
        return self.make_bucket(f"{prefix}-{uuid.uuid4().hex[:12]}")

    def upload(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        bucket, name = split_gs(uri)
        if not name:
            raise ValueError(f"no object name in {uri!r}")
        self.client.bucket(bucket).blob(name).upload_from_string(data, content_type=content_type)
        return uri

    def list(self, prefix_uri: str) -> list[str]:
        """Every object under a ``gs://bucket[/prefix]``, as sorted ``gs://`` URIs."""
        bucket, prefix = split_gs(prefix_uri)
        return sorted(f"gs://{bucket}/{b.name}" for b in self.client.list_blobs(bucket, prefix=prefix or None))

    def read(self, uri: str) -> bytes:
        bucket, name = split_gs(uri)
        return self.client.bucket(bucket).blob(name).download_as_bytes()

    def delete(self, uri: str) -> None:
        bucket, name = split_gs(uri)
        self.client.bucket(bucket).blob(name).delete()


def _gcs_ready(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/storage/v1/b?project={PROJECT}", timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_gcs_emulator(log_dir: str, attempts: int = 3) -> tuple[subprocess.Popen, str, str]:
    """Start ``python -m gcp_storage_emulator`` on a free port; returns (process, endpoint, log path).

    A subprocess rather than ``create_server`` in-process: its HTTP server is
    single-threaded and would share this process's GIL with Beam, TensorFlow and
    the test itself; a separate process cannot be starved or deadlocked by them.
    """
    last = ""
    for attempt in range(attempts):
        port = free_port()
        endpoint = f"http://{HOST}:{port}"
        log_path = os.path.join(log_dir, f"gcs-emulator-{attempt}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                orphan_guard() + [sys.executable, "-m", "gcp_storage_emulator", "start",
                 "--host", HOST, "--port", str(port), "--in-memory"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if _gcs_ready(endpoint):
                return proc, endpoint, log_path
            time.sleep(0.05)
        stop_process_group(proc)
        last = _log_tail(log_path)  # port taken by someone else in between, or a real failure
    raise RuntimeError(f"gcp-storage-emulator did not start after {attempts} tries; last log:\n{last}")


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory) -> Iterator[GcsEmulator]:
    _gcsfs_sanity_check()
    work = str(tmp_path_factory.mktemp("gcs-emulator"))
    proc, endpoint, log_path = start_gcs_emulator(work)
    adc = os.path.join(work, "emulator-adc.json")
    with open(adc, "w") as f:
        json.dump(_FAKE_ADC, f)
    emulator = GcsEmulator(endpoint, PROJECT, proc, log_path)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("STORAGE_EMULATOR_HOST", endpoint)
            mp.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
            mp.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
            mp.setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
            yield emulator
            if "gcsfs" in sys.modules:
                sys.modules["gcsfs"].GCSFileSystem.clear_instance_cache()
    finally:
        stop_process_group(proc)


@pytest.fixture
def gcs_bucket(gcs_emulator: GcsEmulator) -> str:
    """A fresh, empty bucket for one test: ``"gs://test-<random>"``."""
    return gcs_emulator.unique_bucket()


# --------------------------------------------------------------------------- Pub/Sub

_PUBSUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$")


def _check_pubsub_name(kind: str, name: str) -> None:
    # The emulator's own message for a bad name is only "400 Invalid [topics] name: (name=...)".
    if not _PUBSUB_NAME.match(name) or name.lower().startswith("goog"):
        raise ValueError(
            f"invalid Pub/Sub {kind} name {name!r}: 3-255 characters, starting with a letter, "
            "of letters, digits and - _ . ~ + %, not starting with 'goog'")


def find_pubsub_emulator() -> Optional[str]:
    """Path of the ``cloud-pubsub-emulator`` launcher, or None."""
    explicit = os.environ.get("PUBSUB_EMULATOR_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    on_path = shutil.which("cloud-pubsub-emulator")
    if on_path:
        return on_path
    rel = os.path.join("platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")
    roots = []
    gcloud = shutil.which("gcloud")
    if gcloud:
        # /usr/bin/gcloud -> /usr/lib/google-cloud-sdk/bin/gcloud: the SDK root is two levels up.
        roots.append(os.path.dirname(os.path.dirname(os.path.realpath(gcloud))))
    roots += ["/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk", "/opt/google-cloud-sdk",
              os.path.expanduser("~/google-cloud-sdk")]
    for root in roots:
        candidate = os.path.join(root, rel)
        if os.access(candidate, os.X_OK):
            return candidate
    if gcloud:  # unusual layout: ask gcloud itself (slow, ~1-2 s)
        try:
            root = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = ""
        candidate = os.path.join(root, rel) if root else ""
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home:
        return os.access(os.path.join(home, "bin", "java"), os.X_OK)
    return shutil.which("java") is not None


def start_pubsub_emulator(launcher: str, log_dir: str, attempts: int = 3) -> tuple[subprocess.Popen, str, str]:
    """Start the launcher on a free port in its own process group; returns (process, host:port, log path)."""
    last = ""
    for attempt in range(attempts):
        port = free_port()
        log_path = os.path.join(log_dir, f"pubsub-emulator-{attempt}.log")
        with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would stall the JVM
            proc = subprocess.Popen(
                orphan_guard() + [launcher, f"--host={HOST}", f"--port={port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if port_open(HOST, port):
                return proc, f"{HOST}:{port}", log_path
            time.sleep(0.1)
        stop_process_group(proc)
        last = _log_tail(log_path)
    raise RuntimeError(f"Pub/Sub emulator did not start after {attempts} tries; last log:\n{last}")


def cancel_streaming_pipeline(result, wake: Optional[Callable[[], object]] = None,
                              timeout: float = 60.0, wake_every: float = 0.5) -> float:
    """Cancel a running (streaming) pipeline; returns the seconds it took.

    ``wake`` is called right after ``cancel()`` starts and then every
    ``wake_every`` s until it returns: publishing a message there ends the
    DirectRunner's blocking Pub/Sub pull, so the stop takes ~0.3 s, not ~30 s.
    """
    start = time.monotonic()
    error: list[BaseException] = []

    def _cancel():
        try:
            result.cancel()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(e)

    worker = threading.Thread(target=_cancel, name="cancel-pipeline", daemon=True)
    worker.start()
    worker.join(0.1)  # let cancel() raise its shutdown flags before the pull is woken
    while worker.is_alive():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"pipeline did not stop within {timeout} s")
        if wake is not None:
            wake()
        worker.join(wake_every)
    if error:
        raise error[0]
    return time.monotonic() - start


class PubSubEmulator:
    """Handle on a running Pub/Sub emulator."""

    wakeup_attribute = WAKEUP_ATTRIBUTE  # marks stop_streaming_pipeline's wake-up message

    def __init__(self, host: str, project: str, proc: subprocess.Popen, log_path: str):
        self.host = host
        self.project = project
        self.proc = proc
        self.log_path = log_path
        self._publisher = None
        self._subscriber = None

    @property
    def publisher(self):
        if self._publisher is None:
            from google.cloud import pubsub_v1

            self._publisher = pubsub_v1.PublisherClient()
        return self._publisher

    @property
    def subscriber(self):
        if self._subscriber is None:
            from google.cloud import pubsub_v1

            self._subscriber = pubsub_v1.SubscriberClient()
        return self._subscriber

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.project}/subscriptions/{subscription}"

    def create_topic_and_subscription(self, topic: str, subscription: str) -> tuple[str, str]:
        """Create both (no error if they exist); returns (topic_path, subscription_path)."""
        from google.api_core.exceptions import AlreadyExists

        _check_pubsub_name("topic", topic)
        _check_pubsub_name("subscription", subscription)
        topic_path, sub_path = self.topic_path(topic), self.subscription_path(subscription)
        try:
            self.publisher.create_topic(name=topic_path, timeout=30)
        except AlreadyExists:
            pass
        try:
            self.subscriber.create_subscription(name=sub_path, topic=topic_path, timeout=30)
        except AlreadyExists:
            pass
        return topic_path, sub_path

    def publish(self, topic_path: str, data: bytes, **attributes) -> str:
        """Publish one message and wait for it to be accepted; returns its message id."""
        attrs = {k: str(v) for k, v in attributes.items()}
        return self.publisher.publish(topic_path, data, **attrs).result(timeout=30)

    def pull(self, subscription_path: str, max_messages: int = 10, timeout: float = 5.0) -> list:
        """Pull and acknowledge up to `max_messages`; returns their ``PubsubMessage`` objects."""
        from google.api_core.exceptions import DeadlineExceeded

        try:
            response = self.subscriber.pull(
                subscription=subscription_path, max_messages=max_messages, timeout=timeout)
        except DeadlineExceeded:
            return []
        if response.received_messages:
            self.subscriber.acknowledge(
                subscription=subscription_path, ack_ids=[m.ack_id for m in response.received_messages])
        return [m.message for m in response.received_messages]

    def stop_streaming_pipeline(self, result, topic_path: str, timeout: float = 60.0) -> float:
        """Cancel a streaming DirectRunner pipeline reading from `topic_path` fast (~0.3 s)."""
        return cancel_streaming_pipeline(
            result, wake=lambda: self.publish(topic_path, WAKEUP_DATA, **{WAKEUP_ATTRIBUTE: "1"}),
            timeout=timeout)

    def close(self) -> None:
        """Close this handle's clients (pipelines' own clients are theirs to close)."""
        for close in (getattr(self._subscriber, "close", None), getattr(self._publisher, "stop", None)):
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - shutting down anyway
                    pass
        self._publisher = self._subscriber = None


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory) -> Iterator[PubSubEmulator]:
    launcher = find_pubsub_emulator()
    if launcher is None or not java_available():
        pytest.skip(PUBSUB_MISSING)
    work = str(tmp_path_factory.mktemp("pubsub-emulator"))
    proc, host, log_path = start_pubsub_emulator(launcher, work)
    emulator = PubSubEmulator(host, PROJECT, proc, log_path)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PUBSUB_EMULATOR_HOST", host)
            mp.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
            yield emulator
            emulator.close()
    finally:
        stop_process_group(proc)

"""Pub/Sub delivery is at-least-once: a job stopped by --duration, killed, or unable to write leaves every message
it has not answered on the subscription, and a second job drains them (on the real emulator, as processes)."""
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from core.results import read_results
from tests import support
from tests.support.images import image_bytes, label_command

ACK_DEADLINE = "8"  # seconds: how soon a killed job's messages come back


def _inbox(folder, n: int) -> list[str]:
    os.makedirs(folder)
    paths = [os.path.join(folder, f"{i:03d}.png") for i in range(n)]
    for i, path in enumerate(paths):
        with open(path, "wb") as f:
            f.write(image_bytes(i, size=(48, 40)))
    return paths


def _job(model_dir: str, subscription: str, output: str, inbox: str, duration: float,
         ack_deadline: str = ACK_DEADLINE) -> subprocess.Popen:
    command = label_command(model_dir, subscription, output, "--streaming", "--allowed_prefix", inbox + os.sep,
                            "--duration", str(duration), "--poll_interval", "0.5", "--ack_deadline", ack_deadline)
    return subprocess.Popen(command, cwd=support.REPO_ROOT, env=dict(os.environ, PYTHONPATH=support.REPO_ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _answered(*outputs: str) -> set[str]:
    """Every uri with a row or a dead letter under the output prefixes."""
    return {r["uri"] for output in outputs for records in read_results(output) for r in records}


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.3)


@pytest.fixture
def delivery(pubsub_emulator, tmp_path, request):
    name = request.node.name.replace("test_", "")[:40].replace("_", "-")
    topic, subscription = pubsub_emulator.create_topic_and_subscription(f"t-{name}", f"s-{name}")
    inbox = str(tmp_path / "inbox")
    return pubsub_emulator, topic, subscription, inbox, tmp_path


def _finish_drain(model_dir, subscription, inbox, tmp_path, published, *earlier: str, within: float = 120) -> set[str]:
    """What is answered once a second job has run until every published image is (or `within` s passed)."""
    if _answered(*earlier) >= set(published):  # nothing left to drain (a Ctrl-C during start-up is not the test)
        return _answered(*earlier)
    output = str(tmp_path / "drain" / "labels")
    job = _job(model_dir, subscription, output, inbox, within)
    try:
        _wait_for(lambda: _answered(output, *earlier) >= set(published), within, "the second job to drain the rest")
    finally:
        job.send_signal(signal.SIGINT)
        job.communicate(timeout=90)
    answered = _answered(output, *earlier)
    print(f"\npublished {len(published)}, answered after the drain {len(answered & set(published))}, "
          f"lost {len(set(published) - answered)}")
    return answered


def test_a_stop_by_duration_answers_what_it_pulled_and_leaves_the_rest(delivery, model_dir):
    emulator, topic, subscription, inbox, tmp_path = delivery
    published = _inbox(inbox, 40)
    output = str(tmp_path / "first" / "labels")
    job = _job(model_dir, subscription, output, inbox, 25)

    def publish_slowly():  # while the first job runs and stops, and the rest once it has ended
        for path in published:
            emulator.publish(topic, path.encode())
            if job.poll() is None:
                time.sleep(1.0)

    publisher = threading.Thread(target=publish_slowly)
    publisher.start()
    log, _ = job.communicate(timeout=300)
    publisher.join()
    assert job.returncode == 0, log[-3000:]
    first = _answered(output)
    assert first and first < set(published)  # it stopped while messages were still arriving
    assert "Label counters:" in log, log[-3000:]
    counters = dict(re.findall(r"(\w+)=(\d+)", log.split("Label counters:")[-1].splitlines()[0]))
    labelled = sum(int(n) for name, n in counters.items() if name.startswith(("labelled_chart", "labelled_non")))
    assert labelled == len(read_results(output)[0]), log.split("Label counters:")[-1][:500]
    assert int(counters["pubsub_acknowledged"]) == len(first)
    assert _finish_drain(model_dir, subscription, inbox, tmp_path, published, output) >= set(published)


def test_a_killed_job_loses_nothing(delivery, model_dir):
    emulator, topic, subscription, inbox, tmp_path = delivery
    published = _inbox(inbox, 30)
    for path in published:
        emulator.publish(topic, path.encode())
    output = str(tmp_path / "first" / "labels")
    job = _job(model_dir, subscription, output, inbox, 300)
    try:
        _wait_for(lambda: _answered(output), 180, "the first rows")
    finally:
        job.send_signal(signal.SIGKILL)
        job.communicate(timeout=30)
    assert _finish_drain(model_dir, subscription, inbox, tmp_path, published, output) >= set(published)


def test_a_job_that_cannot_write_fails_and_loses_nothing(delivery, model_dir):
    emulator, topic, subscription, inbox, tmp_path = delivery
    published = _inbox(inbox, 30)
    folder = tmp_path / "first"
    output = str(folder / "labels")
    job = _job(model_dir, subscription, output, inbox, 300)
    emulator.publish(topic, published[0].encode())
    try:
        _wait_for(lambda: _answered(output), 180, "the first row")
        kept = tmp_path / "kept"
        shutil.move(folder, kept)  # what it wrote stays readable; further writes meet a file, not a folder
        folder.write_text("not a folder")
        for path in published[1:]:
            emulator.publish(topic, path.encode())
        log, _ = job.communicate(timeout=180)
    finally:
        job.kill()
    assert job.returncode == 1, log[-3000:]
    assert _finish_drain(model_dir, subscription, inbox, tmp_path, published, str(kept / "labels")) >= set(published)


def test_ctrl_c_answers_what_the_job_holds_before_it_exits(delivery, model_dir):
    emulator, topic, subscription, inbox, tmp_path = delivery
    published = _inbox(inbox, 104)
    for path in published[:40]:
        emulator.publish(topic, path.encode())
    output = str(tmp_path / "first" / "labels")
    job = _job(model_dir, subscription, output, inbox, 300, ack_deadline="300")  # abandoned: back only after 300 s
    try:
        _wait_for(lambda: _answered(output), 180, "the first rows")
        for path in published[40:]:  # a batch the next pull takes: Ctrl-C lands while it is being labelled
            emulator.publish(topic, path.encode())
        time.sleep(1.5)
        job.send_signal(signal.SIGINT)
        log, _ = job.communicate(timeout=200)
    finally:
        job.kill()
    assert job.returncode == 130 and "no more pulls" in log, log[-3000:]
    print("\nCtrl-C with", re.search(r"answering the (\d+) messages in flight", log).group(1), "in flight")
    # Nothing it held was abandoned: what it did not answer was never pulled, so a second job gets it at once.
    assert _finish_drain(model_dir, subscription, inbox, tmp_path, published, output, within=60) >= set(published)

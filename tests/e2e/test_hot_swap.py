"""A new run shipped while a streaming label job and a server run: both switch to it without a restart."""
import glob
import os
import subprocess
import time

import httpx

from core.results import read_results
from tests import support
from tests.support import servers
from tests.support.images import image_bytes, label_command
from tests.support.runs import ship_copy

CHECK_S = 1  # --model_check_interval


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _labelled(output: str) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    if glob.glob(output + "-*.jsonl"):
        for row in read_results(output)[0]:
            rows.setdefault(os.path.basename(row["uri"]), []).append(row)
    return rows


def test_a_streaming_job_and_a_server_switch_to_a_newly_shipped_run(trained, tmp_path):
    models = str(tmp_path / "models" / "demo")
    ship_copy(trained["summary"]["model_dir"], models, "run_old", 0.5)
    inbox, output = tmp_path / "inbox", str(tmp_path / "out" / "labels")
    inbox.mkdir()
    before = {f"before{i}.png": image_bytes(i) for i in range(3)}
    after = {f"after{i}.png": image_bytes(10 + i) for i in range(3)}
    for name, data in before.items():
        (inbox / name).write_bytes(data)
    job_log = open(tmp_path / "label.log", "w")
    job = subprocess.Popen(label_command(models, str(inbox), output, "--streaming", "--poll_interval", "1",
                                         "--model_check_interval", str(CHECK_S), "--duration", "300"),
                           stdout=job_log, stderr=subprocess.STDOUT, cwd=support.REPO_ROOT,
                           env=dict(os.environ, PYTHONPATH=support.REPO_ROOT))
    with servers.serving("--model_dir", models, "--model_check_interval", str(CHECK_S),
                         log_path=str(tmp_path / "serve.log")) as (url, _):
        upload = {"file": ("x.png", image_bytes(20))}
        assert httpx.get(f"{url}/model").json()["run_id"] == "run_old"
        old_answer = httpx.post(f"{url}/predict", files=upload, timeout=60).json()["results"][0]
        _wait_for(lambda: set(_labelled(output)) == set(before), 180, "the files present before the new run")

        ship_copy(trained["summary"]["model_dir"], models, "run_new", 0.0)  # every score is a chart at 0
        _wait_for(lambda: httpx.get(f"{url}/model").json()["run_id"] == "run_new", 30, "the server's switch")
        new_answer = httpx.post(f"{url}/predict", files=upload, timeout=60).json()["results"][0]
        time.sleep(CHECK_S)  # the job looks at `latest` again before its next batch
        for name, data in after.items():
            (inbox / name).write_bytes(data)
        _wait_for(lambda: set(_labelled(output)) == set(before) | set(after), 120, "the files dropped after it")
    job.terminate()
    job.wait(60)
    job_log.close()

    assert (old_answer["run_id"], new_answer["run_id"]) == ("run_old", "run_new")
    assert new_answer["score"] == old_answer["score"] and new_answer["label"] == "chart"  # the new run's rule
    rows = _labelled(output)
    assert all(len(found) == 1 for found in rows.values()), rows  # none twice
    assert {name: found[0]["run_id"] for name, found in rows.items()} == {
        **dict.fromkeys(before, "run_old"), **dict.fromkeys(after, "run_new")}
    assert all(found[0]["label"] == "chart" for name, found in rows.items() if name in after)
    log = open(tmp_path / "label.log").read()
    assert "Switched to run" in log and "run_new" in log, log[-2000:]

"""The REST server, started as a user starts it (`python -m pipelines.serve` on 127.0.0.1)."""
import base64
import concurrent.futures
import glob
import json
import os
import re
import shutil
import socket
import time

import httpx
import pytest

from core import features, runs
from core.results import read_results
from pipelines import evaluate, label, serve
from tests import support
from tests.support import bad_inputs, servers
from tests.support.images import image_bytes

ROOT = support.REPO_ROOT


MAX_FILES = 4


MAX_REQUEST_MB = 3


@pytest.fixture(scope="module")
def files(tmp_path_factory, real_sample) -> str:
    """A labelled folder (chart/, non_chart/) of real images, plus a folder outside it."""
    root = tmp_path_factory.mktemp("serve_files")
    for truth in features.LABEL_NAMES:
        os.makedirs(root / "data" / truth)
        for path in sorted(glob.glob(os.path.join(real_sample, truth, "*")), key=os.path.getsize)[:3]:
            shutil.copy(path, root / "data" / truth)
    os.makedirs(root / "outside")
    (root / "outside" / "secret.png").write_bytes(image_bytes(1))
    os.symlink(root / "outside" / "secret.png", root / "data" / "link_out.png")
    return str(root)


@pytest.fixture(scope="module")
def bucket(gcs_emulator) -> str:
    bucket = gcs_emulator.unique_bucket("serve")
    gcs_emulator.upload(f"{bucket}/allowed/a.png", image_bytes(5))
    gcs_emulator.upload(f"{bucket}/private/a.png", image_bytes(5))
    return bucket


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> str:
    """The server's output (a file: a pipe nobody reads would fill up with its access log and stall it)."""
    return str(tmp_path_factory.mktemp("serve_log") / "serve.log")


@pytest.fixture(scope="module")
def server(trained, files, bucket, server_log):
    """The server on a free port of 127.0.0.1, with small limits so the tests can reach them."""
    port = servers.free_port()
    log = open(server_log, "w")
    process = servers.start(
        "--model_dir",
        trained["summary"]["model_dir"],
        "--port",
        str(port),
        "--allowed_root",
        os.path.join(files, "data"),
        "--allowed_prefix",
        f"{bucket}/allowed/",
        "--max_file_mb",
        str(bad_inputs.MAX_FILE_MB),
        "--max_files",
        str(MAX_FILES),
        "--max_request_mb",
        str(MAX_REQUEST_MB),
        log=log,
    )
    url = f"http://127.0.0.1:{port}"
    servers.wait_until_healthy(url, process, server_log)
    yield url
    process.terminate()
    process.wait(30)
    log.close()


def _predict(url: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/predict", json=body, timeout=60)


def _upload(url: str, named: dict[str, bytes]) -> httpx.Response:
    return httpx.post(f"{url}/predict", files=[("file", (name, data)) for name, data in named.items()], timeout=60)


def test_health_and_model_describe_the_loaded_model(server, trained):
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    metadata = runs.RunMetadata.read(trained["summary"]["model_dir"]).to_dict()
    metadata["threshold"] = round(metadata["threshold"], 6)  # answers round floats as the JSONL does
    info = httpx.get(f"{server}/model").json()
    assert {k: info[k] for k in runs.METADATA_KEYS} == {k: metadata[k] for k in runs.METADATA_KEYS}
    assert info["limits"]["max_files"] == MAX_FILES
    assert info["review_band"] == [round(v, 6) for v in metadata[runs.REVIEW_BAND_KEY]]  # recorded with the model
    assert "/predict" in httpx.get(f"{server}/openapi.json").json()["paths"]


def test_scores_equal_those_of_label_and_evaluate_for_the_same_files(server, files, trained, tmp_path):
    data = os.path.join(files, "data")
    output = str(tmp_path / "labels")
    label.run(
        ["--runner=DirectRunner", "--model_dir", trained["summary"]["model_dir"], "--input", data, "--output", output]
    )
    labelled = {r["uri"]: r for r in read_results(output)[0]}
    evaluate.run(
        ["--model_dir", trained["summary"]["model_dir"], "--data_dir", data, "--output_dir", str(tmp_path / "eval")]
    )
    evaluated = {r["uri"]: r["score"] for r in read_results(str(tmp_path / "eval" / evaluate.PREDICTIONS))[0]}
    assert len(labelled) == 6 and set(evaluated) == set(labelled)

    for uri, expected in labelled.items():
        by_path = _predict(server, image_path=uri)
        assert by_path.status_code == 200, by_path.text
        answer = by_path.json()
        assert answer["uri"] == uri and answer["score"] == expected["score"] == evaluated[uri]
        assert {k: answer[k] for k in ("label", "review", "sha256", "width", "height", "model_type", "run_id")} == \
               {k: expected[k] for k in ("label", "review", "sha256", "width", "height", "model_type", "run_id")}
        assert answer["threshold"] == round(runs.RunMetadata.read(trained["summary"]["model_dir"]).threshold, 6)
        raw = open(uri, "rb").read()
        assert _predict(server, image_b64=base64.b64encode(raw).decode()).json()["score"] == expected["score"]
        uploaded = _upload(server, {os.path.basename(uri): raw})
        assert uploaded.status_code == 200 and uploaded.json()["results"][0]["score"] == expected["score"]


def test_concurrent_requests_are_batched_without_changing_any_score(server, files):
    paths = sorted(glob.glob(os.path.join(files, "data", "*", "*")))
    alone = {p: _predict(server, image_path=p).json()["score"] for p in paths}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        together = list(pool.map(lambda p: (p, _predict(server, image_path=p).json()["score"]), paths * 4))
    assert all(score == alone[p] for p, score in together)


def test_a_multipart_upload_answers_each_file_in_order(server):
    good = {f"chart_{i}.png": image_bytes(i, size=(200, 120)) for i in range(3)}
    response = _upload(server, good)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["name"] for r in results] == list(good) and all(r["label"] in features.LABEL_NAMES for r in results)

    mixed = _upload(server, {"ok.png": image_bytes(9), "notes.png": b"not an image"})
    assert mixed.status_code == 422
    assert [(r["name"], r.get("label") in features.LABEL_NAMES, r.get("reason")) for r in mixed.json()["results"]] == \
           [("ok.png", True, None), ("notes.png", False, "not_an_image")]


def test_every_bad_file_of_the_corpus_gets_the_pipelines_reason_code(server):
    """The same codes as label's dead letters, each a 4xx, never a 500."""
    for name, (data, expected) in bad_inputs.files().items():
        response = _predict(server, image_b64=base64.b64encode(data).decode())
        if expected == bad_inputs.LABELLED:
            assert response.status_code == 200, (name, response.text)
            continue
        assert response.status_code == (413 if expected == "file_too_large" else 422), (name, response.text)
        assert response.json()["reason"] == expected, (name, response.text)


def test_image_path_is_served_only_under_an_allowed_root(server, files):
    data = os.path.join(files, "data")
    outside = os.path.join(files, "outside", "secret.png")
    for path in (
        outside,
        os.path.join(data, "..", "outside", "secret.png"),
        os.path.join(data, "link_out.png"),
        "/etc/passwd",
    ):
        response = _predict(server, image_path=path)
        assert response.status_code == 403 and response.json()["reason"] == "not_allowed", (path, response.text)
    missing = _predict(server, image_path=os.path.join(data, "no_such.png"))
    assert missing.status_code == 422 and missing.json()["reason"] == "unreadable"
    folder = _predict(server, image_path=os.path.join(data, "chart"))
    assert folder.status_code == 422 and folder.json()["reason"] in ("not_a_file", "unreadable")


def test_image_uri_is_read_only_under_an_allowed_prefix(server, bucket):
    allowed = _predict(server, image_uri=f"{bucket}/allowed/a.png")
    assert allowed.status_code == 200 and allowed.json()["uri"] == f"{bucket}/allowed/a.png"
    for uri in (
        f"{bucket}/private/a.png",
        f"{bucket}/allowed/../private/a.png",
        "file:///etc/passwd",
        "http://127.0.0.1/a.png",
    ):
        response = _predict(server, image_uri=uri)
        assert response.status_code == 403 and response.json()["reason"] == "not_allowed", (uri, response.text)
    missing = _predict(server, image_uri=f"{bucket}/allowed/missing.png")
    assert missing.status_code == 422 and missing.json()["reason"] == "unreadable"


@pytest.mark.parametrize("send, status", [
    (lambda url: httpx.post(f"{url}/predict", content=b"{", headers={"content-type": "application/json"}), 400),
    (lambda url: _predict(url), 400),
    (lambda url: _predict(url, image_path="a.png", image_b64="AAAA"), 400),
    (lambda url: _predict(url, image_file="a.png"), 400),
    (lambda url: _predict(url, image_b64="not base64!"), 400),
    (lambda url: _predict(url, image_path=["a.png"]), 400),
    (lambda url: httpx.post(f"{url}/predict", content=b"x", headers={"content-type": "text/plain"}), 400),
    (lambda url: httpx.post(f"{url}/predict", files={"note": (None, "text only")}), 400),
    (lambda url: httpx.get(f"{url}/predict"), 405),
    (lambda url: _upload(url, {f"{i}.png": image_bytes(i) for i in range(MAX_FILES + 1)}), 413),
    (lambda url: httpx.post(f"{url}/predict", content=b"{" * (MAX_REQUEST_MB * 1024 * 1024 + 1),
                            headers={"content-type": "application/json"}), 413),
    (lambda url: httpx.post(f"{url}/predict", content=iter([b"{" * 1024 * 1024] * (MAX_REQUEST_MB + 1)),
                            headers={"content-type": "application/json"}), 413),
], ids=["bad_json", "no_field", "two_fields", "unknown_field", "bad_base64", "not_a_string", "text_plain", "no_file",
        "get", "too_many_files", "body_too_large", "chunked_too_large"])
def test_a_malformed_request_gets_a_4xx_with_a_reason(server, send, status):
    response = send(server)
    assert response.status_code == status, response.text
    assert response.json()["reason"] and response.json()["detail"]
    assert httpx.get(f"{server}/health").status_code == 200


def test_answers_round_scores_and_thresholds_to_six_decimals(server, files):
    chart = sorted(glob.glob(os.path.join(files, "data", "chart", "*")))[0]
    answer = _predict(server, image_path=chart).json()
    info = httpx.get(f"{server}/model").json()
    for value in (answer["score"], answer["threshold"], info["threshold"], *info["review_band"]):
        assert value == round(value, 6), value


def test_a_relative_image_path_is_refused_with_the_absolute_one_to_send(server, files):
    response = _predict(server, image_path="chart/a.png")
    assert response.status_code == 403 and response.json()["reason"] == "not_allowed"
    assert "must be an absolute path" in response.json()["detail"]
    assert os.path.join(os.path.realpath(os.path.join(files, "data")), "chart/a.png") in response.json()["detail"]


def test_each_request_is_logged_with_method_path_status_and_time(server, server_log):
    httpx.get(f"{server}/health")
    _predict(server, image_path="/etc/passwd")
    httpx.post(f"{server}/predict", content=b"{" * (MAX_REQUEST_MB * 1024 * 1024 + 1),
               headers={"content-type": "application/json"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = open(server_log).read().splitlines()
        if any("POST /predict 413 " in line for line in lines):
            break
        time.sleep(0.2)
    for expected in (r"GET /health 200 [\d.]+ ms$", r"POST /predict 403 [\d.]+ ms$", r"POST /predict 413 [\d.]+ ms$"):
        assert any(re.search(expected, line) for line in lines), (expected, lines[-5:])
    serving = [i for i, line in enumerate(lines) if "Serving demo run" in line]
    assert len(serving) == 1 and "(API docs: /docs)" in lines[serving[0]]


def test_api_docs_are_served_without_the_network(server):
    """/docs and /redoc load Swagger UI and ReDoc from the server itself, never from a CDN."""
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{server}{page}")
        assert html.status_code == 200, page
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
        assets += re.findall(r"""url: ["']([^"']+)["']""", html.text)  # the OpenAPI document Swagger UI loads
        assert len(assets) >= 2, (page, html.text)
        for asset in assets:
            assert asset.startswith("/"), (page, asset)  # never another host
            assert httpx.get(f"{server}{asset}").status_code == 200, (page, asset)


def test_the_api_docs_render_in_chromium_offline(server):
    with servers.chromium() as browser:
        page = browser.new_page()
        page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # offline: only us
        page.goto(f"{server}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        assert "/predict" in page.inner_text("#swagger-ui")


def test_a_port_in_use_fails_at_once_in_one_line_without_announcing_itself(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = servers.start("--model_dir", str(tmp_path), "--port", str(port))
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output
    assert f"--port {port}: 127.0.0.1:{port} is already in use" in output
    assert "Serving" not in output and "Traceback" not in output
    assert len([line for line in output.splitlines() if "ERROR" in line]) == 1


def test_a_wrong_model_dir_fails_at_start_with_the_pipelines_message(tmp_path):
    process = servers.start("--model_dir", str(tmp_path), "--port", str(servers.free_port()))
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1 and "is not a trained model" in output


def test_limits_are_checked_at_start():
    with pytest.raises(ValueError, match="--max_files"):
        serve.limits_from(serve.parse_args(["--model_dir", "m", "--max_files", "0"]))
    with pytest.raises(ValueError, match="--allowed_root"):
        serve.limits_from(serve.parse_args(["--model_dir", "m", "--allowed_root", "/no/such/folder"]))


HEADER_TIMEOUT, BODY_TIMEOUT, MAX_CONNECTIONS, READ_TIMEOUT = 2.0, 2.0, 50, 3.0


@pytest.fixture(scope="module")
def hanging_store():
    with servers.hanging_store() as prefix:
        yield prefix


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, hanging_store):
    """The server with the shipped model (nothing to train) and short connection limits: (url, log path, root)."""
    root = tmp_path_factory.mktemp("guarded")
    log_path = str(root / "serve.log")
    port = servers.free_port()
    with open(log_path, "w") as log:
        process = servers.start("--port", str(port), "--allowed_root", str(root), "--header_timeout",
                                str(HEADER_TIMEOUT), "--body_timeout", str(BODY_TIMEOUT), "--max_connections",
                                str(MAX_CONNECTIONS),
                                "--allowed_prefix", hanging_store, "--read_timeout", str(READ_TIMEOUT), log=log)
    url = f"http://127.0.0.1:{port}"
    servers.wait_until_healthy(url, process, log_path)
    yield url, log_path, str(root)
    process.terminate()
    process.wait(30)


def _stalled(url: str, head: bytes) -> socket.socket:
    """A connection that sends `head` and then nothing."""
    sock = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    sock.sendall(head)
    return sock


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection within `within` seconds (anything it answers first is read)."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def test_stalled_connections_are_closed_and_never_starve_health_or_flood_the_log(guarded):
    url, log_path, _ = guarded
    half_head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    size_before = os.path.getsize(log_path)
    stalled = [_stalled(url, half_head) for _ in range(4 * MAX_CONNECTIONS)]
    started = time.monotonic()
    for _ in range(5):  # with every slot taken by stalled clients, /health still answers at once
        answer = httpx.get(f"{url}/health", timeout=1.0)
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    trickle = _stalled(url, b"GET /health HTTP/1.1\r\n")
    for _ in range(int(HEADER_TIMEOUT * 4)):  # slowloris: a header line every quarter of the deadline
        time.sleep(HEADER_TIMEOUT / 4)
        try:
            trickle.sendall(b"X-A: b\r\n")
        except OSError:
            break
    assert _closed_by_server(trickle, HEADER_TIMEOUT + 2), "a trickled request head outlived --header_timeout"
    assert all(_closed_by_server(s, max(0.1, started + HEADER_TIMEOUT + 3 - time.monotonic())) for s in stalled)
    for sock in [*stalled, trickle]:
        sock.close()
    assert httpx.get(f"{url}/health", timeout=1.0).status_code == 200
    grown = os.path.getsize(log_path) - size_before
    assert grown < 20_000, open(log_path).read()[-3000:]  # a few summary lines, not one per connection


def test_a_stalled_request_head_gets_408_with_a_reason(guarded):
    url, _, _ = guarded
    sock = _stalled(url, b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sock.settimeout(HEADER_TIMEOUT + 3)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ") and json.loads(body)["reason"] == "request_timeout", answer


def test_a_body_that_stops_arriving_is_closed_after_the_body_timeout(guarded):
    url, _, _ = guarded
    sock = _stalled(url, b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b'Content-Length: 1000\r\n\r\n{"image_b64": "')
    assert _closed_by_server(sock, BODY_TIMEOUT + 3)
    sock.close()
    assert httpx.get(f"{url}/health", timeout=1.0).status_code == 200


def test_a_nul_byte_in_image_path_is_a_400_with_a_reason(guarded):
    url, _, root = guarded
    response = _predict(url, image_path=os.path.join(root, "a\x00.png"))
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == "bad_request" and "NUL" in response.json()["detail"]


def test_connection_limits_are_checked_at_start():
    for flag in ("--header_timeout", "--body_timeout", "--max_connections", "--keep_alive"):
        with pytest.raises(ValueError, match=flag):
            serve.limits_from(serve.parse_args(["--model_dir", "m", flag, "0"]))


def test_a_store_that_hangs_is_unreadable_after_the_timeout_and_never_holds_other_images(guarded, hanging_store):
    url = guarded[0]
    hung = [{"image_uri": f"{hanging_store}{i}.png"} for i in range(6)]  # more than there are decode threads
    good = {"image_b64": base64.b64encode(image_bytes(3)).decode()}
    with concurrent.futures.ThreadPoolExecutor(len(hung) + 1) as pool:
        waiting = [pool.submit(httpx.post, f"{url}/predict", json=body, timeout=60) for body in hung]
        time.sleep(0.5)  # the hung reads have started
        started = time.monotonic()
        answered = httpx.post(f"{url}/predict", json=good, timeout=60)
        assert answered.status_code == 200 and time.monotonic() - started < READ_TIMEOUT
        refused = [future.result() for future in waiting]
    assert {(r.status_code, r.json()["reason"]) for r in refused} == {(422, "unreadable")}
    assert all("--read_timeout" in r.json()["detail"] for r in refused)

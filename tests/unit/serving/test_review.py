"""serving.review: the review queue's API on the real app (TestClient), over result lines written here."""
import hashlib
import io
import json
import os

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from core import corrections, dead_letters, features
from core.results import Rule, result_line
from models.run import LoadedRun
from serving import review
from serving.app import Limits, create_app
from tests.support.images import image_bytes

RULE = Rule("demo", "run1", threshold=0.5, review_band=(0.3, 0.7))
# name -> (score, file bytes): four in the band (one a PNG named .jpg, one a TIFF), two outside it
FILES = {
    "a.png": (0.35, image_bytes(1)),
    "b.jpg": (0.55, image_bytes(2)),
    "c.tiff": (0.45, image_bytes(3, "TIFF")),
    "d.png": (0.65, image_bytes(4)),
    "sure_chart.png": (0.95, image_bytes(5)),
    "sure_not.png": (0.05, image_bytes(6)),
}
IN_BAND = ["a.png", "b.jpg", "c.tiff", "d.png"]  # uri order


def write_run(folder, prefix: str, files=FILES) -> None:
    """Images in `folder` and their result lines under `prefix`, as label writes them."""
    os.makedirs(folder, exist_ok=True)
    with open(f"{prefix}-00000-of-00001{features.JSONL_SUFFIX}", "w") as out:
        for name, (score, data) in files.items():
            path = os.path.join(folder, name)
            with open(path, "wb") as f:
                f.write(data)
            out.write(json.dumps(result_line(path, hashlib.sha256(data).hexdigest(), 96, 64, RULE.verdict(score)))
                      + "\n")


@pytest.fixture(scope="module")
def model() -> LoadedRun:
    return LoadedRun.open(None)  # the shipped model: create_app needs one, the queue never scores


@pytest.fixture
def run(tmp_path) -> dict:
    images, prefix = os.path.realpath(tmp_path / "images"), str(tmp_path / "out" / "labels")
    os.makedirs(tmp_path / "out")
    write_run(images, prefix)
    return {"images": images, "prefix": prefix, "corrections": prefix + corrections.SUFFIX,
            "limits": Limits(allowed_roots=(images,))}


def client(model, run, limits=None) -> TestClient:
    limits = limits or run["limits"]
    return TestClient(create_app(model, limits, review.from_flags(run["prefix"], None, limits)))


def decide(api: TestClient, index: int, label, sha256=None):
    item = api.get("/review/queue").json()["items"][index]
    return api.post("/review/decisions", json={"index": index, "sha256": sha256 or item["sha256"], "label": label})


def test_the_queue_holds_the_review_band_images_with_name_score_and_the_models_label(model, run):
    queue = client(model, run).get("/review/queue").json()
    assert [item["name"] for item in queue["items"]] == IN_BAND
    assert [(item["score"], item["label"]) for item in queue["items"]] == [
        (0.35, "non_chart"), (0.55, "chart"), (0.45, "non_chart"), (0.65, "chart")]
    assert queue["items"][0]["uri"] == os.path.join(run["images"], "a.png")
    assert (queue["total"], queue["decided"], queue["decisions"]) == (4, 0, {})
    assert queue["corrections"] == run["corrections"]


def test_a_decision_is_in_the_corrections_file_when_the_answer_comes(model, run):
    answer = decide(client(model, run), 1, features.NON_CHART)
    assert answer.status_code == 200
    assert (answer.json()["decided"], answer.json()["decisions"]) == (1, {"1": "non_chart"})
    (written,) = corrections.read_lines(run["corrections"])
    assert (written.image, written.label, written.previous_label, written.score, written.run_id) == (
        os.path.join(run["images"], "b.jpg"), features.NON_CHART, features.CHART, 0.55, "run1")


def test_undo_appends_null_and_the_image_is_undecided_again(model, run):
    api = client(model, run)
    decide(api, 0, features.CHART)
    answer = decide(api, 0, None)
    assert answer.json()["decided"] == 0 and answer.json()["decision"]["label"] is None
    assert [d.label for d in corrections.read_lines(run["corrections"])] == [features.CHART, None]


def test_two_tabs_deciding_one_image_both_work_and_the_last_decision_wins(model, run):
    api = client(model, run)
    first, second = TestClient(api.app), TestClient(api.app)
    assert decide(first, 2, features.CHART).status_code == 200
    assert decide(second, 2, features.NON_CHART).json()["decisions"] == {"2": "non_chart"}
    assert first.get("/review/state").json() == {"total": 4, "decided": 1, "decisions": {"2": "non_chart"}}
    assert corrections.latest(run["corrections"])[os.path.join(run["images"], "c.tiff")].label == features.NON_CHART


def test_decisions_already_in_the_file_or_appended_by_another_server_count_as_decided(model, run):
    earlier = corrections.Decision(os.path.join(run["images"], "d.png"), features.CHART, features.CHART, 0.65, "run1")
    corrections.append(run["corrections"], earlier)  # before this server started: a restart
    api = client(model, run)
    assert api.get("/review/queue").json()["decisions"] == {"3": "chart"}
    other = corrections.Decision(os.path.join(run["images"], "a.png"), features.CHART, features.NON_CHART, 0.35, "x")
    corrections.append(run["corrections"], other)  # another server on the same file
    assert api.get("/review/state").json() == {"total": 4, "decided": 2, "decisions": {"0": "chart", "3": "chart"}}


def test_an_image_is_sent_as_its_own_bytes_with_the_type_pillow_finds_and_tiff_as_png(model, run):
    api = client(model, run)
    items = api.get("/review/queue").json()["items"]
    png_named_jpg = api.get(f"/review/images/1?sha256={items[1]['sha256']}")
    assert png_named_jpg.status_code == 200 and png_named_jpg.content == FILES["b.jpg"][1]
    assert png_named_jpg.headers["content-type"] == "image/png"
    assert png_named_jpg.headers["x-content-type-options"] == "nosniff"
    tiff = api.get(f"/review/images/2?sha256={items[2]['sha256']}")
    assert tiff.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(tiff.content)).tobytes() == Image.open(io.BytesIO(FILES["c.tiff"][1])).tobytes()


def test_an_image_is_named_by_its_index_and_sha256_in_the_queue_only(model, run):
    api = client(model, run)
    sha = api.get("/review/queue").json()["items"][0]["sha256"]
    assert api.get(f"/review/images/4?sha256={sha}").status_code == 404  # past the end: the out-of-band images too
    assert api.get("/review/images/0?sha256=0123").status_code == 409  # a stale page
    assert api.get(f"/review/images/..%2F..%2Fetc%2Fpasswd?sha256={sha}").status_code in (400, 404)
    assert api.get(f"/review/images/-1?sha256={sha}").status_code == 404
    stale = decide(api, 0, features.CHART, sha256="0" * 64)
    assert stale.status_code == 409 and "reload the page" in stale.json()["detail"]
    assert not os.path.exists(run["corrections"])


def test_an_image_swapped_for_a_link_out_of_the_allowed_root_is_refused(model, run, tmp_path):
    api = client(model, run)
    sha = api.get("/review/queue").json()["items"][0]["sha256"]
    (tmp_path / "secret.png").write_bytes(FILES["a.png"][1])
    os.remove(os.path.join(run["images"], "a.png"))
    os.symlink(tmp_path / "secret.png", os.path.join(run["images"], "a.png"))
    answer = api.get(f"/review/images/0?sha256={sha}")
    assert answer.status_code == 403 and answer.json()["reason"] == dead_letters.NOT_ALLOWED


def test_an_image_is_read_under_the_servers_size_limit(model, run):
    one_byte_less = (len(FILES["a.png"][1]) - 1) / 1024 / 1024
    api = client(model, run, Limits(allowed_roots=(run["images"],), max_file_mb=one_byte_less))
    sha = api.get("/review/queue").json()["items"][0]["sha256"]
    answer = api.get(f"/review/images/0?sha256={sha}")
    assert answer.status_code == 413 and answer.json()["reason"] == dead_letters.FILE_TOO_LARGE


def test_a_file_changed_since_it_was_labelled_is_not_shown_for_review(model, run):
    api = client(model, run)
    sha = api.get("/review/queue").json()["items"][3]["sha256"]
    with open(os.path.join(run["images"], "d.png"), "wb") as f:
        f.write(image_bytes(9))  # another picture under the same name
    answer = api.get(f"/review/images/3?sha256={sha}")
    assert answer.status_code == 409 and answer.json()["reason"] == dead_letters.CHANGED_SINCE_LABELLED
    assert "label it again" in answer.json()["detail"]


def test_a_listed_file_that_is_not_an_image_gets_a_reason(model, tmp_path):
    images, prefix = os.path.realpath(tmp_path / "images"), str(tmp_path / "labels")
    write_run(images, prefix, {**FILES, "text.png": (0.5, b"a text file named .png")})
    run = {"prefix": prefix, "limits": Limits(allowed_roots=(images,))}
    api = client(model, run)
    item = api.get("/review/queue").json()["items"][4]
    answer = api.get(f"/review/images/4?sha256={item['sha256']}")
    assert item["name"] == "text.png"
    assert answer.status_code == 422 and answer.json()["reason"] == dead_letters.NOT_AN_IMAGE


@pytest.mark.parametrize("body", [{"index": 0, "sha256": "x", "label": "dog"}, {"index": 0, "label": "chart"},
                                  {"index": "first", "sha256": "x", "label": "chart"},
                                  {"index": 0, "sha256": "x", "label": "chart", "path": "/etc/passwd"}])
def test_a_decision_that_is_not_one_is_a_bad_request(model, run, body):
    answer = client(model, run).post("/review/decisions", json=body)
    assert answer.status_code == 400 and answer.json()["reason"] == dead_letters.BAD_REQUEST
    assert not os.path.exists(run["corrections"])


def test_the_page_is_served_at_review_and_only_with_a_queue(model, run):
    page = client(model, run).get("/review")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/review/decisions" in page.text and 'href="/"' in page.text
    assert TestClient(create_app(model, run["limits"])).get("/review").status_code == 404


def test_a_run_with_no_results_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match=r"--review .*nothing-1: no label results there .*pipelines.label"):
        review.from_flags(str(tmp_path / "nothing-1"), None, Limits(allowed_roots=(str(tmp_path),)))


@pytest.mark.parametrize("corrections_path", [None, "gs://b/labels.corrections.jsonl"])
def test_a_remote_run_needs_a_local_corrections_file_before_anything_is_read(corrections_path):
    with pytest.raises(ValueError, match="--corrections FILE on a local disk"):
        review.from_flags("gs://b/labels", corrections_path, Limits())


def test_corrections_without_review_is_refused(tmp_path):
    with pytest.raises(ValueError, match="add --review"):
        review.from_flags(None, str(tmp_path / "c.jsonl"), Limits())


def test_a_run_whose_images_are_not_allowed_is_refused_naming_the_flag_to_add(run):
    with pytest.raises(ValueError, match=f"4 of its 4 review images .* start it with --allowed_root {run['images']}$"):
        review.from_flags(run["prefix"], None, Limits())
    assert review.from_flags(run["prefix"], None, Limits(allowed_roots=(os.path.dirname(run["images"]),)))


def test_the_flag_named_for_remote_images_is_their_common_prefix():
    assert review._flag_for(["gs://b/run/x/a.png", "gs://b/run/y/b.png"]) == "--allowed_prefix gs://b/run/"

"""The review queue end to end: a real label run, `pipelines.serve --review`, a person's keys in headless Chromium,
the corrections file they leave, and a restarted server that knows what was decided."""
import glob
import hashlib
import json
import os
import shutil

import httpx
import pytest

from core import corrections, features
from core.results import Rule, read_results, result_line
from pipelines import label
from tests.support import servers
from tests.support.images import image_bytes

PER_LABEL = 6  # real images of each label: a queue of 12


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, real_sample, model_dir) -> dict:
    """A folder of real images labelled by a real run. The band is set to [0, 1) so every image is in it: the
    2-epoch 32 px test model's own band comes from its validation scores and may hold none of these images."""
    root = tmp_path_factory.mktemp("review")
    folder = os.path.realpath(root / "images")
    for truth in features.LABEL_NAMES:
        os.makedirs(os.path.join(folder, truth))
        for path in sorted(glob.glob(os.path.join(real_sample, truth, "*")), key=os.path.getsize)[:PER_LABEL]:
            shutil.copy(path, os.path.join(folder, truth))
    prefix = str(root / "out" / "labels")
    label.run(["--runner=DirectRunner", "--model_dir", model_dir, "--input", folder, "--output", prefix,
               "--review_band", "0,1"])
    results = read_results(prefix)[0]
    assert len(results) == 2 * PER_LABEL and all(r["review"] for r in results)
    return {"folder": folder, "prefix": prefix, "uris": [r["uri"] for r in results]}


def _wait_for(page, actions: int) -> None:
    page.wait_for_function(f"document.body.dataset.actions === '{actions}'", timeout=30_000)


class Person:
    """Presses keys on one tab and keeps what the corrections file must then hold."""

    def __init__(self, page, lines: list):
        self.page, self.lines, self.undo, self.actions = page, lines, [], 1
        _wait_for(page, 1)  # the queue is loaded and its first image shown

    @property
    def current(self) -> str:
        return self.page.evaluate("document.body.dataset.current")

    def press(self, key: str) -> str:
        """Press `key` on the image shown; the image shown next."""
        shown = self.current
        if key in "cn":
            self.lines.append((shown, features.CHART if key == "c" else features.NON_CHART))
            self.undo.append(shown)
        elif key == "u":
            self.lines.append((self.undo.pop(), None))
        self.page.keyboard.press(key)
        self.actions += 1
        _wait_for(self.page, self.actions)
        assert self.page.get_attribute("#message", "class") != "error", self.page.inner_text("#message")
        return self.current

    def progress(self) -> str:
        return self.page.inner_text("#progress")


def test_a_person_settles_the_queue_with_the_keyboard_and_a_restart_knows_what_was_decided(labelled, model_dir,
                                                                                        tmp_path):
    flags = ("--model_dir", model_dir, "--review", labelled["prefix"], "--allowed_root", labelled["folder"])
    uris, lines = labelled["uris"], []
    with servers.serving(*flags, log_path=str(tmp_path / "serve.log")) as (url, _), servers.chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/review")
        person = Person(page, lines)
        assert person.current == uris[0] and person.progress() == "0 of 12 decided"
        assert page.eval_on_selector("#image", "img => img.naturalWidth") > 0  # the real image, through the allowlist
        assert os.path.basename(uris[0]) in page.inner_text("#name") and "score" in page.inner_text("#model-said")
        assert person.press("c") == uris[1]
        assert person.press("n") == uris[2]
        assert person.press("s") == uris[3]  # skipped: it comes back at the end
        assert person.press("c") == uris[4]
        assert person.press("u") == uris[3]  # taken back: shown again
        assert person.press("n") == uris[4]
        for k, key in enumerate("cncncnc"):
            assert person.press(key) == uris[5 + k]
        assert person.press("n") == uris[2] and person.progress() == "11 of 12 decided"  # the skipped one, last
        person.press("c")
        assert page.is_visible("#done") and page.inner_text("#done-title") == "All 12 decided"
        assert labelled["prefix"] + corrections.SUFFIX in page.inner_text("#train")
        assert "type: corrections" in page.inner_text("#train")
        assert person.press("u") == uris[2] and person.progress() == "11 of 12 decided"

    path = labelled["prefix"] + corrections.SUFFIX
    written = list(corrections.read_lines(path))
    assert [(d.image, d.label) for d in written] == lines and len(lines) == 15  # 13 decisions, 2 taken back
    by_uri = {r["uri"]: r for r in read_results(labelled["prefix"])[0]}
    assert all((d.previous_label, d.score) == (by_uri[d.image]["label"], by_uri[d.image]["score"]) for d in written)
    expected = {uris[0]: "chart", uris[1]: "non_chart", uris[2]: None, uris[3]: "non_chart",
                **{uris[4 + k]: "chart" if k % 2 == 0 else "non_chart" for k in range(8)}}
    assert {image: d.label for image, d in corrections.latest(path).items()} == expected

    with servers.serving(*flags, log_path=str(tmp_path / "restarted.log")) as (url, _), \
            servers.chromium() as browser:
        tabs = [browser.new_page(), browser.new_page()]
        for tab in tabs:
            tab.goto(f"{url}/review")
        first, second = Person(tabs[0], lines), Person(tabs[1], lines)
        assert first.progress() == second.progress() == "11 of 12 decided"
        home = browser.new_page()  # the upload page links to the queue, with its progress
        home.goto(url)
        home.wait_for_selector("#review-link:not([hidden])")
        assert home.inner_text("#review-link") == "Review queue: 11 of 12 unsure images decided."
        home.click("#review-link a")
        home.wait_for_url(f"{url}/review")
        assert first.current == second.current == uris[2]  # the only image left, in both tabs
        first.press("c")
        second.press("n")  # the same image, from the other tab: the later decision wins
        for tab in tabs:
            assert tab.inner_text("#done-title") == "All 12 decided"
    assert corrections.latest(path)[uris[2]].label == features.NON_CHART and len(lines) == 17
    assert [(d.image, d.label) for d in corrections.read_lines(path)] == lines


def test_a_run_in_a_bucket_is_reviewed_with_a_local_corrections_file(gcs_emulator, model_dir, tmp_path):
    bucket = gcs_emulator.unique_bucket("review")
    rule, lines = Rule("demo", "r1", 0.5, (0.3, 0.7)), []
    for name, score in (("a.png", 0.4), ("b.png", 0.9), ("c.png", 0.6)):
        data = image_bytes(len(lines) + 20)
        gcs_emulator.upload(f"{bucket}/images/{name}", data)
        lines.append(json.dumps(result_line(f"{bucket}/images/{name}", hashlib.sha256(data).hexdigest(), 96, 64,
                                            rule.verdict(score))))
    gcs_emulator.upload(f"{bucket}/run/labels-00000-of-00001.jsonl", "\n".join(lines).encode())
    path = str(tmp_path / "decisions.jsonl")
    flags = ("--model_dir", model_dir, "--review", f"{bucket}/run/labels", "--corrections", path,
             "--allowed_prefix", f"{bucket}/images/")
    with servers.serving(*flags, log_path=str(tmp_path / "serve.log")) as (url, _):
        queue = httpx.get(f"{url}/review/queue").json()
        assert [item["uri"] for item in queue["items"]] == [f"{bucket}/images/a.png", f"{bucket}/images/c.png"]
        image = httpx.get(f"{url}/review/images/1", params={"sha256": queue["items"][1]["sha256"]})
        assert image.content == gcs_emulator.read(f"{bucket}/images/c.png")
        assert image.headers["content-type"] == "image/png"
        decided = httpx.post(f"{url}/review/decisions", json={"index": 1, "sha256": queue["items"][1]["sha256"],
                                                              "label": "non_chart"})
        assert decided.json()["decided"] == 1
    assert corrections.latest(path)[f"{bucket}/images/c.png"].label == features.NON_CHART


def test_a_run_that_cannot_be_reviewed_fails_at_start_in_one_line(labelled, tmp_path):
    cases = [
        (("--review", str(tmp_path / "none")), "no label results there"),
        (("--review", labelled["prefix"]), f"start it with --allowed_root {labelled['folder']}"),
        (("--review", "gs://bucket/run/labels"), "pass --corrections FILE on a local disk"),
    ]
    for flags, message in cases:
        process = servers.start("--model_dir", str(tmp_path), *flags, "--port", str(servers.free_port()))
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 1 and message in output, output
        assert "Traceback" not in output and len([line for line in output.splitlines() if "ERROR" in line]) == 1

"""The web page (GET /) in headless Chromium against `pipelines.serve`: upload in chunks, the results table and its
counts, the review filter and score sort, CSV and JSONL downloads, Clear, a lost server, and the layout."""
import csv
import glob
import io
import json
import os
import re

import httpx
import pytest

from tests.support import servers
from tests.support.images import image_bytes

MAX_FILES = 3  # the page must split the seven chosen files into three requests (a fourth file is refused)
NOT_AN_IMAGE = "notes.png"
QUOTED = 'Q3, "revenue" chart.png'  # CSV must quote it; a form upload sends its quotes as %22
FORMULA = "=HYPERLINK(1) synthetic.png"  # CSV must keep it text: a spreadsheet would run it
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 375, "height": 740}
ANSWERED = "() => /^(Labelled|Stopped)/.test(document.getElementById('status').textContent)"


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory) -> str:
    log_path = str(tmp_path_factory.mktemp("page") / "serve.log")
    with servers.serving("--model_dir", model_dir, "--max_files", str(MAX_FILES), log_path=log_path) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with servers.chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def chosen(real_sample) -> list[tuple[str, bytes]]:
    """Seven files in the order a user picks them (not sorted by name): real charts and non-charts, a synthetic
    picture, a file that is no image, a name CSV must quote and one a spreadsheet would run as a formula."""
    def real(truth: str, i: int) -> bytes:
        return open(sorted(glob.glob(os.path.join(real_sample, truth, "*")), key=os.path.getsize)[i], "rb").read()

    return [("zz_chart.png", real("chart", 0)), (NOT_AN_IMAGE, b"these are notes, not an image"),
            ("b_non_chart.webp", real("non_chart", 0)), (QUOTED, real("chart", 1)),
            (FORMULA, image_bytes(3)), ("m_chart.png", real("chart", 2)),
            ("k_non_chart.webp", real("non_chart", 1))]


@pytest.fixture(scope="module")
def api_answers(server, chosen) -> list[dict]:
    """What POST /predict answers for the same bytes, sent directly (MAX_FILES at a time), each with the name
    chosen (httpx and Chromium both send a quote in a file name as %22, which the server echoes undecoded)."""
    answers = []
    for start in range(0, len(chosen), MAX_FILES):
        part = chosen[start:start + MAX_FILES]
        response = httpx.post(f"{server}/predict", files=[("file", f) for f in part], timeout=60)
        answers += response.json()["results"]
    assert answers[3]["name"] == QUOTED.replace('"', "%22")
    return [{**answer, "name": name} for answer, (name, _) in zip(answers, chosen)]


@pytest.fixture
def open_page(browser):
    """A function: a fresh page (its own context, downloads allowed, only 127.0.0.1 reachable) at `url`, with the
    model line loaded."""
    contexts = []

    def opened(url: str, viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        contexts.append(context)
        context.set_default_timeout(20_000)  # labelling seven small files takes a second or two
        page = context.new_page()
        page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        page.goto(url)
        page.wait_for_selector("#model:text-matches('^Model ')")
        return page

    yield opened
    for context in contexts:
        context.close()


def _choose(page, files: list[tuple[str, bytes]]) -> None:
    """Pick files with the page's button (as a user does), then wait for the last request to be answered."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Choose images…").click()
    chooser.value.set_files([{"name": name, "mimeType": "image/png", "buffer": data} for name, data in files])
    page.wait_for_function(ANSWERED)


def _rows(page) -> list[dict]:
    return page.eval_on_selector_all("#rows tr", "rows => rows.map(r => ({...r.dataset, hidden: r.hidden}))")


def _counts(page) -> dict:
    return {key: int(page.inner_text(f"#count-{key}")) for key in ("chart", "non_chart", "review", "refused")}


def _as_row(answer: dict) -> dict:
    """The data-* attributes a row of this answer carries."""
    return {"name": answer["name"], "label": answer.get("label", ""),
            "score": str(answer["score"]) if "score" in answer else "",
            "review": "true" if answer.get("review") else "false", "reason": answer.get("reason", "")}


def _visible(page) -> list[dict]:
    return [{k: r[k] for k in ("name", "label", "score", "review", "reason")} for r in _rows(page) if not r["hidden"]]


def test_chosen_files_are_labelled_in_order_with_the_apis_answers_in_chunks(open_page, server, chosen, api_answers):
    page = open_page(server)
    page.evaluate("""() => {  // each status line, with the files the counts then held
        window.statuses = [];
        const status = document.getElementById("status");
        const counted = () => ["chart", "non_chart", "refused"]
            .reduce((n, key) => n + Number(document.getElementById(`count-${key}`).textContent), 0);
        new MutationObserver(() => window.statuses.push(`${status.textContent} (${counted()} counted)`))
            .observe(status, {childList: true, characterData: true, subtree: true});
    }""")
    _choose(page, chosen)

    assert _visible(page) == [_as_row(a) for a in api_answers]
    assert [r["name"] for r in _rows(page)] == [name for name, _ in chosen]
    labelled = [a for a in api_answers if "label" in a]
    assert _counts(page) == {"chart": sum(a["label"] == "chart" for a in labelled),
                             "non_chart": sum(a["label"] == "non_chart" for a in labelled),
                             "review": sum(a["review"] for a in labelled), "refused": 1}
    assert page.get_by_role("status").inner_text() == "Labelled 6, refused 1 of 7."
    assert page.evaluate("window.statuses") == [  # three requests of at most MAX_FILES; counts follow each answer
        "Labelling 1–3 of 7… (0 counted)", "Labelling 4–6 of 7… (3 counted)", "Labelling 7 of 7… (6 counted)",
        "Labelled 6, refused 1 of 7. (7 counted)"]

    refused = page.locator(f"#rows tr[data-name='{NOT_AN_IMAGE}']")
    assert refused.get_attribute("data-reason") == "not_an_image"
    detail = next(a["detail"] for a in api_answers if a["name"] == NOT_AN_IMAGE)
    assert "not_an_image" in refused.inner_text() and detail in refused.inner_text()
    assert refused.locator("img").count() == 0 and refused.locator(".placeholder").is_visible()
    page.wait_for_function("[...document.querySelectorAll('#rows img')].every(i => i.complete)")
    assert page.eval_on_selector_all("#rows img", "imgs => imgs.map(i => i.naturalWidth > 0)") == [True] * 6
    shown_scores = page.eval_on_selector_all("#rows td.score", "cells => cells.map(c => c.textContent)")
    assert shown_scores == [f"{a['score']:.3f}" if "score" in a else "—" for a in api_answers]


def test_review_is_explained_with_the_models_band(open_page, server):
    page = open_page(server)
    model = httpx.get(f"{server}/model").json()
    low, high = model["review_band"]
    legend = page.inner_text("#legend")
    assert f"[{low:.3f}, {high:.3f})" in legend and "worth a person's look" in legend
    assert f"chart at score ≥ {model['threshold']:.3f}" in page.inner_text("#model")
    assert page.is_visible("#legend")
    page.wait_for_load_state("networkidle")
    assert page.is_hidden("#review-link")  # this server has no --review queue


def test_review_only_filter_and_score_sort_work_from_the_keyboard(open_page, model_dir, tmp_path, chosen,
                                                                   api_answers):
    """On a server whose --review_band holds two of the six scores (the test model's own band may hold any)."""
    scores = sorted(a["score"] for a in api_answers if "score" in a)
    low, high = (scores[1] + scores[2]) / 2, (scores[3] + scores[4]) / 2
    expected = [_as_row({**a, "review": low <= a["score"] < high} if "score" in a else a) for a in api_answers]
    in_review = [r for r in expected if r["review"] == "true"]
    assert len(in_review) == 2
    with servers.serving("--model_dir", model_dir, "--max_files", str(MAX_FILES), "--review_band", f"{low},{high}",
                         log_path=str(tmp_path / "serve.log")) as (url, _):
        page = open_page(url)
        _choose(page, chosen)

        page.get_by_role("checkbox", name="Review only").focus()
        page.keyboard.press("Space")
        assert _visible(page) == in_review
        assert page.inner_text("#shown") == f"showing {len(in_review)} of {len(expected)}"
        page.keyboard.press("Space")
        assert _visible(page) == expected

        scored, refused = [r for r in expected if r["score"]], [r for r in expected if not r["score"]]
        sort = page.get_by_role("button", name=re.compile("^Order"))
        assert sort.inner_text() == "Order: as chosen"
        sort.press("Enter")
        ascending = sorted(scored, key=lambda r: float(r["score"]))
        assert _visible(page) == ascending + refused  # refused last
        assert page.get_attribute("#score-head", "aria-sort") == "ascending" and "low to high" in sort.inner_text()
        sort.press("Enter")
        assert _visible(page) == sorted(scored, key=lambda r: -float(r["score"])) + refused
        assert page.get_attribute("#score-head", "aria-sort") == "descending"
        page.get_by_role("checkbox", name="Review only").check()  # the filter applies to the sorted rows
        assert _visible(page) == sorted(in_review, key=lambda r: -float(r["score"]))
        page.get_by_role("checkbox", name="Review only").uncheck()
        sort.press("Enter")
        assert _visible(page) == expected and sort.inner_text() == "Order: as chosen"


def _download(page, button: str) -> str:
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    return open(download.value.path(), encoding="utf-8").read()


def test_csv_and_jsonl_downloads_hold_every_answer_as_the_server_gave_it(open_page, server, chosen, api_answers):
    page = open_page(server)
    _choose(page, chosen)
    page.get_by_role("checkbox", name="Review only").check()  # downloads hold every file, whatever is shown
    page.get_by_role("button", name=re.compile("^Order")).click()

    lines = _download(page, "Download JSONL").splitlines()
    assert [json.loads(line) for line in lines] == api_answers

    table = list(csv.DictReader(io.StringIO(_download(page, "Download CSV"), newline="")))
    fields = {key for answer in api_answers for key in answer}
    assert len(table) == len(api_answers) and set(table[0]) == fields
    for row, answer in zip(table, api_answers):
        expected = {k: "" if k not in answer else answer[k] if isinstance(answer[k], str) else json.dumps(answer[k])
                    for k in fields}
        if answer["name"] == FORMULA:
            expected["name"] = "'" + FORMULA  # shown as text by a spreadsheet, never run
        assert row == expected, row
    assert table[3]["name"] == QUOTED  # quoted, so its comma and quotes stay in the name
    page.get_by_role("checkbox", name="Review only").uncheck()
    page.get_by_role("button", name=re.compile("^Order")).click()
    page.get_by_role("button", name=re.compile("^Order")).click()  # back to the order the files were chosen
    assert [{**{k: r[k] for k in ("name", "label", "score", "reason")}, "review": r["review"] or "false",
             "name": FORMULA if r["name"] == "'" + FORMULA else r["name"]} for r in table] == _visible(page)


def test_clear_empties_the_table_and_dropped_files_are_labelled_after_it(open_page, server, chosen, api_answers):
    page = open_page(server)
    _choose(page, chosen[:2])
    assert len(_rows(page)) == 2
    page.get_by_role("button", name="Clear").click()
    assert _rows(page) == [] and _counts(page) == {"chart": 0, "non_chart": 0, "review": 0, "refused": 0}
    assert page.inner_text("#status") == "" and page.is_visible("#empty")
    assert page.get_by_role("button", name="Download CSV").is_disabled()

    dropped = page.evaluate_handle("""files => {
        const transfer = new DataTransfer();
        files.forEach(([name, bytes]) => transfer.items.add(new File([new Uint8Array(bytes)], name)));
        return transfer;
    }""", [[name, list(data)] for name, data in chosen[2:4]])
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    page.wait_for_function(ANSWERED)
    assert _visible(page) == [_as_row(a) for a in api_answers[2:4]]
    assert page.inner_text("#status") == "Labelled 2, refused 0 of 2."


def test_a_server_that_stopped_is_reported_and_the_rest_is_marked_not_sent(open_page, model_dir, chosen, tmp_path):
    stopping = servers.serving("--model_dir", model_dir, "--max_files", "1", log_path=str(tmp_path / "log"))
    with stopping as (url, process):
        page = open_page(url)
        process.kill()
        process.wait(30)
        _choose(page, chosen[:3])
    status = page.inner_text("#status")
    assert "server is unreachable" in status and "not sent 3 of 3" in status, status
    assert [r["reason"] for r in _rows(page)] == ["server_unreachable", "not_sent", "not_sent"]
    assert page.inner_text("#count-unsent") == "3" and _counts(page)["refused"] == 0
    assert page.locator("#rows img").count() == 0


def test_a_gateway_error_page_stops_labelling_and_the_unsent_can_be_sent_again(open_page, server, chosen,
                                                                                 api_answers):
    """A proxy in front of a server that is gone answers 502 with an HTML page, not JSON."""
    page = open_page(server)
    page.route("**/predict", lambda route: route.fulfill(status=502, body="<html>Bad Gateway</html>",
                                                         content_type="text/html"))
    _choose(page, chosen)
    status = page.inner_text("#status")
    assert "HTTP 502 without results" in status and "not sent 7 of 7" in status, status
    assert [r["reason"] for r in _rows(page)] == ["server_unreachable"] * MAX_FILES + ["not_sent"] * 4

    page.unroute("**/predict")  # the server is back
    page.get_by_role("button", name="Send the unsent again").click()
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Labelled')")
    assert page.inner_text("#status") == "Labelled 6, refused 1 of 7."
    assert _visible(page) == [_as_row(a) for a in api_answers]
    assert page.is_hidden("#retry") and page.is_hidden("#unsent-count")


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_nothing_overlaps_and_the_page_never_scrolls_sideways(open_page, server, chosen, viewport):
    page = open_page(server, viewport)
    long_name = "a_very_long_file_name_without_any_spaces_that_must_wrap_" * 3 + ".png"
    _choose(page, chosen + [(long_name, chosen[0][1])])
    boxes = {s: page.locator(s).bounding_box() for s in ("#model", "#legend", "#drop", "#status", "#counts",
                                                          "#toolbar", ".table-box")}
    for a in boxes:
        for b in boxes:
            assert a == b or not _overlap(boxes[a], boxes[b]), (a, b, boxes[a], boxes[b])
        assert 0 <= boxes[a]["x"] and boxes[a]["x"] + boxes[a]["width"] <= viewport["width"], (a, boxes[a])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator(".table-box")  # allowed to scroll, but even on a phone each row fits (score and reason shown)
    assert box.evaluate("box => box.scrollWidth <= box.clientWidth"), box.evaluate("box => box.scrollWidth")
    assert page.eval_on_selector_all("#rows td", "cells => cells.every(c => c.getBoundingClientRect().right <= "
                                                 "window.innerWidth)")

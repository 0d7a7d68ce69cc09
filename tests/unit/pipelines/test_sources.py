"""pipelines.sources: what a folder source lists, what each manifest line becomes, what a corrections file holds."""
import json
import logging
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import corrections, dead_letters, features
from pipelines.sources import (
    CorrectionsSource,
    FolderSource,
    JsonlSource,
    ReadCorrections,
    ReadFolder,
    folder_patterns,
    folder_records,
    manifest_record,
    read_decisions,
)

MANIFEST = JsonlSource(path="/data/manifest.jsonl", label_map={"charts": "chart", 0: "non_chart"})


def _listed(source: FolderSource) -> dict[str, tuple[str, str]]:
    """{path under the root: (label, error)} for everything a folder source lists."""
    root = source.root.rstrip("/") + "/"
    return {r.uri[len(root):]: (r.label, r.error) for folder in folder_patterns(source)
            for r in folder_records(folder, source)}


def test_files_in_subfolders_of_a_label_folder_are_read_with_its_label(tmp_path):
    for path in ("chart/a.png", "chart/sub/b.png", "chart/sub/deeper/c.png", "non_chart/2026/d.jpg",
                 "non_chart/.hidden/e.png"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x")
    (tmp_path / "other" / "f.png").parent.mkdir()
    (tmp_path / "other" / "f.png").write_bytes(b"x")  # not a label folder: not read

    assert _listed(FolderSource(root=str(tmp_path))) == {
        "chart/a.png": ("chart", None), "chart/sub/b.png": ("chart", None), "chart/sub/deeper/c.png": ("chart", None),
        "non_chart/2026/d.jpg": ("non_chart", None), "non_chart/.hidden/e.png": ("non_chart", None),
    }


def test_a_folder_source_with_files_only_in_subfolders_is_accepted_and_an_empty_one_refused(tmp_path):
    (tmp_path / "chart" / "sub").mkdir(parents=True)
    with pytest.raises(ValueError, match="no files in"):
        ReadFolder(FolderSource(root=str(tmp_path)))
    (tmp_path / "chart" / "sub" / "a.png").write_bytes(b"x")
    ReadFolder(FolderSource(root=str(tmp_path)))  # only chart/ exists: non_chart/ is not a dead letter
    assert _listed(FolderSource(root=str(tmp_path))) == {"chart/sub/a.png": ("chart", None)}


def test_a_symlinked_subfolder_is_a_dead_letter_not_a_silent_skip(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.png").write_bytes(b"x")
    (tmp_path / "chart").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "chart" / "linked")
    assert _listed(FolderSource(root=str(tmp_path))) == {"chart/linked": ("chart", dead_letters.NOT_A_FILE)}


@pytest.mark.parametrize("line", [
    b"[" * 1000 + b"]" * 1000,
    b'{"image": "a.png", "label": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    b'{"image": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b', "label": "chart"}',
    b"[" * 1_000_000,
], ids=["array_1000", "label_1000", "object_5000", "open_1e6"])
def test_a_deeply_nested_line_is_a_dead_letter_with_a_reason(line):
    record = manifest_record(MANIFEST, "/data", 7, line)
    assert (record.uri, record.error) == ("/data/manifest.jsonl:7", dead_letters.BAD_MANIFEST_LINE)
    assert record.detail and len(record.detail) < 400


@pytest.mark.parametrize("line, uri, label", [
    (b'{"image": "img/a.png", "label": "charts"}', "/data/img/a.png", "chart"),
    (b'{"image": "gs://b/a.png", "label": 0}', "gs://b/a.png", "non_chart"),
    (b'{"image": "/abs/a.png", "label": "\xc2\xb2"}', "/abs/a.png", "\u00b2"),  # a digit int() refuses
])
def test_a_good_line_names_its_image_and_label(line, uri, label):
    record = manifest_record(MANIFEST, "/data", 1, line)
    assert (record.uri, record.label, record.error) == (uri, label, None)


@pytest.mark.parametrize("line, group", [
    (b'{"image": "a.png", "label": 1, "group": "t.me/channel"}', "t.me/channel"),
    (b'{"image": "a.png", "label": 1}', ""),
])
def test_a_lines_group_is_kept_and_a_line_without_one_has_none(line, group):
    record = manifest_record(MANIFEST, "/data", 1, line)
    assert (record.group, record.error) == (group, None)


def test_a_group_that_is_not_a_string_is_a_dead_letter_that_says_so():
    record = manifest_record(MANIFEST, "/data", 4, b'{"image": "a.png", "label": 1, "group": 7}')
    assert (record.uri, record.error) == ("/data/manifest.jsonl:4", dead_letters.BAD_MANIFEST_LINE)
    assert '"group" must be a string' in record.detail


@pytest.mark.parametrize("line", [b'{"image": "a\\u0000.png", "label": 1}', b'{"image": "a\\ud800.png", "label": 1}'])
def test_an_image_that_cannot_name_a_file_is_a_dead_letter(line):
    assert manifest_record(MANIFEST, "/data", 1, line).error == dead_letters.BAD_MANIFEST_LINE


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
manifest_objects = st.fixed_dictionaries(
    {}, optional={"image": json_values | st.text(), "label": json_values | st.sampled_from(["chart", "charts", 0])})
lines = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    manifest_objects.map(lambda v: json.dumps(v).encode()),
    st.tuples(st.integers(1, 3000), st.sampled_from([b"[", b'{"a":', b'{"image": ['])).map(lambda t: t[1] * t[0]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=lines)
def test_any_manifest_line_becomes_an_image_record_or_a_dead_letter(line):
    record = manifest_record(MANIFEST, "/data", 3, line)
    if record.error is None:
        assert isinstance(record.uri, str) and "\0" not in record.uri and isinstance(record.label, str)
        record.uri.encode("utf-8")  # it can be written and read back
        assert record.label in features.LABEL_NAMES or record.label == MANIFEST.label_for(json.loads(line)["label"])
    else:
        assert record.error == dead_letters.BAD_MANIFEST_LINE and record.detail
        assert record.uri == "/data/manifest.jsonl:3"


def _decide(path, image: str, label, previous: str = "", decided_at: str = "") -> None:
    """A decision written as the review page writes it."""
    previous = previous or (features.NON_CHART if label == features.CHART else features.CHART)
    corrections.append(str(path), corrections.Decision(image, label, previous, 0.5, "run1", decided_at))


def test_a_corrections_source_yields_each_image_its_last_standing_decision_names(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    monkeypatch.chdir(tmp_path)  # where label, serve --review and ingest run
    path = tmp_path / "results" / "run1.corrections.jsonl"
    _decide(path, "/img/flipped.png", features.CHART)
    _decide(path, "/img/changed_mind.png", features.CHART)
    _decide(path, "/img/changed_mind.png", features.NON_CHART, previous=features.CHART)  # the last line wins
    _decide(path, "/img/undone.png", features.NON_CHART)
    _decide(path, "/img/undone.png", corrections.UNDECIDED, previous=features.CHART)  # taken back
    _decide(path, "/img/confirmed.png", features.CHART, previous=features.CHART)
    _decide(path, "relative/r.png", features.NON_CHART)
    with open(path, "ab") as f:
        f.write(b'{"image": "/img/torn.png", "label": "ch')  # a crash cut the last write short

    reviewed = read_decisions(CorrectionsSource(path=str(path)))

    assert [(r.uri, r.label, r.data, r.error) for r in reviewed.records[:-1]] == [
        ("/img/changed_mind.png", features.NON_CHART, None, None), ("/img/confirmed.png", features.CHART, None, None),
        ("/img/flipped.png", features.CHART, None, None),
        (str(tmp_path / "relative" / "r.png"), features.NON_CHART, None, None)]  # as the review page read it
    torn = reviewed.records[-1]
    assert (torn.uri, torn.error) == (f"{path}:8", dead_letters.BAD_MANIFEST_LINE)
    assert "not a whole decision" in torn.detail
    assert {r.source for r in reviewed.records} == {str(path)}
    assert (reviewed.decisions, reviewed.relabelled, reviewed.confirmed, reviewed.taken_back, reviewed.superseded,
            reviewed.torn) == (7, 3, 1, 1, 2, 1)


def test_across_corrections_files_the_later_decision_wins(tmp_path):
    _decide(tmp_path / "b.corrections.jsonl", "/img/a.png", features.CHART, decided_at="2026-12-01T10:00:00.000Z")
    _decide(tmp_path / "b.corrections.jsonl", "/img/b.png", features.CHART, decided_at="2026-12-03T10:00:00.000Z")
    _decide(tmp_path / "a.corrections.jsonl", "/img/a.png", features.NON_CHART, decided_at="2026-12-02T10:00:00.000Z")
    _decide(tmp_path / "a.corrections.jsonl", "/img/b.png", corrections.UNDECIDED, previous=features.NON_CHART,
            decided_at="2026-12-02T10:00:00.000Z")

    reviewed = read_decisions(CorrectionsSource(path=str(tmp_path / "*.corrections.jsonl")))

    assert [(r.uri, r.label) for r in reviewed.records] == [("/img/a.png", features.NON_CHART),
                                                            ("/img/b.png", features.CHART)]
    assert len(reviewed.files) == 2 and (reviewed.superseded, reviewed.taken_back) == (2, 0)


def test_a_missing_corrections_file_is_an_error_naming_the_file_and_the_fix(tmp_path):
    missing = str(tmp_path / "nobody.corrections.jsonl")
    with pytest.raises(ValueError) as err:
        ReadCorrections(CorrectionsSource(path=missing))
    assert missing in str(err.value) and "serve --review" in str(err.value) and "`path:`" in str(err.value)


def test_taken_back_decisions_and_torn_lines_are_logged_when_the_source_is_read(tmp_path, caplog):
    path = tmp_path / "review.corrections.jsonl"
    _decide(path, "/img/a.png", features.CHART)
    _decide(path, "/img/b.png", features.CHART)
    _decide(path, "/img/b.png", corrections.UNDECIDED, previous=features.NON_CHART)
    with open(path, "ab") as f:
        f.write(b"{not json\n")
    with caplog.at_level(logging.INFO):
        ReadCorrections(CorrectionsSource(path=str(path)))
    (line,) = [r.getMessage() for r in caplog.records if "corrections source" in r.getMessage()]
    assert "3 decision(s)" in line and "1 image(s) relabelled" in line and "1 taken back" in line
    assert "1 torn line(s)" in line

"""core.corrections: the append-only decisions file a person's review writes and ingest reads."""
import json
import os
import subprocess
import sys
import threading

import pytest

from core import corrections, features
from core.corrections import Decision
from tests import support


def _decision(image: str, label, n: int = 0) -> Decision:
    return Decision(image=image, label=label, previous_label=features.NON_CHART, score=0.4 + n / 1000, run_id="r1")


def test_decisions_read_back_in_order_with_their_fields_and_a_time(tmp_path):
    path = str(tmp_path / "c.jsonl")
    written = [corrections.append(path, _decision("/a.png", features.CHART)),
               corrections.append(path, _decision("/b.png", features.NON_CHART))]
    assert list(corrections.read_lines(path)) == written
    assert all(d.decided_at.endswith("Z") for d in written)
    first = json.loads(open(path).readline())
    assert set(first) == set(corrections.FIELDS) and first["image"] == "/a.png" and first["label"] == features.CHART


def test_the_last_decision_for_an_image_wins_and_an_undo_takes_it_back(tmp_path):
    path = str(tmp_path / "c.jsonl")
    corrections.append(path, _decision("/a.png", features.CHART))
    corrections.append(path, _decision("/a.png", features.NON_CHART))
    corrections.append(path, _decision("/b.png", features.CHART))
    corrections.append(path, _decision("/b.png", corrections.UNDECIDED))
    latest = corrections.latest(path)
    assert {image: d.label for image, d in latest.items()} == {"/a.png": features.NON_CHART, "/b.png": None}
    assert list(corrections.corrected(path)) == ["/a.png"]
    assert json.loads(open(path).read().splitlines()[-1])["label"] is None  # written as JSON null


def test_a_file_not_written_yet_holds_no_decision(tmp_path):
    assert corrections.latest(str(tmp_path / "none.jsonl")) == {}
    assert corrections.Follower(str(tmp_path / "none.jsonl")).latest() == {}


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_decision_starts_its_own_line(tmp_path, caplog):
    path = str(tmp_path / "c.jsonl")
    corrections.append(path, _decision("/a.png", features.CHART))
    whole = _decision("/b.png", features.CHART).to_line()
    with open(path, "a") as f:
        f.write(whole[: len(whole) // 2])  # the process died mid-write
    corrections.append(path, _decision("/c.png", features.NON_CHART))
    assert [d.image for d in corrections.read_lines(path)] == ["/a.png", "/c.png"]
    assert "line 2 is not a decision" in caplog.text
    assert list(corrections.Follower(path).latest()) == ["/a.png", "/c.png"]


MAYBE = json.dumps({"image": "/a.png", "label": "maybe", "previous_label": "chart", "score": 0.5, "run_id": "r",
                    "decided_at": ""})


@pytest.mark.parametrize("line", ['{"image": "/a.png"}', MAYBE, "[1, 2]", "not json", '{"image": ""}'])
def test_a_line_that_is_not_a_decision_is_skipped(tmp_path, line):
    path = tmp_path / "c.jsonl"
    path.write_text(line + "\n" + _decision("/b.png", features.CHART).to_line())
    assert [d.image for d in corrections.read_lines(str(path))] == ["/b.png"]


def test_a_label_outside_the_labels_is_refused():
    with pytest.raises(ValueError, match="chart"):
        _decision("/a.png", "dog")
    with pytest.raises(ValueError, match="uri"):
        _decision("", features.CHART)


def test_appends_from_many_threads_are_whole_lines(tmp_path):
    path = str(tmp_path / "c.jsonl")
    threads = [threading.Thread(target=lambda t=t: [corrections.append(path, _decision(f"/{t}/{n}.png", features.CHART,
                                                                                       n)) for n in range(50)])
               for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = open(path).read().splitlines()
    assert len(lines) == 400 and len(list(corrections.read_lines(path))) == 400


APPENDER = """
import sys
from core import corrections
for n in range(int(sys.argv[3])):
    corrections.append(sys.argv[1], corrections.Decision(f"/{sys.argv[2]}/{n}.png", "chart", "non_chart", 0.5, "r"))
"""


def test_appends_from_two_processes_at_once_are_whole_lines(tmp_path):
    path = str(tmp_path / "c.jsonl")
    processes = [subprocess.Popen([sys.executable, "-c", APPENDER, path, name, "300"], cwd=support.REPO_ROOT,
                                  env=dict(os.environ, PYTHONPATH=support.REPO_ROOT)) for name in ("one", "two")]
    assert [p.wait(120) for p in processes] == [0, 0]
    decided = corrections.latest(path)
    assert len(open(path).read().splitlines()) == 600 and len(decided) == 600
    assert {image.split("/")[1] for image in decided} == {"one", "two"}


def test_a_follower_reads_what_others_append_and_waits_for_a_line_being_written(tmp_path):
    path = str(tmp_path / "c.jsonl")
    follower = corrections.Follower(path)
    corrections.append(path, _decision("/a.png", features.CHART))
    assert {i: d.label for i, d in follower.latest().items()} == {"/a.png": features.CHART}
    line = _decision("/a.png", None).to_line()
    with open(path, "a") as f:
        f.write(line[:10])
        f.flush()
        assert follower.latest()["/a.png"].label == features.CHART  # not whole yet
        f.write(line[10:])
    assert follower.latest()["/a.png"].label is None
    os.remove(path)
    corrections.append(path, _decision("/b.png", features.NON_CHART))  # a new file: read from its start
    assert list(follower.latest()) == ["/b.png"]


@pytest.mark.parametrize("path", ["gs://bucket/c.jsonl", "s3://bucket/c.jsonl"])
def test_a_remote_corrections_file_is_refused_naming_the_flag(path):
    with pytest.raises(ValueError, match="--corrections FILE on a local disk"):
        corrections.check_local(path)


def test_a_corrections_file_in_a_folder_that_cannot_be_written_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="permission denied"):
            corrections.check_local(str(tmp_path / "c.jsonl"))
    finally:
        tmp_path.chmod(0o700)


def test_a_local_corrections_file_gets_its_folder(tmp_path):
    corrections.check_local(str(tmp_path / "new" / "c.jsonl"))
    assert (tmp_path / "new").is_dir()

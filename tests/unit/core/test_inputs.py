"""pipelines.inputs: listing and bounded reading, every odd file with its reason."""
import os
import threading

import pytest

from core import dead_letters, inputs
from tests.support import servers
from tests.support.images import image_bytes


@pytest.fixture
def odd_folder(tmp_path):
    """A folder with one file of each odd kind, and a file outside it."""
    root = tmp_path / "in"
    root.mkdir()
    (root / "ok.png").write_bytes(image_bytes(1))
    (root / "sub").mkdir()
    (root / "sub" / "nested.png").write_bytes(image_bytes(2))
    with open(os.path.join(os.fsencode(root), b"bad\xffname.png"), "wb") as f:
        f.write(image_bytes(3))
    os.symlink(tmp_path / "missing.png", root / "broken.png")
    (tmp_path / "outside.png").write_bytes(image_bytes(4))
    os.symlink(tmp_path / "outside.png", root / "escape.png")
    os.symlink(root / "ok.png", root / "inside_link.png")
    os.mkfifo(root / "pipe.png")
    return root


def _by_name(listed):
    return {os.path.basename(entry.uri): entry for entry in listed}


def test_every_odd_file_is_listed_with_its_reason(odd_folder):
    listed = _by_name(inputs.list_files(os.path.join(odd_folder, "**")))
    assert {name: entry.error for name, entry in listed.items()} == {
        "ok.png": None, "nested.png": None, "inside_link.png": None,
        "bad\\xffname.png": dead_letters.BAD_FILE_NAME, "broken.png": dead_letters.BROKEN_SYMLINK,
        "escape.png": dead_letters.OUTSIDE_ROOT, "pipe.png": dead_letters.NOT_A_FILE,
    }
    for entry in listed.values():
        entry.uri.encode("utf-8")  # every record survives Beam's UTF-8 string coder
        assert entry.error is None or entry.detail


def test_a_linked_folder_is_reported_not_followed(odd_folder, tmp_path):
    os.symlink(odd_folder / "sub", odd_folder / "loop")  # a link to a folder (and a loop, were it followed)
    listed = _by_name(inputs.list_files(os.path.join(odd_folder, "**")))
    assert listed["loop"].error == dead_letters.NOT_A_FILE
    assert sorted(listed) == sorted(
        ["ok.png", "nested.png", "inside_link.png", "bad\\xffname.png", "broken.png", "escape.png", "pipe.png", "loop"]
    )


def test_symlinks_out_of_the_root_are_read_only_when_allowed(odd_folder):
    listed = _by_name(inputs.list_files(os.path.join(odd_folder, "*.png"), allow_outside_root=True))
    assert listed["escape.png"].error is None
    assert inputs.read_bounded(listed["escape.png"].uri, 10**6) == image_bytes(4)


def test_reads_are_capped_and_never_read_more_than_cap_plus_one(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1000)
    assert inputs.read_bounded(str(path), 1000) == b"x" * 1000
    with pytest.raises(inputs.ReadError) as caught:
        inputs.read_bounded(str(path), 999)
    assert caught.value.reason == dead_letters.FILE_TOO_LARGE


def test_a_fifo_is_refused_without_blocking(odd_folder):
    outcome = []
    reader = threading.Thread(
        target=lambda: outcome.append(_reason(lambda: inputs.read_bounded(str(odd_folder / "pipe.png"), 100))),
        daemon=True,
    )
    reader.start()
    reader.join(5)
    assert outcome == [dead_letters.NOT_A_FILE]


def test_a_file_that_vanished_after_listing_is_unreadable(tmp_path):
    assert _reason(lambda: inputs.read_bounded(str(tmp_path / "gone.png"), 100)) == dead_letters.UNREADABLE


def _reason(read) -> str:
    try:
        read()
    except inputs.ReadError as err:
        return err.reason
    return "read"


def test_a_folder_that_cannot_be_listed_is_reported_not_skipped(tmp_path):
    """os.walk's error path (a folder gone, or unreadable to a non-root user) yields an `unreadable` record."""
    listed = list(inputs.list_files(os.path.join(tmp_path, "gone", "**")))
    assert [(os.path.basename(entry.uri), entry.error) for entry in listed] == [("gone", dead_letters.UNREADABLE)]


def test_input_pattern_lists_a_folder_recursively_and_passes_globs_through(tmp_path):
    assert inputs.input_pattern(str(tmp_path)) == os.path.join(str(tmp_path), "**")
    assert inputs.input_pattern(str(tmp_path) + "/") == os.path.join(str(tmp_path), "**")
    assert inputs.input_pattern("gs://bucket/inbox/") == "gs://bucket/inbox/**"
    assert inputs.input_pattern("gs://bucket/inbox/*.png") == "gs://bucket/inbox/*.png"
    assert inputs.input_pattern(str(tmp_path / "*.jpg")) == str(tmp_path / "*.jpg")
    assert inputs.input_pattern(str(tmp_path / "missing")) == str(tmp_path / "missing")  # not a folder (yet)


def test_inside_compares_whole_path_steps(tmp_path):
    assert inputs.inside(str(tmp_path / "in" / "out"), str(tmp_path / "in"))
    assert not inputs.inside(str(tmp_path / "inbox2"), str(tmp_path / "inbox"))
    assert inputs.inside("gs://b/in/out/labels", "gs://b/in/")
    assert not inputs.inside("gs://b/inbox2/labels", "gs://b/inbox")


def test_a_remote_read_that_hangs_is_unreadable_after_the_timeout():
    import time

    started = time.monotonic()
    with servers.hanging_store() as prefix, pytest.raises(inputs.ReadError) as err:
        inputs.read_bounded(f"{prefix}x.png", 1000, timeout_s=1.0)
    assert err.value.reason == dead_letters.UNREADABLE and "--read_timeout" in err.value.detail
    assert time.monotonic() - started < 5

"""Listing and reading input files so that no odd file can stop a job or vanish from it.

Every listed path is a `Listed` record: a file to read, or the reason it cannot be one (a dead letter).
Local listings see what Beam's match hides or chokes on (names that are not UTF-8, broken symlinks,
links out of the root, FIFOs); remote patterns go through Beam's FileSystems. Reads are size-capped.
"""
import concurrent.futures
import glob
import os
import stat
from typing import Iterator, NamedTuple, Optional

from core import storage
from core.dead_letters import (
    BAD_FILE_NAME,
    BROKEN_SYMLINK,
    FILE_TOO_LARGE,
    INPUT_REASONS,
    NOT_A_FILE,
    OUTSIDE_ROOT,
    UNREADABLE,
)

REASONS = INPUT_REASONS  # every code a Listed record or a ReadError carries
DEFAULT_MAX_FILE_MB = 64.0
DEFAULT_READ_TIMEOUT_S = 30.0  # a remote read with no answer by then is unreadable
_REMOTE_READS = concurrent.futures.ThreadPoolExecutor(16, thread_name_prefix="remote-read")  # hung reads wait here


def megabytes(mb: float) -> int:
    """--max_file_mb in bytes."""
    return int(mb * 1024 * 1024)


class Listed(NamedTuple):
    """A listed path: `error` is None for a file to read, else a reason code from REASONS. `ack_id`: the
    Pub/Sub message that named it, acknowledged once its row or dead letter is written."""

    uri: str
    error: Optional[str] = None
    detail: str = ""
    ack_id: str = ""


class ReadError(OSError):
    """A file that cannot be read; `reason` is a code from REASONS."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def named(path: str) -> Listed:
    """A path as a Listed record: a file to read, or `bad_file_name` when it is not UTF-8."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        return Listed(shown, BAD_FILE_NAME, f"file name is not UTF-8 ({shown}); rename it")
    return Listed(path)


def list_files(pattern: str, root: Optional[str] = None, allow_outside_root: bool = False) -> Iterator[Listed]:
    """Every file matching `pattern`, sorted; `root` (default: the pattern's fixed prefix) bounds symlinks."""
    if "://" in pattern:
        yield from (Listed(uri) for uri in storage.match(pattern))
        return
    root = os.path.realpath(root if root is not None else _fixed_prefix(pattern))
    if pattern.endswith(f"{os.sep}**") and not glob.has_magic(pattern[:-3]):
        paths = _walk(pattern[:-3])
    else:
        paths = glob.glob(pattern, recursive=True, include_hidden=True)  # hidden files too: nothing skipped unseen
    records = (p if isinstance(p, Listed) else _check(p, root, allow_outside_root) for p in paths)
    yield from sorted((r for r in records if r is not None), key=lambda r: r.uri)


def _walk(folder: str) -> Iterator:
    """Every path under `folder` (hidden ones too), and a Listed `unreadable` for each subfolder that
    cannot be listed (glob would skip it without a word). Symlinked folders are not followed (a link
    loop would never end): each is a `not_a_file` record."""
    failed: list[OSError] = []
    for top, folders, names in os.walk(folder, onerror=failed.append):
        yield from (os.path.join(top, name) for name in names)
        for name in folders:
            if os.path.islink(os.path.join(top, name)):
                yield Listed(
                    named(os.path.join(top, name)).uri,
                    NOT_A_FILE,
                    "a symlink to a folder: not followed; list its target instead",
                )
    for err in failed:
        yield Listed(
            named(err.filename or folder).uri,
            UNREADABLE,
            f"folder cannot be listed: {type(err).__name__}: {err.strerror}",
        )


def input_pattern(source: str) -> str:
    """A folder becomes a recursive pattern; globs and URIs pass through."""
    if source.endswith("/") or (("://" not in source) and os.path.isdir(source)):
        return storage.join(source.rstrip("/"), "**")
    return source


def inside(path: str, folder: str) -> bool:
    """Whether `path` (a file prefix or folder) lies under `folder`, on local paths and URIs alike."""
    if "://" in path or "://" in folder:
        return path.rstrip("/").startswith(folder.rstrip("/") + "/")
    folder = os.path.realpath(folder)
    return os.path.commonpath([os.path.realpath(path), folder]) == folder


def under_prefix(uri: str, prefixes) -> bool:
    """Whether `uri` lies under one of `prefixes` (with no `..` step that could climb out of it)."""
    return "/../" not in f"{uri}/" and any(uri.startswith(p) for p in prefixes)


def read_bounded(uri: str, max_bytes: int, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> bytes:
    """The file's bytes, reading at most `max_bytes` + 1; raises ReadError with the reason. A remote read runs on
    a thread of its own and is given up after `timeout_s` (`unreadable`): a store that hangs never holds the
    caller (a decode thread) longer than that."""
    try:
        if "://" in uri:
            data = _REMOTE_READS.submit(_read_remote, uri, max_bytes).result(timeout=timeout_s)
        else:
            data = _read_local(uri, max_bytes)
    except ReadError:
        raise
    except concurrent.futures.TimeoutError as err:
        raise ReadError(UNREADABLE, f"no answer within {timeout_s:g} s (--read_timeout)") from err
    except Exception as err:  # any filesystem's error
        raise ReadError(UNREADABLE, f"{type(err).__name__}: {err}") from err
    if len(data) > max_bytes:
        raise ReadError(FILE_TOO_LARGE, f"over {max_bytes} bytes (--max_file_mb)")
    return data


def _read_remote(uri: str, max_bytes: int) -> bytes:
    with storage.open_read(uri) as f:
        return f.read(max_bytes + 1)


def _read_local(path: str, max_bytes: int) -> bytes:
    """Open without blocking (a FIFO swapped in after listing must not hang) and read a regular file only."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReadError(NOT_A_FILE, "not a regular file")
        return f.read(max_bytes + 1)


def _check(path: str, root: str, allow_outside_root: bool) -> Optional[Listed]:
    """The Listed record for one local path; None for folders (they are not inputs)."""
    listed = named(path)
    if listed.error:
        return listed
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return Listed(path, BROKEN_SYMLINK, f"symlink to missing {os.readlink(path)}")
        return Listed(path, UNREADABLE, "vanished while listing")
    except OSError as err:
        return Listed(path, UNREADABLE, f"{type(err).__name__}: {err}")
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        return Listed(path, NOT_A_FILE, "a FIFO, socket or device, not a regular file")
    real = os.path.realpath(path)
    if not allow_outside_root and os.path.commonpath([real, root]) != root:
        return Listed(path, OUTSIDE_ROOT, f"symlink to {real}, outside {root} (--allow_outside_root reads it)")
    return Listed(path)


def _fixed_prefix(pattern: str) -> str:
    """The folder part of a glob before its first wildcard."""
    head = pattern
    while glob.has_magic(head):
        head = os.path.dirname(head)
    return head if os.path.isdir(head) else os.path.dirname(head) or "."

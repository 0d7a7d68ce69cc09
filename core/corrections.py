"""A person's decisions on labelled images (the review queue writes them, ingest trains on them): an append-only
JSONL file, one decision a line, the last line for an image winning when read (docs/ARCHITECTURE.md, Contract 7).

Each decision is one `write` of one line to a file opened for appending, under an exclusive `flock`, fsynced
before the call returns: two writers (two browser tabs, two servers) never interleave inside a line, a restart
reads everything decided before it, and a crash can cost at most the line being written, which `read` then skips
and counts.
Object stores cannot append, so the file is local.
"""
import dataclasses
import fcntl
import json
import logging
import os
import threading
from typing import Iterable, Iterator, Optional

from core import features, storage
from core.results import timestamp

UNDECIDED = None  # `label` of a decision taken back (undo): the image goes back to the model's label
FIELDS = ("image", "label", "previous_label", "score", "run_id", "decided_at")
SUFFIX = ".corrections.jsonl"  # PREFIX.corrections.jsonl: serve --review PREFIX's default file

_LOCK = threading.Lock()  # one process's threads append one at a time (flock orders processes)


@dataclasses.dataclass(frozen=True)
class Decision:
    """One line: a person said `image` is `label` (None: taken back) where run `run_id` said `previous_label`."""

    image: str  # the uri the label run's result line names
    label: Optional[str]  # chart, non_chart, or None (undone)
    previous_label: str
    score: float
    run_id: str
    decided_at: str = ""

    def __post_init__(self):
        if not isinstance(self.image, str) or not self.image:
            raise ValueError(f"a decision names its image by a non-empty uri, got {self.image!r}")
        if self.label not in (*features.LABEL_NAMES, UNDECIDED):
            raise ValueError(f"a decision's label must be one of {list(features.LABEL_NAMES)} or null, "
                             f"got {self.label!r}")

    def to_line(self) -> str:
        return json.dumps({k: getattr(self, k) for k in FIELDS}, sort_keys=True) + "\n"


def check_local(path: str) -> None:
    """ValueError unless `path` is a local file this process can append to (its folder is created)."""
    if "://" in path:
        raise ValueError(f"{path}: the corrections file must be a local path (object stores cannot append); "
                         "pass --corrections FILE on a local disk")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"{path}: cannot write the corrections file there (permission denied)")


def append(path: str, decision: Decision) -> Decision:
    """Append one decision (stamped now if it has no time) and make it durable before returning it."""
    if not decision.decided_at:
        decision = dataclasses.replace(decision, decided_at=timestamp())
    data = decision.to_line().encode()
    with _LOCK:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # another writer's line is whole before we look at the last byte
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a line torn by a crash ends where it stopped
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    return decision


def read_lines(path: str) -> Iterator[Decision]:
    """Every decision in file order; a line that is not a whole decision (a crash mid-write) is logged and skipped."""
    text = storage.read_bytes(path).decode("utf-8", errors="replace")
    yield from _parse(text.splitlines(), path)


def _parse(lines: Iterable[str], path: str, first_number: int = 1) -> Iterator[Decision]:
    skipped = 0
    for number, line in enumerate(lines, first_number):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
            yield Decision(**{k: values[k] for k in FIELDS})
        except (ValueError, KeyError, TypeError) as err:
            skipped += 1
            logging.warning("%s line %d is not a decision, skipped (%s: %s)", path, number, type(err).__name__, err)
    if skipped:
        logging.warning("%s: %d line(s) skipped", path, skipped)


def latest(path: str) -> dict[str, Decision]:
    """{image: its last decision}, taken-back ones included (label None); {} when the file does not exist yet."""
    if not storage.exists(path):
        return {}
    return {d.image: d for d in read_lines(path)}


def corrected(path: str) -> dict[str, Decision]:
    """{image: its last decision} for the images whose last decision stands (not taken back)."""
    return {image: d for image, d in latest(path).items() if d.label is not UNDECIDED}


class Follower:
    """{image: its last decision} of a local file that other writers (another server) may be appending to, reading
    only the lines added since the last call; a line still being written waits for its newline."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, inode: Optional[int]) -> None:
        self._inode, self._offset, self._lines, self._latest = inode, 0, 0, {}

    def latest(self) -> dict[str, Decision]:
        with self._lock:
            try:
                with open(self.path, "rb") as f:
                    status = os.fstat(f.fileno())
                    if status.st_ino != self._inode or status.st_size < self._offset:  # replaced or cut: start over
                        self._reset(status.st_ino)
                    f.seek(self._offset)
                    added = f.read(status.st_size - self._offset)
            except FileNotFoundError:
                self._reset(None)
                return {}
            whole = added[:added.rfind(b"\n") + 1]
            lines = whole.decode("utf-8", errors="replace").splitlines()
            self._latest.update((d.image, d) for d in _parse(lines, self.path, self._lines + 1))
            self._offset, self._lines = self._offset + len(whole), self._lines + len(lines)
            return dict(self._latest)

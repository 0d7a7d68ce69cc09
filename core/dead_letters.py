"""Dead letters: what an input that becomes neither an example nor a result is written as, and every
reason code. README's Troubleshooting table says what each code means and what to do about it."""
from typing import Optional

REJECTED = "rejected"  # the tag of every DoFn's dead-letter output
DUPLICATES = "duplicates"  # the tag of ingest's dropped copies (not dead letters: a kept copy stands for them)

# The file is not an image the model can take (transforms.image.prepare).
EMPTY_FILE = "empty_file"  # zero bytes
NOT_AN_IMAGE = "not_an_image"  # not a supported format (includes a header cut short)
DECOMPRESSION_BOMB = "decompression_bomb"  # the header claims over --max_pixels (50 MP by default; before decoding)
TOO_SMALL = "too_small"  # a side below the smallest useful size
TOO_LARGE = "too_large"  # a side above the largest useful size
TRUNCATED = "truncated"  # the pixel data cannot be fully decoded (cut short or corrupt)
UNSUPPORTED_MODE = "unsupported_mode"  # a Pillow pixel mode with no defined conversion to RGB
IMAGE_REASONS = (EMPTY_FILE, NOT_AN_IMAGE, DECOMPRESSION_BOMB, TOO_SMALL, TOO_LARGE, TRUNCATED, UNSUPPORTED_MODE)

# The path cannot be listed or read (core.inputs).
BAD_FILE_NAME = "bad_file_name"  # the path is not valid UTF-8; rename the file
BROKEN_SYMLINK = "broken_symlink"  # a symlink whose target does not exist
OUTSIDE_ROOT = "outside_root"  # a symlink out of the input folder (allow with --allow_outside_root)
NOT_A_FILE = "not_a_file"  # a FIFO, socket or device: never read
FILE_TOO_LARGE = "file_too_large"  # over the size cap (--max_file_mb)
UNREADABLE = "unreadable"  # the filesystem refused the read (permissions, vanished, network)
INPUT_REASONS = (BAD_FILE_NAME, BROKEN_SYMLINK, OUTSIDE_ROOT, NOT_A_FILE, FILE_TOO_LARGE, UNREADABLE)

# Ingest: the source's labels are wrong (pipelines.sources, pipelines.ingest).
UNKNOWN_LABEL = "unknown_label"  # a label that maps to neither chart nor non_chart
BAD_MANIFEST_LINE = "bad_manifest_line"  # a JSONL line that is not {"image": str, "label": str or int} (or nests
# deeper than the JSON reader allows, or names a path with a NUL byte)
LABEL_CONFLICT = "label_conflict"  # one picture with two labels: every copy is dead-lettered
INGEST_REASONS = (UNKNOWN_LABEL, BAD_MANIFEST_LINE, LABEL_CONFLICT)

# Labelling and serving (pipelines.label, pipelines.serve).
MODEL_ERROR = "model_error"  # the model refused this one image
BAD_MESSAGE = "bad_message"  # a Pub/Sub message that names no image
NOT_ALLOWED = "not_allowed"  # a URI or path outside --allowed_prefix / --allowed_root
CHANGED_SINCE_LABELLED = "changed_since_labelled"  # --sort_into: the file changed after labelling
SORT_FAILED = "sort_failed"  # --sort_into: the copy failed (the label line stands)
LABEL_REASONS = (MODEL_ERROR, BAD_MESSAGE, NOT_ALLOWED, CHANGED_SINCE_LABELLED, SORT_FAILED)

# Serving: a whole request refused (pipelines.serve).
BAD_REQUEST = "bad_request"  # not JSON, not exactly one image field, bad base64, no file
REQUEST_TOO_LARGE = "request_too_large"  # a body over --max_request_mb
TOO_MANY_FILES = "too_many_files"  # a multipart upload over --max_files
REQUEST_TIMEOUT = "request_timeout"  # 408: no complete request head within --header_timeout (then closed)
SERVER_BUSY = "server_busy"  # 503: closed to make room at --max_connections
SERVER_ERROR = "server_error"  # 500: an exception no handler expected (a bug; its traceback is in the server's log)
REQUEST_REASONS = (BAD_REQUEST, REQUEST_TOO_LARGE, TOO_MANY_FILES, REQUEST_TIMEOUT, SERVER_BUSY, SERVER_ERROR)

REASONS = IMAGE_REASONS + INPUT_REASONS + INGEST_REASONS + LABEL_REASONS + REQUEST_REASONS


def ingest_record(source: str, uri: str, reason: str, detail: str, label: str = "") -> dict:
    """A line of ingest's dead_letter/rejected-*.jsonl."""
    return {"source": source, "uri": uri, "label": label, "reason": reason, "detail": detail}


def duplicate_record(source: str, uri: str, duplicate_of: str) -> dict:
    """A line of ingest's duplicates/dropped-*.jsonl: a copy removed by deduplication."""
    return {"source": source, "uri": uri, "duplicate_of": duplicate_of}


def label_record(uri: str, reason: str, detail: str, rejected_at: str) -> dict:
    """A line of labelling's PREFIX.rejected-*.jsonl (`rejected_at`: UTC ISO-8601)."""
    return {"uri": uri, "reason": reason, "detail": detail, "rejected_at": rejected_at}


def refusal(reason: str, detail: str, where: Optional[dict] = None) -> dict:
    """serve's answer for an image or request that gets no label: {uri | name, reason, detail}."""
    return {**(where or {}), "reason": reason, "detail": detail}

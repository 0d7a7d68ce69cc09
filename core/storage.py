"""Paths on any filesystem: Beam's FileSystems where Beam knows the scheme
(local, gs://, s3://, ...), fsspec for the rest (memory://, ...)."""
import os
import posixpath
import socket
import threading
import uuid
from typing import BinaryIO

import fsspec
from apache_beam.io.filesystems import FileSystems


def _beam_handles(uri: str) -> bool:
    try:
        FileSystems.get_filesystem(uri)
    except ValueError:
        return False
    return True


def join(base: str, *parts: str) -> str:
    """Join path parts on local paths and URIs alike."""
    if "://" in base:
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def match(pattern: str) -> list[str]:
    """Sorted paths of the files matching a glob pattern (`**` crosses folders)."""
    if _beam_handles(pattern):
        results = FileSystems.match([pattern])[0].metadata_list
        return sorted(m.path for m in results)
    fs, _, _ = fsspec.get_fs_token_paths(pattern)
    protocol = pattern.split("://", 1)[0]
    return sorted(f"{protocol}://{p.lstrip('/')}" if protocol == "memory" else fs.unstrip_protocol(p)
                  for p, info in fs.glob(pattern, detail=True).items() if info["type"] == "file")


def open_read(uri: str) -> BinaryIO:
    """A binary reader, never decompressing."""
    if _beam_handles(uri):
        return FileSystems.open(uri, compression_type="uncompressed")
    return fsspec.open(uri, "rb").open()


def read_bytes(uri: str) -> bytes:
    """The whole content of one file."""
    with open_read(uri) as f:
        return f.read()


def open_write(uri: str) -> BinaryIO:
    """A binary writer; parent folders are created where the filesystem has them."""
    if _beam_handles(uri):
        if "://" not in uri:
            os.makedirs(os.path.dirname(os.path.abspath(uri)), exist_ok=True)
        return FileSystems.create(uri)
    return fsspec.open(uri, "wb").open()


def write_atomically(uri: str, data: bytes) -> None:
    """Write `data` so that readers see all of it or nothing: a temporary name then a rename on
    local disks; object stores make an upload visible only once it is complete."""
    if "://" in uri:
        with open_write(uri) as f:
            f.write(data)
        return
    os.makedirs(os.path.dirname(os.path.abspath(uri)), exist_ok=True)
    temporary = f"{uri}.{uuid.uuid4().hex}.part"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, uri)


def copy_tree(source: str, target: str, skip: tuple[str, ...] = ()) -> None:
    """Every file under `source` to the same path under `target`, less the top-level entries named in `skip`."""
    source = source.rstrip("/" + os.sep)
    for path in match(join(source, "**")):
        relative = path[len(source):].lstrip("/" + os.sep)
        if relative.replace(os.sep, "/").split("/")[0] not in skip:
            with open_write(join(target, relative)) as f:
                f.write(read_bytes(path))


def delete(uri: str) -> None:
    if _beam_handles(uri):
        FileSystems.delete([uri])
    else:
        fsspec.get_fs_token_paths(uri)[0].rm(uri)


def check_writable(prefix: str, flag: str) -> None:
    """Fail at launch, naming `flag`, when files cannot be written under `prefix` (rather than on the workers)."""
    probe = f"{prefix}.write-probe-{uuid.uuid4().hex[:8]}"
    try:
        with open_write(probe) as f:
            f.write(b"")
        delete(probe)
    except Exception as err:  # any filesystem's error
        raise ValueError(f"{flag} {prefix}: cannot write there ({type(err).__name__}: {err})") from err


def makedirs(uri: str) -> None:
    """Create a folder (a no-op on object stores, where folders are implied)."""
    if "://" not in uri:
        os.makedirs(uri, exist_ok=True)
    elif not _beam_handles(uri):
        fsspec.get_fs_token_paths(uri)[0].makedirs(uri, exist_ok=True)


def exists(uri: str) -> bool:
    if _beam_handles(uri):
        return FileSystems.exists(uri)
    fs, _, (path,) = fsspec.get_fs_token_paths(uri)
    return fs.exists(path)


def reachable(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to host:port opens within `timeout` seconds, name lookup included
    (the lookup has no timeout of its own, hence the thread)."""
    opened: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            opened.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(opened)


def require_reachable(host: str, port: int, what: str, alternatives: str, timeout: float = 3.0) -> None:
    """Fail within `timeout` seconds, naming `what` and the offline `alternatives`,
    when `host:port` cannot be reached (instead of letting a client retry for minutes)."""
    if not reachable(host, port, timeout):
        raise ConnectionError(f"{what} needs {host}:{port}, which is unreachable. {alternatives}")

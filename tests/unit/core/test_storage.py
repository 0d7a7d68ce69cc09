"""core.storage.copy_tree: a run folder copied file for file, nested folders included, on local disks and
fsspec filesystems alike."""
import os

import fsspec
import pytest

from core import storage

TREE = {"metadata.json": b"{}", "saved_model/saved_model.pb": b"graph", "saved_model/variables/v.index": b"index",
        "member.npz": b"member"}


@pytest.mark.parametrize("scheme", ["local", "memory"])
def test_copy_tree_copies_every_nested_file_less_the_skipped_entries(scheme, tmp_path):
    root = str(tmp_path) if scheme == "local" else f"memory://copy-{os.getpid()}"
    for name, data in TREE.items():
        with storage.open_write(storage.join(root, "source", name)) as f:
            f.write(data)
    storage.copy_tree(storage.join(root, "source") + "/", storage.join(root, "target"), skip=("member.npz",))
    copied = {path[len(storage.join(root, "target")) + 1:]: storage.read_bytes(path)
              for path in storage.match(storage.join(root, "target", "**"))}
    assert copied == {name: data for name, data in TREE.items() if name != "member.npz"}
    if scheme == "memory":
        fsspec.filesystem("memory").rm(root, recursive=True)

"""Pretrained MobileNetV2 features from weights a package registry delivers offline (no Keras download).

Keras fetches ImageNet weights from storage.googleapis.com, which is out of reach here. The npm package
nsfwjs 4.4.0 (MIT) bundles a MobileNetV2 (alpha 1.0, 224 px; ImageNet-pretrained, then tuned to tell
drawings, neutral photos and NSFW images apart) as a TensorFlow.js layers model: its manifest in
`model.min.js`, its weights quantized to uint8 and base64-encoded in `group1-shard1of1.min.js`. This module
reads that bundle, from the tarball `npm pack nsfwjs@4.4.0` writes or from its unpacked folder, into
`keras.applications.MobileNetV2` without node (docs/EXPERIMENTS.md, 2026-12-07).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tarfile

import numpy as np

PACKAGE = "nsfwjs@4.4.0"
TARBALL_SHA256 = "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382"
BUNDLE_DIR = "package/dist/models/mobilenet_v2"
MANIFEST_FILE = "model.min.js"
SHARD_FILE = "group1-shard1of1.min.js"
INPUT_SIZE = 224  # the bundle's training size; smaller inputs lose most of the gain (EXPERIMENTS)
FEATURES = 1280  # width of the global average pool over the last block

_ENTRY = re.compile(
    r'\{name:"(?P<name>[^"]+)",shape:\[(?P<shape>[\d,]*)\],dtype:"float32",'
    r'quantization:\{min:(?P<min>[-+.\deE]+),scale:(?P<scale>[-+.\deE]+),dtype:"uint8"\}\}'
)
_BASE64 = re.compile(rb'"([A-Za-z0-9+/]{64,}={0,2})"')
_FIX = f"get the bundle with `npm pack {PACKAGE}` and pass the .tgz it writes"


def read_bundle(path: str) -> dict[str, np.ndarray]:
    """The bundle's weights by Keras name ("Conv1/kernel", "bn_Conv1/gamma", ...), dequantized to float32.

    ``path`` is the tarball (checked against TARBALL_SHA256), the folder it unpacks into, or the folder
    holding the two files.
    """
    manifest, shard = _bundle_files(path)
    entries = list(_ENTRY.finditer(manifest))
    if not entries:
        raise ValueError(f"{path}: no quantized weights in {MANIFEST_FILE}; {_FIX}")
    literals = _BASE64.findall(shard)
    if len(literals) != 1:
        raise ValueError(f"{path}: {SHARD_FILE} holds {len(literals)} base64 strings, expected one; {_FIX}")
    raw = np.frombuffer(base64.b64decode(literals[0]), np.uint8)
    shapes = [[int(n) for n in entry["shape"].split(",") if n] for entry in entries]
    sizes = [int(np.prod(shape)) for shape in shapes]
    if sum(sizes) != raw.size:
        raise ValueError(f"{path}: the manifest describes {sum(sizes)} weights, the shard holds {raw.size}; {_FIX}")
    weights, offset = {}, 0
    for entry, shape, size in zip(entries, shapes, sizes):
        values = raw[offset:offset + size].astype(np.float32) * float(entry["scale"]) + float(entry["min"])
        weights[entry["name"]] = values.reshape(shape)
        offset += size
    return weights


def feature_extractor(path: str):
    """MobileNetV2 to its 1,280 pooled features, loaded from the bundle at ``path``.

    Input: float32 [N, 224, 224, 3] in [0, 1] (RGB / 255, the bundle's own scaling).
    """
    import keras

    weights = read_bundle(path)
    model = keras.applications.MobileNetV2(
        input_shape=(INPUT_SIZE, INPUT_SIZE, 3), include_top=False, weights=None, pooling="avg"
    )
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([_weight(weights, layer.name, variable.name, path) for variable in layer.weights])
    return model


def _weight(weights: dict[str, np.ndarray], layer: str, variable: str, path: str) -> np.ndarray:
    """The bundle's value for a Keras variable (Keras 3 names a depthwise kernel `kernel`, Keras 2 did not)."""
    for name in (f"{layer}/{variable}", f"{layer}/depthwise_{variable}"):
        if name in weights:
            return weights[name]
    raise ValueError(f"{path}: no weight for {layer}/{variable}; {_FIX}")


def _bundle_files(path: str) -> tuple[str, bytes]:
    """The manifest's text and the shard's bytes, from the tarball or the folder."""
    if os.path.isdir(path):
        folder = path if os.path.exists(os.path.join(path, MANIFEST_FILE)) else os.path.join(path, BUNDLE_DIR)
        with open(os.path.join(folder, MANIFEST_FILE), "rb") as manifest, \
                open(os.path.join(folder, SHARD_FILE), "rb") as shard:
            return manifest.read().decode(), shard.read()
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if digest != TARBALL_SHA256:
        raise ValueError(f"{path}: sha256 {digest} is not {PACKAGE}'s ({TARBALL_SHA256}); {_FIX}")
    with tarfile.open(path) as tar:
        return (tar.extractfile(f"{BUNDLE_DIR}/{MANIFEST_FILE}").read().decode(),
                tar.extractfile(f"{BUNDLE_DIR}/{SHARD_FILE}").read())

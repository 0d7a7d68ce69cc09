"""Pretrained MobileNetV2 features from weights a package registry delivers offline (no Keras download).

Keras fetches ImageNet weights from storage.googleapis.com, which is out of reach here. The npm package
nsfwjs 4.4.0 (MIT) bundles a MobileNetV2 (alpha 1.0, 224 px; ImageNet-pretrained, then tuned to tell
drawings, neutral photos and NSFW images apart) as a TensorFlow.js layers model: its manifest in
`model.min.js`, its weights quantized to uint8 and base64-encoded in `group1-shard1of1.min.js`. This module
reads that bundle, from the tarball `npm pack nsfwjs@4.4.0` writes or from its unpacked folder, into
`keras.applications.MobileNetV2` without node (docs/EXPERIMENTS.md, 2026-12-07).

The package ships those weights once, still uint8, as BACKBONE_FILE (2.3 MB, with nsfwjs's license beside
it): `python -m models.pretrained nsfwjs-4.4.0.tgz` writes it from the tarball. The ensemble's pretrained
member (models/member.py) extracts its features with it, converted once a run (litert_backbone).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import tarfile
import tempfile

import numpy as np

PACKAGE = "nsfwjs@4.4.0"
TARBALL_SHA256 = "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382"
BUNDLE_DIR = "package/dist/models/mobilenet_v2"
MANIFEST_FILE = "model.min.js"
SHARD_FILE = "group1-shard1of1.min.js"
LICENSE_MEMBER = "package/LICENSE"
INPUT_SIZE = 224  # the bundle's training size (a member can ask for less: `input_size`, docs/EXPERIMENTS.md)
FEATURES = 1280  # width of the global average pool over the last block
BACKBONE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
BACKBONE_FILE = os.path.join(BACKBONE_DIR, "mobilenet_v2_nsfwjs.npz")  # {name: uint8}, {RANGE + name: [min, scale]}
LICENSE_FILE = os.path.join(BACKBONE_DIR, "LICENSE.nsfwjs")
RANGE = "range:"  # npz key prefix of a weight's [min, scale]

_ENTRY = re.compile(
    r'\{name:"(?P<name>[^"]+)",shape:\[(?P<shape>[\d,]*)\],dtype:"float32",'
    r'quantization:\{min:(?P<min>[-+.\deE]+),scale:(?P<scale>[-+.\deE]+),dtype:"uint8"\}\}'
)
_BASE64 = re.compile(rb'"([A-Za-z0-9+/]{64,}={0,2})"')
_FIX = f"get the bundle with `npm pack {PACKAGE}` and pass the .tgz it writes"

Quantized = dict[str, tuple[np.ndarray, float, float]]  # name -> (uint8 values in shape, min, scale)


def read_quantized(path: str) -> Quantized:
    """The weights by Keras name ("Conv1/kernel", "bn_Conv1/gamma", ...), still uint8, with their ranges.

    ``path`` is the tarball (checked against TARBALL_SHA256), the folder it unpacks into, the folder holding
    the two files, or a file write_backbone wrote.
    """
    if path.endswith(".npz"):
        with np.load(path) as saved:
            return {name: (saved[name], *map(float, saved[RANGE + name]))
                    for name in saved.files if not name.startswith(RANGE)}
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
        weights[entry["name"]] = (raw[offset:offset + size].reshape(shape), float(entry["min"]),
                                  float(entry["scale"]))
        offset += size
    return weights


def read_bundle(path: str) -> dict[str, np.ndarray]:
    """read_quantized's weights dequantized to float32."""
    weights = read_quantized(path)
    return {name: values.astype(np.float32) * scale + low for name, (values, low, scale) in weights.items()}


def write_backbone(tarball: str, target: str = BACKBONE_FILE) -> str:
    """The tarball's weights, still uint8, into `target` (and nsfwjs's license beside it); returns its sha256."""
    weights = read_quantized(tarball)
    arrays = {name: values for name, (values, _, _) in weights.items()}
    arrays.update({RANGE + name: np.array([low, scale]) for name, (_, low, scale) in weights.items()})
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    with tarfile.open(tarball) as tar, open(os.path.join(os.path.dirname(target), os.path.basename(LICENSE_FILE)),
                                            "wb") as notice:
        notice.write(tar.extractfile(LICENSE_MEMBER).read())
    return digest(target)


def digest(path: str) -> str:
    """A weights file's sha256 (what a run records, so that it scores only with the weights it learned)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def feature_extractor(path: str = BACKBONE_FILE, image_size: int = INPUT_SIZE, input_size: int = INPUT_SIZE):
    """MobileNetV2 to its 1,280 pooled features, loaded from the weights at ``path``.

    Input: uint8 [N, image_size, image_size, 3] RGB (prepared pixels); resized bilinearly to `input_size` px (the
    network's work grows with its square) and scaled to [0, 1] (RGB / 255, the bundle's own scaling).
    """
    import keras

    weights = read_bundle(path)
    backbone = keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 3), include_top=False, weights=None, pooling="avg"
    )
    for layer in backbone.layers:
        if layer.weights:
            layer.set_weights([_weight(weights, layer.name, variable.name, path) for variable in layer.weights])
    inputs = keras.Input((image_size, image_size, 3), dtype="uint8")
    pixels = keras.layers.Rescaling(1 / 255)(inputs)
    if image_size != input_size:
        pixels = keras.layers.Resizing(input_size, input_size, interpolation="bilinear")(pixels)
    return keras.Model(inputs, backbone(pixels))


def litert_backbone(image_size: int, input_size: int = INPUT_SIZE, path: str = BACKBONE_FILE) -> bytes:
    """feature_extractor as a LiteRT flatbuffer with float16 weights (4.5 MB): what the member runs, on XNNPACK about
    three times faster than TensorFlow on a CPU (docs/EXPERIMENTS.md: the member's backbone on LiteRT). Converting
    takes about 7 s."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "backbone.tflite")
        feature_extractor(path, image_size, input_size).export(
            target, format="litert", verbose=False, optimizations=[tf.lite.Optimize.DEFAULT],
            target_spec={"supported_types": [tf.float16]})
        with open(target, "rb") as handle:
            return handle.read()


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
    actual = digest(path)
    if actual != TARBALL_SHA256:
        raise ValueError(f"{path}: sha256 {actual} is not {PACKAGE}'s ({TARBALL_SHA256}); {_FIX}")
    with tarfile.open(path) as tar:
        return (tar.extractfile(f"{BUNDLE_DIR}/{MANIFEST_FILE}").read().decode(),
                tar.extractfile(f"{BUNDLE_DIR}/{SHARD_FILE}").read())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.pretrained",
                                     description=f"Write {os.path.relpath(BACKBONE_FILE)} from {PACKAGE}'s tarball.")
    parser.add_argument("tarball", help=f"the .tgz `npm pack {PACKAGE}` writes")
    args = parser.parse_args(argv)
    print(f"{BACKBONE_FILE}: sha256 {write_backbone(args.tarball)}")


if __name__ == "__main__":
    main()

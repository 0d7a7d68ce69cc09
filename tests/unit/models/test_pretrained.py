"""models.pretrained: reading nsfwjs's TensorFlow.js bundle into Keras's MobileNetV2, offline.

The real bundle is 25 MB from npm, out of reach of a test: these tests write a bundle in its format (a
minified manifest and a base64 shard, Keras 2 names, uint8 quantization, entries in no layer order) for
random weights of the same network, and check that every value lands where it belongs. The weights the package
ships (pretrained.BACKBONE_FILE, written from the real tarball) are checked last."""
import base64
import io
import json
import tarfile

import keras
import numpy as np
import pytest

from models import pretrained


def _entries():
    """(Keras 2 name, shape) of every MobileNetV2 variable, as the bundle's manifest names them."""
    model = keras.applications.MobileNetV2(input_shape=(224, 224, 3), include_top=False, weights=None)
    for layer in model.layers:
        for variable in layer.weights:
            name = variable.name
            if isinstance(layer, keras.layers.DepthwiseConv2D):
                name = f"depthwise_{name}"
            yield f"{layer.name}/{name}", tuple(variable.shape)


ENTRIES = list(_entries())


def _write_bundle(folder, shard_bytes=None):
    """The two files of the bundle in `folder`; returns {name: expected float32 value}."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ENTRIES))
    manifest, raw, expected = [], [], {}
    for i in order:
        name, shape = ENTRIES[i]
        q = rng.integers(0, 256, size=int(np.prod(shape)), dtype=np.uint8)
        low, scale = float(rng.uniform(-2, 0)), float(rng.uniform(1e-4, 1e-2))
        manifest.append('{name:"%s",shape:[%s],dtype:"float32",quantization:{min:%r,scale:%r,dtype:"uint8"}}'
                        % (name, ",".join(map(str, shape)), low, scale))
        raw.append(q)
        expected[name] = (q.astype(np.float32) * scale + low).reshape(shape)
    data = np.concatenate(raw).tobytes() if shard_bytes is None else shard_bytes
    folder.mkdir(parents=True, exist_ok=True)
    (folder / pretrained.MANIFEST_FILE).write_text(
        '!function(e){module.exports=e()}(function(){return{modelTopology:%s,weightsManifest:[{paths:'
        '["group1-shard1of1"],weights:[%s]}]}});' % (json.dumps({"keras_version": "2.2.4"}), ",".join(manifest)))
    (folder / pretrained.SHARD_FILE).write_bytes(
        b'!function(e){module.exports=e()}(function(){return "' + base64.b64encode(data) + b'"});')
    return expected


def test_every_weight_lands_in_its_layer_dequantized(tmp_path):
    expected = _write_bundle(tmp_path)
    model = pretrained.feature_extractor(str(tmp_path))
    assert model.output_shape == (None, pretrained.FEATURES)
    checked = 0
    for layer in model.layers[-1].layers:  # the MobileNetV2 behind the input's scaling
        for variable in layer.weights:
            name = f"{layer.name}/{variable.name}"
            value = expected.get(name, expected.get(f"{layer.name}/depthwise_{variable.name}"))
            np.testing.assert_allclose(np.asarray(variable), value, rtol=1e-6)
            checked += 1
    assert checked == len(ENTRIES)


def test_a_short_shard_is_refused_with_the_counts(tmp_path):
    _write_bundle(tmp_path, shard_bytes=b"\x00" * 1000)
    with pytest.raises(ValueError, match=r"describes \d+ weights, the shard holds 1000.*npm pack nsfwjs@4.4.0"):
        pretrained.read_bundle(str(tmp_path))


def test_a_tarball_that_is_not_the_pinned_release_is_refused(tmp_path):
    _write_bundle(tmp_path / "bundle")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in (pretrained.MANIFEST_FILE, pretrained.SHARD_FILE):
            tar.add(tmp_path / "bundle" / name, arcname=f"{pretrained.BUNDLE_DIR}/{name}")
    tarball = tmp_path / "nsfwjs-4.4.0.tgz"
    tarball.write_bytes(buffer.getvalue())
    pinned = f"sha256 [0-9a-f]{{64}} is not nsfwjs@4.4.0's \\({pretrained.TARBALL_SHA256}\\)"
    with pytest.raises(ValueError, match=pinned):
        pretrained.read_bundle(str(tarball))


def test_a_file_without_the_manifest_is_refused(tmp_path):
    _write_bundle(tmp_path)
    (tmp_path / pretrained.MANIFEST_FILE).write_text("module.exports={}")
    with pytest.raises(ValueError, match="no quantized weights in model.min.js"):
        pretrained.read_bundle(str(tmp_path))


def test_write_backbone_keeps_the_tarballs_weights_uint8_and_its_license(tmp_path, monkeypatch):
    _write_bundle(tmp_path / "bundle")
    tarball = tmp_path / "nsfwjs-4.4.0.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in (pretrained.MANIFEST_FILE, pretrained.SHARD_FILE):
            tar.add(tmp_path / "bundle" / name, arcname=f"{pretrained.BUNDLE_DIR}/{name}")
        notice = tmp_path / "LICENSE"
        notice.write_text("MIT License\n\nCopyright (c) 2019 Infinite Red, Inc.\n")
        tar.add(notice, arcname=pretrained.LICENSE_MEMBER)
    monkeypatch.setattr(pretrained, "TARBALL_SHA256", pretrained.digest(str(tarball)))  # npm is out of a test's reach
    target = tmp_path / "out" / "backbone.npz"
    assert pretrained.write_backbone(str(tarball), str(target)) == pretrained.digest(str(target))
    written, bundled = pretrained.read_quantized(str(target)), pretrained.read_quantized(str(tmp_path / "bundle"))
    assert written.keys() == bundled.keys()
    for name, (values, low, scale) in bundled.items():
        assert written[name][0].dtype == np.uint8 and np.array_equal(written[name][0], values)
        assert written[name][1:] == (low, scale)
    assert "Infinite Red" in (tmp_path / "out" / "LICENSE.nsfwjs").read_text()


def test_the_shipped_backbone_has_every_mobilenet_v2_weight_and_takes_prepared_pixels():
    weights = pretrained.read_quantized(pretrained.BACKBONE_FILE)
    shapes = {name: values.shape for name, (values, _, _) in weights.items()}
    assert dict(ENTRIES).items() <= shapes.items()  # and nsfwjs's own head, unused
    assert "Infinite Red" in open(pretrained.LICENSE_FILE).read()  # MIT: the notice travels with the weights
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    model = pretrained.feature_extractor(image_size=32)
    features = model(pixels).numpy()
    assert features.shape == (2, pretrained.FEATURES) and np.isfinite(features).all() and features.std() > 0
    smaller = pretrained.feature_extractor(image_size=32, input_size=96)
    assert smaller.get_layer(index=-1).input.shape[1:3] == (96, 96)  # the network itself runs at 96 px
    assert smaller(pixels).numpy().shape == features.shape

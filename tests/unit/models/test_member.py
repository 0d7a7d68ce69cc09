"""models.member: the pretrained member has its say only where the ensemble is unsure, in log-odds, measured from
the ensemble's own threshold; what a run records of it loads back, and a run that learned other backbone weights
is refused. Most tests use a fixed projection of the pixels as the backbone; the LiteRT backbone itself is converted
once, small (SIDE px prepared, 32 px input)."""
import json

import numpy as np
import pytest

from core import runs
from models import boosted, member, pretrained

SIDE = 4
INPUT = 32


@pytest.fixture(scope="module")
def flatbuffer() -> bytes:
    return pretrained.litert_backbone(SIDE, INPUT)


def _pixels(values: list[int]) -> list[bytes]:
    """Prepared pixels whose every byte is one value: one image per value."""
    return [bytes([v]) * (SIDE * SIDE * 3) for v in values]


def _member(**changes) -> member.Member:
    """A member whose features are the mean pixel (/255) in every column; its log-odds 8 * (mean - 0.5)."""
    width = pretrained.FEATURES

    def extractor(pixels):
        return np.repeat(pixels.mean(axis=(1, 2, 3))[:, None] / 255, width, axis=1)

    values = {"mean": np.zeros(width), "scale": np.ones(width), "coef": np.full(width, 8.0 / width),
              "intercept": -4.0, "weight": 0.35, "unsure": (0.02, 0.98), "center": 0.4, "image_size": SIDE,
              "extractor": extractor}
    return member.Member(**{**values, **changes})


def test_from_center_puts_the_ensembles_threshold_at_one_half_and_keeps_the_order():
    scores = np.array([0.01, 0.2, 0.4, 0.7, 0.999])
    moved = member.from_center(scores, 0.4)
    assert moved[2] == pytest.approx(0.5) and np.all(np.diff(moved) > 0)
    assert member.from_center(scores, 0.5) == pytest.approx(scores)


def test_the_member_speaks_only_inside_the_unsure_band():
    calls = []
    joined = _member()
    extract = joined.extractor
    joined.extractor = lambda x: calls.append(int(x.shape[0])) or extract(x)
    scores = np.array([0.01, 0.3, 0.5, 0.99])
    batch = _pixels([255, 255, 0, 0])  # the member says chart, chart, not, not
    out = joined.rescore(scores, batch)
    assert calls == [2]  # the backbone saw the two unsure images only
    sure = member.from_center(scores, 0.4)
    assert out[[0, 3]] == pytest.approx(sure[[0, 3]])
    expected = boosted.blend(sure[1:3], 1 / (1 + np.exp(-np.array([4.0, -4.0]))), 0.35, boosted.LOGIT)
    assert out[1:3] == pytest.approx(expected)
    assert out[1] > sure[1] and out[2] < sure[2]


def test_a_batch_without_unsure_scores_never_builds_the_backbone():
    joined = _member(extractor=None)
    out = joined.rescore(np.array([0.001, 0.995]), _pixels([0, 255]))
    assert joined.extractor is None and out == pytest.approx(member.from_center(np.array([0.001, 0.995]), 0.4))


def test_fit_learns_standardised_features_and_predict_agrees_with_sklearn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    features = rng.normal(size=(200, 6)) + labels[:, None] * np.array([2, 0, 0, 0, 0, -1])
    features[:, 3] = 7.0  # a constant column: no division by zero
    regression = member.fit(features, labels, C=0.1)
    joined = member.Member(**regression, weight=0.35, unsure=(0.02, 0.98), center=0.5, image_size=SIDE)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000, class_weight="balanced"))
    reference.fit(features, labels)
    assert joined.predict(features) == pytest.approx(reference.predict_proba(features)[:, 1], abs=1e-6)
    assert regression["coef"][0] > 0 > regression["coef"][5]


def test_the_litert_backbone_gives_the_keras_networks_features_for_any_batch_size(flatbuffer):
    pixels = np.random.default_rng(0).integers(0, 256, (3, SIDE, SIDE, 3), dtype=np.uint8)
    keras_features = pretrained.feature_extractor(image_size=SIDE, input_size=INPUT)(pixels, training=False).numpy()
    backbone = member.Backbone(flatbuffer)
    features = backbone(pixels)
    assert features.shape == (3, pretrained.FEATURES) and features.dtype == np.float32
    assert features == pytest.approx(keras_features, abs=0.01 * float(np.abs(keras_features).max()))  # float16 weights
    assert backbone(pixels[1:2]) == pytest.approx(features[1:2], abs=1e-5)  # one image, then three again
    assert backbone(pixels) == pytest.approx(features, abs=1e-5)


def test_one_backbone_serves_threads_calling_with_different_batch_sizes(flatbuffer):
    """The REST API's and RunInference's threads share a run's member: calls take turns on its interpreter."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    batches = [rng.integers(0, 256, (n, SIDE, SIDE, 3), dtype=np.uint8) for n in (1, 5, 2, 7) * 4]
    backbone = member.Backbone(flatbuffer)
    alone = [backbone(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(backbone, batches))
    for expected, got in zip(alone, together):
        assert got == pytest.approx(expected, abs=1e-5)


def test_saved_and_loaded_it_scores_the_same_at_the_input_size_it_learned(tmp_path, flatbuffer):
    rng = np.random.default_rng(1)
    regression = member.fit(rng.normal(size=(40, pretrained.FEATURES)), np.arange(40) % 2, C=0.1)
    entry = member.save(str(tmp_path), regression, flatbuffer, 0.35, (0.02, 0.98), 0.4, INPUT, 40)
    assert entry["file"] == runs.PRETRAINED_MEMBER_FILE and entry["backbone"] == pretrained.PACKAGE
    assert entry["backbone_sha256"] == pretrained.digest(pretrained.BACKBONE_FILE)
    assert (tmp_path / entry["backbone_file"]).read_bytes() == flatbuffer
    loaded = member.load(str(tmp_path), json.loads(json.dumps(entry)), SIDE)
    assert loaded.extractor is None  # the interpreter is built on first use
    pixels = [bytes(range(i, i + SIDE * SIDE * 3)) for i in (0, 100)]
    expected = member.Member(**regression, weight=0.35, unsure=(0.02, 0.98), center=0.4, image_size=SIDE,
                             extractor=member.Backbone(flatbuffer))
    assert loaded.probabilities(pixels) == pytest.approx(expected.probabilities(pixels), abs=1e-6)
    assert (loaded.weight, loaded.unsure, loaded.center, loaded.input_size) == (0.35, (0.02, 0.98), 0.4, INPUT)
    del entry["input_size"], entry["backbone_file"]  # a run from before either: its member learned 224 px
    older = member.load(str(tmp_path), entry, SIDE)
    assert (older.input_size, older.backbone) == (pretrained.INPUT_SIZE, None)  # converted when first needed


def test_a_missing_or_corrupt_backbone_file_is_refused_naming_it(tmp_path, flatbuffer):
    regression = member.fit(np.random.default_rng(2).normal(size=(8, pretrained.FEATURES)), np.arange(8) % 2, C=0.1)
    entry = member.save(str(tmp_path), regression, flatbuffer, 0.35, (0.02, 0.98), 0.5, INPUT, 8)
    member.load(str(tmp_path), entry, SIDE)
    (tmp_path / runs.PRETRAINED_BACKBONE_FILE).write_bytes(b"PK\x03\x04 not a flatbuffer")
    with pytest.raises(ValueError, match="pretrained_member.tflite, the run's pretrained backbone .* is missing or "
                                         "corrupt; retrain or restore"):
        member.load(str(tmp_path), entry, SIDE)
    (tmp_path / runs.PRETRAINED_BACKBONE_FILE).unlink()
    with pytest.raises(ValueError, match="pretrained_member.tflite, the run's pretrained backbone .* is missing"):
        member.load(str(tmp_path), entry, SIDE)


def test_a_run_that_learned_other_backbone_weights_is_refused(tmp_path):
    entry = member.save(str(tmp_path), member.fit(np.eye(4), np.arange(4) % 2, C=0.1), b"", 0.35, (0.02, 0.98),
                        0.5, pretrained.INPUT_SIZE, 4)
    with pytest.raises(ValueError, match=f"coefficients, the backbone gives {pretrained.FEATURES}"):
        member.load(str(tmp_path), entry, SIDE)
    with pytest.raises(ValueError, match="learned backbone weights 0+, this version ships .*retrain the model"):
        member.load(str(tmp_path), {**entry, "backbone_sha256": "0" * 64}, SIDE)

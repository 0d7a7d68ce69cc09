"""models.builder without training: a base model without pretrained weights learns whole, BatchNorm included;
a pretrained one keeps its BatchNorm frozen (keras-io transfer learning)."""
import dataclasses

import numpy as np
import pytest

from models import builder
from models.spec import SpecError, load_model_spec
from pipelines import train

SHAPE = (32, 32, 3)


def _spec(**changes):
    return dataclasses.replace(load_model_spec(train.DEFAULT_MODEL_CONFIG, "mobile"), **changes)


def _batch_norm_moves(model) -> bool:
    """Whether a training-mode call changes the backbone's BatchNorm statistics."""
    import keras

    norms = [layer for layer in model.get_layer(builder.BACKBONE).layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    before = [n.moving_mean.numpy().copy() for n in norms]
    model(np.random.default_rng(0).uniform(0, 255, (4, *SHAPE)).astype("float32"), training=True)
    return any(not np.allclose(b, n.moving_mean.numpy()) for b, n in zip(before, norms))


def test_without_pretrained_weights_the_whole_base_trains_batch_norm_included():
    spec = _spec(weights=None, trainable=False)  # the shipped spec's trainable: false does not freeze a random base
    assert not spec.pretrained
    model = builder.build_model(spec, SHAPE)
    assert model.get_layer(builder.BACKBONE).trainable
    assert _batch_norm_moves(model)


def test_a_pretrained_base_is_frozen_with_its_batch_norm(tmp_path):
    import keras

    weights = str(tmp_path / "base.weights.h5")
    keras.applications.MobileNetV3Small(include_top=False, input_shape=SHAPE, weights=None).save_weights(weights)
    spec = _spec(weights=weights)
    assert spec.pretrained
    model = builder.build_model(spec, SHAPE)
    assert not model.get_layer(builder.BACKBONE).trainable
    assert not _batch_norm_moves(model)
    trainable = builder.build_model(dataclasses.replace(spec, trainable=True), SHAPE)
    assert trainable.get_layer(builder.BACKBONE).trainable and not _batch_norm_moves(trainable)


def test_fine_tuning_is_refused_for_a_base_without_pretrained_weights():
    spec = load_model_spec(train.DEFAULT_MODEL_CONFIG, "efficientnet")
    scratch = dataclasses.replace(spec, weights=None)
    with pytest.raises(SpecError, match="pretrained"):
        builder.start_fine_tuning(builder.build_model(scratch, SHAPE), scratch)

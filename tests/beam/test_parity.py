"""Training, labelling and serving feed the model the same pixels and give the same scores."""
import hashlib
import os
import shutil

import apache_beam as beam
import numpy as np
import pytest
import yaml
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from core import dead_letters, features, inputs, runs
from pipelines import ingest, labelling

SIZE = 32  # the `trained` fixture's demo model


@pytest.fixture(scope="module")
def real_files(real_sample, tmp_path_factory) -> dict[str, str]:
    """A folder source of real files, one of each format in the sample; {path: label}."""
    root = tmp_path_factory.mktemp("parity")
    chosen: dict[str, str] = {}
    for label_name in features.LABEL_NAMES:
        os.makedirs(root / label_name)
        seen_ext = set()
        for name in sorted(os.listdir(os.path.join(real_sample, label_name))):
            ext = os.path.splitext(name)[1].lower()
            if ext in seen_ext:
                continue
            seen_ext.add(ext)
            shutil.copy(os.path.join(real_sample, label_name, name), root / label_name / name)
            chosen[str(root / label_name / name)] = label_name
    return {"root": str(root), "files": chosen}


@pytest.fixture(scope="module")
def ingested_records(real_files, tmp_path_factory) -> dict[bytes, dict]:
    """The TFRecords ingest wrote for those files, by sha256 of the original file."""
    import tensorflow as tf
    import tensorflow_transform as tft

    out = tmp_path_factory.mktemp("parity_ingest")
    config = out / "ingest.yaml"
    config.write_text(yaml.safe_dump({"image_size": SIZE, "split": {"train": 1.0, "val": 0.0, "test": 0.0},
                                      "sources": [{"type": "folder", "root": real_files["root"]}]}))
    ingest.run(["--runner=DirectRunner", f"--config={config}", f"--output_dir={out / 'data'}"])
    spec = tft.TFTransformOutput(str(out / "data" / features.TRANSFORM_DIR)).raw_feature_spec()
    files = tf.io.gfile.glob(str(out / "data" / features.TFRECORD_DIR / "*" / f"*{features.TFRECORD_SUFFIX}"))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP").map(lambda r: tf.io.parse_single_example(r, spec))
    return {r[features.SHA256_KEY]: {**r, "data_dir": str(out / "data")} for r in records.as_numpy_iterator()}


def _sha(path: str) -> bytes:
    return hashlib.sha256(open(path, "rb").read()).hexdigest().encode()


def test_labelling_feeds_the_model_exactly_the_pixels_ingest_stored(real_files, ingested_records):
    stored = [(path, ingested_records[_sha(path)][features.IMAGE_KEY]) for path in real_files["files"]]
    assert len(stored) >= 5  # several formats, or the test proves little
    with TestPipeline() as p:
        prepared = (
            p
            | beam.Create(sorted(real_files["files"]))
            | beam.Map(inputs.Listed)
            | beam.ParDo(labelling.ReadAndPrepare(SIZE)).with_outputs(dead_letters.REJECTED, main="images")
        )
        assert_that(prepared.images | beam.MapTuple(lambda key, pixels: (key.uri, pixels)), equal_to(stored))
        assert_that(prepared[dead_letters.REJECTED], equal_to([]), label="NothingRejected")


def test_training_input_equals_the_served_input_and_scores_match(real_files, ingested_records, trained):
    """The trainer's tf.data tensors (records -> saved transform) are the tensors serving builds
    from the same bytes; the SavedModel and the Keras model then score them alike."""
    import keras
    import tensorflow as tf
    import tensorflow_transform as tft

    from models.data import make_dataset, split_files
    from transforms.preprocessing import pixels_from_bytes

    data_dir = next(iter(ingested_records.values()))["data_dir"]
    transform_output = tft.TFTransformOutput(os.path.join(data_dir, features.TRANSFORM_DIR))
    batches = list(make_dataset(split_files(data_dir, features.TRAIN), transform_output, 64, training=False))
    (train_pixels, _, _), = batches
    by_image = {x.astype(np.uint8).tobytes(): x for x in train_pixels.numpy()}
    raw = [r[features.IMAGE_KEY] for r in ingested_records.values()]
    served_input = pixels_from_bytes(tf.constant(raw), SIZE).numpy()
    for one_raw, one_served in zip(raw, served_input):
        np.testing.assert_array_equal(by_image[one_raw], one_served)

    run_dir = trained["summary"]["model_dir"]
    model = keras.models.load_model(os.path.join(run_dir, "demo_classifier.keras"))
    serving = tf.saved_model.load(os.path.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]
    served = serving(**{runs.SERVING_INPUT: tf.constant(raw)})[runs.SERVING_OUTPUT].numpy()
    np.testing.assert_allclose(served, model(served_input, training=False).numpy().reshape(-1), atol=1e-6)

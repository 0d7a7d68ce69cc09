"""tf.data input pipelines from ingest's TFRecords, through the saved tf.Transform graph."""
import json
from typing import Iterator, Optional

import numpy as np
import tensorflow as tf

from core import features, storage

AUTOTUNE = tf.data.AUTOTUNE


def split_files(data_dir: str, split: str) -> list[str]:
    """The TFRecord shards the last complete ingest run into `data_dir` wrote for `split` (its manifest)."""
    manifest = storage.join(data_dir, features.MANIFEST_FILE)
    if not storage.exists(manifest):
        raise FileNotFoundError(
            f"{data_dir} has no {features.MANIFEST_FILE}: its ingest run did not finish (or predates manifests). "
            "Run ingest again into it."
        )
    shards = json.loads(storage.read_bytes(manifest))["tfrecords"][split]
    return [storage.join(data_dir, shard) for shard in shards]


def make_dataset(files: list[str], transform_output, batch_size: int, training: bool, seed: int = 0,
                 cache: bool = True, class_weights: Optional[dict[int, float]] = None) -> tf.data.Dataset:
    """(pixels float32 [B,S,S,3] 0..255, label float32 [B], sample weight float32 [B]) batches.

    Records hold the raw features (compact RGB bytes); the tf.Transform graph the exported
    model carries turns them into model input here too. The sample weight is the record's
    source weight times its label's class weight (Keras takes one or the other, not both).
    The records in content order (`records`), in-memory cache, shuffle (training only),
    batch, vectorised parse and transform, prefetch: the input pipeline stays ahead of the model.
    Its number of batches is known, so Keras shows progress within an epoch and knows where an epoch ends
    (with an unknown length it warns that the input ran out of data).
    """
    spec = transform_output.raw_feature_spec()
    spec.pop(features.SHA256_KEY, None)  # provenance only
    transform = transform_output.transform_features_layer()
    per_label = tf.constant([(class_weights or {}).get(i, 1.0) for i in range(len(features.LABEL_NAMES))], tf.float32)

    def to_xyw(parsed: dict) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        transformed = transform(parsed)
        label = transformed[features.LABEL_KEY]
        weight = transformed[features.WEIGHT_KEY] * tf.gather(per_label, label)
        return transformed[features.IMAGE_KEY], tf.cast(label, tf.float32), weight

    dataset = records(files)
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(2048, seed=seed, reshuffle_each_iteration=True)
    return (
        dataset.batch(batch_size)
        .map(lambda records: to_xyw(tf.io.parse_example(records, spec)), num_parallel_calls=AUTOTUNE,
             deterministic=True)
        .prefetch(AUTOTUNE)
    )


def records(files: list[str]) -> tf.data.Dataset:
    """A split's serialized records in content order (by their original file's sha256, unique after ingest's
    deduplication), held in memory. Ingest's workers write them in an order that varies from run to run, and the
    shuffle, the batches and the boosted trees, so the model, would follow it."""
    key = {features.SHA256_KEY: tf.io.FixedLenFeature([], tf.string, default_value="")}
    serialized, hashes = [], []
    for batch in tf.data.TFRecordDataset(files, compression_type="GZIP", num_parallel_reads=AUTOTUNE).batch(1024):
        serialized.extend(batch.numpy())
        hashes.extend(tf.io.parse_example(batch, key)[features.SHA256_KEY].numpy())
    order = sorted(range(len(serialized)), key=hashes.__getitem__)
    return tf.data.Dataset.from_tensor_slices(tf.constant([serialized[i] for i in order], tf.string))


def raw_batches(files: list[str], transform_output, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """The records' raw features as numpy batches, in content order (`records`): `image` holds the prepared RGB
    bytes, exactly what the labeller hands the exported model (so scores on them are the labeller's scores)."""
    spec = transform_output.raw_feature_spec()
    yield from records(files).batch(batch_size).map(lambda batch: tf.io.parse_example(batch, spec)).as_numpy_iterator()


def column(files: list[str], key: str, dtype: tf.DType) -> np.ndarray:
    """One scalar feature of every record (`key`, of `dtype`), in the files' order, without parsing the images."""
    spec = {key: tf.io.FixedLenFeature([], dtype)}
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1024)
    parsed = [batch[key] for batch in dataset.map(lambda records: tf.io.parse_example(records, spec))
              .as_numpy_iterator()]
    return np.concatenate(parsed) if parsed else np.zeros(0, dtype.as_numpy_dtype)


def sha256s(files: list[str]) -> list[str]:
    """The hex sha256 of each record's original file (`features.SHA256_KEY`), in the files' order."""
    return [h.decode() for h in column(files, features.SHA256_KEY, tf.string)]

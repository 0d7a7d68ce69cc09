"""tf.data input pipelines straight from ingest's TFRecords."""
import tensorflow as tf

from pipelines import storage
from transforms import features

AUTOTUNE = tf.data.AUTOTUNE


def split_files(data_dir: str, split: str) -> list[str]:
    """The TFRecord shards ingest wrote for `split`."""
    return storage.match(storage.join(data_dir, features.TFRECORD_DIR, split, f"*{features.TFRECORD_SUFFIX}"))


def make_dataset(files: list[str], feature_spec: dict, batch_size: int, training: bool, seed: int = 0, cache: bool = True) -> tf.data.Dataset:
    """(pixels float32 [B,S,S,3] 0..255, label float32 [B]) batches.

    Parallel interleaved reads, in-memory cache of the records, shuffle
    (training only), batch, vectorised parse, prefetch: the input pipeline
    stays ahead of the model.
    """
    spec = {k: feature_spec[k] for k in (features.IMAGE_KEY, features.LABEL_KEY)}
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP", num_parallel_reads=AUTOTUNE)
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(2048, seed=seed, reshuffle_each_iteration=True)
    return (
        dataset.batch(batch_size)
        .map(lambda records: _to_xy(tf.io.parse_example(records, spec)), num_parallel_calls=AUTOTUNE)
        .prefetch(AUTOTUNE)
    )


def _to_xy(parsed: dict) -> tuple[tf.Tensor, tf.Tensor]:
    return parsed[features.IMAGE_KEY], tf.cast(parsed[features.LABEL_KEY], tf.float32)

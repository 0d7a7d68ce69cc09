"""The graph between stored pixels and the model, defined once.

Ingest stores each image as the raw RGB bytes of `transforms.image.prepare` (3 bytes a pixel);
`preprocessing_fn` is what tf.Transform analyses on the train split and saves as
`transform_fn/`. The trainer applies that saved graph to the records and the exported model
carries it in its serving signature, so training and serving run exactly this code.
"""
import tensorflow as tf

from core import features


def pixels_from_bytes(raw: tf.Tensor, image_size: int) -> tf.Tensor:
    """Raw RGB bytes `[batch]` (each image_size*image_size*3 long) -> float32 0..255 `[batch, S, S, 3]`.

    Bytes of another length fail (reshape error) rather than being padded or regrouped.
    """
    raw = tf.reshape(raw, [-1])
    pixels = tf.io.decode_raw(raw, tf.uint8)
    return tf.cast(tf.reshape(pixels, [tf.shape(raw)[0], image_size, image_size, 3]), tf.float32)


def preprocessing_fn(inputs: dict, image_size: int = features.DEFAULT_IMAGE_SIZE) -> dict:
    """Raw features -> what the model trains on (tf.Transform entry point)."""
    return {
        features.IMAGE_KEY: pixels_from_bytes(inputs[features.IMAGE_KEY], image_size),
        features.LABEL_KEY: inputs[features.LABEL_KEY],
        features.SHA256_KEY: inputs[features.SHA256_KEY],
        features.WEIGHT_KEY: inputs[features.WEIGHT_KEY],
    }


RAW_FEATURE_SPEC = {
    features.IMAGE_KEY: tf.io.FixedLenFeature([], tf.string),
    features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
    features.SHA256_KEY: tf.io.FixedLenFeature([], tf.string),
    features.WEIGHT_KEY: tf.io.FixedLenFeature([], tf.float32),
}

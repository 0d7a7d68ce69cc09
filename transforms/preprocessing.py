"""The preprocessing the model sees, defined once.

`preprocessing_fn` is what tf.Transform analyses and applies in ingest; its saved
graph (`transform_fn/`) is attached to the exported model, so serving and
labelling run exactly this code on raw encoded image bytes.
"""
import tensorflow as tf

from transforms import features


def decode(data: tf.Tensor) -> tf.Tensor:
    """One encoded image -> uint8 RGB `[H, W, 3]`, pixel for pixel what Pillow decodes.

    JPEGs use the accurate integer IDCT (Pillow's); `tf.io.decode_image` would use
    the fast one and differ by a few levels on most pixels.
    """
    return tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )


def decode_and_resize(encoded: tf.Tensor, image_size: int) -> tf.Tensor:
    """Encoded image bytes `[batch]` -> float32 RGB pixels 0..255 `[batch, S, S, 3]`.

    Images are squashed to a square (no crop, nothing lost at the edges) with an
    antialiased bilinear resize so thin chart lines survive downscaling.
    """

    def _one(data: tf.Tensor) -> tf.Tensor:
        pixels = decode(data)
        resized = tf.image.resize(pixels, [image_size, image_size], antialias=True)
        return tf.clip_by_value(resized, 0.0, 255.0)  # antialiasing overshoots by ~1e-5

    return tf.map_fn(
        _one,
        tf.reshape(encoded, [-1]),
        fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.float32),
    )


def preprocessing_fn(inputs: dict, image_size: int = features.DEFAULT_IMAGE_SIZE) -> dict:
    """Raw features -> what the model trains on (tf.Transform entry point)."""
    return {
        features.IMAGE_KEY: decode_and_resize(inputs[features.IMAGE_KEY], image_size),
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

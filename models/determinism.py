"""Deterministic training: the same seed gives the same model on any load and any number of cores.

Fixes the thread pools (CPU kernels split their work by the pool's size, so a pool sized by the machine would make
results depend on its core count), turns on TensorFlow's op determinism (which also keeps tf.data's order) and
seeds Python, NumPy and TensorFlow. The pools can only be set before TensorFlow runs its first op (loading a model
spec builds layers, so call it before that); later, as in a test process, they stay as they are, with a warning.
"""
import logging

THREADS = 2  # intra- and inter-op threads: a constant, so results never depend on the machine


def make_deterministic(seed: int, threads: int = THREADS) -> None:
    import keras
    import tensorflow as tf

    pools = (tf.config.threading.get_intra_op_parallelism_threads(),
             tf.config.threading.get_inter_op_parallelism_threads())
    if pools != (threads, threads):
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already ran in this process: its pools stay
            logging.warning("TensorFlow ran before make_deterministic: its thread pools %s stay, so this run is "
                            "reproducible only on a machine with the same number of cores", pools)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)

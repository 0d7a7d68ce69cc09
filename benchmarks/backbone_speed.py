"""The pretrained member's backbone alone: LiteRT (what ships) against TensorFlow, per image and once per process.

    python -m benchmarks.backbone_speed [--image_size 128] [--input_size 224] [--batches 1,4,12,32,64] [--repeats 5]

The backbone is models.pretrained's MobileNetV2 on prepared pixels (uint8 [N, S, S, 3] -> 1,280 features). Three ways
to run it, in one process, on the same random pixels:
- `tf_function`: the Keras model in one `tf.function` with any batch size (how the member ran before LiteRT);
- `tf_frozen`: the same graph with its variables frozen to constants, so grappler folds the batch norms into the
  convolutions (the strongest TensorFlow graph found);
- `litert`: `pretrained.litert_backbone`'s flatbuffer on `member.Backbone` (LiteRT's interpreter, XNNPACK).
Batch sizes are those of the unsure images a labelling batch hands the member (about one in six of 64). Per image:
the best wall and CPU milliseconds over --repeats calls; once: the setup each needs in a labelling process (TensorFlow:
build, trace and first call; LiteRT: interpreter and first call) and the conversion training does once a run. Prints a
table and the ratios; writes benchmarks/results/backbone_speed.json.
"""
import argparse
import time

import numpy as np

from benchmarks import _common as c


def _timed(call, pixels: np.ndarray, repeats: int) -> dict:
    """Best of `repeats` calls: wall and CPU milliseconds per image."""
    call(pixels)  # warm: shapes allocated, graphs optimised
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        np.asarray(call(pixels))
        best_wall, best_cpu = min(best_wall, time.perf_counter() - wall), min(best_cpu, time.process_time() - cpu)
    n = len(pixels)
    return {"wall_ms_per_image": round(1000 * best_wall / n, 2), "cpu_ms_per_image": round(1000 * best_cpu / n, 2)}


def _setups(image_size: int, input_size: int) -> dict:
    """Each way's callable, its setup seconds in a labelling process, and (LiteRT) the one-time conversion."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from models import member, pretrained

    first = np.zeros((1, image_size, image_size, 3), np.uint8)
    ways = {}
    started = time.perf_counter()
    model = pretrained.feature_extractor(image_size=image_size, input_size=input_size)
    graph = tf.function(lambda x: model(x, training=False),
                        input_signature=[tf.TensorSpec([None, image_size, image_size, 3], tf.uint8)])
    graph(first)
    ways["tf_function"] = {"call": lambda x: graph(x).numpy(), "setup_s": time.perf_counter() - started}
    started = time.perf_counter()
    frozen = convert_variables_to_constants_v2(graph.get_concrete_function())
    frozen(tf.constant(first))
    ways["tf_frozen"] = {"call": lambda x: frozen(tf.constant(x))[0].numpy(),
                         "setup_s": ways["tf_function"]["setup_s"] + time.perf_counter() - started}
    started = time.perf_counter()
    flatbuffer = pretrained.litert_backbone(image_size, input_size)
    converted = time.perf_counter() - started
    started = time.perf_counter()
    backbone = member.Backbone(flatbuffer)
    backbone(first)
    ways["litert"] = {"call": backbone, "setup_s": time.perf_counter() - started, "conversion_s": round(converted, 2),
                      "flatbuffer_bytes": len(flatbuffer)}
    return ways


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backbone_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image_size", type=int, default=128, help="prepared pixels' side (the shipped recipe's)")
    parser.add_argument("--input_size", type=int, default=224, help="the backbone's input side")
    parser.add_argument("--batches", default="1,4,12,32,64", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    ways = _setups(args.image_size, args.input_size)
    rng = np.random.default_rng(0)
    sizes = [int(n) for n in args.batches.split(",")]
    pixels = {n: rng.integers(0, 256, (n, args.image_size, args.image_size, 3), dtype=np.uint8) for n in sizes}
    reference = ways["tf_function"]["call"](pixels[sizes[-1]])
    results = {}
    for name, way in ways.items():
        features = way["call"](pixels[sizes[-1]])
        results[name] = {
            "setup_s": round(way["setup_s"], 2),
            "max_feature_difference": float(np.abs(features - reference).max()),
            "by_batch": {n: _timed(way["call"], pixels[n], args.repeats) for n in sizes},
            **{key: way[key] for key in ("conversion_s", "flatbuffer_bytes") if key in way},
        }
    print(c.table(["way", "setup s", *[f"batch {n}: wall / CPU ms per image" for n in sizes]],
                  [[name, r["setup_s"], *[f"{r['by_batch'][n]['wall_ms_per_image']} / "
                                          f"{r['by_batch'][n]['cpu_ms_per_image']}" for n in sizes]]
                   for name, r in results.items()],
                  title=f"MobileNetV2 features of {args.image_size} px prepared pixels at {args.input_size} px"))
    ratios = {name: {n: c.ratio(results["tf_function"]["by_batch"][n]["wall_ms_per_image"],
                                results[name]["by_batch"][n]["wall_ms_per_image"]) for n in sizes}
              for name in ("tf_frozen", "litert")}
    print(f"speed-up over tf_function (wall per image, by batch size): {ratios}")
    print(f"litert: conversion {results['litert']['conversion_s']} s once a run, flatbuffer "
          f"{results['litert']['flatbuffer_bytes'] / 2**20:.1f} MiB, features within "
          f"{results['litert']['max_feature_difference']:.3g} of tf_function's (float16 weights)")
    result = {"args": vars(args), "environment": c.environment(), "ways": results, "speedup": ratios}
    print(f"results: {c.write_results('backbone_speed', result)}")
    return result


if __name__ == "__main__":
    c.run_main(main)

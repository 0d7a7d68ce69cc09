"""Training throughput: is the tf.data input pipeline ahead of model.fit?

    python -m benchmarks.train_throughput [--images 400] [--input_epochs 3] [--input_repeats 3]
        [--fit_epochs 6] [--skip_mobile] [--data_dir DIR] [--keep]

Makes a demo ingest output once (`python -m pipelines.ingest --runner=DirectRunner`, a `demo` source
of 400 images at image_size 128, in a subprocess), then, in this process, on its train split:

  (a) the input pipeline alone: `models.data.make_dataset(train files, training=True)` iterated
      `--input_epochs` (3) epochs with the `demo` spec's batch size, on `--input_repeats` (3) fresh
      datasets (median). Epoch 1 reads, gunzips and caches the records; later epochs come from the
      in-memory cache, so they are reported separately.
  (b) training: the shipped `demo` model (`models.spec.load_model_spec('configs/model_config.yaml',
      'demo')`, `models.builder.build_model`) fitted `--fit_epochs` epochs on a fresh dataset
      (no validation data); epoch 1 (tracing + filling the cache) is excluded from the figure.
  (c) the `mobile` entry (MobileNetV3Small, frozen base) with weights null at 128 px, same way
      (`--skip_mobile` leaves it out).

Reports images/s and the ratio input/training (how far the input pipeline is ahead).
Results: benchmarks/results/train_throughput.json.
"""
import argparse
import dataclasses
import importlib
import os
import tempfile
import time

from benchmarks import _common as c

NAME = "train_throughput"
MODEL_CONFIG = "configs/model_config.yaml"


def _ingest(tmp: str, images: int, image_size: int, seed: int) -> tuple[str, dict]:
    config = os.path.join(tmp, "demo.yaml")
    with open(config, "w") as f:
        f.write(f"image_size: {image_size}\nsources:\n  - type: demo\n    size: {images}\n    seed: {seed}\n")
    out = os.path.join(tmp, "ingest")
    m = c.run_measured(
        c.ingest_cmd(config, out), os.path.join(tmp, "logs", "ingest.log"), env=c.bench_env({"BASE_DIR": tmp})
    )
    c.check(m, "demo ingest")
    return out, m.summary()


def _input_epochs(make, epochs: int) -> list[dict]:
    """Iterate a fresh dataset `epochs` times; per-epoch seconds and images."""
    dataset = make()
    out = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        n = 0
        for _, labels, _ in dataset:
            n += int(labels.shape[0])
        seconds = time.perf_counter() - t0
        out.append({"epoch": epoch + 1, "images": n, "seconds": round(seconds, 4), "images_per_s": c.rate(n, seconds)})
    return out


def _fit(spec, make, image_shape, epochs: int, n_train: int) -> dict:
    import keras

    from models.builder import build_model

    keras.utils.set_random_seed(0)
    t0 = time.perf_counter()
    model = build_model(spec, image_shape)
    build_s = time.perf_counter() - t0
    times: list[float] = []
    steps: list[int] = []
    step_ends: list[list[float]] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()
            steps.append(0)
            step_ends.append([])

        def on_train_batch_end(self, batch, logs=None):
            steps[-1] += 1
            step_ends[-1].append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self._t)

    import warnings

    with warnings.catch_warnings():  # fit's `shuffle` is moot for a tf.data.Dataset; the dataset shuffles itself
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        # Raised once the dataset (unknown cardinality) ends an epoch; every epoch is checked below.
        warnings.filterwarnings("ignore", message=".*ran out of data.*")
        history = model.fit(make(), epochs=epochs, verbose=0, callbacks=[EpochTimer()]).history
    expected = -(-n_train // spec.batch_size)
    if any(s != expected for s in steps):
        raise RuntimeError(f"{spec.model_type}: steps per epoch {steps}, expected {expected} each")
    later = times[1:]
    # Full steps of the later epochs, from one step's end to the next: the model's own pace without
    # the per-epoch overhead (iterator start, shuffle buffer fill, callbacks); the first step of an
    # epoch (which carries that overhead) and the last (a short batch) are left out.
    step_s = [ends[i] - ends[i - 1] for ends in step_ends[1:] for i in range(1, len(ends) - 1)]
    median_step = c.median(step_s) if step_s else None
    return {
        "model": spec.model_type, "base_model": spec.base_model, "weights": spec.weights, "batch_size": spec.batch_size,
        "params": int(model.count_params()), "build_s": round(build_s, 2),
        "epoch_seconds": [round(t, 4) for t in times],
        "steps_per_epoch": steps,
        "first_epoch_images_per_s": c.rate(n_train, times[0]),
        "images_per_s": c.rate(n_train * len(later), sum(later)) if later else None,
        "median_step_s": round(median_step, 4) if median_step else None,
        "images_per_s_steady_steps": c.rate(spec.batch_size, median_step),
        "final_loss": round(float(history["loss"][-1]), 4),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=400, help="demo images to ingest")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--input_epochs", type=int, default=3, help="epochs per input-pipeline pass (the first fills the cache)"
    )
    parser.add_argument(
        "--input_repeats", type=int, default=3, help="input-pipeline passes, each on a fresh dataset (median)"
    )
    parser.add_argument("--fit_epochs", type=int, default=6, help="epochs per model.fit; the first is excluded")
    parser.add_argument("--skip_mobile", action="store_true")
    parser.add_argument("--data_dir", default=None, help="reuse an existing ingest output instead of making one")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    env_info = c.environment()
    tmp = tempfile.mkdtemp(prefix="bench_train_")
    ingest_run = None
    if args.data_dir:
        data_dir = args.data_dir
    else:
        print(f"Ingesting {args.images} demo images at {args.image_size}px (subprocess) ...", flush=True)
        data_dir, ingest_run = _ingest(tmp, args.images, args.image_size, args.seed)

    import tensorflow as tf
    importlib.import_module("keras")  # Keras 3 before tf.Transform, as pipelines/train.py does
    import tensorflow_transform as tft

    from core import features, storage
    from models.data import make_dataset, split_files
    from models.spec import load_model_spec

    transform_output = tft.TFTransformOutput(storage.join(data_dir, features.TRANSFORM_DIR))
    image_shape = tuple(transform_output.transformed_feature_spec()[features.IMAGE_KEY].shape)
    files = split_files(data_dir, features.TRAIN)
    n_train = sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    demo = load_model_spec(MODEL_CONFIG, "demo")

    def dataset_for(spec):
        return lambda: make_dataset(files, transform_output, spec.batch_size, training=True, seed=0)

    print(
        f"(a) input pipeline: {args.input_repeats} x {args.input_epochs} epochs over {n_train} train images, "
        f"batch {demo.batch_size} ...",
        flush=True,
    )
    passes = [_input_epochs(dataset_for(demo), args.input_epochs) for _ in range(args.input_repeats)]
    firsts = [p[0]["images_per_s"] for p in passes]
    laters = [c.rate(sum(e["images"] for e in p[1:]), sum(e["seconds"] for e in p[1:])) for p in passes if len(p) > 1]
    input_result = {
        "batch_size": demo.batch_size, "passes": passes,
        "first_epoch_images_per_s": c.median(firsts),
        "later_epochs_images_per_s": c.median(laters) if laters else None,
    }

    print(f"(b) demo model: fit {args.fit_epochs} epochs ...", flush=True)
    trainings = {"demo": _fit(demo, dataset_for(demo), image_shape, args.fit_epochs, n_train)}
    if not args.skip_mobile:
        mobile = dataclasses.replace(load_model_spec(MODEL_CONFIG, "mobile"), weights=None)
        print(
            f"(c) mobile (MobileNetV3Small, weights null, {image_shape[0]}px): fit {args.fit_epochs} epochs ...",
            flush=True,
        )
        trainings["mobile"] = _fit(mobile, dataset_for(mobile), image_shape, args.fit_epochs, n_train)

    ratios = {}
    for name, t in trainings.items():
        ratios[f"input_later_over_{name}_training"] = c.ratio(
            input_result["later_epochs_images_per_s"], t["images_per_s"]
        )
        ratios[f"input_first_over_{name}_training"] = c.ratio(
            input_result["first_epoch_images_per_s"], t["images_per_s"]
        )
        ratios[f"input_later_over_{name}_median_step"] = c.ratio(
            input_result["later_epochs_images_per_s"], t["images_per_s_steady_steps"]
        )

    result = {
        "benchmark": NAME,
        "environment": env_info
        | {
            "tensorflow_threads": {
                "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            }
        },
        "loadavg_at_end": list(os.getloadavg()),
        "settings": {
            "images_ingested": args.images,
            "train_images": n_train,
            "image_size": args.image_size,
            "seed": args.seed,
            "input_epochs": args.input_epochs,
            "input_repeats": args.input_repeats,
            "fit_epochs": args.fit_epochs,
            "data_dir": args.data_dir or "temporary",
        },
        "ingest_run": ingest_run,
        "input_pipeline": input_result,
        "training": trainings,
        "ratios": ratios,
    }
    path = c.write_results(NAME, result)

    print()
    rows = [
        ["(a) input pipeline, epoch 1 (read+gunzip+cache; median)", input_result["first_epoch_images_per_s"], "-", "-"],
        ["(a) input pipeline, later epochs (from cache; median)", input_result["later_epochs_images_per_s"], "-", "-"],
    ]
    for label, name in (("(b) fit demo", "demo"), ("(c) fit mobile, weights null", "mobile")):
        if name in trainings:
            t = trainings[name]
            rows.append(
                [
                    f"{label} (epochs 2..{args.fit_epochs})",
                    t["images_per_s"],
                    t["first_epoch_images_per_s"],
                    t["images_per_s_steady_steps"],
                ]
            )
    print(
        c.table(
            ["what", "images/s", "first epoch images/s", "images/s median step"],
            rows,
            title=f"Training throughput: {n_train} train images at {image_shape[0]}px ({env_info['cpus_usable']} CPUs)",
        )
    )
    print()
    print(c.table(["ratio", "value"], [[k, v] for k, v in ratios.items()]))
    c.done(path, tmp, args.keep)
    return result


if __name__ == "__main__":
    c.run_main(main)

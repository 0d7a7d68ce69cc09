"""Ingest throughput: images/s of the Beam + tf.Transform ingest against a plain-Python loop.

    python -m benchmarks.ingest_throughput [--images 300] [--image_size 128] [--repeats 2] [--no_profile] [--keep]

Demo images are rendered ONCE into a temporary folder (rendering is not measured), then
ingested as a `folder` source at image_size 128 by:

  (a) `python -m pipelines.ingest --runner=DirectRunner` (in-process FnApiRunner),
  (b) the same with `--direct_running_mode=multi_processing --direct_num_workers=2`,
  (c) a plain-Python baseline doing the same work in one process: read each file,
      `transforms.image.prepare_image`, deduplicate by content hash, split by content hash
      with `pipelines.ingest_config.split_of`, `transforms.preprocessing.decode_and_resize` (TF, batches
      of 64 like tf.Transform's desired_batch_size), serialise a tf.train.Example with the same
      features (image float32 [S,S,3], label int64, sha256 bytes) and write GZIP TFRecords per split.

Every run is a fresh subprocess (a process that ran a tf.Transform pipeline segfaults at exit),
timed from launch to exit ("end-to-end"). Start-up is the end-to-end time of the same command on a
1-image folder; "excluding start-up" images/s = (N - 1) / (t_N - t_1). CPU time of the process
tree is measured too: the marginal CPU ms per image, (cpu_N - cpu_1) / (N - 1), hardly moves
when other work shares the machine, unlike wall-clock figures. The N-image runs of the variants
are interleaved. A final check compares the baseline's records with the pipeline's (same keys,
splits, labels and pixels). Then (unless --no_profile) the in-process pipeline runs once more under
cProfile to show where its time goes. Results: benchmarks/results/ingest_throughput.json (profile:
ingest_throughput_profile.prof/.txt beside it).
"""
import argparse
import glob
import json
import os
import shutil
import time

from benchmarks import _common as c
from pipelines.ingest_config import IngestConfig, split_of  # no Beam import

NAME = "ingest_throughput"
LABELS = ("non_chart", "chart")
SPLIT = IngestConfig.split  # the default: the benchmark's configs have no `split:`


def _config(path: str, root: str, image_size: int) -> str:
    with open(path, "w") as f:
        f.write(f"image_size: {image_size}\nsources:\n  - type: folder\n    root: {root}\n")
    return path


def _one_train_image(src_root: str, dst_root: str) -> str:
    """Copy the first image that the default split sends to `train` (a 1-image run whose only
    image landed in val/test would analyse an empty train set)."""
    from transforms.image import prepare_image

    for label in LABELS:
        for path in sorted(glob.glob(os.path.join(src_root, label, "*"))):
            with open(path, "rb") as f:
                data = f.read()
            if split_of(prepare_image(data).content_hash, SPLIT) == 0:
                os.makedirs(os.path.join(dst_root, label), exist_ok=True)
                shutil.copy(path, os.path.join(dst_root, label))
                return path
    raise RuntimeError("no image of the demo folder goes to the train split")


# ---------------------------------------------------------------- workers (run in subprocesses)

def baseline_worker(input_root: str, output_dir: str, image_size: int, batch_size: int = 64) -> dict:
    t_start = time.perf_counter()
    import tensorflow as tf

    import transforms.image  # noqa: F401  (c.read_and_prepare's import, done before the loop is timed)
    from transforms import features
    from transforms.preprocessing import decode_and_resize

    resize = tf.function(lambda b: decode_and_resize(b, image_size), input_signature=[tf.TensorSpec([None], tf.string)])
    t_loop = time.perf_counter()
    timings = {"read_s": 0.0, "prepare_s": 0.0, "decode_resize_s": 0.0, "serialize_write_s": 0.0}
    writers = {}
    for split in features.SPLITS:
        folder = os.path.join(output_dir, features.TFRECORD_DIR, split)
        os.makedirs(folder, exist_ok=True)
        writers[split] = tf.io.TFRecordWriter(os.path.join(folder, "part-00000-of-00001" + features.TFRECORD_SUFFIX), options="GZIP")
    label_of = {p: label for label in features.LABEL_NAMES for p in sorted(glob.glob(os.path.join(input_root, label, "*")))}
    seen: set[str] = set()
    counts = {split: 0 for split in features.SPLITS}
    rejected = duplicates = 0

    def kept():
        """(prepared, label id, split) of each valid image, first copies only."""
        nonlocal rejected, duplicates
        for path, prepared in c.read_and_prepare(label_of, timings):
            if prepared is None:
                rejected += 1
            elif prepared.content_hash in seen:
                duplicates += 1
            else:
                seen.add(prepared.content_hash)
                yield prepared, features.LABEL_IDS[label_of[path]], features.SPLITS[split_of(prepared.content_hash, SPLIT)]

    def write(batch: list) -> None:
        t = time.perf_counter()
        pixels = resize(tf.constant([p.data for p, _, _ in batch])).numpy()
        timings["decode_resize_s"] += time.perf_counter() - t
        t = time.perf_counter()
        for (prepared, label, split), px in zip(batch, pixels):
            example = tf.train.Example(features=tf.train.Features(feature={
                # .tolist(): protobuf copies a Python list ~4x faster than a numpy array
                features.IMAGE_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=px.reshape(-1).tolist())),
                features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                features.SHA256_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[prepared.sha256.encode()])),
            }))
            writers[split].write(example.SerializeToString())
            counts[split] += 1
        timings["serialize_write_s"] += time.perf_counter() - t

    for batch in c.batches(kept(), batch_size):
        write(batch)
    for w in writers.values():
        w.close()
    t_end = time.perf_counter()
    return {"images": len(label_of), "written": sum(counts.values()), "counts": counts, "rejected": rejected, "duplicates": duplicates,
            "startup_s": round(t_loop - t_start, 3), "loop_s": round(t_end - t_loop, 3), **{k: round(v, 3) for k, v in timings.items()}}


def verify_worker(pipeline_dir: str, baseline_dir: str) -> dict:
    """Same records (by sha256), same split and label, same pixels?"""
    import numpy as np
    import tensorflow as tf

    from transforms import features

    def load(root: str) -> dict:
        out = {}
        for split in features.SPLITS:
            files = glob.glob(os.path.join(root, features.TFRECORD_DIR, split, "*" + features.TFRECORD_SUFFIX))
            for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
                ex = tf.train.Example.FromString(record.numpy()).features.feature
                key = ex[features.SHA256_KEY].bytes_list.value[0].decode()
                out[key] = (split, ex[features.LABEL_KEY].int64_list.value[0], np.asarray(ex[features.IMAGE_KEY].float_list.value, np.float32))
        return out

    a, b = load(pipeline_dir), load(baseline_dir)
    common = sorted(set(a) & set(b))
    max_diff = max((float(np.max(np.abs(a[k][2] - b[k][2]))) for k in common), default=None)
    return {"pipeline_records": len(a), "baseline_records": len(b), "same_keys": set(a) == set(b),
            "same_split_and_label": all(a[k][:2] == b[k][:2] for k in common), "max_abs_pixel_diff": max_diff}


def profile_worker(argv: list[str], top: int = 40) -> dict:
    """pipelines.ingest.run(argv) under cProfile (--profile): where the in-process pipeline's time goes."""
    import cProfile
    import pstats

    t0 = time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    from pipelines import ingest

    t1 = time.perf_counter()
    ingest.run(argv)
    t2 = time.perf_counter()
    profiler.disable()
    c.write_profile(profiler, NAME)
    stats = pstats.Stats(profiler)

    def of_name(path_part: str, name: str) -> float:
        found = [v[3] for k, v in stats.stats.items() if path_part in k[0] and k[2] == name]
        return round(max(found), 3) if found else 0.0

    stats.calc_callees()

    def callee_imports(path_part: str, name: str) -> float:
        """Cumulative time of the imports done inside a function (deferred imports)."""
        for k in stats.stats:
            if path_part in k[0] and k[2] == name:
                return round(sum(t[3] for callee, t in stats.all_callees.get(k, {}).items() if callee[2] == "_find_and_load"), 3)
        return 0.0

    breakdown = {
        "import pipelines.ingest": round(t1 - t0, 3),
        "run() total": of_name("pipelines/ingest.py", "run"),
        "build_pipeline (graph construction)": of_name("pipelines/ingest.py", "build_pipeline"),
        "  of which imports inside build_pipeline (tf.Transform, TensorFlow)": callee_imports("pipelines/ingest.py", "build_pipeline"),
        "Pipeline.to_runner_api (graph serialisation)": of_name("apache_beam/pipeline.py", "to_runner_api"),
        "runner: all bundles (process_bundle)": of_name("bundle_processor.py", "process_bundle"),
        "  ValidateImage.process (prepare_image)": of_name("pipelines/ingest.py", "process"),
        "  tf.Transform apply (decode+resize, _handle_batch)": of_name("tensorflow_transform/beam/impl.py", "_handle_batch"),
        "  EncodeTransformedDataset (ExampleProtoCoder.encode)": of_name("example_proto_coder.py", "encode"),
        "  WriteToTFRecord (gzip write_record)": of_name("apache_beam/io/tfrecordio.py", "write_record"),
    }
    stats.sort_stats("tottime")
    own = [{"function": f"{k[0].split('site-packages/')[-1]}:{k[1]}({k[2]})", "calls": stats.stats[k][1], "own_s": round(stats.stats[k][2], 3)}
           for k in stats.fcn_list[:top]]
    return {"import_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3), "breakdown": breakdown, "by_own_time": own}


# ---------------------------------------------------------------- driver

def main(argv=None) -> dict:
    parser = c.variants_parser(NAME, __doc__, images=300, seed=11, seed_help="demo seed of the rendered folder")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--_baseline", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--_verify", nargs=2, metavar=("PIPELINE_OUT", "BASELINE_OUT"), help=argparse.SUPPRESS)
    args = c.parse_variant_args(parser, argv, profile_worker)
    if args._baseline:
        c.worker_done("BASELINE_JSON ", baseline_worker(*args._baseline, args.image_size))
    if args._verify:
        c.worker_done("VERIFY_JSON ", verify_worker(*args._verify))

    env_info = c.environment()
    tmp, images, counts, render_s = c.render_demo_folder("bench_ingest_", args.images, args.seed)
    one = os.path.join(tmp, "one_image")
    _one_train_image(images, one)
    configs = {images: _config(os.path.join(tmp, "n.yaml"), images, args.image_size), one: _config(os.path.join(tmp, "one.yaml"), one, args.image_size)}
    mp = ["--direct_running_mode=multi_processing", f"--direct_num_workers={args.workers}"]
    variants = {
        "a_direct_in_process": lambda root, out: c.ingest_cmd(configs[root], out),
        "b_direct_multi_processing": lambda root, out: c.ingest_cmd(configs[root], out, *mp),
        "c_plain_python_baseline": lambda root, out: [c.PYTHON, "-m", f"benchmarks.{NAME}", "--_baseline", root, out, "--image_size", str(args.image_size)],
    }

    def describe(name: str, m: c.Measured, out: str, n: int) -> dict:
        if name.startswith("c_"):
            baseline = c.read_marked_json(m.log_path, "BASELINE_JSON ")
            return {"written": baseline["written"], "baseline": baseline}
        with open(os.path.join(out, "ingest_summary.json")) as f:
            written = json.load(f)["total_examples"]
        if written != n:
            raise RuntimeError(f"{name}: wrote {written} examples from {n} images; see {m.log_path}")
        return {"written": written, "phases": c.phases(m, "Ingesting ", "Ingest summary")}

    runs = c.run_variants(variants, one, images, args.images, args.repeats, tmp, describe)
    base = runs["c_plain_python_baseline"]
    base["images_per_s_loop_only"] = c.rate(args.images, c.median([e["baseline"]["loop_s"] for e in base["runs"]]))

    print("Checking the baseline wrote what the pipeline wrote ...", flush=True)
    mv = c.run_measured([c.PYTHON, "-m", f"benchmarks.{NAME}", "--_verify", runs["a_direct_in_process"]["runs"][0]["output"],
                         base["runs"][0]["output"]], os.path.join(tmp, "logs", "verify.log"))
    c.check(mv, "verify")
    verify = c.read_marked_json(mv.log_path, "VERIFY_JSON ")

    profile = None
    if not args.no_profile:
        profile = c.profile_run(NAME, [f"--config={configs[images]}", f"--output_dir={os.path.join(tmp, 'profile_out')}"], tmp)

    ratios = c.ratios_to_baseline(runs, base, {"a_direct_in_process": "a", "b_direct_multi_processing": "b"}, "c")
    result = {
        "benchmark": NAME,
        "environment": env_info,
        "loadavg_at_end": list(os.getloadavg()),
        "settings": {"images": args.images, "image_size": args.image_size, "seed": args.seed, "repeats": args.repeats,
                     "workers_b": args.workers, "labels": counts, "input_mb": round(c.folder_bytes(images) / 2**20, 1),
                     "render_s_excluded": round(render_s, 2), "runner": "DirectRunner"},
        "variants": runs,
        "ratios": ratios,
        "ratio_notes": "x_over_c = images/s of x / images/s of c (>1: x faster); x_excluding_startup_over_c_loop_only compares x's (N-1)/(t_N - t_1) with the baseline's own loop time; "
                       "c_cpu_per_image_over_x = marginal CPU ms/img of c / that of x (>1: x uses less CPU per image).",
        "baseline_matches_pipeline": verify,
        "memory_method": "peak of summed RSS over the process tree, /proc polled every 0.2 s (PSS ~1 s); see benchmarks/_common.py",
        "profile": profile,
    }
    path = c.write_results(NAME, result)

    c.print_variants(runs, f"Ingest throughput: {args.images} demo images -> {args.image_size}px TFRecords", args.images, args.repeats, env_info)
    print()
    print(c.table(["ratio (x/c, >1: x faster)", "value"], [[k, v] for k, v in ratios.items()]))
    print(f"\nbaseline vs pipeline output: {verify}")
    if profile:
        print(f"\nProfile of the in-process pipeline (cProfile, {args.images} images): imports {profile['import_s']} s, run() {profile['run_s']} s")
        print(c.table(["part", "cumulative s"], [[k, v] for k, v in profile["breakdown"].items()]))
    c.done(path, tmp, args.keep)
    return result


if __name__ == "__main__":
    c.run_main(main)

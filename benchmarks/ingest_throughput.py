"""Ingest throughput: images/s of the Beam + tf.Transform ingest against a plain-Python loop.

    python -m benchmarks.ingest_throughput [--images 300] [--image_size 128] [--repeats 2] [--keep]

Demo images are rendered ONCE into a temporary folder (rendering is not measured), then
ingested as a `folder` source at image_size 128 by:

  (a) `python -m pipelines.ingest --runner=DirectRunner` (in-process FnApiRunner),
  (b) the same with `--direct_running_mode=multi_processing --direct_num_workers=2`,
  (c) a plain-Python baseline doing the same work in one process: read each file,
      `transforms.image.prepare_image`, deduplicate by content hash, split with
      `pipelines.ingest.split_of`, `transforms.preprocessing.decode_and_resize` (TF, batches of 64
      like tf.Transform's desired_batch_size), serialise a tf.train.Example with the same features
      (image float32 [S,S,3], label int64, sha256 bytes) and write GZIP TFRecords per split.

Every run is a fresh subprocess (a process that ran a tf.Transform pipeline segfaults at exit), timed
from launch to exit ("end-to-end"). Start-up is the end-to-end time of the same command on a
1-image folder; "steady" images/s = (N - 1) / (t_N - t_1). The baseline also reports the time of
its loop alone (measured inside it). A final check compares the baseline's records with the
pipeline's (same keys, same pixels). Results: benchmarks/results/ingest_throughput.json.
"""
import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time

from benchmarks import _common as c

NAME = "ingest_throughput"
LABELS = ("non_chart", "chart")


def _config(path: str, root: str, image_size: int) -> str:
    with open(path, "w") as f:
        f.write(f"image_size: {image_size}\nsources:\n  - type: folder\n    root: {root}\n")
    return path


def _one_train_image(src_root: str, dst_root: str) -> str:
    """Copy the first image that the default split sends to `train` (a 1-image run whose only
    image landed in val/test would analyse an empty train set)."""
    from pipelines.ingest import split_of
    from pipelines.ingest_config import IngestConfig
    from transforms.image import prepare_image

    ratios = IngestConfig.split
    for label in LABELS:
        for path in sorted(glob.glob(os.path.join(src_root, label, "*"))):
            with open(path, "rb") as f:
                data = f.read()
            if split_of(prepare_image(data).content_hash, ratios) == 0:
                os.makedirs(os.path.join(dst_root, label), exist_ok=True)
                shutil.copy(path, os.path.join(dst_root, label))
                return path
    raise RuntimeError("no image of the demo folder goes to the train split")


# ---------------------------------------------------------------- baseline (runs in a subprocess)

def baseline_worker(input_root: str, output_dir: str, image_size: int, batch_size: int = 64) -> dict:
    t_start = time.perf_counter()
    import tensorflow as tf

    from pipelines.ingest import split_of
    from pipelines.ingest_config import IngestConfig
    from transforms import features
    from transforms.image import RejectedImage, prepare_image
    from transforms.preprocessing import decode_and_resize

    resize = tf.function(lambda b: decode_and_resize(b, image_size), input_signature=[tf.TensorSpec([None], tf.string)])
    t_loop = time.perf_counter()
    timings = {"read_s": 0.0, "prepare_s": 0.0, "decode_resize_s": 0.0, "serialize_write_s": 0.0}
    writers = {}
    for split in features.SPLITS:
        folder = os.path.join(output_dir, features.TFRECORD_DIR, split)
        os.makedirs(folder, exist_ok=True)
        writers[split] = tf.io.TFRecordWriter(os.path.join(folder, "part-00000-of-00001" + features.TFRECORD_SUFFIX), options="GZIP")
    files = [(p, label) for label in features.LABEL_NAMES for p in sorted(glob.glob(os.path.join(input_root, label, "*")))]
    seen: set[str] = set()
    counts = {split: 0 for split in features.SPLITS}
    rejected = duplicates = 0
    batch: list = []

    def flush() -> None:
        t = time.perf_counter()
        pixels = resize(tf.constant([p.data for p, _, _ in batch])).numpy()
        timings["decode_resize_s"] += time.perf_counter() - t
        t = time.perf_counter()
        for (prepared, label, split), px in zip(batch, pixels):
            example = tf.train.Example(features=tf.train.Features(feature={
                features.IMAGE_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=px.reshape(-1).tolist())),
                features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                features.SHA256_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[prepared.sha256.encode()])),
            }))
            writers[split].write(example.SerializeToString())
            counts[split] += 1
        timings["serialize_write_s"] += time.perf_counter() - t
        batch.clear()

    for path, label in files:
        t = time.perf_counter()
        with open(path, "rb") as f:
            data = f.read()
        timings["read_s"] += time.perf_counter() - t
        t = time.perf_counter()
        try:
            prepared = prepare_image(data)
        except RejectedImage:
            rejected += 1
            continue
        finally:
            timings["prepare_s"] += time.perf_counter() - t
        if prepared.content_hash in seen:
            duplicates += 1
            continue
        seen.add(prepared.content_hash)
        split = features.SPLITS[split_of(prepared.content_hash, IngestConfig.split)]
        batch.append((prepared, features.LABEL_IDS[label], split))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    for w in writers.values():
        w.close()
    t_end = time.perf_counter()
    return {"images": len(files), "written": sum(counts.values()), "counts": counts, "rejected": rejected, "duplicates": duplicates,
            "startup_s": round(t_loop - t_start, 3), "loop_s": round(t_end - t_loop, 3), **{k: round(v, 3) for k, v in timings.items()}}


def verify_worker(pipeline_dir: str, baseline_dir: str) -> dict:
    """Same records (by sha256, per split), same labels, same pixels?"""
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


# ---------------------------------------------------------------- driver

def _ingest_cmd(config: str, out: str, extra: list[str], entry: bool = False) -> list[str]:
    """`python -m pipelines.ingest ...`, or (entry=True) the same run() through benchmarks._entry."""
    head = [c.PYTHON, "-m", "benchmarks._entry", "pipelines.ingest"] if entry else [c.PYTHON, "-m", "pipelines.ingest"]
    return [*head, "--runner=DirectRunner", f"--config={config}", f"--output_dir={out}", *extra]


def _baseline_cmd(root: str, out: str, image_size: int) -> list[str]:
    return [c.PYTHON, "-m", f"benchmarks.{NAME}", "--_baseline", root, out, "--image_size", str(image_size)]


def _first_error(log_path: str) -> str:
    """The first Python exception line in a log (e.g. '_pickle.PicklingError: ...')."""
    import re

    with open(log_path, errors="replace") as f:
        for line in f:
            line = line.replace("\\n", "\n ").replace("\\'", "'")  # Beam quotes worker tracebacks
            match = re.search(r"(?<![\w.])([A-Za-z_][\w.]*(?:Error|Exception)): (.*?)(?:\n|\" trace|$)", line)
            if match:
                return f"{match[1]}: {match[2][:300]}"
    return "unknown (see log)"


def _read_json_line(log_path: str, marker: str) -> dict:
    with open(log_path, errors="replace") as f:
        for line in f:
            if line.startswith(marker):
                return json.loads(line[len(marker):])
    raise RuntimeError(f"no {marker} line in {log_path}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=11, help="demo seed of the rendered folder")
    parser.add_argument("--repeats", type=int, default=2, help="N-image runs per variant (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="--direct_num_workers for (b)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--_baseline", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--_verify", nargs=2, metavar=("PIPELINE_OUT", "BASELINE_OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._baseline:
        print("BASELINE_JSON " + json.dumps(baseline_worker(*args._baseline, args.image_size)))
        c.finish(0)
    if args._verify:
        print("VERIFY_JSON " + json.dumps(verify_worker(*args._verify)))
        c.finish(0)

    env_info = c.environment()
    tmp = tempfile.mkdtemp(prefix="bench_ingest_")
    logs = os.path.join(tmp, "logs")
    images, one = os.path.join(tmp, "images"), os.path.join(tmp, "one_image")
    print(f"Rendering {args.images} demo images (seed {args.seed}) into {images} ...", flush=True)
    counts, render_s = c.write_demo_folder_timed(images, args.images, args.seed)
    _one_train_image(images, one)
    cfg_n, cfg_1 = _config(os.path.join(tmp, "n.yaml"), images, args.image_size), _config(os.path.join(tmp, "one.yaml"), one, args.image_size)
    mp = ["--direct_running_mode=multi_processing", f"--direct_num_workers={args.workers}"]

    # Each variant: the documented command first; a fallback only if that fails on the 1-image run.
    variants = {
        "a_direct_in_process": [lambda cfg, root, out: _ingest_cmd(cfg, out, [])],
        "b_direct_multi_processing": [lambda cfg, root, out: _ingest_cmd(cfg, out, mp),
                                      lambda cfg, root, out: _ingest_cmd(cfg, out, mp, entry=True)],
        "c_plain_python_baseline": [lambda cfg, root, out: _baseline_cmd(root, out, args.image_size)],
    }
    runs: dict[str, dict] = {}
    failures: dict[str, dict] = {}
    for name, candidates in variants.items():
        is_pipeline = not name.startswith("c_")
        for attempt, cmd in enumerate(candidates):
            print(f"[{name}] 1-image start-up run{' (fallback entry: benchmarks._entry)' if attempt else ''} ...", flush=True)
            m1 = c.run_measured(cmd(cfg_1, one, os.path.join(tmp, f"{name}_1_{attempt}")), os.path.join(logs, f"{name}_1_{attempt}.log"))
            if m1.returncode == 0 or attempt == len(candidates) - 1:
                break
            error = _first_error(m1.log_path)
            print(f"[{name}] FAILED (rc {m1.returncode}): {error}", flush=True)
            failures[name] = {"command": " ".join(m1.argv), "returncode": m1.returncode, "error": error}
        c.check(m1, f"{name} (1 image)")
        full = []
        for r in range(args.repeats):
            out = os.path.join(tmp, f"{name}_n{r}")
            print(f"[{name}] {args.images}-image run {r + 1}/{args.repeats} ...", flush=True)
            m = c.run_measured(cmd(cfg_n, images, out), os.path.join(logs, f"{name}_n{r}.log"))
            c.check(m, f"{name} ({args.images} images)")
            entry = m.summary()
            if is_pipeline:
                with open(os.path.join(out, "ingest_summary.json")) as f:
                    entry["written"] = json.load(f)["total_examples"]
                entry["phases"] = c.phases(m, "Ingesting ", "Ingest summary")
            else:
                entry["baseline"] = _read_json_line(m.log_path, "BASELINE_JSON ")
                entry["written"] = entry["baseline"]["written"]
            full.append(entry)
        walls = [e["wall_s"] for e in full]
        t_n, t_1 = c.median(walls), m1.wall_s
        runs[name] = {
            "one_image": m1.summary() | ({"phases": c.phases(m1, "Ingesting ", "Ingest summary")} if is_pipeline else
                                        {"baseline": _read_json_line(m1.log_path, "BASELINE_JSON ")}),
            "command": " ".join(full[0]["argv"]),
            "runs": full,
            "median_wall_s": round(t_n, 3),
            "startup_wall_s": round(t_1, 3),
            "images_per_s_end_to_end": c.rate(args.images, t_n),
            "images_per_s_excluding_startup": c.rate(args.images - 1, t_n - t_1),
            "cpu_s_per_image": round(c.median([e["cpu_s"] for e in full]) / args.images, 4),
            "peak_tree_rss_mb": max(e["peak_tree_rss_mb"] for e in full),
            "peak_tree_pss_mb": max(e["peak_tree_pss_mb"] for e in full),
            "written": full[0]["written"],
        }
        if not is_pipeline:
            loops = [e["baseline"]["loop_s"] for e in full]
            runs[name]["images_per_s_loop_only"] = c.rate(args.images, c.median(loops))
        leftovers = sorted({p for e in full for p in e["leftover_pids"]})
        if leftovers:
            runs[name]["leftover_worker_pids"] = leftovers

    print("Checking the baseline wrote what the pipeline wrote ...", flush=True)
    mv = c.run_measured([c.PYTHON, "-m", f"benchmarks.{NAME}", "--_verify", os.path.join(tmp, "a_direct_in_process_n0"),
                         os.path.join(tmp, "c_plain_python_baseline_n0")], os.path.join(logs, "verify.log"))
    c.check(mv, "verify")
    verify = _read_json_line(mv.log_path, "VERIFY_JSON ")

    base = runs["c_plain_python_baseline"]
    ratios = {
        "a_over_c_end_to_end": c.ratio(runs["a_direct_in_process"]["images_per_s_end_to_end"], base["images_per_s_end_to_end"]),
        "b_over_c_end_to_end": c.ratio(runs["b_direct_multi_processing"]["images_per_s_end_to_end"], base["images_per_s_end_to_end"]),
        "a_over_c_excluding_startup": c.ratio(runs["a_direct_in_process"]["images_per_s_excluding_startup"], base["images_per_s_excluding_startup"]),
        "b_over_c_excluding_startup": c.ratio(runs["b_direct_multi_processing"]["images_per_s_excluding_startup"], base["images_per_s_excluding_startup"]),
        "a_over_c_loop_only": c.ratio(runs["a_direct_in_process"]["images_per_s_excluding_startup"], base.get("images_per_s_loop_only")),
        "b_over_c_loop_only": c.ratio(runs["b_direct_multi_processing"]["images_per_s_excluding_startup"], base.get("images_per_s_loop_only")),
    }
    result = {
        "benchmark": NAME,
        "environment": env_info,
        "loadavg_at_end": list(os.getloadavg()),
        "settings": {"images": args.images, "image_size": args.image_size, "seed": args.seed, "repeats": args.repeats,
                     "workers_b": args.workers, "labels": counts, "input_mb": round(c.folder_bytes(images) / 2**20, 1),
                     "render_s_excluded": round(render_s, 2), "runner": "DirectRunner"},
        "variants": runs,
        "documented_command_failures": failures,
        "ratios": ratios,
        "baseline_matches_pipeline": verify,
        "memory_method": "peak of summed RSS over the process tree, /proc polled every 0.2 s (PSS ~1 s); see benchmarks/_common.py",
    }
    path = c.write_results(NAME, result)

    rows = []
    for name, r in runs.items():
        rows.append([name, r["median_wall_s"], r["startup_wall_s"], r["images_per_s_end_to_end"], r["images_per_s_excluding_startup"],
                     r.get("images_per_s_loop_only"), r["cpu_s_per_image"], r["peak_tree_rss_mb"], r["peak_tree_pss_mb"]])
    print()
    print(c.table(["variant", f"wall {args.images} img s", "wall 1 img s", "img/s e2e", "img/s excl start-up", "img/s loop only",
                   "cpu s/img", "peak RSS MB", "peak PSS MB"], rows,
                  title=f"Ingest throughput: {args.images} demo images -> {args.image_size}px TFRecords "
                        f"(median of {args.repeats}; start-up = 1-image run; {env_info['cpus_usable']} CPUs)"))
    print()
    print(c.table(["ratio", "value"], [[k, v] for k, v in ratios.items()]))
    print(f"\nbaseline vs pipeline output: {verify}")
    for name, failure in failures.items():
        print(f"NOTE {name}: the documented command failed ({failure['error']}); measured through benchmarks._entry instead")
    print(f"results: {path}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept: {tmp}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
    c.finish(0)

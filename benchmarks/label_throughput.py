"""Labelling throughput: the Beam RunInference pipeline against a plain-Python loop.

    python -m benchmarks.label_throughput [--images 500] [--repeats 1] [--no_profile] [--keep]

Set-up (not measured): a folder of demo images rendered with seed 3 (training uses seed 0); a
demo model trained quickly in subprocesses (a tiny demo ingest, then `python -m pipelines.train
--model_type demo --data_dir <ingest out> --epochs 2` with BASE_DIR set to a temporary folder).

Measured, each in a fresh subprocess, wall clock from launch to exit, with the process tree's
peak memory (see benchmarks/_common.py: summed RSS of the tree polled from /proc every 0.2 s,
PSS about once a second):

  (a) `python -m pipelines.label --runner=DirectRunner --model_dir <BASE_DIR>/models/demo/latest
      --input <folder> --output <tmp>/labels`, in-process, and again with
      `--direct_running_mode=multi_processing --direct_num_workers=2`;
  (b) a plain-Python baseline: list the folder, read each file, `prepare_image`, batches of 64
      into the SavedModel's serving signature, results written as JSONL (same fields).

Start-up is the same command on a 1-image folder; "steady" images/s = (N - 1) / (t_N - t_1).
Then (unless --no_profile) the in-process pipeline runs once more under cProfile to show where
its time goes. Results: benchmarks/results/label_throughput.json.
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

NAME = "label_throughput"


# ---------------------------------------------------------------- workers (run in subprocesses)

def baseline_worker(input_root: str, output: str, model_dir: str, batch_size: int = 64) -> dict:
    t_start = time.perf_counter()
    import tensorflow as tf

    from models import export
    from pipelines import label, storage
    from transforms import features
    from transforms.image import RejectedImage, prepare_image

    t_import = time.perf_counter()
    run_dir = export.resolve_model_dir(model_dir)
    metadata = export.read_metadata(run_dir)
    loaded = tf.saved_model.load(storage.join(run_dir, export.SAVED_MODEL_DIR))
    serve = loaded.signatures["serving_default"]
    t_loop = time.perf_counter()
    timings = {"list_s": 0.0, "read_s": 0.0, "prepare_s": 0.0, "inference_s": 0.0, "write_s": 0.0}
    t = time.perf_counter()
    uris = storage.match(label.input_pattern(input_root))
    timings["list_s"] = time.perf_counter() - t
    batch: list = []
    written = rejected = 0
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    out = open(output, "w")

    def flush() -> None:
        nonlocal written
        t = time.perf_counter()
        scores = serve(**{export.SERVING_INPUT: tf.constant([data for _, data in batch], dtype=tf.string)})[export.SERVING_OUTPUT].numpy()
        timings["inference_s"] += time.perf_counter() - t
        t = time.perf_counter()
        for (prepared_key, _), score in zip(batch, scores):
            uri, prepared = prepared_key
            score = float(score)
            out.write(json.dumps({
                "uri": uri, "label": features.CHART if score >= metadata["threshold"] else features.NON_CHART, "score": round(score, 6),
                "model_type": metadata["model_type"], "run_id": metadata["run_id"], "sha256": prepared.sha256,
                "width": prepared.width, "height": prepared.height, "labeled_at": label._now()}, sort_keys=True) + "\n")
            written += 1
        timings["write_s"] += time.perf_counter() - t
        batch.clear()

    for uri in uris:
        t = time.perf_counter()
        data = storage.read_bytes(uri)
        timings["read_s"] += time.perf_counter() - t
        t = time.perf_counter()
        try:
            prepared = prepare_image(data)
        except RejectedImage:
            rejected += 1
            continue
        finally:
            timings["prepare_s"] += time.perf_counter() - t
        batch.append(((uri, prepared), prepared.data))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    out.close()
    t_end = time.perf_counter()
    return {"images": len(uris), "written": written, "rejected": rejected, "import_s": round(t_import - t_start, 3),
            "model_load_s": round(t_loop - t_import, 3), "loop_s": round(t_end - t_loop, 3), **{k: round(v, 3) for k, v in timings.items()}}


def profile_worker(argv: list[str], top: int = 40) -> dict:
    """pipelines.label.run(argv) under cProfile (main thread); the top functions by cumulative
    and by own time, plus wall time of the imports and of run()."""
    import cProfile
    import io
    import pstats

    t0 = time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    from pipelines import label

    t1 = time.perf_counter()
    label.run(argv)
    t2 = time.perf_counter()
    profiler.disable()
    stats = pstats.Stats(profiler)
    os.makedirs(c.RESULTS_DIR, exist_ok=True)
    stats.dump_stats(os.path.join(c.RESULTS_DIR, f"{NAME}_profile.prof"))

    def rows(sort: str) -> list[dict]:
        stats.sort_stats(sort)
        out = []
        for func in stats.fcn_list[:top]:
            cc, nc, tt, ct, _ = stats.stats[func]
            out.append({"function": f"{os.path.relpath(func[0], c.ROOT) if func[0].startswith(c.ROOT) else func[0].split('site-packages/')[-1]}:{func[1]}({func[2]})",
                        "calls": nc, "own_s": round(tt, 3), "cumulative_s": round(ct, 3)})
        return out

    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
    with open(os.path.join(c.RESULTS_DIR, f"{NAME}_profile.txt"), "w") as f:
        f.write(text.getvalue())
    return {"import_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3), "by_cumulative": rows("cumulative"), "by_own_time": rows("tottime")}


# ---------------------------------------------------------------- driver

def _label_cmd(model_dir: str, input_root: str, output: str, extra: list[str], entry: bool = False) -> list[str]:
    head = [c.PYTHON, "-m", "benchmarks._entry", "pipelines.label"] if entry else [c.PYTHON, "-m", "pipelines.label"]
    return [*head, "--runner=DirectRunner", "--model_dir", model_dir, "--input", input_root, "--output", output, *extra]


def _read_json_line(log_path: str, marker: str) -> dict:
    with open(log_path, errors="replace") as f:
        for line in f:
            if line.startswith(marker):
                return json.loads(line[len(marker):])
    raise RuntimeError(f"no {marker} line in {log_path}")


def _results(pattern: str) -> list[dict]:
    return [json.loads(line) for path in sorted(glob.glob(pattern)) for line in open(path) if line.strip()]


def _first_error(log_path: str) -> str:
    from benchmarks.ingest_throughput import _first_error as first

    return first(log_path)


def _train_model(tmp: str, images: int) -> str:
    base = os.path.join(tmp, "base")
    env = c.bench_env({"BASE_DIR": base})
    config = os.path.join(tmp, "tiny_ingest.yaml")
    with open(config, "w") as f:
        f.write(f"image_size: 128\nsplit: {{train: 0.7, val: 0.15, test: 0.15}}\nsources:\n  - type: demo\n    size: {images}\n    seed: 0\n")
    ingest_out = os.path.join(base, "ingest")
    m = c.run_measured([c.PYTHON, "-m", "pipelines.ingest", "--runner=DirectRunner", f"--config={config}", f"--output_dir={ingest_out}"],
                       os.path.join(tmp, "logs", "setup_ingest.log"), env=env)
    c.check(m, "tiny ingest")
    m = c.run_measured([c.PYTHON, "-m", "pipelines.train", "--model_type", "demo", "--data_dir", ingest_out, "--epochs", "2"],
                       os.path.join(tmp, "logs", "setup_train.log"), env=env)
    c.check(m, "demo training")
    return os.path.join(base, "models", "demo", "latest")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--seed", type=int, default=3, help="demo seed of the folder to label (training uses 0)")
    parser.add_argument("--train_images", type=int, default=80, help="demo images of the tiny ingest the model trains on")
    parser.add_argument("--model_dir", default=None, help="reuse a trained model (run dir or `latest` file) instead of training one")
    parser.add_argument("--repeats", type=int, default=1, help="N-image runs per variant (median reported)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no_profile", action="store_true", help="skip the cProfile run of the in-process pipeline")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--_baseline", nargs=3, metavar=("ROOT", "OUT", "MODEL_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--_profile", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._baseline:
        print("BASELINE_JSON " + json.dumps(baseline_worker(*args._baseline)))
        c.finish(0)
    if args._profile is not None:
        print("PROFILE_JSON " + json.dumps(profile_worker(args._profile)))
        c.finish(0)

    env_info = c.environment()
    tmp = tempfile.mkdtemp(prefix="bench_label_")
    logs = os.path.join(tmp, "logs")
    images, one = os.path.join(tmp, "images"), os.path.join(tmp, "one_image")
    print(f"Rendering {args.images} demo images (seed {args.seed}) into {images} ...", flush=True)
    counts, render_s = c.write_demo_folder_timed(images, args.images, args.seed)
    first = sorted(glob.glob(os.path.join(images, "chart", "*")))[0]
    os.makedirs(os.path.join(one, "chart"))
    shutil.copy(first, os.path.join(one, "chart"))
    model_dir = args.model_dir
    t_setup = time.perf_counter()
    if not model_dir:
        print(f"Training a demo model (tiny ingest of {args.train_images} images, 2 epochs; subprocesses) ...", flush=True)
        model_dir = _train_model(tmp, args.train_images)
    setup_s = time.perf_counter() - t_setup

    mp = ["--direct_running_mode=multi_processing", f"--direct_num_workers={args.workers}"]
    variants = {
        "a_pipeline_in_process": [lambda root, out: _label_cmd(model_dir, root, out, [])],
        "a_pipeline_multi_processing": [lambda root, out: _label_cmd(model_dir, root, out, mp),
                                        lambda root, out: _label_cmd(model_dir, root, out, mp, entry=True)],
        "b_plain_python_baseline": [lambda root, out: [c.PYTHON, "-m", f"benchmarks.{NAME}", "--_baseline", root, out + "-baseline.jsonl", model_dir]],
    }
    runs: dict[str, dict] = {}
    failures: dict[str, dict] = {}
    outputs: dict[str, str] = {}
    for name, candidates in variants.items():
        is_pipeline = name.startswith("a_")
        for attempt, cmd in enumerate(candidates):
            print(f"[{name}] 1-image start-up run{' (fallback entry: benchmarks._entry)' if attempt else ''} ...", flush=True)
            m1 = c.run_measured(cmd(one, os.path.join(tmp, f"{name}_1_{attempt}", "labels")), os.path.join(logs, f"{name}_1_{attempt}.log"))
            if m1.returncode == 0 or attempt == len(candidates) - 1:
                break
            failures[name] = {"command": " ".join(m1.argv), "returncode": m1.returncode, "error": _first_error(m1.log_path)}
            print(f"[{name}] FAILED (rc {m1.returncode}): {failures[name]['error']}", flush=True)
        c.check(m1, f"{name} (1 image)")
        full = []
        for r in range(args.repeats):
            prefix = os.path.join(tmp, f"{name}_n{r}", "labels")
            print(f"[{name}] {args.images}-image run {r + 1}/{args.repeats} ...", flush=True)
            m = c.run_measured(cmd(images, prefix), os.path.join(logs, f"{name}_n{r}.log"))
            c.check(m, f"{name} ({args.images} images)")
            entry = m.summary()
            if is_pipeline:
                entry["written"] = len(_results(prefix + "-*.jsonl"))
                entry["dead_letters"] = len(_results(prefix + ".rejected-*.jsonl"))
                entry["phases"] = c.phases(m, "Labelling ", "Label counters")
                outputs.setdefault(name, prefix + "-*.jsonl")
            else:
                entry["baseline"] = _read_json_line(m.log_path, "BASELINE_JSON ")
                entry["written"] = entry["baseline"]["written"]
                outputs.setdefault(name, prefix + "-baseline.jsonl")
            full.append(entry)
        t_n, t_1 = c.median([e["wall_s"] for e in full]), m1.wall_s
        runs[name] = {
            "command": " ".join(full[0]["argv"]),
            "one_image": m1.summary() | ({"phases": c.phases(m1, "Labelling ", "Label counters")} if is_pipeline else
                                        {"baseline": _read_json_line(m1.log_path, "BASELINE_JSON ")}),
            "runs": full,
            "median_wall_s": round(t_n, 3),
            "startup_wall_s": round(t_1, 3),
            "images_per_s_end_to_end": c.rate(args.images, t_n),
            "images_per_s_excluding_startup": c.rate(args.images - 1, t_n - t_1),
            "cpu_s_per_image": round(c.median([e["cpu_s"] for e in full]) / args.images, 4),
            "peak_tree_rss_mb": max(e["peak_tree_rss_mb"] for e in full),
            "peak_tree_pss_mb": max(e["peak_tree_pss_mb"] for e in full),
            "max_single_rss_mb": max(e["max_single_rss_mb"] for e in full),
            "max_processes": max(e["max_processes"] for e in full),
            "written": full[0]["written"],
        }
        if not is_pipeline:
            runs[name]["images_per_s_loop_only"] = c.rate(args.images, c.median([e["baseline"]["loop_s"] for e in full]))
        leftovers = sorted({p for e in full for p in e["leftover_pids"]})
        if leftovers:
            runs[name]["leftover_worker_pids"] = leftovers

    # Do the pipeline and the baseline agree?
    pipe = {r["uri"]: r for r in _results(outputs["a_pipeline_in_process"])}
    base = {r["uri"]: r for r in _results(outputs["b_plain_python_baseline"])}
    common = set(pipe) & set(base)
    agreement = {"pipeline_results": len(pipe), "baseline_results": len(base), "same_uris": set(pipe) == set(base),
                 "same_labels": sum(pipe[u]["label"] == base[u]["label"] for u in common),
                 "max_abs_score_diff": max((abs(pipe[u]["score"] - base[u]["score"]) for u in common), default=None)}

    profile = None
    if not args.no_profile:
        print("Profiling the in-process pipeline (cProfile) ...", flush=True)
        prefix = os.path.join(tmp, "profile", "labels")
        mp_ = c.run_measured([c.PYTHON, "-m", f"benchmarks.{NAME}", "--_profile", "--runner=DirectRunner", "--model_dir", model_dir,
                              "--input", images, "--output", prefix], os.path.join(logs, "profile.log"))
        c.check(mp_, "profile run")
        profile = _read_json_line(mp_.log_path, "PROFILE_JSON ") | {"wall_s": round(mp_.wall_s, 2),
                                                                    "files": [f"benchmarks/results/{NAME}_profile.prof", f"benchmarks/results/{NAME}_profile.txt"]}

    baseline = runs["b_plain_python_baseline"]
    ratios = {}
    for name in ("a_pipeline_in_process", "a_pipeline_multi_processing"):
        short = name.replace("a_pipeline_", "")
        ratios[f"{short}_over_baseline_end_to_end"] = c.ratio(runs[name]["images_per_s_end_to_end"], baseline["images_per_s_end_to_end"])
        ratios[f"{short}_over_baseline_excluding_startup"] = c.ratio(runs[name]["images_per_s_excluding_startup"], baseline["images_per_s_excluding_startup"])
        ratios[f"{short}_over_baseline_loop_only"] = c.ratio(runs[name]["images_per_s_excluding_startup"], baseline["images_per_s_loop_only"])
        ratios[f"{short}_rss_over_baseline"] = c.ratio(runs[name]["peak_tree_rss_mb"], baseline["peak_tree_rss_mb"])
    result = {
        "benchmark": NAME,
        "environment": env_info,
        "loadavg_at_end": list(os.getloadavg()),
        "settings": {"images": args.images, "seed": args.seed, "labels": counts, "input_mb": round(c.folder_bytes(images) / 2**20, 1),
                     "render_s_excluded": round(render_s, 2), "model_setup_s_excluded": round(setup_s, 1), "repeats": args.repeats,
                     "workers": args.workers, "batch_size": 64, "model": "demo (2 epochs on a tiny demo ingest)", "runner": "DirectRunner"},
        "variants": runs,
        "documented_command_failures": failures,
        "ratios": ratios,
        "pipeline_vs_baseline_results": agreement,
        "memory_method": "peak of summed RSS over the process tree, /proc polled every 0.2 s (PSS ~1 s); max_single_rss_mb from wait4 ru_maxrss; see benchmarks/_common.py",
        "profile": profile,
    }
    path = c.write_results(NAME, result)

    print()
    rows = [[name, r["median_wall_s"], r["startup_wall_s"], r["images_per_s_end_to_end"], r["images_per_s_excluding_startup"],
             r.get("images_per_s_loop_only"), r["cpu_s_per_image"], r["peak_tree_rss_mb"], r["peak_tree_pss_mb"], r["max_processes"]]
            for name, r in runs.items()]
    print(c.table(["variant", f"wall {args.images} img s", "wall 1 img s", "img/s e2e", "img/s excl start-up", "img/s loop only",
                   "cpu s/img", "peak RSS MB", "peak PSS MB", "procs"], rows,
                  title=f"Labelling throughput: {args.images} demo images, demo model, batch 64 "
                        f"(median of {args.repeats}; start-up = 1-image run; {env_info['cpus_usable']} CPUs)"))
    print()
    print(c.table(["ratio", "value"], [[k, v] for k, v in ratios.items()]))
    print(f"\npipeline vs baseline results: {agreement}")
    for name, failure in failures.items():
        print(f"NOTE {name}: the documented command failed ({failure['error']}); measured through benchmarks._entry instead")
    for name, r in runs.items():
        if r.get("leftover_worker_pids"):
            print(f"NOTE {name}: worker processes still alive after exit: {r['leftover_worker_pids']}")
    if profile:
        print(f"\nProfile (in-process pipeline, main thread): imports {profile['import_s']} s, run() {profile['run_s']} s; top by cumulative time:")
        print(c.table(["function", "calls", "own s", "cumulative s"],
                      [[p["function"][-90:], p["calls"], p["own_s"], p["cumulative_s"]] for p in profile["by_cumulative"][:25]]))
    print(f"results: {path}")
    if args.keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
    c.finish(0)

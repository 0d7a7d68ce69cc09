"""Labelling throughput: the Beam RunInference pipeline against a plain-Python loop.

    python -m benchmarks.label_throughput [--images 500] [--repeats 2] [--model_dir DIR] [--no_profile] [--keep]

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

Start-up is the same command on a 1-image folder; "excluding start-up" images/s = (N - 1) / (t_N - t_1);
"img/s stamps" = images labelled after the first batch / time from the first to the last result's
`labeled_at` stamp (inside the run: no start-up, no final write). The marginal CPU ms per image of the
process tree, (cpu_N - cpu_1) / (N - 1), is the figure that other load on the machine moves least.
The N-image runs of the variants are interleaved.
Then (unless --no_profile) the in-process pipeline runs once more under cProfile to show where
its time goes. Results: benchmarks/results/label_throughput.json.
"""
import argparse
import glob
import json
import os
import shutil
import time
from datetime import datetime, timezone

from benchmarks import _common as c

NAME = "label_throughput"


# ---------------------------------------------------------------- workers (run in subprocesses)

def baseline_worker(input_root: str, output: str, run_dir: str, batch_size: int = 64) -> dict:
    """Plain Python, no Beam: list, read, prepare_image, batches into the serving signature, JSONL."""
    t_start = time.perf_counter()
    import tensorflow as tf

    import transforms.image  # noqa: F401  (c.read_and_prepare's import, done before the loop is timed)
    from transforms import features

    t_import = time.perf_counter()
    with open(os.path.join(run_dir, "metadata.json")) as f:
        metadata = json.load(f)
    loaded = tf.saved_model.load(os.path.join(run_dir, "saved_model"))
    serve = loaded.signatures["serving_default"]
    t_loop = time.perf_counter()
    timings = {"list_s": 0.0, "read_s": 0.0, "prepare_s": 0.0, "inference_s": 0.0, "write_s": 0.0}
    t = time.perf_counter()
    uris = sorted(os.path.join(d, name) for d, _, files in os.walk(input_root) for name in files)
    timings["list_s"] = time.perf_counter() - t
    written = rejected = 0
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    out = open(output, "w")

    def valid():
        nonlocal rejected
        for uri, prepared in c.read_and_prepare(uris, timings):
            if prepared is None:
                rejected += 1
            else:
                yield uri, prepared

    def label(batch: list) -> None:
        nonlocal written
        t = time.perf_counter()
        scores = serve(image_bytes=tf.constant([prepared.data for _, prepared in batch], dtype=tf.string))["score"].numpy()
        timings["inference_s"] += time.perf_counter() - t
        t = time.perf_counter()
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for (uri, prepared), score in zip(batch, scores):
            score = float(score)
            out.write(json.dumps({
                "uri": uri, "label": features.CHART if score >= metadata["threshold"] else features.NON_CHART, "score": round(score, 6),
                "model_type": metadata["model_type"], "run_id": metadata["run_id"], "sha256": prepared.sha256,
                "width": prepared.width, "height": prepared.height, "labeled_at": now}, sort_keys=True) + "\n")
            written += 1
        timings["write_s"] += time.perf_counter() - t

    for batch in c.batches(valid(), batch_size):
        label(batch)
    out.close()
    t_end = time.perf_counter()
    return {"images": len(uris), "written": written, "rejected": rejected, "import_s": round(t_import - t_start, 3),
            "model_load_s": round(t_loop - t_import, 3), "loop_s": round(t_end - t_loop, 3), **{k: round(v, 3) for k, v in timings.items()}}


def profile_worker(argv: list[str], top: int = 40) -> dict:
    """pipelines.label.run(argv) under cProfile (the in-process FnApiRunner runs bundles on the
    main thread), plus the size of every batch RunInference hands to the model. Returns the wall
    time of the imports and of run(), a breakdown of run() by stage, and the top functions."""
    import cProfile
    import pstats

    t0 = time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    from models import inference
    from pipelines import label

    t1 = time.perf_counter()
    batch_sizes: list[int] = []
    original = inference.SavedModelHandler.run_inference

    def counting_run_inference(self, batch, model, inference_args=None):
        batch_sizes.append(len(batch))
        return original(self, batch, model, inference_args)

    inference.SavedModelHandler.run_inference = counting_run_inference  # this process only
    label.run(argv)
    t2 = time.perf_counter()
    profiler.disable()
    c.write_profile(profiler, NAME)
    stats = pstats.Stats(profiler)

    def short(func) -> str:
        path = os.path.relpath(func[0], c.ROOT) if func[0].startswith(c.ROOT) else func[0]
        return f"{path.split('site-packages/')[-1]}:{func[1]}({func[2]})"

    def rows(sort: str) -> list[dict]:
        stats.sort_stats(sort)
        out = []
        for func in stats.fcn_list[:top]:
            _, nc, tt, ct, _ = stats.stats[func]
            out.append({"function": short(func), "calls": nc, "own_s": round(tt, 3), "cumulative_s": round(ct, 3)})
        return out

    def cumulative(path_part: str, name: str) -> tuple[float, int]:
        found = [(v[3], v[1]) for k, v in stats.stats.items() if path_part in k[0] and k[2] == name]
        return (round(max(found)[0], 3), max(found)[1]) if found else (0.0, 0)

    def of(function) -> tuple[float, int]:
        code = function.__code__
        v = stats.stats.get((code.co_filename, code.co_firstlineno, code.co_name))
        return (round(v[3], 3), v[1]) if v else (0.0, 0)

    from pipelines import storage
    from transforms import image

    parts = {
        "run() total": of(label.run),
        "build_pipeline (graph construction)": of(label.build_pipeline),
        "runner: all bundles (process_bundle)": cumulative("bundle_processor.py", "process_bundle"),
        "ReadAndPrepare.process (read + prepare_image)": of(label.ReadAndPrepare.process),
        "  prepare_image": of(image.prepare_image),
        "  storage.read_bytes": of(storage.read_bytes),
        "SavedModelHandler.load_model": of(inference.SavedModelHandler.load_model),
        "SavedModelHandler.run_inference (decode+resize+model)": of(original),
        "ToResult.process": of(label.ToResult.process),
        "BatchElements (buffering)": cumulative("apache_beam/transforms/util.py", "process"),
        "cloudpickle dumps (pipeline/DoFn serialisation)": cumulative("cloudpickle_pickler.py", "dumps"),
        "WriteToText finalize": cumulative("filebasedsink.py", "finalize_windowed_write"),
    }
    breakdown = {k: {"cumulative_s": v[0], "calls": v[1]} for k, v in parts.items()}
    histogram: dict[int, int] = {}
    for size in batch_sizes:
        histogram[size] = histogram.get(size, 0) + 1
    return {"import_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3), "breakdown": breakdown,
            "batches": len(batch_sizes), "images_in_batches": sum(batch_sizes),
            "mean_batch_size": round(sum(batch_sizes) / max(len(batch_sizes), 1), 1),
            "batch_sizes_in_order": batch_sizes, "batch_size_histogram": dict(sorted(histogram.items())),
            "by_cumulative": rows("cumulative"), "by_own_time": rows("tottime")}


# ---------------------------------------------------------------- driver

def _label_cmd(model_dir: str, input_root: str, output: str, *extra: str) -> list[str]:
    return [c.PYTHON, "-m", "pipelines.label", "--runner=DirectRunner", "--model_dir", model_dir, "--input", input_root, "--output", output, *extra]


def _results(pattern: str) -> list[dict]:
    out = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def _labelling_rate(results: list[dict]) -> dict:
    """Steady-state images/s inside the run, from the results' `labeled_at` stamps: images labelled
    after the first batch came out, over the time from the first stamp to the last (start-up,
    model loading and the first batch's reading excluded; so is the final write of the files)."""
    stamps = sorted(datetime.fromisoformat(r["labeled_at"].replace("Z", "+00:00")).timestamp() for r in results)
    if len(stamps) < 2:
        return {"labelling_span_s": None, "images_per_s_from_stamps": None}
    first_batch = sum(1 for t in stamps if t <= stamps[0] + 0.005)  # one batch is stamped within a few ms
    span = stamps[-1] - stamps[0]
    return {"labelling_span_s": round(span, 3), "first_batch_images": first_batch,
            "images_per_s_from_stamps": c.rate(len(stamps) - first_batch, span)}


def _run_dir(model_dir: str) -> str:
    """A run directory from a run directory or a `latest` file (models.export.resolve_model_dir
    without importing TensorFlow here)."""
    model_dir = model_dir.rstrip("/")
    if os.path.exists(os.path.join(model_dir, "metadata.json")):
        return model_dir
    latest = model_dir if os.path.isfile(model_dir) else os.path.join(model_dir, "latest")
    with open(latest) as f:
        return os.path.join(os.path.dirname(latest), f.read().strip())


def _train_model(tmp: str, images: int) -> str:
    base = os.path.join(tmp, "base")
    env = c.bench_env({"BASE_DIR": base})
    config = os.path.join(tmp, "tiny_ingest.yaml")
    with open(config, "w") as f:
        f.write(f"image_size: 128\nsplit: {{train: 0.7, val: 0.15, test: 0.15}}\nsources:\n  - type: demo\n    size: {images}\n    seed: 0\n")
    ingest_out = os.path.join(base, "ingest")
    m = c.run_measured(c.ingest_cmd(config, ingest_out), os.path.join(tmp, "logs", "setup_ingest.log"), env=env)
    c.check(m, "tiny ingest")
    m = c.run_measured([c.PYTHON, "-m", "pipelines.train", "--model_type", "demo", "--data_dir", ingest_out, "--epochs", "2"],
                       os.path.join(tmp, "logs", "setup_train.log"), env=env)
    c.check(m, "demo training")
    return os.path.join(base, "models", "demo", "latest")


def main(argv=None) -> dict:
    parser = c.variants_parser(NAME, __doc__, images=500, seed=3, seed_help="demo seed of the folder to label (training uses 0)")
    parser.add_argument("--train_images", type=int, default=80, help="demo images of the tiny ingest the model trains on")
    parser.add_argument("--model_dir", default=None, help="reuse a trained model (run dir or `latest` file) instead of training one")
    parser.add_argument("--_baseline", nargs=3, metavar=("ROOT", "OUT", "RUN_DIR"), help=argparse.SUPPRESS)
    args = c.parse_variant_args(parser, argv, profile_worker)
    if args._baseline:
        c.worker_done("BASELINE_JSON ", baseline_worker(*args._baseline))

    env_info = c.environment()
    tmp, images, counts, render_s = c.render_demo_folder("bench_label_", args.images, args.seed)
    one = os.path.join(tmp, "one_image")
    first = sorted(glob.glob(os.path.join(images, "chart", "*")))[0]
    os.makedirs(os.path.join(one, "chart"))
    shutil.copy(first, os.path.join(one, "chart"))
    model_dir = args.model_dir
    t_setup = time.perf_counter()
    if not model_dir:
        print(f"Training a demo model (tiny ingest of {args.train_images} images, 2 epochs; subprocesses) ...", flush=True)
        model_dir = _train_model(tmp, args.train_images)
    setup_s = time.perf_counter() - t_setup
    run_dir = _run_dir(model_dir)

    mp = ["--direct_running_mode=multi_processing", f"--direct_num_workers={args.workers}"]
    variants = {
        "a_pipeline_in_process": lambda root, out: _label_cmd(model_dir, root, out),
        "a_pipeline_multi_processing": lambda root, out: _label_cmd(model_dir, root, out, *mp),
        "b_plain_python_baseline": lambda root, out: [c.PYTHON, "-m", f"benchmarks.{NAME}", "--_baseline", root, out + "-baseline.jsonl", run_dir],
    }

    def describe(name: str, m: c.Measured, out: str, n: int) -> dict:
        if name.startswith("b_"):
            baseline = c.read_marked_json(m.log_path, "BASELINE_JSON ")
            results = _results(out + "-baseline.jsonl")
            extra = {"baseline": baseline}
        else:
            results = _results(out + "-*.jsonl")
            extra = {"dead_letters": len(_results(out + ".rejected-*.jsonl")), "phases": c.phases(m, "Labelling ", "Label counters")}
        written = len(results)
        extra |= _labelling_rate(results)
        if written != n:
            raise RuntimeError(f"{name}: {written} results for {n} images; see {m.log_path}")
        return {"written": written, **extra}

    runs = c.run_variants(variants, one, images, args.images, args.repeats, tmp, describe)
    baseline = runs["b_plain_python_baseline"]
    baseline["images_per_s_loop_only"] = c.rate(args.images, c.median([e["baseline"]["loop_s"] for e in baseline["runs"]]))
    for r in runs.values():
        r["images_per_s_from_stamps"] = c.median([e["images_per_s_from_stamps"] for e in r["runs"]])

    # Do the pipeline and the baseline agree?
    pipe = {r["uri"]: r for r in _results(runs["a_pipeline_in_process"]["runs"][0]["output"] + "-*.jsonl")}
    base = {r["uri"]: r for r in _results(baseline["runs"][0]["output"] + "-baseline.jsonl")}
    common = set(pipe) & set(base)
    agreement = {"pipeline_results": len(pipe), "baseline_results": len(base), "same_uris": set(pipe) == set(base),
                 "same_labels": sum(pipe[u]["label"] == base[u]["label"] for u in common),
                 "max_abs_score_diff": max((abs(pipe[u]["score"] - base[u]["score"]) for u in common), default=None)}

    profile = None
    if not args.no_profile:
        profile = c.profile_run(NAME, ["--model_dir", model_dir, "--input", images, "--output", os.path.join(tmp, "profile", "labels")], tmp)

    shorts = {"a_pipeline_in_process": "in_process", "a_pipeline_multi_processing": "multi_processing"}
    ratios = c.ratios_to_baseline(runs, baseline, shorts, "baseline")
    for name, short in shorts.items():
        r = runs[name]
        ratios[f"{short}_over_baseline_from_stamps"] = c.ratio(r["images_per_s_from_stamps"], baseline["images_per_s_from_stamps"])
        ratios[f"{short}_peak_rss_over_baseline"] = c.ratio(r["peak_tree_rss_mb"], baseline["peak_tree_rss_mb"])
        ratios[f"{short}_peak_pss_over_baseline"] = c.ratio(r["peak_tree_pss_mb"], baseline["peak_tree_pss_mb"])
    result = {
        "benchmark": NAME,
        "environment": env_info,
        "loadavg_at_end": list(os.getloadavg()),
        "settings": {"images": args.images, "seed": args.seed, "labels": counts, "input_mb": round(c.folder_bytes(images) / 2**20, 1),
                     "render_s_excluded": round(render_s, 2), "model_setup_s_excluded": round(setup_s, 1), "repeats": args.repeats,
                     "workers": args.workers, "batch_size": 64, "model": "demo (2 epochs on a tiny demo ingest)", "runner": "DirectRunner"},
        "variants": runs,
        "ratios": ratios,
        "ratio_notes": "x_over_baseline = images/s of x / images/s of the baseline (>1: pipeline faster); "
                       "x_excluding_startup_over_baseline_loop_only compares x's (N-1)/(t_N - t_1) with the baseline's own loop time; "
                       "baseline_cpu_per_image_over_x = marginal CPU ms/img of the baseline / that of x (>1: x uses less CPU per image); "
                       "x_peak_rss/pss_over_baseline: memory ratios (>1: x uses more).",
        "pipeline_vs_baseline_results": agreement,
        "memory_method": "peak of summed RSS over the process tree, /proc polled every 0.2 s (PSS ~1 s); "
                         "max_single_rss_mb from wait4 ru_maxrss; see benchmarks/_common.py",
        "profile": profile,
    }
    path = c.write_results(NAME, result)

    c.print_variants(runs, f"Labelling throughput: {args.images} demo images, demo model, batch 64", args.images, args.repeats, env_info,
                     extra=[("img/s stamps", "images_per_s_from_stamps")])
    print()
    print(c.table(["ratio (speed: >1 pipeline faster; memory: >1 pipeline bigger)", "value"], [[k, v] for k, v in ratios.items()]))
    print(f"\npipeline vs baseline results: {agreement}")
    if profile:
        print(f"\nProfile of the in-process pipeline (cProfile, {args.images} images): imports {profile['import_s']} s, run() {profile['run_s']} s; "
              f"{profile['batches']} model batches, mean size {profile['mean_batch_size']}")
        print(c.table(["part of run()", "cumulative s", "calls"], [[k, v["cumulative_s"], v["calls"]] for k, v in profile["breakdown"].items()]))
    c.done(path, tmp, args.keep)
    return result


if __name__ == "__main__":
    c.run_main(main)

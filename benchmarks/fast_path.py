"""Fast path: labelling and ingest of a realistic scraped haul against what a user would write.

    python -m benchmarks.fast_path [--images 2000] [--big 10000] [--cache_dir ~/.cache/chart_sifter_bench]
        [--skip_big] [--stream_images 10] [--keep]

Set-up (cached in --cache_dir, not measured): `--images` files made from the real images in
/work/shared/data/real_{sample,train} (chart/ and non_chart/ kept): copies of each file, images
under 1 MP upscaled (LANCZOS) to 1-2 MP, larger ones scaled into 1-2.5 MP (first copies of 1-2.5 MP files
kept as they are), ~15% of PNGs re-encoded as JPEG q90 (via load_rgb), so the mix is ~70% PNG, ~25% JPEG,
a few GIF/WebP, mostly 1-2 MP (recorded in the JSON);
a --big set of hard links to it for the memory check; a throwaway chart-cnn model (1 epoch on 60 demo images,
without its pretrained member: a 1-epoch ensemble is unsure of every image; benchmarks.member_cost times it).

Measured, each a fresh subprocess timed launch to exit with _common.run_measured (peak tree RSS/PSS):
  keras_loop       keras.saving.load_model(.keras); per file Image.open().convert("RGB").resize((128, 128));
                   batches of 64 -> model(x, training=False); JSONL. One process, as a Keras user writes it.
  ceiling_*        decode+resize alone: the same Pillow recipe, and transforms.image.prepare(data, 128),
                   in one process and on a multiprocessing Pool(cores); "work" excludes imports and pool start.
  model_only       the SavedModel's serving_default on random 128 px pixels, batches of 64.
  label_*          `python -m pipelines.label --runner=DirectRunner` as documented, and faster modes;
                   steady-state images/s from the `labeled_at` stamps (images after the first batch / span).
  ingest_*         `python -m pipelines.ingest` vs a plain loop writing the same records (same counts per split).
  label_big        the default labelling run on the --big set: peak memory should stay flat.
  streaming        `--streaming --poll_interval 1 --duration 40` on an empty folder; after a first file is
                   labelled, images are dropped (written elsewhere, renamed in) every 2 s; latency = labeled_at - drop.
Prints images/s, peak RSS and the target ratios (PASS/MISS); writes benchmarks/results/fast_path.json.
"""
import argparse
import collections
import glob
import gzip
import hashlib
import io
import json
import multiprocessing
import os
import pathlib
import random
import shutil
import struct
import tempfile
import threading
import time
from datetime import datetime, timezone
from typing import Optional

from benchmarks import _common as c

NAME = "fast_path"
SET_VERSION = "1"  # bump when the recipe of the image set changes (the cache key)
REAL_DIRS = [os.path.normpath(os.path.join(c.ROOT, "..", "shared", "data", d)) for d in ("real_sample", "real_train")]
LABELS = ("chart", "non_chart")
SIZE, BATCH, MAX_MP, PNG_TO_JPEG = 128, 64, 2.5, 0.15
SPLIT = {"train": 0.8, "val": 0.1, "test": 0.1}
CEILINGS = {
    "pillow": "Pillow-recipe",
    "prepare": "prepare",
}  # decode+resize ceilings: recipe -> what the table calls it
EXT = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
LABEL_MODES = {  # name -> extra pipelines.label flags
    "label_default": [],
    "label_batch128": ["--batch_size", "128"],
    "label_threads3": ["--decode_threads", "3"],
    "label_batch128_threads3": ["--batch_size", "128", "--decode_threads", "3"],
    "label_multi_processing_2": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
}
MODEL_FILES = (
    "configs/model_config.yaml",
    "core/runs.py",
    "models/export.py",
    "models/spec.py",
    "models/factory.py",
    "models/builder.py",
    "transforms/preprocessing.py",
    "pipelines/train.py",
)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def listing(root: str) -> list[tuple[str, str]]:
    """(label, path) of every file under root/<label>/, sorted."""
    return [
        (label, os.path.join(root, label, n)) for label in LABELS for n in sorted(os.listdir(os.path.join(root, label)))
    ]


# ---------------------------------------------------------------- set-up: the image sets, the model

def _make_copy(task: tuple) -> dict:
    """Copy k of a real image (see the module doc); returns its format, megapixels and size."""

    label, src, k, i, out_root = task
    rng = random.Random(f"{src}:{k}")
    with open(src, "rb") as f:
        data = f.read()
    try:
        return _converted_copy(data, label, src, k, i, out_root, rng)
    except Exception:  # a real file Pillow or the pipelines reject (any of their errors): it stays in the haul as it is
        with open(os.path.join(out_root, label, f"{k:02d}_{i:04d}_{os.path.basename(src)}"), "wb") as f:
            f.write(data)
        return {"label": label, "format": "rejected", "mp": 0.0, "bytes": len(data)}


def _converted_copy(data: bytes, label: str, src: str, k: int, i: int, out_root: str, rng: random.Random) -> dict:
    from PIL import Image

    from transforms.image import load_rgb

    img = Image.open(io.BytesIO(data))
    fmt, mp = img.format, img.width * img.height / 1e6
    to_jpeg = fmt == "PNG" and rng.random() < PNG_TO_JPEG
    out_fmt = "JPEG" if to_jpeg else fmt
    if k == 0 and 1.0 <= mp <= MAX_MP and not to_jpeg:
        payload, size = data, img.size
    else:
        im = img if out_fmt == "PNG" and img.mode in ("RGB", "RGBA", "L", "LA") else load_rgb(data)
        if not (k == 0 and 1.0 <= mp <= MAX_MP):
            target = rng.uniform(1.0, 2.0) if mp < 1.0 else rng.uniform(1.0, min(mp, MAX_MP))
            scale = min((target / mp) ** 0.5, 8000 / max(img.size))
            im = im.resize(
                (max(16, round(img.width * scale)), max(16, round(img.height * scale))), Image.Resampling.LANCZOS
            )
        buf = io.BytesIO()
        im.save(buf, out_fmt, **({"quality": 90} if out_fmt in ("JPEG", "WEBP") else {}))
        payload, size = buf.getvalue(), im.size
    stem = os.path.splitext(os.path.basename(src))[0]
    with open(os.path.join(out_root, label, f"{k:02d}_{i:04d}_{stem}.{EXT[out_fmt]}"), "wb") as f:
        f.write(payload)
    return {"label": label, "format": out_fmt, "mp": size[0] * size[1] / 1e6, "bytes": len(payload)}


def _mix(made: list[dict], sources: int) -> dict:
    n, mps = len(made), sorted(m["mp"] for m in made)
    return {
        "images": n,
        "real_sources": sources,
        "labels": dict(collections.Counter(m["label"] for m in made)),
        "formats": {f: round(k / n, 3) for f, k in collections.Counter(m["format"] for m in made).most_common()},
        "megapixels": {
            "p10": round(mps[n // 10], 2),
            "median": round(c.median(mps), 2),
            "p90": round(mps[9 * n // 10], 2),
            "share_1_to_2": round(sum(1.0 <= m <= 2.0 for m in mps) / n, 3),
            "share_over_2": round(sum(m > 2.0 for m in mps) / n, 3),
        },
        "total_mb": round(sum(m["bytes"] for m in made) / 2**20, 1),
    }


def image_set(cache_dir: str, n: int) -> tuple[str, dict]:
    """The cached n-image set: (its images folder, its mix); built on all cores the first time."""
    home = os.path.join(cache_dir, f"set-v{SET_VERSION}-{n}")
    if not os.path.exists(os.path.join(home, "mix.json")):
        sources = [
            (label, os.path.join(d, label, name))
            for d in REAL_DIRS
            for label in LABELS
            for name in sorted(os.listdir(os.path.join(d, label)))
        ]
        random.Random(0).shuffle(sources)  # a small set gets both labels and both folders
        building = tempfile.mkdtemp(prefix="building-", dir=cache_dir)
        for label in LABELS:
            os.makedirs(os.path.join(building, "images", label))
        copies = -(-n // len(sources))
        tasks = [
            (label, src, k, i, os.path.join(building, "images"))
            for k in range(copies)
            for i, (label, src) in enumerate(sources)
        ][:n]
        print(
            f"Building the {n}-image set from {len(sources)} real images into {home} (once; all cores) ...", flush=True
        )
        with multiprocessing.Pool(cores()) as pool:
            made = list(pool.imap(_make_copy, tasks, chunksize=4))
        with open(os.path.join(building, "mix.json"), "w") as f:
            json.dump(_mix(made, len(sources)), f, indent=2)
        shutil.rmtree(home, ignore_errors=True)
        os.rename(building, home)
    with open(os.path.join(home, "mix.json")) as f:
        return os.path.join(home, "images"), json.load(f)


def big_set(cache_dir: str, images: str, n: int, big: int) -> str:
    """`big` files: hard links (copies where links fail) to the n-image set under distinct names."""
    home = os.path.join(cache_dir, f"big-v{SET_VERSION}-{n}-{big}")
    if not os.path.exists(os.path.join(home, "done")):
        shutil.rmtree(home, ignore_errors=True)
        files = listing(images)
        for label in LABELS:
            os.makedirs(os.path.join(home, "images", label))
        for j in range(big):
            label, src = files[j % len(files)]
            dst = os.path.join(home, "images", label, f"r{j // len(files):02d}_{os.path.basename(src)}")
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy(src, dst)
        open(os.path.join(home, "done"), "w").close()
    return os.path.join(home, "images")


def trained_model(cache_dir: str, logs: str) -> str:
    """Run dir of a throwaway chart-cnn (demo ingest of 60 images, 1 epoch), cached by the code it depends on."""
    digest = hashlib.sha256(b"".join(pathlib.Path(c.ROOT, p).read_bytes() for p in MODEL_FILES)).hexdigest()[:10]
    base = os.path.join(cache_dir, f"model-{digest}")
    from core import runs

    latest = os.path.join(runs.model_type_dir(base, "chart-cnn"), runs.LATEST_FILE)
    if not os.path.exists(latest):
        print("Training the throwaway chart-cnn model (demo ingest of 60 images, 1 epoch; set-up) ...", flush=True)
        env = c.bench_env({"BASE_DIR": base})
        config = os.path.join(base, "demo.yaml")
        os.makedirs(base, exist_ok=True)
        with open(config, "w") as f:
            f.write("image_size: 128\nsources:\n  - type: demo\n    size: 60\n    seed: 11\n")
        c.check(
            c.run_measured(
                c.ingest_cmd(config, os.path.join(base, "ingest")), os.path.join(logs, "setup_ingest.log"), env=env
            ),
            "set-up ingest",
        )
        c.check(
            c.run_measured(
                [
                    c.PYTHON,
                    "-m",
                    "pipelines.train",
                    "--model_type",
                    "chart-cnn",
                    "--data_dir",
                    os.path.join(base, "ingest"),
                    "--epochs",
                    "1",
                    "--no-pretrained_member",  # a 1-epoch ensemble is unsure of every image: member_cost times it
                ],
                os.path.join(logs, "setup_train.log"),
                env=env,
            ),
            "set-up training",
        )
    return runs.resolve_model_dir(latest)


# ---------------------------------------------------------------- workers (each in its own measured subprocess)

def _pillow_recipe(path: str):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB").resize((SIZE, SIZE)))


def _prepare_recipe(path: str):
    from transforms.image import RejectedImage, prepare

    with open(path, "rb") as f:
        data = f.read()
    try:
        return prepare(data, SIZE).pixels
    except RejectedImage:
        return None


def keras_worker(root: str, run_dir: str, output: str) -> dict:
    t0 = time.perf_counter()
    import keras
    import numpy as np

    from core import runs

    meta = runs.RunMetadata.read(run_dir)
    model = keras.saving.load_model(os.path.join(run_dir, meta.keras_file))
    t_loop = time.perf_counter()
    with open(output, "w") as out:
        for batch in c.batches(listing(root), BATCH):
            x = np.stack([_pillow_recipe(path) for _, path in batch]).astype("float32")
            scores = np.asarray(model(x, training=False)).reshape(-1)
            now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for (_, path), score in zip(batch, scores):
                out.write(
                    json.dumps(
                        {
                            "uri": path,
                            "label": "chart" if score >= meta.threshold else "non_chart",
                            "score": round(float(score), 6),
                            "labeled_at": now,
                        }
                    )
                    + "\n"
                )
    return {"startup_s": round(t_loop - t0, 3), "work_s": round(time.perf_counter() - t_loop, 3)}


def decode_worker(recipe: str, procs: str, root: str) -> dict:
    fn = {"pillow": _pillow_recipe, "prepare": _prepare_recipe}[recipe]
    fn(listing(root)[0][1])  # imports done before the clock starts
    paths = [p for _, p in listing(root)]
    pool = multiprocessing.Pool(int(procs)) if int(procs) > 1 else None
    if pool:
        pool.map(abs, range(int(procs)))  # workers up
    t = time.perf_counter()
    results = list(pool.imap(fn, paths, chunksize=4) if pool else map(fn, paths))
    work = time.perf_counter() - t
    if pool:
        pool.close()
    return {"work_s": round(work, 3), "rejected": sum(r is None for r in results)}


def model_worker(run_dir: str, batches: str) -> dict:
    import numpy as np
    import tensorflow as tf

    from core import runs

    serve = tf.saved_model.load(os.path.join(run_dir, runs.SAVED_MODEL_DIR)).signatures[runs.SERVING_SIGNATURE]
    rows = np.random.default_rng(0).integers(0, 256, (BATCH, SIZE * SIZE * 3), dtype=np.uint8)
    x = tf.constant([r.tobytes() for r in rows])
    serve(**{runs.SERVING_INPUT: x})  # trace, warm up
    t = time.perf_counter()
    for _ in range(int(batches)):
        serve(**{runs.SERVING_INPUT: x})[runs.SERVING_OUTPUT].numpy()
    return {"work_s": round(time.perf_counter() - t, 3), "images": BATCH * int(batches)}


def ingest_worker(root: str, out_dir: str) -> dict:
    """The plain loop: the ingest pipeline's records, same dedupe (label conflicts dropped) and split."""
    t0 = time.perf_counter()
    import tensorflow as tf

    from core import features
    from pipelines.ingest_config import split_of
    from transforms.image import RejectedImage, prepare

    t_loop = time.perf_counter()
    ratios, kept, rejected = tuple(SPLIT.values()), {}, 0
    for label, path in listing(root):
        with open(path, "rb") as f:
            data = f.read()
        try:
            p = prepare(data, SIZE, with_content_hash=True)
        except RejectedImage:
            rejected += 1
            continue
        if p.content_hash in kept:
            kept[p.content_hash][0].add(label)
            continue
        example = tf.train.Example(features=tf.train.Features(feature={
            features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[p.pixels.tobytes()])),
            features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[features.LABEL_IDS[label]])),
            features.SHA256_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[p.sha256.encode()])),
            features.WEIGHT_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=[1.0]))}))
        kept[p.content_hash] = ({label}, example.SerializeToString(), features.SPLITS[split_of(p.content_hash, ratios)])
    writers = {}
    for labels, record, split in kept.values():
        if len(labels) == 1:
            if split not in writers:
                os.makedirs(os.path.join(out_dir, features.TFRECORD_DIR, split))
                writers[split] = tf.io.TFRecordWriter(
                    os.path.join(out_dir, features.TFRECORD_DIR, split, "part-00000-of-00001.tfrecord.gz"),
                    options="GZIP",
                )
            writers[split].write(record)
    for w in writers.values():
        w.close()
    return {"startup_s": round(t_loop - t0, 3), "work_s": round(time.perf_counter() - t_loop, 3), "rejected": rejected}


WORKERS = {"keras": keras_worker, "decode": decode_worker, "model": model_worker, "ingest": ingest_worker}


# ---------------------------------------------------------------- driver

def count_records(out_dir: str) -> dict:
    """Records per split in tfrecords/<split>/*.tfrecord.gz (TFRecord framing read without TensorFlow)."""
    from core import features

    counts = {}
    for split in SPLIT:
        n = 0
        for path in glob.glob(os.path.join(out_dir, features.TFRECORD_DIR, split, "*" + features.TFRECORD_SUFFIX)):
            with gzip.open(path, "rb") as f:
                while header := f.read(12):
                    f.seek(struct.unpack("<Q", header[:8])[0] + 4, 1)
                    n += 1
        counts[split] = n
    return counts


def read_jsonl(pattern: str) -> list[dict]:
    return [json.loads(line) for path in sorted(glob.glob(pattern)) for line in open(path) if line.strip()]


def stamp(record: dict) -> float:
    return datetime.fromisoformat(record["labeled_at"].replace("Z", "+00:00")).timestamp()


def steady_rate(results: list[dict], gap_s: float = 0.05):
    """Images labelled after the first batch / time from the first to the last `labeled_at` stamp
    (a batch's stamps lie ms apart, so a gap over `gap_s` ends the first batch); None for one batch."""
    stamps = sorted(stamp(r) for r in results)
    first_batch = next((i for i in range(1, len(stamps)) if stamps[i] - stamps[i - 1] > gap_s), None)
    return c.rate(len(stamps) - first_batch, stamps[-1] - stamps[0]) if first_batch else None


class Bench:
    """Runs the measured subprocesses; every run's figures land in self.runs."""

    def __init__(self, tmp: str, keep: bool):
        self.tmp, self.keep, self.runs = tmp, keep, {}

    def measure(self, name: str, argv: list, n: int) -> c.Measured:
        print(f"[{name}] {n} images ...", flush=True)
        m = c.run_measured(argv, os.path.join(self.tmp, "logs", f"{name}.log"), timeout_s=1800)
        c.check(m, name)
        self.runs[name] = m.summary() | {"images": n, "images_per_s_end_to_end": c.rate(n, m.wall_s)}
        return m

    def worker(self, name: str, n: int, kind: str, *args: str) -> dict:
        m = self.measure(name, [c.PYTHON, "-m", f"benchmarks.{NAME}", "--_worker", kind, *args], n)
        out = c.read_marked_json(m.log_path, "WORKER_JSON ")
        self.runs[name] |= {"worker": out, "images_per_s_work": c.rate(out.get("images", n), out["work_s"])}
        return out

    def label(self, name: str, model: str, root: str, n: int, *extra: str) -> dict:
        out = os.path.join(self.tmp, name, "labels")
        m = self.measure(
            name,
            [
                c.PYTHON,
                "-m",
                "pipelines.label",
                "--runner=DirectRunner",
                "--model_dir",
                model,
                "--input",
                root,
                "--output",
                out,
                *extra,
            ],
            n,
        )
        results, rejected = read_jsonl(out + "-*.jsonl"), read_jsonl(out + ".rejected-*.jsonl")
        if len(results) + len(rejected) != n:
            raise RuntimeError(
                f"{name}: {len(results)} results + {len(rejected)} dead letters for {n} images; see {m.log_path}"
            )
        if not self.keep:
            shutil.rmtree(os.path.dirname(out), ignore_errors=True)
        self.runs[name] |= {
            "written": len(results),
            "dead_letters": len(rejected),
            "images_per_s_work": steady_rate(results),
            "phases": c.phases(m, "Labelling ", "Label counters"),
        }
        return self.runs[name]

    def streaming(self, model: str, images: str, count: int, duration: float, interval: float) -> dict:
        """Latency from dropping a file into a watched folder to its `labeled_at` stamp."""
        watch, staging, out = (os.path.join(self.tmp, "stream", d) for d in ("watch", "staging", "labels"))
        for d in (watch, staging):
            os.makedirs(d)
        argv = [
            c.PYTHON,
            "-m",
            "pipelines.label",
            "--runner=DirectRunner",
            "--streaming",
            "--poll_interval",
            "1",
            "--duration",
            str(duration),
            "--model_dir",
            model,
            "--input",
            watch,
            "--output",
            os.path.join(out, "labels"),
        ]
        box: dict = {}
        runner = threading.Thread(
            target=lambda: box.update(
                m=c.run_measured(argv, os.path.join(self.tmp, "logs", "streaming.log"), timeout_s=duration + 120)
            )
        )
        print(
            f"[streaming] 1 warm-up + {count} images dropped every {interval} s into a watched folder "
            f"({duration:.0f} s run) ...",
            flush=True,
        )
        launched = time.time()
        runner.start()
        drops = {}

        def drop(src: str) -> str:
            name = f"{len(drops):02d}_{os.path.basename(src)}"
            shutil.copy(src, os.path.join(staging, name))
            os.rename(os.path.join(staging, name), os.path.join(watch, name))
            drops[name] = time.time()
            return name

        def labelled() -> dict:
            return {os.path.basename(r["uri"]): stamp(r) for r in read_jsonl(os.path.join(out, "labels-*.jsonl"))}

        files = [p for _, p in listing(images)][:count + 1]
        first = drop(files[0])
        while first not in labelled() and runner.is_alive() and time.time() - launched < duration - 5:
            time.sleep(0.2)
        up = time.time() - launched
        for src in files[1:]:
            t = time.time()
            drop(src)
            time.sleep(max(0.0, interval - (time.time() - t)))
        runner.join()
        if "m" not in box:
            raise RuntimeError(f"the streaming run did not complete; see {self.tmp}/logs/streaming.log")
        c.check(box["m"], "streaming")
        done = labelled()
        latencies = [done[name] - t for name, t in drops.items() if name != first and name in done]
        result = {
            "dropped": count,
            "labelled": len(latencies),
            "first_file_labelled_after_launch_s": round(done[first] - launched, 2) if first in done else None,
            "drops_started_after_s": round(up, 2),
            "latencies_s": [round(x, 3) for x in latencies],
            "median_latency_s": round(c.median(latencies), 3) if latencies else None,
            "max_latency_s": round(max(latencies), 3) if latencies else None,
            "run": box["m"].summary(),
        }
        self.runs["streaming"] = result
        return result


def target(value, goal: float, below: bool = False) -> list:
    ok = value is not None and (value < goal if below else value >= goal)
    return [value, ("< " if below else ">= ") + str(goal), "PASS" if ok else "MISS"]


def judge(r: dict, modes: list[str], big: Optional[int]) -> tuple[str, dict, dict]:
    """(the fastest labelling mode end to end, the ratios, the targets as [value, goal, verdict])."""

    def e2e(name):
        return r[name]["images_per_s_end_to_end"]

    def work(name):
        return r[name]["images_per_s_work"]

    fastest = max(modes, key=e2e)
    judged = list(dict.fromkeys(["label_default", fastest]))
    ratios = {
        "label_default_over_keras_loop": c.ratio(e2e("label_default"), e2e("keras_loop")),
        f"{fastest}_over_keras_loop": c.ratio(e2e(fastest), e2e("keras_loop")),
        **{
            f"{m}_steady_over_{recipe}_ceiling": c.ratio(work(m), work(f"ceiling_{recipe}_{cores()}proc"))
            for m in judged
            for recipe in CEILINGS
        },
        "ingest_pipeline_over_plain_loop": c.ratio(e2e("ingest_pipeline"), e2e("ingest_plain_loop")),
    }
    targets = {
        "label_default / keras_loop (end to end)": target(ratios["label_default_over_keras_loop"], 2.0),
        **{
            f"{m} steady / {what} ceiling": target(ratios[f"{m}_steady_over_{recipe}_ceiling"], 0.75)
            for m in judged
            for recipe, what in CEILINGS.items()
        },
        "ingest_pipeline / plain loop (end to end)": target(ratios["ingest_pipeline_over_plain_loop"], 1.5),
        (
            f"peak RSS MB, label_default on {big} images" if big else "peak RSS MB, label_default on the --big set"
        ): target(r["label_big"]["peak_tree_rss_mb"], 2048, below=True) if big else [None, "< 2048", "skipped"],
        "streaming median latency s": target(r["streaming"]["median_latency_s"], 2.0, below=True),
    }
    return fastest, ratios, targets


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=2000, help="size of the realistic set (cached per size)")
    p.add_argument("--big", type=int, default=10000, help="size of the memory-check set (hard links to the set)")
    p.add_argument(
        "--cache_dir",
        default=os.path.expanduser("~/.cache/chart_sifter_bench"),
        help="image sets and the model, built once",
    )
    p.add_argument("--skip_big", action="store_true", help="skip labelling the --big set")
    p.add_argument(
        "--modes",
        default=",".join(LABEL_MODES),
        help="labelling modes to run (label_default always), of: " + ", ".join(LABEL_MODES),
    )
    p.add_argument("--model_batches", type=int, default=20, help="timed batches of the model-only run")
    p.add_argument("--stream_images", type=int, default=10, help="images dropped into the watched folder")
    p.add_argument("--stream_duration", type=float, default=40, help="--duration of the streaming run")
    p.add_argument("--stream_interval", type=float, default=2.0, help="seconds between drops")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, outputs)")
    p.add_argument("--_worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    if args._worker:
        c.worker_done("WORKER_JSON ", WORKERS[args._worker[0]](*args._worker[1:]))
    modes = list(dict.fromkeys(["label_default", *(m.strip() for m in args.modes.split(",") if m.strip())]))
    if set(modes) - set(LABEL_MODES):
        parser().error(f"--modes: unknown {sorted(set(modes) - set(LABEL_MODES))}")
    env_info = c.environment()
    os.makedirs(args.cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="bench_fast_path_")
    t_setup = time.perf_counter()
    images, mix = image_set(args.cache_dir, args.images)
    n = mix["images"]
    big = None if args.skip_big else big_set(args.cache_dir, images, args.images, args.big)
    run_dir = trained_model(args.cache_dir, os.path.join(tmp, "logs"))
    setup_s = time.perf_counter() - t_setup
    print(f"Set: {mix}\nModel: {run_dir}", flush=True)

    b = Bench(tmp, args.keep)
    b.worker("keras_loop", n, "keras", images, run_dir, os.path.join(tmp, "keras_loop.jsonl"))
    if len(read_jsonl(os.path.join(tmp, "keras_loop.jsonl"))) != n:
        raise RuntimeError(f"keras_loop: not {n} results in {tmp}/keras_loop.jsonl")
    for recipe in CEILINGS:
        for procs in dict.fromkeys((1, cores())):
            b.worker(f"ceiling_{recipe}_{procs}proc", n, "decode", recipe, str(procs), images)
    b.worker("model_only", BATCH * args.model_batches, "model", run_dir, str(args.model_batches))
    for mode in modes:
        b.label(mode, run_dir, images, n, *LABEL_MODES[mode])
    config = os.path.join(tmp, "ingest.yaml")
    with open(config, "w") as f:
        f.write(f"image_size: {SIZE}\nsplit: {json.dumps(SPLIT)}\nsources:\n  - type: folder\n    root: {images}\n")
    m = b.measure("ingest_pipeline", c.ingest_cmd(config, os.path.join(tmp, "ingest_pipeline")), n)
    b.runs["ingest_pipeline"]["phases"] = c.phases(m, "Ingesting ", "Ingest summary")
    b.worker("ingest_plain_loop", n, "ingest", images, os.path.join(tmp, "ingest_plain_loop"))
    records = {name: count_records(os.path.join(tmp, name)) for name in ("ingest_pipeline", "ingest_plain_loop")}
    if big:
        b.label("label_big", run_dir, big, args.big)
    stream = b.streaming(run_dir, images, args.stream_images, args.stream_duration, args.stream_interval)

    fastest, ratios, targets = judge(b.runs, modes, None if args.skip_big else args.big)
    result = {
        "benchmark": NAME,
        "environment": env_info,
        "loadavg_at_end": list(os.getloadavg()),
        "settings": {
            "images": n,
            "big": None if args.skip_big else args.big,
            "image_size": SIZE,
            "batch_size": BATCH,
            "cores": cores(),
            "cache_dir": args.cache_dir,
            "set": images,
            "set_mix": mix,
            "model_run_dir": run_dir,
            "setup_s_excluded": round(setup_s, 1),
            "modes": {m: LABEL_MODES[m] for m in modes},
            "streaming": {
                "images": args.stream_images,
                "duration_s": args.stream_duration,
                "interval_s": args.stream_interval,
                "poll_interval_s": 1,
            },
        },
        "runs": b.runs,
        "ingest_records_per_split": records,
        "ingest_same_records_per_split": records["ingest_pipeline"] == records["ingest_plain_loop"],
        "fastest_label_mode": fastest,
        "ratios": ratios,
        "targets": {k: dict(zip(("value", "goal", "verdict"), v)) for k, v in targets.items()},
        "notes": "img/s work: keras loop = its loop after imports and model load; ceilings = the map after pool start; "
        "model_only = timed batches; "
        "label = images after the first batch / first-to-last labeled_at stamp; ingest = plain loop after imports.",
    }
    path = c.write_results(NAME, result)

    rows = [
        [
            name,
            v["images"],
            v["wall_s"],
            v["images_per_s_end_to_end"],
            v.get("images_per_s_work"),
            v["peak_tree_rss_mb"],
            v["peak_tree_pss_mb"],
            v["max_processes"],
        ]
        for name, v in b.runs.items()
        if name != "streaming"
    ]
    print()
    print(
        c.table(
            ["run", "images", "wall s", "img/s e2e", "img/s work/steady", "peak RSS MB", "peak PSS MB", "procs"],
            rows,
            title=f"Fast path: {n} images ({mix['formats']}, median {mix['megapixels']['median']} MP) -> {SIZE} px; "
            f"{cores()} CPUs, load {env_info['loadavg_at_start'][0]:.1f} at start, {os.getloadavg()[0]:.1f} at end",
        )
    )
    print(f"ingest records per split: {records} ({'same' if result['ingest_same_records_per_split'] else 'DIFFERENT'})")
    print(
        f"streaming: {stream['labelled']}/{stream['dropped']} labelled, latency median {stream['median_latency_s']} s, "
        f"max {stream['max_latency_s']} s "
        f"(first file labelled {stream['first_file_labelled_after_launch_s']} s after launch)"
    )
    print()
    print(c.table(["target", "value", "goal", "verdict"], [[k, *v] for k, v in targets.items()]))
    if n < 1000:
        print(f"(only {n} images: start-up dominates the end-to-end figures, and so the end-to-end ratios)")
    c.done(path, tmp, args.keep)
    return result


if __name__ == "__main__":
    c.run_main(main)

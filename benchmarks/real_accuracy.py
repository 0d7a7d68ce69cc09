"""Real-image accuracy of a training recipe: how well a model sorts real scraped images.

    python -m benchmarks.real_accuracy --model_type chart-cnn [--demo_size 3000] [--seeds 0,1,2] [--work_dir DIR]

(a) trains on the demo generator alone (--demo_size images); (b) on configs/ingest_real.yaml as
shipped: the demo generator plus the real sample's train split, the real images weighted. Both
are scored on the same held-out real images, the real sample's test split (by content hash, as
ingest splits it), through the evaluate command, and again with every held-out image re-encoded
as JPEG q80 (the format-shortcut check: most real charts are PNG, scraped images arrive as JPEG).
Ingest outputs are cached in --work_dir between runs. Prints a table and writes
benchmarks/results/real_accuracy.json.
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import time

import yaml

from core import features, runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_SAMPLE = os.path.join(ROOT, "..", "shared", "data", "real_sample")
RESULTS = os.path.join(ROOT, "benchmarks", "results", "real_accuracy.json")


def _python(args: list[str], env: dict) -> float:
    """Run a Chart Sifter command in a fresh process; returns its wall time."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, check=True)
    return time.monotonic() - started


def _ingest(config: dict, out: str, env: dict) -> None:
    if os.path.exists(os.path.join(out, features.SUMMARY_FILE)):
        return
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "..", os.path.basename(out) + ".yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    _python(["pipelines.ingest", "--runner=DirectRunner", f"--config={path}", f"--output_dir={out}"], env)


def _cache_key(config: dict) -> str:
    """Ingest outputs are reused only for the same config and the same generator and preprocessing code."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    generator = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "synthetic", "*.py")))
    for path in (*generator, "transforms/image.py", "transforms/preprocessing.py"):
        digest.update(open(os.path.join(ROOT, path), "rb").read())
    return digest.hexdigest()[:12]


def held_out_real(folder: str, ratios: tuple[float, float, float]) -> dict[str, int]:
    """Symlink the real sample's test-split images into folder/{chart,non_chart}."""
    from pipelines.ingest_config import split_of
    from transforms.image import RejectedImage, content_hash, load_rgb

    counts = {}
    for label in features.LABEL_NAMES:
        os.makedirs(os.path.join(folder, label), exist_ok=True)
        for name in sorted(os.listdir(os.path.join(REAL_SAMPLE, label))):
            source = os.path.abspath(os.path.join(REAL_SAMPLE, label, name))
            try:
                content = content_hash(load_rgb(open(source, "rb").read()))
            except RejectedImage:
                continue
            if split_of(content, ratios) == features.SPLITS.index(features.TEST):
                target = os.path.join(folder, label, name)
                if not os.path.exists(target):
                    os.symlink(source, target)
                counts[label] = counts.get(label, 0) + 1
    return counts


def as_jpeg(folder: str, out: str, quality: int = 80) -> None:
    """folder/{chart,non_chart} with every image re-encoded as JPEG, as platforms re-encode uploads:
    a model that keyed on PNG vs JPEG would lose accuracy here."""
    from transforms.image import load_rgb

    for label in features.LABEL_NAMES:
        os.makedirs(os.path.join(out, label), exist_ok=True)
        for name in sorted(os.listdir(os.path.join(folder, label))):
            load_rgb(open(os.path.join(folder, label, name), "rb").read()).save(
                os.path.join(out, label, name + ".jpg"), quality=quality
            )


def _evaluate(model_dir: str, folder: str, out: str, env: dict) -> dict:
    _python(
        [
            "pipelines.evaluate",
            "--runner=DirectRunner",
            "--model_dir",
            model_dir,
            "--data_dir",
            folder,
            "--output_dir",
            out,
            "--allow_outside_root",
        ],
        env,
    )  # the held-out folder links into ../shared
    return json.load(open(os.path.join(out, "metrics.json")))


def _train_and_score(args, recipe: str, seed: int, config: dict, data_dir: str, test_folder: str, jpeg_folder: str,
                     held_out: dict, env: dict) -> dict:
    """Train one model on data_dir, then score it on the held-out real images, as they are and as JPEG q80."""
    base = os.path.join(args.work_dir, f"base_{recipe}")
    env_run = dict(env, BASE_DIR=base)
    train_args = [
        "pipelines.train",
        "--model_type",
        args.model_type,
        "--config",
        args.config,
        "--data_dir",
        data_dir,
        "--seed",
        str(seed),
    ]
    seconds = _python(train_args + (["--epochs", str(args.epochs)] if args.epochs else []), env_run)
    model_dir = os.path.join(runs.model_type_dir(base, args.model_type), runs.LATEST_FILE)
    out = os.path.join(args.work_dir, f"eval_{recipe}_{args.model_type}_seed{seed}")
    metrics = _evaluate(model_dir, test_folder, out, env_run)
    jpeg = _evaluate(model_dir, jpeg_folder, out + "_jpeg80", env_run)
    return {"recipe": recipe, "model_type": args.model_type, "seed": seed, "ingest_config": config,
            "train_command_seconds": round(seconds, 1), "accuracy": metrics["accuracy"], "f1": metrics["f1"],
            "roc_auc": metrics["roc_auc"], "threshold": metrics["threshold"], "held_out": held_out,
            "accuracy_all_jpeg80": jpeg["accuracy"], "f1_all_jpeg80": jpeg["f1"],
            "misclassified": metrics["misclassified"], "evaluation_dir": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_type", default="chart-cnn")
    parser.add_argument("--config", default="configs/model_config.yaml")
    parser.add_argument("--demo_size", type=int, default=3000, help="demo images for (a); (b) uses ingest_real.yaml's")
    parser.add_argument("--image_size", type=int, default=None, help="default: configs/ingest_real.yaml's")
    parser.add_argument("--work_dir", default="/tmp/chart_sifter_real_accuracy")
    parser.add_argument("--recipes", default="a,b")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seeds", default="0", help="the trainer's --seed, one run per seed: 0,1,2")
    args = parser.parse_args()

    real_config = yaml.safe_load(open(os.path.join(ROOT, "configs", "ingest_real.yaml")))
    ratios = tuple(real_config["split"][s] for s in ("train", "val", "test"))
    image_size = args.image_size or real_config["image_size"]
    # (b) is configs/ingest_real.yaml as shipped (its demo size and real-sample weight); (a) its demo alone.
    sources_b = [
        dict(s, root=os.path.abspath(REAL_SAMPLE)) if s["type"] == "folder" else s for s in real_config["sources"]
    ]
    demo = next(s for s in sources_b if s["type"] == "demo")
    configs = {
        "a": {"image_size": image_size, "split": real_config["split"], "sources": [dict(demo, size=args.demo_size)]},
        "b": {"image_size": image_size, "split": real_config["split"], "sources": sources_b},
    }
    env = dict(os.environ, HF_HUB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    test_folder = os.path.join(args.work_dir, "real_test")
    held_out = held_out_real(test_folder, ratios)
    jpeg_folder = os.path.join(args.work_dir, "real_test_jpeg80")
    as_jpeg(test_folder, jpeg_folder)
    rows = []
    for recipe in args.recipes.split(","):
        data_dir = os.path.join(args.work_dir, f"ingest_{recipe}_{_cache_key(configs[recipe])}")
        _ingest(configs[recipe], data_dir, env)
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(
                _train_and_score(args, recipe, seed, configs[recipe], data_dir, test_folder, jpeg_folder, held_out, env)
            )
    print(f"\nReal held-out images: {held_out}")
    print(
        f"{'recipe':<7}{'model':<14}{'seed':>5}{'accuracy':>9}{'F1':>8}{'AUC':>8}{'thr':>7}{'train s':>9}"
        f"{'acc, all JPEG q80':>19}"
    )
    for r in rows:
        print(
            f"{r['recipe']:<7}{r['model_type']:<14}{r['seed']:>5}{r['accuracy']:>9.3f}{r['f1']:>8.3f}"
            f"{(r['roc_auc'] or 0):>8.3f}"
            f"{r['threshold']:>7.2f}{r['train_command_seconds']:>9.0f}{r['accuracy_all_jpeg80']:>19.3f}"
        )
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()

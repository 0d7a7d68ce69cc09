"""Source-disjoint accuracy: grouped k-fold over every real image, never one source on both sides.

    python -m benchmarks.source_folds [--folds 5] [--model_type chart-cnn] [--demo_size 1000]
        [--real_weight 5] [--group_val] [--seed 0] [--work_dir DIR] [--review_band_file FILE]
        [--refit_member NAME --config SPEC.yaml]

Every real image in ../shared/data/{real_sample,real_train,real_more} (1,675 images, 474 sources) is
assigned to a fold by its source repository (`source_repo` in each manifest.csv; sklearn's
StratifiedGroupKFold keeps the label mix of each fold close to the whole). For each fold the recipe is
trained as a user would (ingest of a JSONL manifest of the other folds' real images, weighted, plus the
demo generator; then `pipelines.train`; with `--group_val` each manifest line's group is its source, so
val holds sources the model never trained on), and the held-out fold is scored through
`pipelines.evaluate`. Prints the per-fold table with mean and spread of accuracy, F1 and ROC AUC, the
pooled metrics (with the missed and false charts, and with --review_band_file a band chosen in advance on another
run, measured on these scores), and writes benchmarks/results/source_folds.json (with every image's out-of-fold
score) and a pooled contact sheet of the misses. With --refit_member NAME only the pretrained member of each
finished fold's run is fitted again, under --config's spec (a change to `pretrained_member` measured on the same
networks and trees in minutes); the results go to source_folds_NAME.json.
"""
import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Iterator, Optional

import numpy as np
import yaml

from benchmarks import _common as c

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_DIRS = [os.path.normpath(os.path.join(ROOT, "..", "shared", "data", d)) for d in ("real_sample", "real_train", "real_more")]
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
MANIFEST = "manifest.csv"
TRAINING_KEYS = ("fold", "train_images", "held_out_images", "held_out_sources", "train_seconds", "train_cpu_seconds")
METRIC_KEYS = ("accuracy", "f1", "roc_auc", "threshold", "review_band", "coverage", "accuracy_outside_band")


def real_images() -> list[dict]:
    """Every real image: {path, label, source} from the manifests."""
    rows = []
    for folder in REAL_DIRS:
        with open(os.path.join(folder, MANIFEST), newline="") as f:
            rows += [{"path": os.path.join(folder, r["file"]), "label": r["label"], "source": r["source_repo"]} for r in csv.DictReader(f)]
    return rows


def assign_folds(images: list[dict], folds: int, seed: int) -> list[int]:
    """A fold per image, grouped by source and stratified by label."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_of = [0] * len(images)
    labels = [i["label"] for i in images]
    for k, (_, held) in enumerate(splitter.split(images, labels, groups=[i["source"] for i in images])):
        for index in held:
            fold_of[index] = k
    return fold_of


def fold_splits(images: list[dict], folds: int, seed: int, only: Optional[str] = None
                ) -> Iterator[tuple[int, list[dict], list[dict]]]:
    """(k, the other folds' images, fold k's images) for each fold wanted (`only`: "0,2"; None: all)."""
    fold_of = assign_folds(images, folds, seed)
    for k in [int(k) for k in only.split(",")] if only else range(folds):
        yield k, [i for i, f in zip(images, fold_of) if f != k], [i for i, f in zip(images, fold_of) if f == k]


def _python(args: list[str], env: dict) -> tuple[float, float]:
    """Run `python -m args`; its (wall, CPU) seconds. Both, because this machine's stalls stretch wall time."""
    started, cpu = time.monotonic(), _children_cpu()
    subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, check=True)
    return time.monotonic() - started, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _held_out_folder(images: list[dict], folder: str) -> None:
    """folder/{chart,non_chart}/ of symlinks to the held-out images (evaluate reads labels from folders)."""
    for image in images:
        target = os.path.join(folder, image["label"], os.path.basename(os.path.dirname(os.path.dirname(image["path"]))) + "_" + os.path.basename(image["path"]))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(image["path"], target)


def _manifest_line(image: dict, group_val: bool) -> dict:
    """A training image's JSONL manifest line; with `group_val` its source is its group."""
    return {"image": image["path"], "label": image["label"], **({"group": image["source"]} if group_val else {})}


def run_fold(args, k: int, train: list[dict], held: list[dict], env: dict) -> dict:
    """Ingest + train on `train` (plus demo images), evaluate on `held`; the evaluation's metrics and per-image scores."""
    home = os.path.join(args.work_dir, f"fold{k}")
    os.makedirs(home, exist_ok=True)
    manifest = os.path.join(home, "train.jsonl")
    with open(manifest, "w") as f:
        f.writelines(json.dumps(_manifest_line(i, args.group_val)) + "\n" for i in train)
    config = {"image_size": args.image_size, "split": {"train": 0.75, "val": 0.2, "test": 0.05},
              "sources": [{"type": "jsonl", "path": manifest, "weight": args.real_weight}]
              + ([{"type": "demo", "size": args.demo_size, "seed": args.seed}] if args.demo_size else [])}
    with open(os.path.join(home, "ingest.yaml"), "w") as f:
        yaml.safe_dump(config, f)
    data_dir = os.path.join(home, "ingest")
    if not os.path.exists(os.path.join(data_dir, "ingest_summary.json")):
        _python(["pipelines.ingest", "--runner=DirectRunner", f"--config={home}/ingest.yaml", f"--output_dir={data_dir}", "--allow_outside_root"], env)
    if args.refit_member:
        return refit_fold(args, k, home, held, env)
    done = os.path.join(home, "fold.json")  # written last: a finished fold that --resume reuses
    if args.resume and os.path.exists(done):
        return json.load(open(done))
    base = os.path.join(home, "base")
    train_args = ["pipelines.train", "--model_type", args.model_type, "--config", args.config, "--data_dir", data_dir, "--seed", str(args.seed)]
    seconds, cpu_seconds = _python(train_args + (["--epochs", str(args.epochs)] if args.epochs else []), dict(env, BASE_DIR=base))
    row = {"fold": k, "train_images": len(train), "held_out_images": len(held), "held_out_sources": len({i["source"] for i in held}),
           "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu_seconds, 1)}
    return evaluate_fold(args, home, base, held, row, env)


def refit_fold(args, k: int, home: str, held: list[dict], env: dict) -> dict:
    """A finished fold's run with only its pretrained member fitted again under --config (`pipelines.train
    --refit_member`), scored on the same held-out images; kept in <fold>/<--refit_member>/."""
    finished = os.path.join(home, "fold.json")
    if not os.path.exists(finished):
        raise SystemExit(f"--refit_member: fold {k} has no finished run in {home}; run the folds without it first")
    base = os.path.join(home, args.refit_member)
    done = os.path.join(base, "fold.json")
    if args.resume and os.path.exists(done):
        return json.load(open(done))
    source = os.path.join(home, "base", "models", args.model_type, "latest")
    seconds, cpu_seconds = _python(["pipelines.train", "--model_type", args.model_type, "--config", args.config,
                                    "--refit_member", source], dict(env, BASE_DIR=base))
    row = {key: value for key, value in json.load(open(finished)).items() if key in TRAINING_KEYS}
    row.update(refit_seconds=round(seconds, 1), refit_cpu_seconds=round(cpu_seconds, 1))
    return evaluate_fold(args, home, base, held, row, env, into=base)


def evaluate_fold(args, home: str, base: str, held: list[dict], row: dict, env: dict, into: str = "") -> dict:
    """The fold's held-out images (<home>/held_out) scored by the latest run under `base` (`pipelines.evaluate`
    into <into>/evaluation, `into` defaulting to `home`): `row` with the metrics and every image's score, written to
    <into>/fold.json last."""
    into = into or home
    folder = os.path.join(home, "held_out")
    _held_out_folder(held, folder)
    out = os.path.join(into, "evaluation")
    _python(["pipelines.evaluate", "--runner=DirectRunner", "--model_dir", os.path.join(base, "models", args.model_type, "latest"),
             "--data_dir", folder, "--output_dir", out, "--allow_outside_root"], env)
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    row.update({key: metrics[key] for key in METRIC_KEYS}, rejected=metrics["rejected"]["count"],
               scores=_scores(os.path.join(out, "predictions"), folder))
    with open(os.path.join(into, "fold.json"), "w") as f:
        json.dump(row, f)
    return row


def _scores(predictions: str, folder: str) -> dict:
    """{held-out file: (truth, score)} from the evaluation's labelling output."""
    scores = {}
    for name in os.listdir(predictions):
        if name.endswith(".jsonl") and ".rejected" not in name:
            for line in open(os.path.join(predictions, name)):
                r = json.loads(line)
                truth = os.path.basename(os.path.dirname(r["uri"]))
                scores[os.path.realpath(r["uri"])] = (truth, r["score"])
    return scores


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.source_folds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--model_type", default="chart-cnn")
    parser.add_argument("--config", default="configs/model_config.yaml")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--demo_size", type=int, default=1000, help="demo images added to each fold's training data (0: none)")
    parser.add_argument("--real_weight", type=float, default=5.0, help="sample weight of each real training image")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--group_val", action="store_true",
                        help="group each training image by its source, so val holds sources the model never trained on "
                             "(the shipped recipe splits by content hash)")
    parser.add_argument("--seed", type=int, default=0, help="fold assignment, demo images and training")
    parser.add_argument("--only_folds", default=None, help="comma-separated fold numbers to run (default: all)")
    parser.add_argument("--work_dir", default="/tmp/chart_sifter_source_folds")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the folds an interrupted run of the same code finished in --work_dir")
    parser.add_argument("--refit_member", metavar="NAME", default=None,
                        help="train nothing but the pretrained member of each finished fold's run again, under "
                             "--config (pipelines.train --refit_member), into <fold>/NAME/; results in "
                             "source_folds_NAME.json")
    parser.add_argument("--review_band_file", default=None,
                        help="a band chosen in advance on another run (pipelines.ship --review_band_file, e.g. "
                             "configs/shipped_review_band.json): its coverage and accuracy outside it on this run's "
                             "pooled out-of-fold scores, cut at the threshold it was chosen at")
    args = parser.parse_args(argv)

    from models.metrics import binary_metrics, selective, sureness
    from models.reports import contact_sheet

    env = dict(os.environ, HF_HUB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    rows = []
    for k, train, held in fold_splits(real_images(), args.folds, args.seed, args.only_folds):
        rows.append(run_fold(args, k, train, held, env))
        r = rows[-1]
        print(f"fold {k}: accuracy {r['accuracy']:.3f} F1 {r['f1']:.3f} AUC {r['roc_auc']:.3f} ({r['held_out_images']} images, "
              f"{r['held_out_sources']} sources, train {r['train_seconds']:.0f} s, {r['train_cpu_seconds']:.0f} s CPU)", flush=True)

    pooled = [(path, truth, score, r["threshold"]) for r in rows for path, (truth, score) in r["scores"].items()]
    truths = np.array([t == "chart" for _, t, _, _ in pooled], dtype=int)
    correct = np.array([(s >= thr) == bool(t) for (_, _, s, thr), t in zip(pooled, truths)])
    summary = {name: {"mean": round(statistics.mean(r[name] for r in rows), 4),
                      "stdev": round(statistics.stdev(r[name] for r in rows), 4) if len(rows) > 1 else 0.0,
                      "min": round(min(r[name] for r in rows), 4)}
               for name in ("accuracy", "f1", "roc_auc", "coverage", "accuracy_outside_band")}
    summary["pooled_accuracy"] = round(float(correct.mean()), 4)
    summary["pooled_missed"] = int(sum(t and not ok for t, ok in zip(truths, correct)))
    summary["pooled_false"] = int(sum(not t and not ok for t, ok in zip(truths, correct)))
    # Selective accuracy pooled: the share right among the images each fold's model is surest of (by distance
    # from its threshold, scaled to the side's range), at fixed coverages.
    sure = np.array([sureness(s, thr) for _, _, s, thr in pooled])
    order = np.argsort(-sure, kind="stable")
    summary["pooled_accuracy_at_coverage"] = {
        str(cov): round(float(correct[order[: int(round(cov * len(order)))]].mean()), 4) for cov in (0.7, 0.8, 0.85, 0.9)}
    summary["pooled_roc_auc"] = binary_metrics(truths, np.array([s for _, _, s, _ in pooled]), 0.5)["roc_auc"]
    misses = sorted(((p, t, s) for (p, t, s, thr), ok in zip(pooled, correct) if not ok), key=lambda m: m[0])
    stem = "source_folds" + (f"_{args.refit_member}" if args.refit_member else "")
    sheet = os.path.join(RESULTS_DIR, f"{stem}_misses.png")
    os.makedirs(RESULTS_DIR, exist_ok=True)
    contact_sheet([(open(p, "rb").read(), f"true {t}\nscore {s:.2f}") for p, t, s in misses], sheet,
                  f"Source-disjoint misses, {args.model_type}, {args.folds} folds ({len(misses)} of {len(pooled)})")
    print(f"\n{'fold':>4} {'images':>7} {'sources':>8} {'accuracy':>9} {'F1':>7} {'AUC':>7} {'thr':>6} {'coverage':>9} "
          f"{'acc out':>8} {'train s':>8} {'CPU s':>6}")
    for r in rows:
        print(f"{r['fold']:>4} {r['held_out_images']:>7} {r['held_out_sources']:>8} {r['accuracy']:>9.3f} {r['f1']:>7.3f} "
              f"{r['roc_auc']:>7.3f} {r['threshold']:>6.2f} {r['coverage']:>9.3f} {r['accuracy_outside_band']:>8.3f} "
              f"{r['train_seconds']:>8.0f} {r['train_cpu_seconds']:>6.0f}")
    print("mean±sd " + "  ".join(f"{n} {v['mean']:.3f}±{v['stdev']:.3f}" for n, v in summary.items() if isinstance(v, dict) and "mean" in v)
          + f"  pooled accuracy {summary['pooled_accuracy']:.3f}, AUC {summary['pooled_roc_auc']:.3f}, "
          + "accuracy of the surest " + ", ".join(f"{float(c):.0%}: {a:.3f}" for c, a in summary["pooled_accuracy_at_coverage"].items()))
    print(f"pooled errors: {summary['pooled_missed']} missed charts, {summary['pooled_false']} false charts")
    if args.review_band_file:
        chosen = json.load(open(args.review_band_file))
        fresh = selective(truths, [s for _, _, s, _ in pooled], chosen["chosen_at_threshold"], chosen["review_band"])
        summary["band_in_advance"] = {"file": args.review_band_file, "threshold": chosen["chosen_at_threshold"],
                                      **{k: fresh[k] for k in ("review_band", "coverage", "accuracy_outside_band")}}
        print(f"band {fresh['review_band']} from {args.review_band_file}: {fresh['coverage']:.1%} of these images "
              f"outside it, {fresh['accuracy_outside_band']:.4f} right there (cut at {chosen['chosen_at_threshold']:.3f})")
    result = {"args": vars(args), "environment": c.environment(), "summary": summary, "folds": rows, "misses_sheet": sheet}
    with open(os.path.join(RESULTS_DIR, f"{stem}.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

"""What the review loop is worth, source-disjoint: a person settles the review band on some images of sources the
model never saw; does the model retrained with those corrections do better on the other images of those sources?

    python -m benchmarks.review_loop [--folds 5] [--model_type chart-cnn] [--demo_size 1000] [--real_weight 5]
        [--seed 0] [--folds_dir DIR] [--only_folds 0,1] [--epochs N] [--work_dir DIR] [--resume]

The folds are benchmarks/source_folds' (same --folds and --seed: the same assignment by source). For fold k, each
held-out source's images are split in two halves (`halves`: by a hash of each file's sha256 and the seed): A, the
images a person reviews, and B, the other images of those sources. The fold's model (trained without those
sources: a finished fold of a source_folds --work_dir given as --folds_dir, else trained here by
source_folds.run_fold) labels A with `pipelines.label`; on A's review-band images the true label stands in for the
person, each decision appended with core.corrections.append as the review page appends it. The same recipe is
trained again on the fold's data plus that corrections file (ingest --config <fold's ingest.yaml> --config
<corrections.yaml>), and both models label B through `pipelines.evaluate`. Prints per fold the decisions made and
the errors and accuracy on B before and after; writes benchmarks/results/review_loop.json.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import yaml

from benchmarks import _common as c
from benchmarks import source_folds
from core import corrections, results

PHASES = ("label_reviewed", "retrain_ingest", "retrain", "evaluate_before", "evaluate_after")


def with_sha256(images: list[dict]) -> list[dict]:
    """The images with `sha256`, the hex sha256 of each file."""
    return [{**image, "sha256": hashlib.sha256(open(image["path"], "rb").read()).hexdigest()} for image in images]


def halves(images: list[dict], seed: int) -> tuple[list[dict], list[dict], int]:
    """(A: reviewed, B: the other images of the same sources, how many B left out as identical to an A file).
    Within each source the images are ordered by sha256(seed, file sha256) and dealt A, B, A, ... (a source of one
    image gives it to A); the order of `images` does not matter. A file identical to one in A never counts in B."""
    def key(image: dict) -> str:
        return hashlib.sha256(f"{seed}:{image['sha256']}".encode()).hexdigest()

    by_source: dict[str, list[dict]] = {}
    for image in images:
        by_source.setdefault(image["source"], []).append(image)
    reviewed, other = [], []
    for source in sorted(by_source):
        ordered = sorted(by_source[source], key=lambda image: (key(image), image["path"]))
        reviewed += ordered[0::2]
        other += ordered[1::2]
    seen = {image["sha256"] for image in reviewed}
    kept = [image for image in other if image["sha256"] not in seen]
    return reviewed, kept, len(other) - len(kept)


def fold_model(args, k: int, train: list[dict], held: list[dict], env: dict) -> tuple[str, str, dict]:
    """(the fold's folder in source_folds' layout, its model's `latest` file, its source_folds row): a finished
    fold of --folds_dir, or of this run's own folds with --resume, else trained here by source_folds.run_fold."""
    own = os.path.join(args.work_dir, "folds")
    for work_dir, reuse in ((args.folds_dir, True), (own, args.resume)):
        home = os.path.join(work_dir or "", f"fold{k}")
        latest = os.path.join(home, "base", "models", args.model_type, "latest")
        if work_dir and reuse and os.path.exists(os.path.join(home, "fold.json")) and os.path.exists(latest):
            _check_same_fold(home, train)
            print(f"fold {k}: reusing the fold model in {home}", flush=True)
            return home, latest, json.load(open(os.path.join(home, "fold.json")))
    fold_args = argparse.Namespace(**{**vars(args), "work_dir": own, "resume": False})
    row = source_folds.run_fold(fold_args, k, train, held, env)
    home = os.path.join(own, f"fold{k}")
    return home, os.path.join(home, "base", "models", args.model_type, "latest"), row


def _check_same_fold(home: str, train: list[dict]) -> None:
    """ValueError unless the fold in `home` was trained on exactly these images (same --folds and --seed)."""
    with open(os.path.join(home, "train.jsonl")) as f:
        trained_on = {json.loads(line)["image"] for line in f if line.strip()}
    if trained_on != {image["path"] for image in train}:
        raise ValueError(f"{home} was trained on other images than fold {os.path.basename(home)[4:]} of this "
                         "assignment: give --folds and --seed as its source_folds run had them")


def review(prefix: str, decisions_path: str) -> dict:
    """The person: each review-band result of the label run at `prefix` decided with the image's true label (its
    label folder), appended as the review page appends it. Counts of what was decided."""
    if os.path.exists(decisions_path):
        os.remove(decisions_path)  # a rerun decides afresh
    labelled, _ = results.read_results(prefix)
    band = [r for r in labelled if r.get("review") is True]
    for r in band:
        truth = os.path.basename(os.path.dirname(r["uri"]))
        corrections.append(decisions_path, corrections.Decision(r["uri"], truth, r["label"], r["score"], r["run_id"]))
    relabelled = sum(os.path.basename(os.path.dirname(r["uri"])) != r["label"] for r in band)
    wrong = sum(os.path.basename(os.path.dirname(r["uri"])) != r["label"] for r in labelled)
    return {"reviewed_images": len(labelled), "decisions": len(band), "relabelled": relabelled,
            "errors_on_reviewed": wrong, "errors_outside_band": wrong - relabelled}


def scored(model: str, folder: str, out: str, env: dict) -> tuple[dict, float]:
    """`pipelines.evaluate` of `model` over `folder`: {uri: (truth, label, review)}, and its wall seconds."""
    from pipelines.evaluate import PREDICTIONS

    seconds, _ = source_folds._python(["pipelines.evaluate", "--runner=DirectRunner", "--model_dir", model,
                                       "--data_dir", folder, "--output_dir", out, "--allow_outside_root"], env)
    labelled, _ = results.read_results(os.path.join(out, PREDICTIONS))
    return {r["uri"]: (os.path.basename(os.path.dirname(r["uri"])), r["label"], r["review"]) for r in labelled}, seconds


def review_fold(args, k: int, train: list[dict], held: list[dict], env: dict) -> dict:
    """One fold of the loop: label A, decide its review band, retrain with the decisions, score B before and after."""
    home = os.path.join(args.work_dir, f"fold{k}")
    done = os.path.join(home, "review_loop.json")  # written last: a finished fold that --resume reuses
    if args.resume and os.path.exists(done):
        return json.load(open(done))
    fold_home, old_model, fold_row = fold_model(args, k, train, held, env)
    reviewed, other, identical = halves(with_sha256(held), args.seed)
    seconds = dict.fromkeys(PHASES, 0.0)

    reviewed_folder, prefix = os.path.join(home, "reviewed"), os.path.join(home, "labels", "reviewed")
    source_folds._held_out_folder(reviewed, reviewed_folder)
    seconds["label_reviewed"], _ = source_folds._python(
        ["pipelines.label", "--runner=DirectRunner", "--model_dir", old_model, "--input", reviewed_folder, "--output",
         prefix, "--allow_outside_root", "--overwrite"], env)
    decisions_path = prefix + corrections.SUFFIX
    decided = review(prefix, decisions_path)

    new_model = old_model
    if decided["decisions"]:
        extra = os.path.join(home, "corrections.yaml")
        with open(extra, "w") as f:
            yaml.safe_dump({"sources": [{"type": "corrections", "path": decisions_path}]}, f)
        data_dir, base = os.path.join(home, "ingest"), os.path.join(home, "base")
        seconds["retrain_ingest"], _ = source_folds._python(
            ["pipelines.ingest", "--runner=DirectRunner", "--config", os.path.join(fold_home, "ingest.yaml"),
             "--config", extra, "--output_dir", data_dir, "--allow_outside_root"], env)
        train_args = ["pipelines.train", "--model_type", args.model_type, "--config", args.config, "--data_dir",
                      data_dir, "--seed", str(args.seed)] + (["--epochs", str(args.epochs)] if args.epochs else [])
        seconds["retrain"], _ = source_folds._python(train_args, dict(env, BASE_DIR=base))
        new_model = os.path.join(base, "models", args.model_type, "latest")

    other_folder = os.path.join(home, "other")
    source_folds._held_out_folder(other, other_folder)
    before, seconds["evaluate_before"] = scored(old_model, other_folder, os.path.join(home, "before"), env)
    after, seconds["evaluate_after"] = (scored(new_model, other_folder, os.path.join(home, "after"), env)
                                        if new_model != old_model else (before, 0.0))
    row = {"fold": k, "held_out_sources": len({i["source"] for i in held}), "held_out_images": len(held),
           **decided, "retrained": new_model != old_model, "other_images": len(before),
           "other_left_out_identical": identical, **outcome(before, after),
           "fold_model_accuracy": fold_row.get("accuracy"), "seconds": {p: round(s, 1) for p, s in seconds.items()}}
    with open(done, "w") as f:
        json.dump(row, f)
    return row


def outcome(before: dict, after: dict) -> dict:
    """Errors, accuracy and review-band counts on B for each model, and the images the retraining fixed or broke."""
    def wrong(scores: dict) -> set:
        return {uri for uri, (truth, label, _) in scores.items() if truth != label}

    missing = set(before) ^ set(after)
    if missing:
        raise ValueError(f"the two models labelled different images of B (e.g. {sorted(missing)[0]})")
    n = len(before)
    was, now = wrong(before), wrong(after)
    return {"errors_before": len(was), "errors_after": len(now),
            "accuracy_before": round(1 - len(was) / n, 4) if n else None,
            "accuracy_after": round(1 - len(now) / n, 4) if n else None,
            "fixed": len(was - now), "broken": len(now - was),
            "review_before": sum(r for _, _, r in before.values()),
            "review_after": sum(r for _, _, r in after.values())}


def summary(rows: list[dict]) -> dict:
    totals = {key: sum(r[key] for r in rows) for key in ("decisions", "relabelled", "other_images", "errors_before",
                                                          "errors_after", "fixed", "broken", "review_before",
                                                          "review_after")}
    n = totals["other_images"]
    return {**totals, "pooled_accuracy_before": round(1 - totals["errors_before"] / n, 4) if n else None,
            "pooled_accuracy_after": round(1 - totals["errors_after"] / n, 4) if n else None}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.review_loop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="as source_folds (the same assignment by source)")
    parser.add_argument("--model_type", default="chart-cnn")
    parser.add_argument("--config", default="configs/model_config.yaml")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--demo_size", type=int, default=1000, help="demo images added to each fold's training data")
    parser.add_argument("--real_weight", type=float, default=5.0, help="sample weight of each real training image")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="fold assignment, halves, demo images and training")
    parser.add_argument("--only_folds", default=None, help="comma-separated fold numbers to run (default: all)")
    parser.add_argument("--folds_dir", default=None,
                        help="a source_folds --work_dir whose finished folds' models are reused (run with the same "
                             "--folds, --seed, --model_type, --config and --epochs; its fold ingest.yaml is reused)")
    parser.add_argument("--work_dir", default="/tmp/chart_sifter_review_loop")
    parser.add_argument("--resume", action="store_true", help="reuse the folds (and fold models) an interrupted run "
                                                              "of the same code finished in --work_dir")
    parser.add_argument("--output", default=os.path.join(c.RESULTS_DIR, "review_loop.json"))
    args = parser.parse_args(argv)

    started = time.monotonic()
    env = c.bench_env({"PYTHONPATH": c.ROOT})
    rows = []
    for k, train, held in source_folds.fold_splits(source_folds.real_images(), args.folds, args.seed, args.only_folds):
        rows.append(review_fold(args, k, train, held, env))
        r = rows[-1]
        print(f"fold {k}: {r['decisions']} decisions on {r['reviewed_images']} reviewed images; on the other "
              f"{r['other_images']}: {r['errors_before']} -> {r['errors_after']} errors", flush=True)

    headers = ("fold", "sources", "A images", "decisions", "relabelled", "B images", "errors before", "errors after",
               "acc before", "acc after", "fixed", "broken", "retrain s")
    table = [(r["fold"], r["held_out_sources"], r["reviewed_images"], r["decisions"], r["relabelled"],
              r["other_images"], r["errors_before"], r["errors_after"], r["accuracy_before"], r["accuracy_after"],
              r["fixed"], r["broken"], r["seconds"]["retrain_ingest"] + r["seconds"]["retrain"]) for r in rows]
    print("\n" + c.table(headers, table, f"Review loop, {args.model_type}, source-disjoint folds (A reviewed, B "
                                         "scored)"))
    total = summary(rows)
    print(f"all folds: {total['decisions']} decisions; on B {total['errors_before']} -> {total['errors_after']} "
          "errors, "
          f"accuracy {total['pooled_accuracy_before']} -> {total['pooled_accuracy_after']} "
          f"({total['fixed']} fixed, {total['broken']} broken)")
    result = {"args": vars(args), "environment": c.environment(), "summary": total, "folds": rows,
              "wall_seconds": round(time.monotonic() - started, 1)}
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
    print(f"results: {args.output}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

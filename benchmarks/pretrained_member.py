"""A pretrained third member, measured on finished source-disjoint fold runs without retraining them.

For each fold of each run given (a `benchmarks.source_folds` --work_dir): a logistic regression learns the
frozen MobileNetV2 features (models/pretrained.py) of the fold's real training images (its train.jsonl), and
for the held-out images the fold's ensemble is unsure of (its out-of-fold score in [--unsure_low,
--unsure_high)) its score is blended in log-odds with the ensemble's, as the trees are (`models.boosted.blend`),
the ensemble's score measured from the fold's own threshold: sigmoid((1 - w) (logit(score) - logit(threshold))
+ w logit(p)); chart at 0.5 and above. The sure images keep the ensemble's call, so the extra network runs on
about one image in six.

Prints each fold's accuracy, F1, ROC AUC, missed and false charts and the share re-scored, before and after,
and the images fixed and broken; with two runs, the review band chosen at --review_target on one run's pooled
scores and measured on the other's. Writes benchmarks/results/pretrained_member.json and a contact sheet of the
images still wrong (results/pretrained_member_misses.png). The weights: `npm pack nsfwjs@4.4.0`.
"""

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

from benchmarks import _common as c

BATCH = 32
PREPARED_SIZE = 128  # the shipped recipe's image_size


def features(paths: list[str], weights: str, pixels_from: str) -> tuple[dict[str, np.ndarray], float]:
    """Pooled features of every image ingest would accept (the others are left out, and printed), and the
    network's milliseconds per image (batches of 32 after the first, decode and resize not counted).

    `pixels_from`: "original" resizes the decoded image to 224 px; "prepared" upsamples the 128 px pixels
    the ensemble sees (transforms.image.prepare), so the member would need nothing new from ingest.
    """
    from PIL import Image

    from models.pretrained import INPUT_SIZE, feature_extractor
    from transforms.image import RejectedImage, load_rgb, prepare

    model, out, skipped, seconds, timed = feature_extractor(weights), {}, [], 0.0, 0
    for batch in c.batches(paths, BATCH):
        kept, pixels = [], []
        for path in batch:
            with open(path, "rb") as f:
                data = f.read()
            try:
                if pixels_from == "original":
                    rgb = load_rgb(data).resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
                else:
                    prepared = Image.fromarray(prepare(data, PREPARED_SIZE).pixels)
                    rgb = prepared.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
            except RejectedImage as rejected:
                skipped.append(f"{path}: {rejected}")
                continue
            kept.append(path)
            pixels.append(np.asarray(rgb, np.float32) / 255.0)
        if kept:
            start = time.perf_counter()
            out.update(zip(kept, model.predict_on_batch(np.stack(pixels))))
            if len(out) > len(kept):  # the first batch builds the graph: not timed
                seconds, timed = seconds + time.perf_counter() - start, timed + len(kept)
    for reason in skipped:
        print(f"left out, as ingest leaves it out: {reason}")
    ms = 1000 * seconds / max(timed, 1)
    print(f"MobileNetV2 at {INPUT_SIZE} px: {ms:.1f} ms per image ({timed} images timed)")
    return out, ms


def from_threshold(score: np.ndarray, threshold: float) -> np.ndarray:
    """The score moved so that the fold's threshold sits at 0.5 (a shift in log-odds)."""
    score = np.clip(score, 1e-6, 1 - 1e-6)
    shift = np.log(threshold / (1 - threshold))
    return 1 / (1 + np.exp(shift - np.log(score / (1 - score))))


def score_fold(fold_dir: str, feats: dict[str, np.ndarray], args) -> dict:
    """The fold's held-out images before and after the member joins (z >= 0 is chart)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from models.boosted import LOGIT, blend
    from models.metrics import binary_metrics

    with open(os.path.join(fold_dir, "fold.json")) as f:
        fold = json.load(f)
    with open(os.path.join(fold_dir, "train.jsonl")) as f:
        train = [json.loads(line) for line in f]
    train = [t for t in train if t["image"] in feats]
    member = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=5000, class_weight="balanced"))
    member.fit(np.stack([feats[t["image"]] for t in train]), [t["label"] == "chart" for t in train])
    held = sorted(p for p in fold["scores"] if p in feats)
    truth = np.array([fold["scores"][p][0] == "chart" for p in held])
    score = np.array([fold["scores"][p][1] for p in held])
    before = from_threshold(score, fold["threshold"])
    unsure = (score >= args.unsure_low) & (score < args.unsure_high)
    p = member.predict_proba(np.stack([feats[path] for path in held]))[:, 1]
    after = np.where(unsure, blend(before, p, args.weight, LOGIT), before)
    row = {"fold": fold["fold"], "images": len(held), "rescored": round(float(unsure.mean()), 4)}
    for name, scores in (("before", before), ("after", after)):
        m = binary_metrics(truth.astype(int), scores, 0.5)
        called = scores >= 0.5
        row[name] = {"accuracy": m["accuracy"], "f1": m["f1"], "roc_auc": m["roc_auc"],
                     "missed": int((truth & ~called).sum()), "false": int((~truth & called).sum())}
    right_before, right_after = (before >= 0.5) == truth, (after >= 0.5) == truth
    row["fixed"] = [path for path, b, a in zip(held, right_before, right_after) if a and not b]
    row["broken"] = [path for path, b, a in zip(held, right_before, right_after) if b and not a]
    row["scores"] = {path: [bool(t), round(float(a), 6), round(float(b), 6)]
                     for path, t, a, b in zip(held, truth, after, before)}
    return row


def summarise(run: str, rows: list[dict]) -> dict:
    """Means over the run's folds (missed and false charts summed), before and after; prints the fold table."""
    summary = {}
    for name in ("before", "after"):
        summary[name] = {m: round(float(np.mean([r[name][m] for r in rows])), 4) for m in ("accuracy", "f1", "roc_auc")}
        summary[name].update({k: sum(r[name][k] for r in rows) for k in ("missed", "false")})
    headers = ["fold", "images", "re-scored"] + [f"{m} {when}" for m in ("accuracy", "F1", "AUC", "missed/false")
                                                  for when in ("before", "after")]
    print(c.table(headers, [[r["fold"], r["images"], f"{r['rescored']:.1%}"]
                            + [r[when][m] for m in ("accuracy", "f1", "roc_auc") for when in ("before", "after")]
                            + [f"{r[when]['missed']}/{r[when]['false']}" for when in ("before", "after")]
                            for r in rows], title=run))
    summary["fixed"], summary["broken"] = (sum(len(r[k]) for r in rows) for k in ("fixed", "broken"))
    print("mean: " + ", ".join(f"{m} {summary['before'][m]:.4f} -> {summary['after'][m]:.4f}"
                               for m in ("accuracy", "f1", "roc_auc"))
          + f"; image for image: {summary['fixed']} fixed, {summary['broken']} broken\n")
    return summary


def misses_sheet(runs: dict) -> str:
    """A contact sheet of the images still wrong with the member, each with its score before and after (both
    measured from the fold's threshold, which sits at 0.5)."""
    from models.reports import contact_sheet

    misses = []
    for run in runs.values():
        for row in run["folds"]:
            for path, (truth, after, before) in sorted(row["scores"].items()):
                if (after >= 0.5) != truth:
                    with open(path, "rb") as f:
                        data = f.read()
                    caption = f"true {'chart' if truth else 'non_chart'}\n{before:.2f} -> {after:.2f}"
                    misses.append((data, caption, os.path.basename(path)))
    path = os.path.join(c.RESULTS_DIR, "pretrained_member_misses.png")
    os.makedirs(c.RESULTS_DIR, exist_ok=True)
    title = (f"Still wrong with the pretrained member ({len(misses)} images; scores before -> after, measured from "
             "each fold's threshold: 0.5 is the threshold)")
    return contact_sheet(misses, path, title)


def band_in_advance(chosen: list, measured: list, target: float) -> dict:
    """The review band chosen at `target` on one run's pooled (truth, score) pairs, measured on another's."""
    from models.metrics import choose_review_band, selective

    band = choose_review_band([t for t, _ in chosen], [s for _, s in chosen], 0.5, target)
    fresh = selective([t for t, _ in measured], [s for _, s in measured], 0.5, band)
    return {"band": [round(b, 4) for b in band], "coverage": round(fresh["coverage"], 4),
            "accuracy_outside_band": round(fresh["accuracy_outside_band"], 4)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pretrained_member",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="the tarball `npm pack nsfwjs@4.4.0` writes")
    parser.add_argument("--runs", nargs="+", required=True, help="benchmarks.source_folds --work_dir folders")
    parser.add_argument("--C", type=float, default=0.1, help="the logistic regression's inverse regularisation")
    parser.add_argument("--weight", type=float, default=0.35, help="the member's share of the blended log-odds")
    parser.add_argument("--unsure_low", type=float, default=0.02)
    parser.add_argument("--unsure_high", type=float, default=0.98)
    parser.add_argument("--review_target", type=float, default=0.995)
    parser.add_argument("--pixels_from", choices=("original", "prepared"), default="original",
                        help="the member's 224 px input: from the decoded image, or upsampled from the 128 px pixels")
    args = parser.parse_args(argv)

    folds = {run: sorted(glob.glob(os.path.join(run, "fold*", "fold.json"))) for run in args.runs}
    for run, found in folds.items():
        if not found:
            parser.error(f"{run} holds no fold*/fold.json: pass a benchmarks.source_folds --work_dir whose folds ended")
    paths = set()
    for found in folds.values():
        for fold_json in found:
            with open(fold_json) as f:
                paths.update(json.load(f)["scores"])
            with open(os.path.join(os.path.dirname(fold_json), "train.jsonl")) as f:
                paths.update(json.loads(line)["image"] for line in f)
    feats, ms_per_image = features(sorted(paths), args.weights, args.pixels_from)

    runs = {}
    for run, found in folds.items():
        rows = [score_fold(os.path.dirname(fold_json), feats, args) for fold_json in found]
        runs[run] = {"summary": summarise(run, rows), "folds": rows}
    print(f"misses sheet: {misses_sheet(runs)}")
    pooled = {run: [s[:2] for r in runs[run]["folds"] for s in r["scores"].values()] for run in runs}
    bands = []
    for chosen, measured in zip(args.runs, args.runs[1:] + args.runs[:1]) if len(args.runs) > 1 else ():
        bands.append({"chosen_on": chosen, "measured_on": measured,
                      **band_in_advance(pooled[chosen], pooled[measured], args.review_target)})
        print(f"review band chosen at {args.review_target} on {chosen}: {bands[-1]['band']}; on {measured} it leaves "
              f"{bands[-1]['coverage']:.1%} to the model at {bands[-1]['accuracy_outside_band']:.4f} right")
    result = {"args": vars(args), "environment": c.environment(), "network_ms_per_image": round(ms_per_image, 2),
              "runs": runs, "bands_in_advance": bands}
    print(f"results: {c.write_results('pretrained_member', result)}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

"""Evaluate: score an exported model on a labelled folder tree and show what fails.

ROOT/chart/ and ROOT/non_chart/ (nothing else under ROOT) go through the labelling pipeline itself (same
reading, decoding and model); OUT gets metrics.json and plots, among them contact sheets of every misclassified
image and of those inside the review band. Command line: `python -m pipelines.evaluate --help`, README.
"""
import argparse
import collections
import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from typing import Optional

import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions

from core import features, inputs, results, runs, storage
from models.run import LoadedRun
from pipelines import cli, label, options

PREDICTIONS = "predictions/labels"
# What an evaluation writes in its folder: a folder holding any of these holds an earlier evaluation.
OUTPUTS = frozenset({"predictions", "metrics.json", "roc_pr.png", "coverage.png", "confusion_matrix.png",
                     "misclassified.png", "review_band.png"})
LAYOUT = "DIR/chart/ (images that are charts) and DIR/non_chart/ (images that are not), in subfolders or not"


def parse_args(argv: Optional[list[str]]) -> tuple[argparse.Namespace, list[str]]:
    """(evaluate's own flags, the Beam options)."""
    parser = options.parser("evaluate", __doc__.split("\n\n")[0], beam=True)
    options.add_model(parser)
    parser.add_argument("--data_dir", required=True,
                        help="Folder (or bucket prefix) holding chart/ and non_chart/; only those two are read.")
    parser.add_argument("--output_dir", default=None,
                        help="Where metrics, plots and predictions/ go (default: a new folder "
                             "$BASE_DIR/evaluations/<model_type>_<run_id>/<UTC time>_<random>). A folder given "
                             "here must be empty or hold an earlier evaluation, whose files are then replaced "
                             "whole; any other folder is refused, so two evaluations never mix.")
    options.add_batching(parser)
    options.add_input_limits(parser)
    options.add_read_timeout(parser)
    return options.parse_with_beam(parser, argv)


def labelling_options(args: argparse.Namespace, root: str, predictions: str) -> label.LabelOptions:
    """What labelling gets of evaluate's flags: the tree to label and where its predictions go."""
    return label.LabelOptions(root, predictions, batch_size=args.batch_size, decode_threads=args.decode_threads,
                              max_file_mb=args.max_file_mb, max_pixels=args.max_pixels, read_timeout=args.read_timeout,
                              allow_outside_root=args.allow_outside_root, folders=features.LABEL_NAMES,
                              overwrite=True)  # evaluate owns its folder (output_dir_of)


def check_layout(root: str, allow_outside_root: bool = False) -> None:
    """Refuse, before any work, a --data_dir with neither chart/ nor non_chart/ holding a file."""
    found = [name for name in features.LABEL_NAMES
             if any(not f.error for f in inputs.list_files(inputs.input_pattern(storage.join(root, name) + "/"),
                                                           allow_outside_root=allow_outside_root))]
    if not found:
        raise ValueError(f"--data_dir {root} holds no file in chart/ or non_chart/: evaluate reads {LAYOUT} "
                         f"(with DIR = {root})")
    if len(found) == 1:
        logging.warning("--data_dir %s holds only %s/: accuracy and recall mean something, ROC AUC does not",
                        root, found[0])


def output_dir_of(given: Optional[str], rule: results.Rule) -> str:
    """--output_dir, emptied of an earlier evaluation (a folder holding anything else is refused); by default a
    new folder per evaluation under $BASE_DIR/evaluations/<model_type>_<run_id>/."""
    if not given:
        stamp = f"{datetime.now(timezone.utc):%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"
        return storage.join(cli.base_dir(), "evaluations", f"{rule.model_type}_{rule.run_id}", stamp)
    given = given.rstrip("/")
    entries = _entries(given)
    if entries and not entries & OUTPUTS:
        raise ValueError(f"--output_dir {given} holds files that are not an evaluation's ({sorted(entries)[0]}, ...): "
                         "give an empty or new folder, or leave --output_dir out for a new one under "
                         f"{storage.join(cli.base_dir(), 'evaluations')}")
    if entries & OUTPUTS:
        logging.info("--output_dir %s holds an earlier evaluation: replacing it", given)
        _remove(given, entries & OUTPUTS)
    return given


def _entries(folder: str) -> set[str]:
    """The names directly under a folder (or bucket prefix)."""
    if "://" not in folder:
        return set(os.listdir(folder)) if os.path.isdir(folder) else set()
    prefix = folder + "/"
    return {path[len(prefix):].split("/", 1)[0] for path in storage.match(prefix + "**")}


def _remove(folder: str, names: set[str]) -> None:
    if "://" not in folder:
        for name in names:
            path = os.path.join(folder, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        return
    prefix = folder + "/"
    for path in storage.match(prefix + "**"):
        if path[len(prefix):].split("/", 1)[0] in names:
            storage.delete(path)


def training_overlap(run_dir: str, labelled: list[dict]) -> Optional[dict]:
    """The images also in the model's training data (train and val, by sha256); None when the run does not
    list them (runs.TRAINING_IMAGES_FILE)."""
    path = storage.join(run_dir, runs.TRAINING_IMAGES_FILE)
    if not storage.exists(path):
        return None
    trained = set(storage.read_bytes(path).decode().split())
    seen = [r["uri"] for r in labelled if r["sha256"] in trained]
    return {"count": len(seen), "fraction": round(len(seen) / max(len(labelled), 1), 6), "uris": seen}


def truth_of(uri: str, root: str) -> Optional[int]:
    """The label a file's folder gives it (<root>/chart/... or <root>/non_chart/...), else None."""
    prefix = root.rstrip("/") + "/"
    top = uri[len(prefix):].lstrip("/").split("/", 1)[0] if uri.startswith(prefix) else ""
    return features.LABEL_IDS.get(top)


def run(argv: Optional[list[str]] = None) -> dict:
    args, beam_args = parse_args(argv)
    cli.setup_logging(args.debug)
    from models import reports
    from models.metrics import binary_metrics, selective

    root = args.data_dir.rstrip("/")
    check_layout(root, args.allow_outside_root)
    run = LoadedRun.open(args.model_dir, args.threshold, args.review_band)
    model = run.rule
    output_dir = output_dir_of(args.output_dir, model)
    predictions = storage.join(output_dir, PREDICTIONS)
    opts = labelling_options(args, root, predictions)
    label.check_options(opts, {"input": f"--data_dir {root}", "output": f"--output_dir {output_dir}"})
    label.label(opts, run, PipelineOptions(beam_args))
    labelled, rejected = results.read_results(predictions)
    if not labelled:
        raise ValueError(f"no image under --data_dir {root} could be labelled ({len(rejected)} rejected: "
                         f"{_count(r['reason'] for r in rejected)}); see {predictions}{features.DEAD_LETTER_INFIX}-*")
    scored = [(r, truth_of(r["uri"], root)) for r in labelled]
    outside = [r["uri"] for r, truth in scored if truth is None]
    scored = [(r, truth) for r, truth in scored if truth is not None]
    labels = np.array([truth for _, truth in scored], dtype=int)
    scores = np.array([r["score"] for r, _ in scored], dtype=float)
    metrics = binary_metrics(labels, scores, model.threshold)
    metrics.update(selective(labels, scores, model.threshold, model.review_band))
    metrics.update(
        {
            "model_type": model.model_type,
            "run_id": model.run_id,
            "data_dir": root,
            "rejected": {
                "count": len(rejected),
                "by_reason": _count(r["reason"] for r in rejected),
                "files": [{"uri": r["uri"], "reason": r["reason"]} for r in rejected],
            },
            "outside_label_folders": outside,
            "in_training_data": training_overlap(run.run_dir, [r for r, _ in scored]),
            "output_dir": output_dir,
        }
    )
    _warn_if_trained_on(metrics["in_training_data"])
    wrong = sorted(((r, truth) for r, truth in scored if (r["score"] >= model.threshold) != bool(truth)),
                   key=lambda rt: -abs(rt[0]["score"] - model.threshold))
    metrics["misclassified"] = [
        {"uri": r["uri"], "true": features.LABEL_NAMES[t], "score": r["score"]} for r, t in wrong
    ]
    title = f"{model.model_type} {model.run_id} on {root}"
    reports.write_json(storage.join(output_dir, "metrics.json"), metrics)
    reports.plot_roc_pr(labels, scores, model.threshold, storage.join(output_dir, "roc_pr.png"), title)
    reports.plot_coverage(labels, scores, model.threshold, model.review_band,
                          storage.join(output_dir, "coverage.png"), f"Accuracy against coverage\n{title}")
    reports.plot_confusion(
        metrics["confusion_matrix"]["matrix"],
        storage.join(output_dir, "confusion_matrix.png"),
        f"threshold {model.threshold:.2f}\n{title}",
    )
    reports.contact_sheet(_tiles(wrong), storage.join(output_dir, "misclassified.png"),
                          f"Misclassified ({len(wrong)} of {len(scored)}): {title}")
    review = sorted(((r, t) for r, t in scored if r["review"]), key=lambda rt: rt[0]["score"])
    low, high = model.review_band
    reports.review_sheet(_tiles(review), storage.join(output_dir, "review_band.png"),
                         f"Review band [{low:.2f}, {high:.2f}) ({len(review)} of {len(scored)}): {title}")
    logging.info(
        "Evaluated %d images (%d rejected): accuracy %.4f, F1 %.4f, ROC AUC %s at threshold %.3f; "
        "review band %s: %.1f%% labelled automatically, accuracy %s outside it. Results in %s",
        len(scored),
        len(rejected),
        metrics["accuracy"],
        metrics["f1"],
        metrics["roc_auc"],
        model.threshold,
        list(model.review_band),
        100 * metrics["coverage"],
        metrics["accuracy_outside_band"],
        output_dir,
    )
    return metrics


def _tiles(scored: list[tuple[dict, int]]) -> list:
    """Contact-sheet tiles: each image with its file name, true label and score."""
    return [(storage.read_bytes(r["uri"]), f"true {features.LABEL_NAMES[t]}\nscore {r['score']:.2f}",
             r["uri"].rstrip("/").rsplit("/", 1)[-1]) for r, t in scored]


def _warn_if_trained_on(overlap: Optional[dict]) -> None:
    if overlap is None:
        logging.info("The run lists no training images (%s): not checked for overlap", runs.TRAINING_IMAGES_FILE)
    elif overlap["count"]:
        logging.warning("!!! %d of the images (%.1f%%) were in this model's training data (train/val): these metrics "
                        "overstate how it does on new images. metrics.json lists them (in_training_data).",
                        overlap["count"], 100 * overlap["fraction"])


def _count(values) -> dict[str, int]:
    return dict(sorted(collections.Counter(values).items()))


if __name__ == "__main__":
    cli.main("pipelines.evaluate")

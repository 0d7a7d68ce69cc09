"""Evaluate: score an exported model on a labelled folder tree and show what fails.

ROOT/chart/ and ROOT/non_chart/ go through the labelling pipeline itself (same reading, decoding and
model); OUT gets metrics.json and plots, among them a contact sheet of every misclassified image.
Command line: `python -m pipelines.evaluate --help`, README.
"""
import argparse
import collections
import logging
from typing import Optional

import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions

from core import features, results, storage
from models.run import LoadedRun
from pipelines import cli, label, options

PREDICTIONS = "predictions/labels"


def parse_args(argv: Optional[list[str]]) -> tuple[argparse.Namespace, list[str]]:
    """(evaluate's own flags, the Beam options)."""
    parser = options.parser("evaluate", __doc__.split("\n\n")[0], beam=True)
    options.add_model(parser)
    parser.add_argument("--data_dir", required=True, help="Folder (or bucket prefix) holding chart/ and non_chart/.")
    parser.add_argument("--output_dir", default=None, help="Where metrics and plots go "
                                                           "(default: $BASE_DIR/evaluations/<model_type>_<run_id>).")
    options.add_batching(parser)
    options.add_input_limits(parser)
    return parser.parse_known_args(argv)


def labelling_options(args: argparse.Namespace, root: str, predictions: str) -> label.LabelOptions:
    """What labelling gets of evaluate's flags: the tree to label and where its predictions go."""
    return label.LabelOptions(root, predictions, batch_size=args.batch_size, decode_threads=args.decode_threads,
                              max_file_mb=args.max_file_mb, allow_outside_root=args.allow_outside_root)


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

    run = LoadedRun.open(args.model_dir, args.threshold, args.review_band)
    model = run.rule
    root = args.data_dir.rstrip("/")
    output_dir = args.output_dir or storage.join(cli.base_dir(), "evaluations", f"{model.model_type}_{model.run_id}")
    predictions = storage.join(output_dir, PREDICTIONS)
    opts = labelling_options(args, root, predictions)
    label.check_options(opts)
    label.label(opts, run, PipelineOptions(beam_args))
    labelled, rejected = results.read_results(predictions)
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
        }
    )
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
    reports.contact_sheet(
        [(storage.read_bytes(r["uri"]), f"true {features.LABEL_NAMES[t]}\nscore {r['score']:.2f}") for r, t in wrong],
        storage.join(output_dir, "misclassified.png"),
        f"Misclassified ({len(wrong)} of {len(scored)}): {title}",
    )
    logging.info(
        "Evaluated %d images (%d rejected): accuracy %.4f, F1 %.4f, ROC AUC %s at threshold %.3f; "
        "review band %s: %.1f%% labelled automatically, accuracy %s -> %s",
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


def _count(values) -> dict[str, int]:
    return dict(sorted(collections.Counter(values).items()))


if __name__ == "__main__":
    cli.main("pipelines.evaluate")

"""Ship: make a trained run the default model (models/shipped), with its provenance recorded.

Copies the run's SavedModel, its boosted trees and pretrained member if it has them, and metadata.json (not
its Keras files: serving needs neither) and adds `provenance`: the ingest configs, the commit, the seed, the run a
refitted member's network came from (kept from the run's own provenance) and, when given,
the source-disjoint metrics of the same recipe (benchmarks/results/source_folds.json) with that run's
arguments and commit. With those fold results the review band is chosen again, on their out-of-fold
scores: images from sources their models never saw, which is what users bring. The band the run chose on
its val split (mostly its training sources' look-alikes) is kept in the provenance; it proved too narrow
on unseen sources (docs/MODEL_CARD.md, "The review band"). With --review_band_file that choice is written to a small
committed file (configs/shipped_review_band.json), which a later ship without --folds reads back: the
fold results are git-ignored, so `make model` (ingest, train, then this) rebuilds from the file.
"""
import argparse
import dataclasses
import json
import logging
import os
import shutil
import subprocess
from typing import Optional

import numpy as np

from core import features, runs, storage
from models.metrics import band_at_coverage, choose_review_band
from pipelines import cli, options

MAX_FILE_BYTES = 5 * 1024 * 1024  # the repository keeps no file over 5 MB
BAND_KEYS = (runs.REVIEW_BAND_KEY, "review_band_source")  # the chosen band, in the shipped metadata
PROVENANCE_KEYS = ("source_disjoint", "source_disjoint_run", "band_fold_runs")  # the fold runs it was chosen on


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = options.parser("ship", __doc__.split("\n\n")[0], beam=False)
    parser.add_argument("--run_dir", required=True, help="The run to ship (a run directory or `latest` file).")
    parser.add_argument("--config", action="append", required=True,
                        help="The ingest config the run was trained on (recorded); repeated as ingest had it when "
                             "ingest read several (a corrections config, say).")
    parser.add_argument("--seed", type=int, required=True, help="The seed it was trained with (recorded).")
    parser.add_argument("--folds", nargs="+", default=None,
                        help="source_folds results of the same recipe, one or more runs (other seeds): the first "
                             "one's figures are recorded, and the review band is chosen on all their out-of-fold "
                             "scores, pooled.")
    parser.add_argument("--review_band_file", default=None,
                        help="With --folds: where to write the band chosen on them, with the fold run's summary and "
                             "provenance; without: the band to ship, read from such a file (what `make model` uses).")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--review_target", type=float, default=0.99,
                        help="With --folds: the band is the widest with this accuracy outside it, on each side of the "
                             "threshold.")
    choice.add_argument("--review_coverage", type=float, default=None,
                        help="With --folds: the band leaves this share of the scores outside it, the least sure "
                             "inside, equally sure on both sides (holds better on new sources than a target).")
    parser.add_argument("--target", default=runs.SHIPPED_MODEL_DIR, help="Where the shipped model goes.")
    return parser.parse_args(argv)


def run(argv: Optional[list[str]] = None) -> dict:
    args = parse_args(argv)
    cli.setup_logging(args.debug)
    run_dir = runs.resolve_model_dir(args.run_dir)
    metadata = runs.RunMetadata.read(run_dir)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    chosen = _chosen_band(args, metadata.threshold)
    provenance = {
        "ingest_config": ingest_config_text(args.config),
        "ingest_config_files": args.config,
        "commit": commit,
        "seed": args.seed,
        "trained_in": run_dir,
        **{key: chosen[key] for key in PROVENANCE_KEYS if key in chosen},
    }
    if args.review_band_file:
        provenance["review_band_file"] = args.review_band_file
    if (metadata.provenance or {}).get(runs.REFITTED_FROM_KEY):  # train --refit_member's record of the source run
        provenance[runs.REFITTED_FROM_KEY] = metadata.provenance[runs.REFITTED_FROM_KEY]
    band = {key: chosen[key] for key in BAND_KEYS if key in chosen}
    if band:
        provenance["val_review_band"] = list(metadata.review_band)
        band[runs.REVIEW_BAND_KEY] = tuple(band[runs.REVIEW_BAND_KEY])
    metadata = dataclasses.replace(metadata, provenance=provenance, **band)
    shutil.rmtree(args.target, ignore_errors=True)
    shutil.copytree(f"{run_dir}/{runs.SAVED_MODEL_DIR}", f"{args.target}/{runs.SAVED_MODEL_DIR}")
    shipped_files = [entry[key] for entry in (metadata.boosted_trees, metadata.pretrained_member) if entry
                     for key in ("file", "backbone_file") if entry.get(key)]
    for name in shipped_files + [runs.TRAINING_IMAGES_FILE] * os.path.exists(f"{run_dir}/{runs.TRAINING_IMAGES_FILE}"):
        shutil.copyfile(f"{run_dir}/{name}", f"{args.target}/{name}")
    metadata.write(args.target)
    too_big = [p for p in _files(args.target) if p[1] > MAX_FILE_BYTES]
    if too_big:
        raise ValueError(f"files over {MAX_FILE_BYTES} bytes cannot be shipped in the repository: {too_big}")
    logging.info("Shipped %s run %s to %s (%.1f MB)", metadata.model_type, metadata.run_id, args.target,
                 sum(size for _, size in _files(args.target)) / 2**20)
    return metadata.to_dict()


def ingest_config_text(paths: list[str]) -> str:
    """The ingest configs as recorded: one config's text as it is; several as one YAML stream, a document each
    (headed by its path) in the order ingest read them."""
    texts = [storage.read_bytes(path).decode() for path in paths]
    if len(texts) == 1:
        return texts[0]
    return "---\n".join(f"# --config {path}\n{text.rstrip()}\n" for path, text in zip(paths, texts))


def _chosen_band(args: argparse.Namespace, threshold: float) -> dict:
    """The band to ship and the fold runs behind it (BAND_KEYS, PROVENANCE_KEYS): chosen on --folds (and written
    to --review_band_file when given), read from --review_band_file, or none (the run's own val band is shipped)."""
    if args.folds:
        if args.review_coverage is not None and not 0 < args.review_coverage < 1:
            raise ValueError(f"--review_coverage is the share of images left outside the band: between 0 and 1, "
                             f"got {args.review_coverage}")
        fold_runs = [json.loads(storage.read_bytes(path)) for path in args.folds]
        rule = ({"review_coverage": args.review_coverage} if args.review_coverage is not None
                else {"review_target": args.review_target})
        chosen = {**_source_disjoint(fold_runs), **_unseen_source_band(fold_runs, threshold, **rule)}
        if args.review_band_file:
            if runs.REVIEW_BAND_KEY not in chosen:
                raise ValueError(f"--folds {' '.join(args.folds)} hold no out-of-fold scores: no band to write to "
                                 f"--review_band_file {args.review_band_file}")
            with storage.open_write(args.review_band_file) as f:
                f.write((json.dumps({**chosen, "chosen_at_threshold": threshold, **rule}, indent=2, sort_keys=True)
                         + "\n").encode())
            logging.info("Wrote the review band chosen on %s to %s", " ".join(args.folds), args.review_band_file)
        return chosen
    if args.review_band_file:
        chosen = json.loads(storage.read_bytes(args.review_band_file))
        low, high = chosen[runs.REVIEW_BAND_KEY]
        if not low <= threshold <= high:
            raise ValueError(f"the run's threshold {threshold} lies outside the band [{low}, {high}) of "
                             f"--review_band_file {args.review_band_file} (chosen at threshold "
                             f"{chosen.get('chosen_at_threshold')}): choose it again with --folds")
        if chosen.get("chosen_at_threshold") != threshold:
            logging.warning("The band in %s was chosen at threshold %s; this run's is %s", args.review_band_file,
                            chosen.get("chosen_at_threshold"), threshold)
        return chosen
    return {"source_disjoint": None}


def _source_disjoint(fold_runs: list[dict]) -> dict:
    """The first fold run's summary, and what each ran: its arguments (folds, seed, config) and commit."""
    described = [{"args": folds.get("args"), "commit": folds.get("environment", {}).get("git_commit"),
                  "date_utc": folds.get("environment", {}).get("date_utc")} for folds in fold_runs]
    recorded = {"source_disjoint": fold_runs[0]["summary"], "source_disjoint_run": described[0]}
    return {**recorded, "band_fold_runs": described} if len(fold_runs) > 1 else recorded


def _unseen_source_band(fold_runs: list[dict], threshold: float, review_target: Optional[float] = None,
                        review_coverage: Optional[float] = None) -> dict:
    """The review band chosen on the fold runs' out-of-fold scores (pooled over their folds), by accuracy outside it
    (`review_target`) or by the share it leaves outside (`review_coverage`), and where it came from; {} when the
    results hold no per-image scores."""
    pairs = [pair for folds in fold_runs for fold in folds["folds"] for pair in fold.get("scores", {}).values()]
    if not pairs:
        return {}
    labels = np.array([truth == features.CHART for truth, _ in pairs], int)
    scores = np.array([score for _, score in pairs], float)
    if review_coverage is not None:
        band, rule = band_at_coverage(scores, threshold, review_coverage), (
            f"{review_coverage:.0%} of them outside it, the least sure inside, equally sure on both sides")
    else:
        band, rule = choose_review_band(labels, scores, threshold, review_target), (
            f"accuracy >= {review_target} outside it, on each side of the threshold")
    runs_text = "the source-disjoint run" if len(fold_runs) == 1 else f"{len(fold_runs)} source-disjoint runs"
    return {runs.REVIEW_BAND_KEY: list(band),
            "review_band_source": f"chosen on the {labels.size} out-of-fold scores of {runs_text} (images from "
                                  f"sources their models never saw): {rule}"}


def _files(folder: str) -> list[tuple[str, int]]:
    paths = [os.path.join(top, name) for top, _, names in os.walk(folder) for name in names]
    return [(path, os.path.getsize(path)) for path in paths]


if __name__ == "__main__":
    cli.main("pipelines.ship")

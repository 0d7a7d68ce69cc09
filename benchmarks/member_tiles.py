"""What square tiles of tall and wide images would do for the pretrained member, on finished fold runs.

    python -m benchmarks.member_tiles --work_dir DIR [--work_dir DIR ...] [--refit_member NAME]
        [--tiles_within LOW HIGH]

The network and the member see each image squashed to a square: a phone screen three times as tall as wide loses
two thirds of its height. This re-scores every held-out image of each `benchmarks.source_folds` work dir (its
fold runs: `<fold>/base`, or `<fold>/NAME` with --refit_member) with the run's own network, trees and member. Where
the member has a say (the ensemble unsure) and the image's sides differ by more than TILE_ASPECT, the member also
scores ceil(long / short) evenly spaced square tiles of the original, prepared like the whole image, and its
log-odds become the mean of the whole image's and the tiles' mean. The member's regression is the run's, learned on
whole images only. --tiles_within narrows where tiles are shown to an ensemble score in [LOW, HIGH) (inside the
member's unsure range: fewer passes). Errors at the run's threshold are counted image for image against the run as
it is (which this reproduces, checked), with the backbone passes each needs: the tiles' labelling cost. Writes
benchmarks/results/member_tiles.json. A measurement for a change not made yet: labelling, serving and evaluation
pass the labeller prepared pixels only, and would need the tiles carried with them.
"""
import argparse
import glob
import json
import math
import os
from typing import Optional

import numpy as np

from benchmarks import _common as c

TILE_ASPECT = 1.5  # sides differing by more than this get tiles


def square_tiles(rgb, image_size: int) -> list[np.ndarray]:
    """ceil(long / short) evenly spaced square tiles of the short side, each prepared at `image_size` (the
    squash's ink-pooled resize); none when the sides differ by TILE_ASPECT or less."""
    from transforms.image import resize

    width, height = rgb.size
    short, long = min(width, height), max(width, height)
    if long <= TILE_ASPECT * short:
        return []
    count = math.ceil(long / short)
    tiles = []
    for i in range(count):
        start = round(i * (long - short) / (count - 1))
        box = (start, 0, start + short, short) if width > height else (0, start, short, start + short)
        tiles.append(resize(rgb.crop(box), image_size))
    return tiles


def fold_runs(work_dir: str, name: str) -> list[tuple[str, str]]:
    """(the run directory, its fold.json) of every finished fold in a source_folds work dir."""
    found = []
    for home in sorted(glob.glob(os.path.join(work_dir, "fold*"))):
        into = os.path.join(home, name) if name != "base" else home
        if os.path.exists(os.path.join(into, "fold.json")):
            found.append((os.path.join(home, name, "models", "chart-cnn", "latest"), os.path.join(into, "fold.json")))
    return found


def rescore_fold(run: str, fold_json: str, tiles_within: Optional[tuple[float, float]] = None) -> dict:
    """Each held-out image's score as the run gives it and with the member shown tiles, and the backbone passes."""
    from models import boosted
    from models.member import from_center
    from models.run import LoadedRun
    from transforms.image import load_rgb, prepare

    loaded = LoadedRun.open(run)
    scorer, size = loaded.scorer(), loaded.metadata.image_size
    member, threshold = scorer.member, loaded.metadata.threshold
    low, high = member.unsure
    tiled_low, tiled_high = tiles_within or member.unsure
    rows = {}
    for path, (label, recorded) in json.load(open(fold_json))["scores"].items():
        data = open(path, "rb").read()
        whole = prepare(data, size).pixels
        ensemble = scorer.ensemble([whole.tobytes()])
        base = from_center(ensemble, member.center)
        if not low <= ensemble[0] < high:
            rows[path] = {"label": label, "run": float(base[0]), "tiles": float(base[0]), "passes": [0, 0]}
            continue
        tiled = tiled_low <= ensemble[0] < tiled_high
        views = [whole] + (square_tiles(load_rgb(data), size) if tiled else [])
        logits = boosted.logit(member.predict(member.features(np.stack(views))))
        mixed = logits[0] if len(views) == 1 else 0.5 * logits[0] + 0.5 * logits[1:].mean()
        scores = [boosted.blend(base, boosted.sigmoid(np.array([x])), member.weight, boosted.LOGIT)[0]
                  for x in (logits[0], mixed)]
        rows[path] = {"label": label, "run": float(scores[0]), "tiles": float(scores[1]), "passes": [1, len(views)]}
        if abs(scores[0] - recorded) > 2e-3:
            raise RuntimeError(f"{path}: {scores[0]:.4f} here, {recorded:.4f} in {fold_json}: not the run's scorer")
    return {"run": run, "threshold": threshold, "images": rows}


def summary(folds: list[dict]) -> dict:
    """Errors, the images fixed and broken by the tiles, and backbone passes, over the folds."""
    wrong = {"run": 0, "tiles": 0}
    fixed, broken, passes, images = [], [], [0, 0], 0
    for fold in folds:
        for path, row in fold["images"].items():
            right = {k: (row[k] >= fold["threshold"]) == (row["label"] == "chart") for k in wrong}
            for k in wrong:
                wrong[k] += not right[k]
            (fixed if right["tiles"] and not right["run"] else broken if right["run"] and not right["tiles"]
             else []).append(os.path.basename(path))
            passes = [passes[0] + row["passes"][0], passes[1] + row["passes"][1]]
            images += 1
    return {"images": images, "errors_run": wrong["run"], "errors_tiles": wrong["tiles"], "fixed": fixed,
            "broken": broken, "backbone_passes_run": passes[0], "backbone_passes_tiles": passes[1]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.member_tiles", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work_dir", action="append", required=True, help="a source_folds --work_dir (repeatable)")
    parser.add_argument("--tiles_within", nargs=2, type=float, metavar=("LOW", "HIGH"), default=None,
                        help="show tiles only where the ensemble's score is in [LOW, HIGH) (default: wherever the "
                             "member has a say)")
    parser.add_argument("--refit_member", metavar="NAME", default="base",
                        help="score the fold runs source_folds --refit_member NAME made (default: the fold runs)")
    args = parser.parse_args(argv)
    rows, result = [], {"args": vars(args), "environment": c.environment(), "work_dirs": {}}
    for work_dir in args.work_dir:
        found = fold_runs(work_dir, args.refit_member)
        if not found:
            raise SystemExit(f"{work_dir}: no finished fold runs ({args.refit_member}); run benchmarks.source_folds")
        total = summary([rescore_fold(run, fold_json, args.tiles_within) for run, fold_json in found])
        result["work_dirs"][work_dir] = total
        rows.append([work_dir, len(found), total["images"], total["errors_run"], total["errors_tiles"],
                     len(total["fixed"]), len(total["broken"]), total["backbone_passes_run"],
                     total["backbone_passes_tiles"]])
    print(c.table(["work dir", "folds", "images", "errors", "with tiles", "fixed", "broken", "backbone passes",
                   "with tiles"], rows, title="The member shown tiles of tall and wide unsure images"))
    print(f"results: {c.write_results('member_tiles', result)}")
    return result


if __name__ == "__main__":
    c.run_main(main)

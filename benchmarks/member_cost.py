"""What the pretrained member costs in labelling: one run with and without it, over the same images.

    python -m benchmarks.member_cost --run_dir RUN --images DIR [--copies 3] [--repeats 2] [--keep]

The baseline is the run less its pretrained member: a copy whose metadata.json drops the entry, so the network and
the trees are the same and the difference is the member alone. Give it images of sources the run never trained on
(a finished `source_folds` fold: its held_out/ folder and base/models/chart-cnn/latest) for the share of unsure images
that users' images have; images a run trained on are mostly sure and cost less. --copies links every image that many
times under other names (short runs time start-up more than labelling). Each variant is `python -m pipelines.label`
as documented, timed as fast_path times it (end to end, and steady from the `labeled_at` stamps), in the order
baseline, member, member, baseline (ABBA per repeat, so drift in the machine's load falls on both). Prints images/s,
the member's share of images re-scored and the ratios; writes benchmarks/results/member_cost.json.
"""
import argparse
import json
import os
import shutil
import statistics
import tempfile

from benchmarks import _common as c
from benchmarks.fast_path import read_jsonl, steady_rate
from core import runs

VARIANTS = ("baseline", "member")


def without_member(run_dir: str, target: str) -> str:
    """A copy of the run whose metadata has no pretrained member: the baseline."""
    shutil.copytree(run_dir, target)
    metadata = json.load(open(os.path.join(target, runs.METADATA_FILE)))
    if not metadata.pop(runs.PRETRAINED_MEMBER_KEY, None):
        raise SystemExit(f"--run_dir {run_dir} has no pretrained member to time")
    with open(os.path.join(target, runs.METADATA_FILE), "w") as f:
        json.dump(metadata, f)
    return target


def image_links(images: str, copies: int, target: str) -> int:
    """`copies` links to every file under `images` in one flat folder (labelled with --allow_outside_root); how
    many."""
    files = sorted(os.path.join(top, name) for top, _, names in os.walk(images, followlinks=True) for name in names)
    os.makedirs(target)
    for copy in range(copies):
        for i, path in enumerate(files):
            os.symlink(os.path.realpath(path), os.path.join(target, f"{copy}_{i}_{os.path.basename(path)}"))
    return copies * len(files)


def label(run_dir: str, images: str, n: int, out: str, log: str) -> dict:
    """One measured `pipelines.label` run: images/s end to end and steady, and its results."""
    m = c.run_measured([c.PYTHON, "-m", "pipelines.label", "--runner=DirectRunner", "--model_dir", run_dir,
                        "--input", os.path.join(images, "*"), "--output", out, "--allow_outside_root"], log)
    c.check(m, f"pipelines.label --model_dir {run_dir}")
    results, rejected = read_jsonl(out + "-*.jsonl"), read_jsonl(out + ".rejected-*.jsonl")
    if len(results) != n:
        raise RuntimeError(f"{len(results)} results and {len(rejected)} dead letters for {n} images; see {log}")
    return {"end_to_end": c.rate(n, m.wall_s), "steady": steady_rate(results), "wall_s": round(m.wall_s, 2),
            "cpu_s": round(m.cpu_s, 1), "loadavg_before": m.loadavg_before, "scores": [r["score"] for r in results]}


def _mean(values: list) -> float | None:
    """The mean of the figures there are (steady is None for a run of one batch)."""
    values = [v for v in values if v is not None]
    return round(statistics.mean(values), 2) if values else None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.member_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run_dir", required=True, help="a run with a pretrained member (or its `latest` file)")
    parser.add_argument("--images", required=True, help="a folder of images (searched recursively, links followed)")
    parser.add_argument("--copies", type=int, default=3, help="links to each image, under other names")
    parser.add_argument("--repeats", type=int, default=2, help="ABBA rounds: baseline, member, member, baseline")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, outputs)")
    args = parser.parse_args(argv)

    run_dir = runs.resolve_model_dir(args.run_dir)
    low, high = runs.RunMetadata.read(run_dir).pretrained_member["unsure"]
    tmp = tempfile.mkdtemp(prefix="bench_member_cost_")
    models = {"member": run_dir, "baseline": without_member(run_dir, os.path.join(tmp, "baseline"))}
    n = image_links(args.images, args.copies, os.path.join(tmp, "images"))
    timed = {variant: [] for variant in VARIANTS}
    for round_ in range(args.repeats):
        for k, variant in enumerate(("baseline", "member", "member", "baseline")):
            name = f"{variant}_{round_}_{k}"
            print(f"[{name}] {n} images ...", flush=True)
            timed[variant].append(label(models[variant], os.path.join(tmp, "images"), n,
                                        os.path.join(tmp, name, "labels"), os.path.join(tmp, "logs", f"{name}.log")))
    scores = timed["baseline"][0].pop("scores")
    rescored = sum(low <= s < high for s in scores) / len(scores)
    for runs_ in timed.values():
        for r in runs_:
            r.pop("scores", None)
    means = {v: {k: _mean([r[k] for r in timed[v]]) for k in ("end_to_end", "steady")} for v in VARIANTS}
    ratios = {k: c.ratio(means["member"][k], means["baseline"][k]) for k in ("end_to_end", "steady")}
    print(c.table(["variant", "runs", "images/s end to end", "steady"],
                  [[v, len(timed[v]), means[v]["end_to_end"], means[v]["steady"]] for v in VARIANTS],
                  title=f"{n} images ({args.copies} copies of {args.images}); the member re-scored {rescored:.1%} "
                        f"(baseline scores in [{low}, {high}))"))
    print(f"member / baseline: end to end {ratios['end_to_end']}, steady {ratios['steady']} (steady: none when a "
          "run labels one batch)")
    result = {"args": vars(args), "environment": c.environment(), "run_dir": run_dir, "images": n,
              "rescored_share": round(rescored, 4), "means": means, "ratios": ratios, "runs": timed}
    c.done(c.write_results("member_cost", result), tmp, args.keep)
    return result


if __name__ == "__main__":
    c.run_main(main)

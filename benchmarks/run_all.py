"""Run every benchmark in sequence, each in its own process (`make bench`).

    python -m benchmarks.run_all [--only fast_path,train_throughput]

Each benchmark prints its table and writes benchmarks/results/<name>.json; this runner adds
benchmarks/results/run_all.json (exit code and wall time of each) and exits non-zero if any failed.
"""
import argparse
import os
import subprocess
import sys
import time

from benchmarks import _common as c

BENCHMARKS = ("fast_path", "train_throughput")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma-separated subset of: " + ", ".join(BENCHMARKS)
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    summary = {"environment": c.environment(), "benchmarks": {}}
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([c.PYTHON, "-m", f"benchmarks.{name}"], cwd=c.ROOT, env=c.bench_env())
        wall = time.perf_counter() - t0
        summary["benchmarks"][name] = {
            "returncode": rc,
            "wall_s": round(wall, 1),
            "results": os.path.join("benchmarks", "results", f"{name}.json"),
        }
        print(f"===== {name}: rc {rc}, {wall:.0f} s =====", flush=True)
    path = c.write_results("run_all", summary)
    print()
    print(
        c.table(
            ["benchmark", "rc", "wall s"], [[n, r["returncode"], r["wall_s"]] for n, r in summary["benchmarks"].items()]
        )
    )
    print(f"summary: {path}")
    return 0 if all(r["returncode"] == 0 for r in summary["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

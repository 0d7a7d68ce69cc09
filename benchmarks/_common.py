"""What the benchmarks share: the environment record, measured subprocesses, tables, JSON.

Peak memory of a process *tree* (a Beam job in multi_processing mode is a parent plus worker
processes) is measured by polling /proc: every `poll_s` the launched process and all its
descendants are found (by parent pid) and their resident set sizes (/proc/PID/statm) summed;
the peak of that sum is `peak_tree_rss_mb`. RSS counts shared library pages once per process,
so the sum over-states what several TensorFlow processes really occupy; `peak_tree_pss_mb`
(proportional set size from /proc/PID/smaps_rollup, sampled about once a second because reading
it costs ~13 ms for a TensorFlow process) splits shared pages between processes and is the
fairer total. `max_single_rss_mb` is the kernel's ru_maxrss from wait4(): the largest single
process among the launched one and the descendants it reaped (not a sum).
"""
import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from importlib import metadata
from typing import Iterable, Iterator, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
PYTHON = sys.executable
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PACKAGES = ("tensorflow", "keras", "tf_keras", "tensorflow-transform", "tfx-bsl", "apache-beam", "numpy", "pillow", "pyarrow", "protobuf")


def bench_env(extra: Optional[dict] = None) -> dict:
    """Environment variables every benchmarked process gets: offline hub, quiet TF."""
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def environment() -> dict:
    """CPU, memory, load, OS and package versions: recorded in every result file."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    mem_total_gb = None
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
            mem_total_gb = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    commit = None
    try:  # read-only
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "mem_total_gb": mem_total_gb,
        "loadavg_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit,
    }


# ---------------------------------------------------------------- measured subprocesses

def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def _tree(root: int) -> list[int]:
    children = _children_map()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclasses.dataclass
class Measured:
    """One measured subprocess run."""

    argv: list[str]
    returncode: int
    wall_s: float
    peak_tree_rss_mb: float
    peak_tree_pss_mb: float
    max_single_rss_mb: float
    max_processes: int
    cpu_s: float  # user+sys of the tree: sampled per process (last sample), at least wait4's figure
    leftover_pids: list[int]  # descendants still alive after the launched process exited
    processes: list[str]  # command lines of every process seen in the tree (first 160 chars)
    log_path: str
    started_epoch: float
    loadavg_before: float

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def summary(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("wall_s", "peak_tree_rss_mb", "peak_tree_pss_mb", "max_single_rss_mb", "cpu_s"):
            d[k] = round(d[k], 3 if k == "wall_s" else 1)
        return d


def run_measured(argv: Sequence[str], log_path: str, env: Optional[dict] = None, cwd: str = ROOT,
                 poll_s: float = 0.2, pss_every_s: float = 1.0, timeout_s: float = 900) -> Measured:
    """Run `argv` to completion; wall clock from launch to exit, peak memory of the process tree."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    load_before = os.getloadavg()[0]
    started_epoch = time.time()
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, env=env or bench_env(), cwd=cwd)
    stop = threading.Event()
    peak = {"rss": 0, "pss": 0, "procs": 0}
    cpu_by_pid: dict[int, float] = {}
    seen: set[int] = set()
    cmdlines: dict[int, str] = {}

    def sample() -> None:
        last_pss = 0.0
        while not stop.is_set():
            pids = _tree(proc.pid)
            for p in set(pids) - seen:
                cmdlines[p] = _cmdline(p)
            seen.update(pids)
            peak["rss"] = max(peak["rss"], sum(_rss_bytes(p) for p in pids))
            peak["procs"] = max(peak["procs"], len(pids))
            for p in pids:
                c = _cpu_seconds(p)
                if c:
                    cpu_by_pid[p] = max(cpu_by_pid.get(p, 0.0), c)
            now = time.perf_counter()
            if now - last_pss >= pss_every_s:
                peak["pss"] = max(peak["pss"], sum(_pss_bytes(p) for p in pids))
                last_pss = now
            stop.wait(poll_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    deadline = time.monotonic() + timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    leftovers = sorted(p for p in seen if p != proc.pid and os.path.exists(f"/proc/{p}") and _is_descendant_cmd(p))
    sampled_cpu = sum(cpu_by_pid.values())
    return Measured(
        argv=list(argv), returncode=proc.returncode, wall_s=wall,
        peak_tree_rss_mb=peak["rss"] / 2**20, peak_tree_pss_mb=peak["pss"] / 2**20,
        max_single_rss_mb=usage.ru_maxrss / 1024, max_processes=peak["procs"],
        cpu_s=max(sampled_cpu, usage.ru_utime + usage.ru_stime), leftover_pids=leftovers,
        processes=[cmdlines[p] for p in sorted(cmdlines)], log_path=log_path, started_epoch=started_epoch, loadavg_before=load_before,
    )


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160]
    except OSError:
        return ""


def _is_descendant_cmd(pid: int) -> bool:
    """A pid seen in the tree that still exists and is still a python process (not a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"python" in f.read()
    except OSError:
        return False


class CommandFailed(RuntimeError):
    """A measured command exited non-zero."""


def check(m: Measured, what: str) -> None:
    if m.returncode != 0:
        raise CommandFailed(f"{what} exited with {m.returncode}\n  command: {' '.join(m.argv)}\n  log: {m.log_path}\n"
                            f"--- last 30 lines (stdout and stderr) ---\n{m.log_tail()}")


def ingest_cmd(config: str, output_dir: str, *extra: str) -> list[str]:
    """The documented ingest command."""
    return [PYTHON, "-m", "pipelines.ingest", "--runner=DirectRunner", f"--config={config}", f"--output_dir={output_dir}", *extra]


_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def log_time(log_path: str, pattern: str, last: bool = False) -> Optional[float]:
    """Epoch seconds of the first (or last) log line containing `pattern` (cli.setup_logging's format)."""
    found = None
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                if pattern in line:
                    match = _LOG_TIME.match(line)
                    if match:
                        found = datetime.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                        if not last:
                            return found
    except OSError:
        pass
    return found


def phases(m: Measured, start_pattern: str, end_pattern: str) -> dict:
    """Launch -> first `start_pattern` log line (imports, options) -> last `end_pattern` line
    (the pipeline) -> exit (teardown), in seconds; None where a line is missing."""
    start, end = log_time(m.log_path, start_pattern), log_time(m.log_path, end_pattern, last=True)
    if start is None or end is None:
        return {"startup_s": None, "pipeline_s": None, "teardown_s": None}
    exit_epoch = m.started_epoch + m.wall_s
    return {"startup_s": round(start - m.started_epoch, 2), "pipeline_s": round(end - start, 2), "teardown_s": round(exit_epoch - end, 2)}


# ---------------------------------------------------------------- output

def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def rate(n: int, seconds: Optional[float]) -> Optional[float]:
    return round(n / seconds, 1) if seconds and seconds > 0 else None


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a / b, 3) if a and b else None


def table(headers: Sequence[str], rows: Sequence[Sequence], title: str = "") -> str:
    """A plain fixed-width table (first column left-aligned, the rest right-aligned)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
    out = ([title] if title else []) + [line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    return "\n".join(out)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def write_results(name: str, result: dict) -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
    return path


def finish(code: int = 0) -> None:
    """Run the exit handlers, flush and leave without interpreter teardown (a process that
    touched tf.Transform can segfault at exit after finishing correctly; see pipelines/cli.py)."""
    from pipelines import cli

    cli.exit_now(code)


def render_demo_folder(prefix: str, size: int, seed: int) -> tuple[str, str, dict, float]:
    """A new temporary folder and demo images rendered once into its images/ (rendering is
    excluded from every measured figure): (folder, images folder, counts by label, seconds)."""
    from pipelines.demo_data import write_demo_folder

    tmp = tempfile.mkdtemp(prefix=prefix)
    root = os.path.join(tmp, "images")
    print(f"Rendering {size} demo images (seed {seed}) into {root} ...", flush=True)
    t0 = time.perf_counter()
    counts = write_demo_folder(root, size, seed=seed)
    return tmp, root, counts, time.perf_counter() - t0


def read_and_prepare(paths: Iterable[str], timings: dict) -> Iterator[tuple[str, Optional[object]]]:
    """(path, transforms.image.prepare_image of its bytes, or None where rejected) for each file, for
    the plain-Python baselines; the time spent goes to timings["read_s"] and timings["prepare_s"]."""
    from transforms.image import RejectedImage, prepare_image

    for path in paths:
        t = time.perf_counter()
        with open(path, "rb") as f:
            data = f.read()
        timings["read_s"] += time.perf_counter() - t
        t = time.perf_counter()
        try:
            prepared = prepare_image(data)
        except RejectedImage:
            prepared = None
        timings["prepare_s"] += time.perf_counter() - t
        yield path, prepared


def batches(items: Iterable, size: int) -> Iterator[list]:
    """Lists of `size` items (the last may be shorter)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def folder_bytes(root: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files)


# ---------------------------------------------------------------- variants: 1-image start-up run, N-image runs

def variants_parser(name: str, doc: str, images: int, seed: int, seed_help: str) -> argparse.ArgumentParser:
    """The options the ingest and labelling benchmarks share (and the hidden --_profile worker flag)."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=doc.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=images)
    parser.add_argument("--seed", type=int, default=seed, help=seed_help)
    parser.add_argument("--repeats", type=int, default=2, help="N-image runs per variant, interleaved (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="--direct_num_workers of the multi_processing variant")
    parser.add_argument("--no_profile", action="store_true", help="skip the cProfile run of the in-process pipeline")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, outputs)")
    parser.add_argument("--_profile", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def parse_variant_args(parser: argparse.ArgumentParser, argv, profile_worker) -> argparse.Namespace:
    """Parse; a `--_profile` worker subprocess (profile_run) does its work here and exits."""
    args = parser.parse_args(argv)
    if args._profile is not None:
        worker_done("PROFILE_JSON ", profile_worker(args._profile))
    return args


def run_variants(variants: dict, one_input: str, n_input: str, n_images: int, repeats: int, tmp: str, describe) -> dict:
    """Measure each variant: a 1-image start-up run, then `repeats` N-image runs interleaved
    across variants (a, b, c, a, b, c, ...) so that background load hits them alike.

    `variants`: name -> `cmd(input_root, output) -> argv`; a run that fails raises CommandFailed.
    `describe(name, measured, output, n)` -> extra fields of a run (outputs checked, phases, ...).
    """
    logs = os.path.join(tmp, "logs")
    ones = {}
    for name, cmd in variants.items():
        print(f"[{name}] 1-image start-up run ...", flush=True)
        out = os.path.join(tmp, f"{name}_1", "out")
        m1 = run_measured(cmd(one_input, out), os.path.join(logs, f"{name}_1.log"))
        check(m1, f"{name} (1 image)")
        ones[name] = m1.summary() | describe(name, m1, out, 1)
    full: dict[str, list] = {name: [] for name in variants}
    for r in range(repeats):
        for name, cmd in variants.items():
            print(f"[{name}] {n_images}-image run {r + 1}/{repeats} ...", flush=True)
            out = os.path.join(tmp, f"{name}_n{r}", "out")
            m = run_measured(cmd(n_input, out), os.path.join(logs, f"{name}_n{r}.log"))
            check(m, f"{name} ({n_images} images)")
            full[name].append(m.summary() | describe(name, m, out, n_images) | {"output": out})
    results = {}
    for name, runs in full.items():
        one = ones[name]
        t_n, t_1 = median([e["wall_s"] for e in runs]), one["wall_s"]
        cpu_n = median([e["cpu_s"] for e in runs])
        # Subtracting a start-up that is most of the run amplifies noise: report it, flagged.
        steady = rate(n_images - 1, t_n - t_1) if t_n > t_1 else None
        reliable = steady is not None and (t_n - t_1) >= 0.5 * t_1
        results[name] = {
            "command": " ".join(runs[0]["argv"]),
            "one_image": one,
            "runs": runs,
            "median_wall_s": round(t_n, 3),
            "startup_wall_s": round(t_1, 3),
            "images_per_s_end_to_end": rate(n_images, t_n),
            "images_per_s_excluding_startup": steady,
            "excluding_startup_reliable": reliable,
            "cpu_s_total": round(cpu_n, 1),
            "cpu_ms_per_image_excluding_startup": round(1000 * (cpu_n - one["cpu_s"]) / (n_images - 1), 1),
            "peak_tree_rss_mb": max(e["peak_tree_rss_mb"] for e in runs),
            "peak_tree_pss_mb": max(e["peak_tree_pss_mb"] for e in runs),
            "max_single_rss_mb": max(e["max_single_rss_mb"] for e in runs),
            "max_processes": max(e["max_processes"] for e in runs),
            "loadavg_before_runs": [round(e["loadavg_before"], 2) for e in runs],
        }
        leftovers = sorted({p for e in runs for p in e["leftover_pids"]})
        if leftovers:
            results[name]["leftover_worker_pids"] = leftovers
    return results


def ratios_to_baseline(runs: dict, baseline: dict, shorts: dict, base: str) -> dict:
    """Speed ratios of each variant (name -> short name in `shorts`) to the baseline variant."""
    ratios = {}
    for name, short in shorts.items():
        r = runs[name]
        ratios[f"{short}_over_{base}_end_to_end"] = ratio(r["images_per_s_end_to_end"], baseline["images_per_s_end_to_end"])
        ratios[f"{short}_over_{base}_excluding_startup"] = ratio(r["images_per_s_excluding_startup"], baseline["images_per_s_excluding_startup"])
        ratios[f"{short}_excluding_startup_over_{base}_loop_only"] = ratio(r["images_per_s_excluding_startup"], baseline["images_per_s_loop_only"])
        ratios[f"{base}_cpu_per_image_over_{short}"] = ratio(baseline["cpu_ms_per_image_excluding_startup"], r["cpu_ms_per_image_excluding_startup"])
    return ratios


def steady_cell(result: dict):
    """The 'excluding start-up' figure for a table; starred where the work was under half the start-up."""
    value = result["images_per_s_excluding_startup"]
    if value is None or result["excluding_startup_reliable"]:
        return value
    return f"{value:,.1f}*"


STEADY_FOOTNOTE = ("* start-up (the 1-image run) was over 2/3 of the N-image run, so its run-to-run noise swamps the "
                   "difference: trust CPU ms/img instead")


def print_variants(runs: dict, title: str, n_images: int, repeats: int, env_info: dict, extra: Sequence[tuple[str, str]] = ()) -> None:
    """The variants' table (`extra`: (header, result key) columns after 'img/s excl start-up'),
    its footnote and a note for any worker process left alive."""
    headers = ["variant", f"wall {n_images} img s", "wall 1 img s", "img/s e2e", "img/s excl start-up", *(h for h, _ in extra),
               "img/s loop only", "CPU ms/img marginal", "peak RSS MB", "peak PSS MB", "procs"]
    rows = [[name, r["median_wall_s"], r["startup_wall_s"], r["images_per_s_end_to_end"], steady_cell(r), *(r[k] for _, k in extra),
             r.get("images_per_s_loop_only"), r["cpu_ms_per_image_excluding_startup"], r["peak_tree_rss_mb"], r["peak_tree_pss_mb"], r["max_processes"]]
            for name, r in runs.items()]
    print()
    print(table(headers, rows, title=f"{title} (median of {repeats}; start-up = 1-image run; {env_info['cpus_usable']} CPUs, "
                                     f"load avg {env_info['loadavg_at_start'][0]:.1f} at start)"))
    if any(not r["excluding_startup_reliable"] for r in runs.values()):
        print(STEADY_FOOTNOTE)
    for name, r in runs.items():
        if r.get("leftover_worker_pids"):
            print(f"NOTE {name}: worker processes still alive after exit: {r['leftover_worker_pids']}")


# ---------------------------------------------------------------- subprocess workers, profiles, main

def worker_done(marker: str, result: dict) -> None:
    """End a worker subprocess: its result as JSON on a line starting with `marker` (read_marked_json)."""
    print(marker + json.dumps(result))
    finish(0)


def read_marked_json(log_path: str, marker: str) -> dict:
    """The JSON a worker printed on a line starting with `marker`."""
    with open(log_path, errors="replace") as f:
        for line in f:
            if line.startswith(marker):
                return json.loads(line[len(marker):])
    raise RuntimeError(f"no {marker} line in {log_path}")


def write_profile(profiler, name: str) -> None:
    """benchmarks/results/<name>_profile.prof, and .txt: the top 80 functions by cumulative time."""
    import io
    import pstats

    os.makedirs(RESULTS_DIR, exist_ok=True)
    profiler.dump_stats(os.path.join(RESULTS_DIR, f"{name}_profile.prof"))
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(80)
    with open(os.path.join(RESULTS_DIR, f"{name}_profile.txt"), "w") as f:
        f.write(text.getvalue())


def profile_run(name: str, pipeline_args: Sequence[str], tmp: str) -> dict:
    """`python -m benchmarks.<name> --_profile <pipeline args>` (the pipeline's run() under cProfile)."""
    print("Profiling the in-process pipeline (cProfile) ...", flush=True)
    m = run_measured([PYTHON, "-m", f"benchmarks.{name}", "--_profile", "--runner=DirectRunner", *pipeline_args],
                     os.path.join(tmp, "logs", "profile.log"))
    check(m, "profile run")
    return read_marked_json(m.log_path, "PROFILE_JSON ") | {
        "wall_s": round(m.wall_s, 2), "note": "times under cProfile (inflated, compare shares not absolute values)",
        "files": [f"benchmarks/results/{name}_profile.prof", f"benchmarks/results/{name}_profile.txt"]}


def done(path: str, tmp: str, keep: bool) -> None:
    """Say where the results are; remove the temporary folder unless `keep`."""
    print(f"results: {path}")
    if keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def run_main(main) -> None:
    """`main(sys.argv[1:])`, then exit: 0, or 1 with what failed (a command: its output's tail)."""
    try:
        main(sys.argv[1:])
    except CommandFailed as err:
        print(f"\nBENCHMARK FAILED: {err}", file=sys.stderr)
        finish(1)
    except Exception:
        traceback.print_exc()
        finish(1)
    finish(0)

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
import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
from importlib import metadata
from typing import Iterable, Iterator, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
PYTHON = sys.executable
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PACKAGES = (
    "tensorflow",
    "keras",
    "tf_keras",
    "tensorflow-transform",
    "tfx-bsl",
    "apache-beam",
    "numpy",
    "pillow",
    "pyarrow",
    "protobuf",
)


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
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
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
        argv=list(argv),
        returncode=proc.returncode,
        wall_s=wall,
        peak_tree_rss_mb=peak["rss"] / 2**20,
        peak_tree_pss_mb=peak["pss"] / 2**20,
        max_single_rss_mb=usage.ru_maxrss / 1024,
        max_processes=peak["procs"],
        cpu_s=max(sampled_cpu, usage.ru_utime + usage.ru_stime),
        leftover_pids=leftovers,
        processes=[cmdlines[p] for p in sorted(cmdlines)],
        log_path=log_path,
        started_epoch=started_epoch,
        loadavg_before=load_before,
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
    return [
        PYTHON,
        "-m",
        "pipelines.ingest",
        "--runner=DirectRunner",
        f"--config={config}",
        f"--output_dir={output_dir}",
        *extra,
    ]


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
    return {
        "startup_s": round(start - m.started_epoch, 2),
        "pipeline_s": round(end - start, 2),
        "teardown_s": round(exit_epoch - end, 2),
    }


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

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

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


# ---------------------------------------------------------------- subprocess workers, main

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

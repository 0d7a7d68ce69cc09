"""Load test of `pipelines.serve` on 127.0.0.1: N concurrent clients upload real-size images for S seconds.

    python -m benchmarks.serve_load [--clients 16] [--seconds 30] [--images 200]

Each client (asyncio + httpx, one process beside the server) loops: POST /predict with one image
of the fast-path set (1-2 MP screenshots, mostly PNG) as a multipart upload, as a remote user's
script would. Two server settings are run back to back: concurrent requests batched into one model
call (the default, --max_batch 64) and one model call per request (--max_batch 1). Prints requests/s,
p50/p99 latency and errors per setting; writes benchmarks/results/serve_load.json.
"""
import argparse
import asyncio
import os
import socket
import subprocess
import tempfile
import time

import httpx

from benchmarks import _common as c
from benchmarks import fast_path

NAME = "serve_load"
SET_SIZE = 2000  # the fast-path benchmark's set (cached)
SETTINGS = {"batched": ["--max_batch", "64"], "one_per_call": ["--max_batch", "1"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _client(
    url: str, images: list[tuple[str, bytes]], start: int, stop_at: float, latencies: list, errors: list
) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        k = start
        while time.monotonic() < stop_at:
            name, data = images[k % len(images)]
            k += 1
            t0 = time.monotonic()
            try:
                response = await client.post(f"{url}/predict", files={"file": (name, data)})
                ok = response.status_code == 200
            except httpx.HTTPError as err:
                ok, response = False, err
            (latencies if ok else errors).append(time.monotonic() - t0 if ok else str(response)[:200])


async def _load(url: str, images: list, clients: int, seconds: float) -> dict:
    latencies, errors = [], []
    started = time.monotonic()
    await asyncio.gather(*(_client(url, images, i * 7, started + seconds, latencies, errors) for i in range(clients)))
    wall = time.monotonic() - started
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None  # noqa: E731
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "wall_s": round(wall, 1),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }


def _serve(run_dir: str, extra: list[str], log_path: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    log = open(log_path, "w")
    process = subprocess.Popen([c.PYTHON, "-m", "pipelines.serve", "--model_dir", run_dir, "--port", str(port), *extra],
                               cwd=c.ROOT, env=c.bench_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the server did not start; see {log_path}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--images", type=int, default=200, help="distinct images the clients cycle through")
    parser.add_argument("--cache_dir", default=os.path.expanduser("~/.cache/chart_sifter_bench"))
    args = parser.parse_args(argv)
    os.makedirs(args.cache_dir, exist_ok=True)
    logs = tempfile.mkdtemp(prefix="serve_load-")
    folder, mix = fast_path.image_set(args.cache_dir, SET_SIZE)
    run_dir = fast_path.trained_model(args.cache_dir, logs)
    files = fast_path.listing(folder)
    files = files[:: max(1, len(files) // args.images)][: args.images]  # both labels, every format
    images = [(os.path.basename(path), open(path, "rb").read()) for _, path in files]
    result = {
        "environment": c.environment(),
        "clients": args.clients,
        "seconds": args.seconds,
        "images": len(images),
        "image_mb_mean": round(sum(len(d) for _, d in images) / len(images) / 2**20, 3),
        "set": mix,
        "settings": {},
    }
    for name, extra in SETTINGS.items():
        process, url = _serve(run_dir, extra, os.path.join(logs, f"{name}.log"))
        try:
            asyncio.run(_load(url, images[:16], 4, 3.0))  # warm-up: first calls trace the model
            result["settings"][name] = asyncio.run(_load(url, images, args.clients, args.seconds))
        finally:
            process.terminate()
            process.wait(30)
        print(f"{name}: {result['settings'][name]}", flush=True)
    rows = [
        [name, r["requests_per_s"], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["errors"]]
        for name, r in result["settings"].items()
    ]
    print(
        c.table(
            ["server", "requests/s", "p50 ms", "p90 ms", "p99 ms", "errors"],
            rows,
            f"{args.clients} clients x {args.seconds:.0f} s, one image per request ({result['image_mb_mean']} MB mean)",
        )
    )
    print(f"results: {c.write_results(NAME, result)}")
    return result


if __name__ == "__main__":
    c.run_main(main)

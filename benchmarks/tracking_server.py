#!/usr/bin/env python
"""Compare HTTP servers for the MLflow tracking server: uvicorn vs gunicorn, same workers.

Starts `mlflow server` on 127.0.0.1 (sqlite backend in a temp dir unless --backend-store-uri),
then for each server kind runs a bounded mixed load — log_metric writes, run reads,
experiment searches, registry searches — from N client threads and prints req/s and latency
percentiles. Nothing is asserted: it prints numbers.

Example: python -m benchmarks.tracking_server --seconds 10 --connections 8 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.support.processes import ServerProcess, python_env


def start_server(kind: str, workers: int, store: str, artifacts: str,
                 log_path: Path) -> tuple[ServerProcess, float]:
    """`mlflow server` behind ``kind`` on a free port; it and its seconds to /health."""
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store,
           "--artifacts-destination", artifacts, "--host", "127.0.0.1", "--port", "{port}"]
    if kind == "gunicorn":
        cmd += ["--gunicorn-opts", f"--workers {workers} --timeout 120"]
    else:
        cmd += ["--workers", str(workers)]
    server = ServerProcess(cmd, python_env(), log_path)
    try:
        server.wait_ready(120, path="/health")
    except RuntimeError as exc:
        raise SystemExit(f"{kind} server did not start: {exc}") from None
    return server, time.monotonic() - server.started


def load(url: str, seconds: float, connections: int) -> dict:
    api = url + "/api/2.0/mlflow"
    exp = requests.post(api + "/experiments/create", json={"name": f"bench-{time.time()}"},
                        timeout=10).json()["experiment_id"]
    run = requests.post(api + "/runs/create", json={"experiment_id": exp},
                        timeout=10).json()["run"]["info"]["run_id"]
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(i: int):
        s = requests.Session()
        n = 0
        mine = []
        while time.monotonic() < stop:
            n += 1
            t = time.perf_counter()
            match n % 4:
                case 0:
                    r = s.post(api + "/runs/log-metric", json={
                        "run_id": run, "key": f"m{i}", "value": n, "timestamp": 0, "step": n},
                        timeout=30)
                case 1:
                    r = s.get(api + "/runs/get", params={"run_id": run}, timeout=30)
                case 2:
                    r = s.post(api + "/experiments/search", json={"max_results": 10}, timeout=30)
                case _:
                    r = s.get(api + "/registered-models/search", timeout=30)
            mine.append(time.perf_counter() - t)
            if r.status_code != 200:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    return {"req/s": len(lat) / seconds, "p50 ms": pct(0.5), "p99 ms": pct(0.99),
            "errors": errors[0]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10, help="load duration per server kind")
    p.add_argument("--connections", type=int, default=8, help="concurrent client threads")
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument("--backend-store-uri", help="default: sqlite in a temp dir")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("uvicorn", "gunicorn"):
            store = args.backend_store_uri or f"sqlite:///{tmp}/{kind}.db"
            server, start = start_server(kind, args.workers, store, f"{tmp}/artifacts",
                                         Path(tmp) / f"{kind}.log")
            try:
                load(server.url, 1, args.connections)  # warm-up
                r = load(server.url, args.seconds, args.connections)
            finally:
                server.stop()
            rows.append((kind, start, r))
    print(f"\nMLflow server, {args.workers} workers, {args.connections} connections, "
          f"{args.seconds:.0f} s mixed load\n")
    print("| server | start → /health (s) | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for kind, start, r in rows:
        print(f"| {kind} | {start:.1f} | {r['req/s']:.0f} | {r['p50 ms']:.1f} | "
              f"{r['p99 ms']:.1f} | {r['errors']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

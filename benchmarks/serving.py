#!/usr/bin/env python
"""Side-by-side serving benchmark: `mlflow models serve` vs this stack's engines, one run.

Same machine, same model, same request, engines alternated per model:

  mlflow   plain `mlflow models serve -m models:/NAME@production --env-manager local` (the
           reference: MLflow's FastAPI scoring server, its default single uvicorn worker)
  fast     `python -m services.serving` (SERVING_ENGINE=fast, the compose default): workers
           and threads from the CPU count, exact fast paths, micro-batching `auto`
  fast+batch  the fast engine with SERVING_BATCHING=on (HF only: torch batches are not
           bit-identical to single rows, so `auto` leaves batching off for it)
  before   with --baseline-src DIR: the fast engine of another checkout (PYTHONPATH=DIR), e.g.
           the code before a change, side by side in the same run:
             git worktree add --detach /tmp/serving-before 3e34714
             python -m benchmarks.serving --baseline-src /tmp/serving-before
  bare     the ceiling: a bare uvicorn app (httptools + uvloop, as many workers as the fast
           engine and its uvicorn settings) that reads the body and answers a constant — what
           the server alone costs, with no model, parsing, routing or metrics

Models (logged into a temporary sqlite store, registered with alias `production`): the wine
ElasticNet (sklearn), the same ElasticNet as ONNX, and the tiny random-init HF text classifier
(built locally, no hub). For every (model, engine): process start → first 200 on
/invocations, then wrk on 127.0.0.1 at 1 and at 8 connections for --duration seconds each:
req/s, p50, p99, non-2xx; and resident memory of the serving processes (per worker and in
total). Before the load, every engine's answer to the benchmark body is compared with the
reference's: identical bytes, or the script says where they differ.

Bounded: each load run stops after --duration seconds; servers are killed at the end (or on
Ctrl-C). Needs `wrk` (apt-get install wrk) and the extras: pip install -e '.[all]'.

  python -m benchmarks.serving                    # all three models, 10 s per load run
  python -m benchmarks.serving --models wine --duration 5 --json bench.json
  python -m benchmarks.serving --models wine --engines fast before bare --baseline-src DIR
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.serving.settings import cpu_count  # noqa: E402 — the SERVING_WORKERS default
from tests.support.net import free_port  # noqa: E402 — after the path setup above
from tests.support.processes import (  # noqa: E402
    ServerProcess,
    mlflow_models_serve,
    python_env,
)

WINE_BODY = {"dataframe_split": {
    "columns": ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
                "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates",
                "alcohol"],
    "data": [[6.2, 0.66, 0.48, 1.2, 0.029, 29, 75, 0.98, 3.33, 0.39, 12.8]]}}
HF_BODY = {"inputs": ["the plot was thin but the acting was a delight"]}

MODELS = {  # name -> (registered model, request body, engine variants)
    "wine": ("bench-wine", WINE_BODY, ("mlflow", "before", "fast", "bare")),
    "wine-onnx": ("bench-wine-onnx", WINE_BODY, ("mlflow", "before", "fast", "bare")),
    "hf": ("bench-hf", HF_BODY, ("mlflow", "before", "fast", "fast+batch")),
}
ENGINES = ("mlflow", "before", "fast", "fast+batch", "bare")

# The bare app's answer: as long as a one-row prediction, so both send the same bytes.
BARE_ANSWER = b'{"predictions": [5.573264563191282]}'


async def bare_app(scope, receive, send):
    """The ceiling row's app: read the body (as every engine must), answer a constant."""
    if scope["type"] != "http":
        return
    message = await receive()
    while message.get("more_body"):
        message = await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BARE_ANSWER)).encode())]})
    await send({"type": "http.response.body", "body": BARE_ANSWER})


@dataclass
class Load:
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


@dataclass
class Result:
    model: str
    engine: str
    start_to_first_200_s: float
    processes: int
    rss_total_mib: float
    rss_per_worker_mib: float
    same_answer_as_mlflow: bool | None
    loads: list[Load] = field(default_factory=list)


# --- models -----------------------------------------------------------------------------------


def log_models(store: Path, wanted: list[str]) -> str:
    """Log the benchmark models into a fresh sqlite store; returns its tracking URI."""
    import mlflow

    uri = f"sqlite:///{store}/mlflow.db"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    os.chdir(store)  # ./mlruns artifacts land in the temporary directory
    from wrappers import onnx, wine

    for name in wanted:
        registered = MODELS[name][0]
        t = time.monotonic()
        if name == "wine":
            wine.log_model(register_as=registered, alias="production", experiment="bench")
        elif name == "wine-onnx":
            onnx.log_wine_model(register_as=registered, alias="production", experiment="bench")
        elif name == "hf":
            from wrappers import hf

            tiny = hf.build_tiny_text_classifier(store / "tiny-hf")
            hf.log_model(str(tiny), register_as=registered, alias="production",
                         experiment="bench")
        print(f"logged {registered}@production in {time.monotonic() - t:.1f}s", flush=True)
    return uri


# --- servers ----------------------------------------------------------------------------------


class Server(ServerProcess):
    def __init__(self, engine: str, registered: str, uri: str, workdir: Path,
                 baseline_src: Path | None = None):
        self.engine, port = engine, free_port()
        env = {k: v for k, v in python_env(MLFLOW_TRACKING_URI=uri).items()
               if not k.startswith("SERVING_") and k != "MLFLOW_REGISTRY_URI"}
        src = baseline_src if engine == "before" else REPO
        env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
        if engine == "mlflow":
            cmd = mlflow_models_serve(f"models:/{registered}@production", port)
        elif engine == "bare":
            cmd = [sys.executable, "-m", "uvicorn", "benchmarks.serving:bare_app",
                   "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(cpu_count()), "--loop", "uvloop", "--http", "httptools",
                   # The serving workers' uvicorn settings (services/serving/worker.py).
                   "--lifespan", "off", "--no-access-log", "--no-server-header",
                   "--no-proxy-headers",
                   "--log-level", "warning"]
        else:
            cmd = [sys.executable, "-m", "services.serving"]
            env.update(SERVING_MODEL_NAME=registered, SERVING_HOST="127.0.0.1",
                       SERVING_PORT=str(port), SERVING_ENGINE="fast",
                       SERVING_LOG_LEVEL="WARNING",
                       SERVING_BATCHING="on" if engine == "fast+batch" else "auto")
        super().__init__(cmd, env, workdir / f"{engine}-{registered}.log", port=port)

    def wait_first_200(self, body: dict, timeout: float) -> float:
        """Seconds from process start to the first 200 answer to `body`."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.engine} exited with {self.proc.returncode}:\n"
                                   f"{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                r = requests.post(self.url + "/invocations", json=body, timeout=10)
                if r.status_code == 200:
                    return time.monotonic() - self.started
            time.sleep(0.05)
        raise RuntimeError(f"{self.engine} gave no 200 within {timeout:.0f}s:\n"
                           f"{self.log_path.read_text()[-3000:]}")

    def processes(self) -> list[int]:
        """The server's process tree (pids)."""
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    todo.extend(int(p) for p in task.read_text().split())
        return pids

    def memory(self) -> tuple[int, float, float]:
        """(serving processes, total RSS MiB, RSS per serving worker MiB).

        Workers are the processes that hold a model: for `mlflow models serve` the uvicorn
        process (its parent only execs it), for the fast engine the spawned workers (the
        supervisor only binds and polls).
        """
        rss = {}
        for pid in self.processes():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                rss[pid] = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024
        total = sum(rss.values())
        workers = [v for pid, v in rss.items() if pid != self.proc.pid] or list(rss.values())
        return len(rss), total, max(workers)


# --- load -------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url: str, body: dict, connections: int, duration: float, workdir: Path) -> Load:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n")
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration:g}s", "--latency",
         "--timeout", "10s", "-s", str(script), url + "/invocations"],
        capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    reqs = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    return Load(connections=connections,
                rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                p50_ms=_ms(pct["50"]), p99_ms=_ms(pct["99"]),
                requests=int(reqs.group(1)) if reqs else 0,
                non_2xx=int(non2xx.group(1)) if non2xx else 0,
                socket_errors=sum(map(int, errors.groups())) if errors else 0)


# --- report -----------------------------------------------------------------------------------


def table(results: list[Result], conns: list[int]) -> str:
    head = ["model", "engine"]
    for c in conns:
        head += [f"req/s @{c}", f"p50 ms @{c}", f"p99 ms @{c}"]
    head += ["vs mlflow @8" if 8 in conns else "vs mlflow",
             "vs bare @8" if 8 in conns else "vs bare", "RSS/worker MiB", "procs",
             "start→200 s", "same answer"]
    rows = [head, ["---"] * len(head)]
    base = {r.model: r for r in results if r.engine == "mlflow"}
    ceiling = {r.model: r for r in results if r.engine == "bare"}
    for r in results:
        row = [r.model, r.engine]
        for load in r.loads:
            bad = f" ({load.non_2xx + load.socket_errors} err)" \
                if load.non_2xx or load.socket_errors else ""
            row += [f"{load.rps:,.0f}{bad}", f"{load.p50_ms:.2f}", f"{load.p99_ms:.2f}"]
        ref = base.get(r.model)
        ratio = ""
        if ref and ref.loads and r.loads and r.engine != "bare":
            ratio = f"{r.loads[-1].rps / ref.loads[-1].rps:.1f}x"
        top = ceiling.get(r.model)
        of_bare = ""
        if top and top.loads and r.loads:
            of_bare = f"{r.loads[-1].rps / top.loads[-1].rps:.0%}"
        same = "—" if r.same_answer_as_mlflow is None else \
            ("yes" if r.same_answer_as_mlflow else "NO")
        row += [ratio, of_bare, f"{r.rss_per_worker_mib:.0f}", str(r.processes),
                f"{r.start_to_first_200_s:.1f}", same]
        rows.append(row)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark `mlflow models serve` against the stack's fast serving engine "
                    "(wine sklearn, wine ONNX, HF text classifier) on 127.0.0.1 and print a "
                    "markdown table.")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="models to benchmark (default: all)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="rows to run, where a model has them (default: all; `before` "
                             "only with --baseline-src)")
    parser.add_argument("--baseline-src", type=Path,
                        help="a checkout whose fast engine is benchmarked as `before` (run "
                             "with PYTHONPATH=DIR), e.g. a `git worktree add` of an older "
                             "commit")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per load run (default 10)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8],
                        help="connection counts to load with (default: 1 8)")
    parser.add_argument("--start-timeout", type=float, default=300.0,
                        help="seconds a server may take to answer its first request")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary store and server logs")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        parser.error("wrk is not installed: apt-get install wrk")
    if args.baseline_src is not None:
        args.baseline_src = args.baseline_src.resolve()
        if not (args.baseline_src / "services" / "serving").is_dir():
            parser.error(f"--baseline-src {args.baseline_src} has no services/serving: give "
                         "a checkout of this repository (git worktree add DIR COMMIT)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    cwd = os.getcwd()
    results: list[Result] = []
    try:
        uri = log_models(workdir, args.models)
        print(f"{os.cpu_count()} CPUs; {args.duration:g}s per load run; store {uri}", flush=True)
        for name in args.models:
            registered, body, engines = MODELS[name]
            reference_answer = None
            for engine in engines:
                if engine not in args.engines or \
                        (engine == "before" and args.baseline_src is None):
                    continue
                server = Server(engine, registered, uri, workdir, args.baseline_src)
                try:
                    started = server.wait_first_200(body, args.start_timeout)
                    answer = requests.post(server.url + "/invocations", json=body,
                                           timeout=10).content
                    if engine == "mlflow":
                        reference_answer, same = answer, None
                    elif engine == "bare":
                        same = None  # a constant, by design
                    else:
                        same = reference_answer is None or answer == reference_answer
                        if not same:
                            print(f"  {name}/{engine} answers {answer[:200]!r}, mlflow "
                                  f"{reference_answer[:200]!r}", flush=True)
                    loads = []
                    for conns in args.connections:
                        load = wrk(server.url, body, conns, args.duration, workdir)
                        loads.append(load)
                        print(f"  {name:9} {engine:10} @{conns}: {load.rps:8,.0f} req/s  "
                              f"p50 {load.p50_ms:7.2f} ms  p99 {load.p99_ms:7.2f} ms"
                              + (f"  {load.non_2xx} non-2xx" if load.non_2xx else ""),
                              flush=True)
                    procs, total, per_worker = server.memory()
                    results.append(Result(name, engine, started, procs, total, per_worker,
                                          same, loads))
                finally:
                    server.stop()
    finally:
        os.chdir(cwd)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(table(results, args.connections))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
        print(f"wrote {args.json}")
    bad = [r for r in results if r.same_answer_as_mlflow is False and r.engine == "fast"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

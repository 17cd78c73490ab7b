"""Prometheus metrics of a serving container (GET /metrics on any worker).

Workers are separate processes; with PROMETHEUS_MULTIPROC_DIR set (the supervisor sets it to
a fresh directory before starting them) every process writes its samples there and /metrics
sums them, so a scrape sees the whole container whichever worker answers it.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "serving_requests_total", "HTTP requests by path and status code", ["path", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "serving_request_duration_seconds", "Time from request start to response sent, /invocations",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
             10, 30, 60),
    registry=REGISTRY,
)
PREDICTIONS = Counter(
    "serving_predictions_total",
    "Successful /invocations by the path that answered: sklearn / onnx / pyfunc-frame (numeric "
    "fast paths), batched (micro-batching), mlflow (MLflow's own parsing + pyfunc.predict), "
    "proxy (mlflow engine)",
    ["route"], registry=REGISTRY,
)
BATCH_ROWS = Histogram(
    "serving_batch_rows", "Rows per micro-batched predict call",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=REGISTRY,
)
MODEL_INFO = Gauge(
    "serving_model_info", "1 for the model version a worker serves (one series per worker)",
    ["model", "alias", "version", "engine"], registry=REGISTRY, multiprocess_mode="liveall",
)
SWITCHES = Counter(
    "serving_model_switches_total", "Alias moves followed (first load included)",
    registry=REGISTRY,
)
SWITCH_SECONDS = Gauge(
    "serving_model_switch_seconds", "Duration of the last switch: download, load and warm-up "
    "in every worker, activation", registry=REGISTRY, multiprocess_mode="mostrecent",
)

_request_children: dict[tuple[str, int], object] = {}
_known_paths = frozenset({"/invocations", "/ping", "/health", "/version", "/metrics"})


def observe_request(path: str, status: int, started: float) -> None:
    """Count one request (unknown paths as "other", so scanners cannot blow up the labels)."""
    key = (path if path in _known_paths else "other", status)
    child = _request_children.get(key)
    if child is None:
        child = _request_children[key] = REQUESTS.labels(key[0], str(status))
    child.inc()
    if path == "/invocations":
        LATENCY.observe(time.perf_counter() - started)


_route_children: dict[str, object] = {}


def count_prediction(route: str) -> None:
    child = _route_children.get(route)
    if child is None:
        child = _route_children[route] = PREDICTIONS.labels(route)
    child.inc()


def set_served(model: str, alias: str, version: str, engine: str,
               previous: str | None = None) -> None:
    if previous is not None:
        MODEL_INFO.labels(model, alias, previous, engine).set(0)
    MODEL_INFO.labels(model, alias, version, engine).set(1)


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)

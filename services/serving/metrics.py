"""Prometheus metrics of a serving container (GET /metrics on any worker).

Workers are separate processes; with PROMETHEUS_MULTIPROC_DIR set (the supervisor sets it to
a fresh directory before starting them; prometheus_client reads it itself) every process
writes its samples there, and /metrics sums them (:func:`collect_from` tells this module
where), so a scrape sees the whole container whichever worker answers it.
"""

from __future__ import annotations

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


def observe_request(route: str, status: int, started: float | None) -> None:
    """Count one request by its route (the path, or "other" for one no protocol serves, so
    scanners cannot blow up the labels); ``started`` (perf_counter) to observe its latency."""
    key = (route, status)
    child = _request_children.get(key)
    if child is None:
        child = _request_children[key] = REQUESTS.labels(route, str(status))
    child.inc()
    if started is not None:
        LATENCY.observe(time.perf_counter() - started)


_route_children: dict[str, object] = {}


def count_prediction(route: str) -> None:
    """One successful prediction, by the path that answered (sklearn-linear, mlflow, …)."""
    child = _route_children.get(route)
    if child is None:
        child = _route_children[route] = PREDICTIONS.labels(route)
    child.inc()


def set_served(model: str, alias: str, version: str, engine: str,
               previous: str | None = None) -> None:
    """This worker serves ``version`` (and no longer ``previous``)."""
    if previous is not None:
        MODEL_INFO.labels(model, alias, previous, engine).set(0)
    MODEL_INFO.labels(model, alias, version, engine).set(1)


_multiprocess_dir: str | None = None


def collect_from(multiprocess_dir: str) -> None:
    """/metrics sums the samples every process of the container wrote to this directory."""
    global _multiprocess_dir
    _multiprocess_dir = multiprocess_dir


def render() -> bytes:
    """The Prometheus text of the whole container (of this process in tests)."""
    if _multiprocess_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=_multiprocess_dir)
        return generate_latest(registry)
    return generate_latest(REGISTRY)

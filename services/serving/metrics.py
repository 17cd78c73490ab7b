"""Prometheus metrics of a serving container (GET /metrics on any worker).

Workers are separate processes; with PROMETHEUS_MULTIPROC_DIR set (the supervisor sets it to
a fresh directory before starting them; prometheus_client reads it itself) every process
writes its samples there, and /metrics sums them (:func:`collect_from` tells this module
where), so a scrape sees the whole container whichever worker answers it.

Per-request counts (requests, latency, predictions) are tallied in plain Python and added to
the Prometheus values at most every ``FLUSH_SECONDS`` and before this process renders /metrics:
a Prometheus value in multiprocess mode takes a lock, a getpid() and an mmap write per update,
which at thousands of requests per second was a noticeable share of a request's cost. A scrape
answered by another worker may miss this worker's last ``FLUSH_SECONDS`` of requests.
"""

from __future__ import annotations

import asyncio
import bisect
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

FLUSH_SECONDS = 0.25
_LATENCY_BOUNDS = tuple(LATENCY._upper_bounds)  # ends with +Inf: every duration has a bucket

_pending_requests: dict[tuple[str, int], int] = {}
_pending_predictions: dict[str, int] = {}
_pending_latency = [0] * len(_LATENCY_BOUNDS)  # per bucket, not cumulative (as Histogram)
_pending_latency_sum = 0.0
_flush_scheduled = False


def observe_request(route: str, status: int, started: float | None) -> None:
    """Count one request by its route (the path, or "other" for one no protocol serves, so
    scanners cannot blow up the labels); ``started`` (perf_counter) to observe its latency."""
    global _pending_latency_sum
    key = (route, status)
    _pending_requests[key] = _pending_requests.get(key, 0) + 1
    if started is not None:
        seconds = time.perf_counter() - started
        # Histogram.observe's bucket: the first upper bound >= the duration.
        _pending_latency[bisect.bisect_left(_LATENCY_BOUNDS, seconds)] += 1
        _pending_latency_sum += seconds
    if not _flush_scheduled:
        _schedule_flush()


def count_prediction(route: str) -> None:
    """One successful prediction, by the path that answered (sklearn-linear, mlflow, …)."""
    _pending_predictions[route] = _pending_predictions.get(route, 0) + 1
    if not _flush_scheduled:
        _schedule_flush()


def _schedule_flush() -> None:
    global _flush_scheduled
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not on an event loop (a test, a thread): no later to wait for
        flush()
        return
    _flush_scheduled = True
    loop.call_later(FLUSH_SECONDS, flush)


_request_children: dict[tuple[str, int], object] = {}
_route_children: dict[str, object] = {}


def flush() -> None:
    """Add the tallied counts to the Prometheus values (files in multiprocess mode)."""
    global _pending_latency_sum, _flush_scheduled
    _flush_scheduled = False
    for key, n in _pending_requests.items():
        child = _request_children.get(key)
        if child is None:
            child = _request_children[key] = REQUESTS.labels(key[0], str(key[1]))
        child.inc(n)
    _pending_requests.clear()
    for route, n in _pending_predictions.items():
        child = _route_children.get(route)
        if child is None:
            child = _route_children[route] = PREDICTIONS.labels(route)
        child.inc(n)
    _pending_predictions.clear()
    if any(_pending_latency):
        # Histogram.observe one duration at a time, summed: its own values, bucket by bucket.
        LATENCY._sum.inc(_pending_latency_sum)
        for i, n in enumerate(_pending_latency):
            if n:
                LATENCY._buckets[i].inc(n)
                _pending_latency[i] = 0
        _pending_latency_sum = 0.0


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
    flush()
    if _multiprocess_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=_multiprocess_dir)
        return generate_latest(registry)
    return generate_latest(REGISTRY)

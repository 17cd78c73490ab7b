"""Prometheus metrics of a serving container (GET /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
REQUESTS = Counter("serving_requests_total", "Requests by path and status code",
                   ["path", "status"], registry=REGISTRY)
LATENCY = Histogram(
    "serving_request_seconds", "Latency of /invocations",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
BATCH_ROWS = Histogram("serving_batch_rows", "Rows per /invocations request",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
                       registry=REGISTRY)
MODEL_INFO = Gauge("serving_model_info", "1 for the model version being served",
                   ["model", "alias", "version", "engine"], registry=REGISTRY)
SWITCHES = Counter("serving_model_switches_total", "Alias moves followed", registry=REGISTRY)


def set_served(model: str, alias: str, version: str, engine: str) -> None:
    MODEL_INFO.clear()
    MODEL_INFO.labels(model, alias, version, engine).set(1)


def render() -> bytes:
    return generate_latest(REGISTRY)

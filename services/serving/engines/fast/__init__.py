"""The fast engine: MLflow's scoring protocol from a model loaded in the worker process.

``engine`` (the Engine: every worker loads a version; its worker control), ``app`` (the ASGI
app: routes from ``protocols/``, /metrics, 404/405, request metrics), ``protocols/`` (one module
per protocol: ``mlflow_scoring``), ``model`` (loading a version and choosing, by checking
against MLflow's own handler, which of the paths below answer it), ``parsing`` and ``runners``
(exact numeric fast paths), ``batching`` (micro-batching).
"""

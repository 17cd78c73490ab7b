"""The mlflow engine: `mlflow models serve` children behind a switchable proxy.

``engine`` (the Engine: one backend per version, started in one place, restarted when it
dies; the proxy's control), ``backend`` (one `mlflow models serve` process group), ``proxy``
(the worker's ASGI app forwarding to the current backend).
"""

"""What the stack's containers run: one sub-package per service, started as
``python -m services.<service>`` from ``compose/<service>/``.

- ``serving``: the serving containers (follow ``models:/NAME@ALIAS``, answer MLflow's scoring
  protocol);
- ``init``: the one-shot job that creates the stores before the tracking server starts;
- ``mlflow_server``: the tracking server's app.

What belongs here: a container's entry point, its settings (one ``settings.py`` per service)
and the code only that container runs. What must not: model code (how a model is built, logged
or exported lives in ``wrappers``), user CLIs (``scripts/``), benchmarks (``benchmarks/``).
Services run any MLflow model through MLflow's own loading, so they never import ``wrappers``
— a serving image must serve a model logged by anyone — except ``wrappers.settings``, the one
settings base, which every image installs and which keeps every service's variable errors
worded alike.
"""

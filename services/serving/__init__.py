"""Serving containers: serve ``models:/NAME@ALIAS`` over MLflow's scoring protocol and follow the
alias when it moves, without failing a request.

Where things are — the main process:

- ``__main__``: entry point; ``settings``: every ``SERVING_*`` variable (the only module here
  that reads the environment); ``errors``: typed errors naming the fix.
- ``supervisor``: ties the three below together, stops on SIGTERM.
- ``pool``: binds the port, spawns the worker processes on it, restarts dead ones, broadcasts
  commands (``messages``: the typed commands and replies).
- ``follower``: polls the registry (``alias``: lookups, throttled waiting log), downloads a new
  version, switches in two phases (Load everywhere, then Activate everywhere), retries failures.

A worker process (``worker``): uvicorn on the shared socket plus a control thread that runs the
supervisor's commands through its engine's control; ``asgi`` and ``metrics`` are shared by the
engines' apps.

Engines (``engines/``, chosen by SERVING_ENGINE, registered by name in ``engines.ENGINES``)
implement ``engines.base.Engine``: ``fast`` (the model in each worker, exact fast paths,
micro-batching; its protocols one module each under ``engines/fast/protocols``) and ``mlflow``
(``mlflow models serve`` children behind a switchable proxy).

What belongs here: serving any MLflow model a registry holds. What must not: knowledge of how
our own models are built — a model gets a fast path by declaring a contract (e.g.
``engines.fast.runners.OnnxTabular``), never by being imported from ``wrappers`` (only
``wrappers.settings`` is, for the shared settings base); engine-specific code outside
``engines/`` (no branching on the engine's name elsewhere).
"""

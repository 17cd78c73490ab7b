"""Serving containers: serve ``models:/NAME@ALIAS`` over MLflow's scoring protocol and follow the
alias when it moves, without failing a request.

Where things are:

- ``__main__`` / ``supervisor``: the main process — binds the port, runs the worker processes,
  polls the registry (``alias``), switches versions (two-phase, ``control``), restarts workers,
  stops gracefully on SIGTERM.
- ``worker``: one worker process — uvicorn on the shared socket plus a control thread.
- ``engines/fast``: the model in the worker; MLflow's protocol (``protocol``) with exact numeric
  fast paths (``parsing``, ``runners``), micro-batching (``batching``), checked at load
  (``model``).
- ``engines/mlflow``: ``mlflow models serve`` children (``backend``) behind a switchable
  proxy (``proxy``).
- ``settings``: every ``SERVING_*`` variable; ``metrics``: GET /metrics; ``errors``.
"""

"""Serving containers: serve ``models:/NAME@ALIAS`` and follow the alias when it moves.

Two engines behind one front process on SERVING_PORT (``SERVING_ENGINE``):
- ``fast``: the model is loaded in this process; requests go straight to MLflow's own scoring
  functions (same parsing, schema enforcement and JSON as ``mlflow models serve``) without the
  FastAPI stack, and an alias move is a hot swap of the loaded model.
- ``mlflow``: ``mlflow models serve --env-manager local`` runs as a child process on an internal
  port behind a small proxy; an alias move starts a second child, waits for it, switches the
  proxy, then retires the first.
"""

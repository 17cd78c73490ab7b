"""The MLflow tracking server as this stack runs it (`mlflow server --app-name mlops-stack`,
registered in pyproject.toml): MLflow's own Flask app plus the few answers we change (`app.py`),
and its settings (`settings.py`).

What belongs here: code that runs inside the tracking server's process. What must not: model
code or the transfer library (the server proxies artifacts with MLflow's own repositories), and
server flags (those live in compose/mlflow/entrypoint.sh). It imports nothing from `wrappers` but
the settings base (`wrappers.settings`).
"""

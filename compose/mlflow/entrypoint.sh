#!/bin/sh
# Start the MLflow tracking/registry server from environment variables (docker-compose.yml).
# MLFLOW_SERVER_BACKEND picks the HTTP server: gunicorn (default) or uvicorn (MLflow's own default).
# benchmarks/tracking_server.py measured gunicorn faster here (README).
set -eu

: "${MLFLOW_BACKEND_STORE_URI:?set MLFLOW_BACKEND_STORE_URI (postgresql+psycopg2://user:pass@postgres:5432/mlflow)}"
: "${MLFLOW_ARTIFACTS_DESTINATION:?set MLFLOW_ARTIFACTS_DESTINATION (e.g. s3://mlflow/artifacts)}"
workers="${MLFLOW_SERVER_WORKERS:-2}"
# MLflow 3.17 answers 403 to Host headers outside localhost/private IPs; name the hosts
# clients use (containers: mlflow:5000; host: 127.0.0.1/localhost on any port).
export MLFLOW_SERVER_ALLOWED_HOSTS="${MLFLOW_SERVER_ALLOWED_HOSTS:-mlflow:5000,mlflow,localhost:*,127.0.0.1:*}"

set -- mlflow server \
  --backend-store-uri "$MLFLOW_BACKEND_STORE_URI" \
  --serve-artifacts \
  --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION" \
  --host 0.0.0.0 --port 5000

case "${MLFLOW_SERVER_BACKEND:-gunicorn}" in
  # --app-name mlops-stack: MLflow's Flask app minus the presigned-URL advertisement that host
  # clients cannot follow (services/mlflow_server/app.py).
  gunicorn) exec "$@" --app-name mlops-stack --gunicorn-opts "--workers ${workers} --timeout 120 --graceful-timeout 20" ;;
  # uvicorn serves MLflow's FastAPI app, which the mlops-stack app does not wrap: host clients
  # then need MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD=false and MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=false.
  uvicorn) exec "$@" --workers "$workers" ;;
  *) echo "MLFLOW_SERVER_BACKEND must be uvicorn or gunicorn, got '${MLFLOW_SERVER_BACKEND}'" >&2; exit 2 ;;
esac

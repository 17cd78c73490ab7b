"""MLflow's Flask app, with direct-to-S3 transfers not advertised to clients.

With ``--serve-artifacts`` and an S3 destination, MLflow 3.17 advertises multipart downloads and
uploads in ``/api/3.0/mlflow/server-info``; clients then fetch artifacts through presigned URLs
for the endpoint the *server* knows (``http://minio:9000``). A client on the host cannot resolve
that name and retries for about ten minutes. The advertisement has no server-side switch, so
this app (registered as the ``mlops-stack`` entry point of ``mlflow.app`` and started with
``mlflow server --app-name mlops-stack``) clears those two flags: clients stream artifacts
through the server, which is what ``--serve-artifacts`` is for. Set
``MLFLOW_ADVERTISE_DIRECT_TRANSFERS=true`` when every client can reach the S3 endpoint.
"""

from __future__ import annotations

import json

from flask import request
from mlflow.server import app
from mlflow.utils.server_info import (
    SERVER_INFO_MULTIPART_DOWNLOADS_ENABLED,
    SERVER_INFO_MULTIPART_UPLOADS_ENABLED,
)

from services.mlflow_server.settings import MlflowServerSettings

# Read once, when the server imports the app: a bad value stops the server at start, naming
# the variable, instead of surfacing on the first request.
SETTINGS = MlflowServerSettings.load()


@app.after_request
def _hide_direct_transfers(response):
    if SETTINGS.advertise_direct_transfers or not request.path.endswith("/mlflow/server-info"):
        return response
    try:
        payload = json.loads(response.get_data())
    except ValueError:
        return response
    payload[SERVER_INFO_MULTIPART_DOWNLOADS_ENABLED] = False
    payload[SERVER_INFO_MULTIPART_UPLOADS_ENABLED] = False
    response.set_data(json.dumps(payload))
    return response


__all__ = ["app"]

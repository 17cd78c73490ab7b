#!/bin/sh
# The `demo` profile's one-shot job: put three models into the registry with `production`
# aliases, using the same CLIs a user runs (scripts/). Idempotent: a model whose production
# alias is already set is left alone, so `docker compose --profile demo up` after a restart
# does not mint new versions.
set -eu
cd /app

has_production() {
  python scripts/registry.py --json list | python -c '
import json, sys
models = {m["name"]: m["aliases"] for m in json.load(sys.stdin)}
sys.exit(0 if "production" in models.get(sys.argv[1], {}) else 1)' "$1"
}

run_once() {
  name="$1"; shift
  if has_production "$name"; then
    echo "demo: $name@production already set, skipping"
  else
    echo "demo: logging $name"
    "$@" --register "$name" --alias production
  fi
}

run_once "${DEMO_WINE_MODEL:-wine}" python scripts/train_wine.py
run_once "${DEMO_ONNX_MODEL:-wine-onnx}" python scripts/log_onnx.py wine
# The HF classifier's artifacts go to Azure Blob (Azurite): an Azure-backed experiment.
if [ -n "${DEMO_HF_SOURCE:-}" ]; then hf_source="--model ${DEMO_HF_SOURCE}"; else hf_source="--tiny"; fi
# shellcheck disable=SC2086
run_once "${DEMO_HF_MODEL:-sentiment}" python scripts/log_hf.py $hf_source \
  --experiment hf-azure --artifact-location "${AZURE_ARTIFACT_ROOT}/hf-azure"

python scripts/registry.py list

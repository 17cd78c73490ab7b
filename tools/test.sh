#!/usr/bin/env bash
# The project's test command (README "Tests"): lint, the tiers that need no Docker, then the
# compose e2e. `tools/test.sh unit` or `tools/test.sh e2e` runs one part.
set -euo pipefail
cd "$(dirname "$0")/.."

tier="${1:-all}"
case "$tier" in
  -h|--help)
    echo "usage: tools/test.sh [all|unit|e2e]"
    echo "  unit: ruff + every pytest tier that needs no Docker (unit, integration, stores, universal)"
    echo "  e2e:  brings up docker-compose.yml (--profile demo) and tests the user's path"
    exit 0 ;;
  all|unit|e2e) ;;
  *) echo "unknown tier '$tier' (all|unit|e2e)" >&2; exit 2 ;;
esac

start=$(date +%s)
if [ "$tier" != e2e ]; then
  ruff check .
  python -m pytest -m "not e2e and not bench" --durations=10
fi
if [ "$tier" != unit ]; then
  python -m pytest -m e2e -s --durations=0 tests/e2e
fi
echo "tools/test.sh $tier: passed in $(( $(date +%s) - start )) s"

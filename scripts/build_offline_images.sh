#!/usr/bin/env bash
# Build local stand-ins for every upstream image the stack uses, from Debian / PyPI / npm
# packages only — for machines that cannot pull from a container registry.
#
#   mlops-local/debian:bookworm      debootstrap --variant=minbase bookworm, docker import
#   mlops-local/python:3.11-bookworm Debian's Python 3.11   (for PYTHON_BASE_IMAGE)
#   mlops-local/postgres:15          Debian's PostgreSQL 15 (stands in for postgres:16)
#   mlops-local/azurite:3.35.0       Azurite from npm       (stands in for the mcr image)
#   mlops-local/s3rver:3.7.1         s3rver from npm: a TEST STAND-IN for MinIO
#
# Then: cat compose/offline.env >> .env && docker compose up -d
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<USAGE
usage: scripts/build_offline_images.sh [--rebuild] [--ca-bundle FILE] [--mirror URL]

  --rebuild         rebuild images that already exist (default: skip them)
  --ca-bundle FILE  PEM bundle every image trusts (copied to compose/certs/extra-ca.crt);
                    default: /etc/ssl/certs/ca-certificates.crt when present, so a
                    TLS-intercepting proxy trusted by this host is trusted inside the builds
  --mirror URL      Debian mirror for debootstrap (default: http://deb.debian.org/debian)
USAGE
}

rebuild=0
ca_bundle=/etc/ssl/certs/ca-certificates.crt
mirror=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild) rebuild=1 ;;
    --ca-bundle) ca_bundle="$2"; shift ;;
    --mirror) mirror="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

start=$(date +%s)
log() { echo "[offline-images $(( $(date +%s) - start ))s] $*"; }
exists() { [ "$rebuild" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || { echo "docker is not installed (apt-get install docker.io)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "the Docker engine is not running (start dockerd)" >&2; exit 1; }

if [ -f "$ca_bundle" ]; then
  cp "$ca_bundle" compose/certs/extra-ca.crt
  log "trusting $ca_bundle in every image (compose/certs/extra-ca.crt)"
fi
for whl in /opt/wheels/torch-*.whl; do
  [ -f "$whl" ] && cp -n "$whl" compose/wheels/ && log "local wheel: $(basename "$whl")"
done

if exists mlops-local/debian:bookworm; then
  log "mlops-local/debian:bookworm exists"
else
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/offline-debootstrap.log 2>&1 \
    || { tail -30 /tmp/offline-debootstrap.log >&2; exit 1; }
  tar -C "$rootfs" -c . | docker import - mlops-local/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  log "imported mlops-local/debian:bookworm"
fi

build() {  # build IMAGE DOCKERFILE
  if exists "$1"; then log "$1 exists"; return; fi
  log "building $1"
  docker build -q -t "$1" -f "$2" . >/dev/null
  log "built $1"
}
build mlops-local/python:3.11-bookworm compose/offline/python/Dockerfile
build mlops-local/postgres:15 compose/offline/postgres/Dockerfile
build mlops-local/azurite:3.35.0 compose/offline/azurite/Dockerfile
build mlops-local/s3rver:3.7.1 compose/offline/s3/Dockerfile
log "done. Use them: cat compose/offline.env >> .env"

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
# Then: cat compose/offline.env >> .env && docker compose up -d   (see compose/offline/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

usage() {
  cat <<USAGE
usage: scripts/build_offline_images.sh [--rebuild] [--ca-bundle FILE] [--mirror URL]
                                       [--security-mirror URL|none]

Builds the local images the offline path uses (compose/offline.yml). The debootstrap base is
made once; the images on it are rebuilt on every run from Docker's layer cache, so an unchanged
image takes seconds and an edited one is never left stale.

  --rebuild               rebuild every image without the layer cache, the debootstrap base
                          included (the .debs in .offline/debootstrap-cache/ are reused)
  --ca-bundle FILE        PEM bundle every image we build trusts, copied to
                          compose/certs/extra-ca.crt (default: /etc/ssl/certs/ca-certificates.crt
                          when it exists, so a TLS-intercepting proxy this host trusts is trusted
                          in the builds too); --ca-bundle none copies nothing
  --mirror URL            Debian mirror (default: http://deb.debian.org/debian)
  --security-mirror URL   Debian security mirror added to the images' apt sources
                          (default: http://deb.debian.org/debian-security; none = leave it out)

HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment are passed to the builds.
USAGE
}

rebuild=0
ca_bundle=/etc/ssl/certs/ca-certificates.crt
mirror=http://deb.debian.org/debian
security_mirror=http://deb.debian.org/debian-security
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild) rebuild=1 ;;
    --ca-bundle) ca_bundle="${2:?--ca-bundle needs a file}"; shift ;;
    --mirror) mirror="${2:?--mirror needs a URL}"; shift ;;
    --security-mirror) security_mirror="${2:?--security-mirror needs a URL or none}"; shift ;;
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

state="$repo/.offline"   # git-ignored: debootstrap's .deb cache, rootfs while importing, logs
mkdir -p "$state/debootstrap-cache" "$state/logs" compose/certs compose/wheels

# --- extra CA and local wheels ---------------------------------------------------------------
if [ "$ca_bundle" != none ]; then
  if [ -f "$ca_bundle" ]; then
    if ! cmp -s "$ca_bundle" compose/certs/extra-ca.crt; then
      cp "$ca_bundle" compose/certs/extra-ca.crt
    fi
    log "trusting $ca_bundle in every image (compose/certs/extra-ca.crt)"
  elif [ "$ca_bundle" != /etc/ssl/certs/ca-certificates.crt ]; then
    echo "--ca-bundle: no such file: $ca_bundle" >&2; exit 2
  fi
fi
shopt -s nullglob
for whl in /opt/wheels/torch-*.whl; do
  dest="compose/wheels/$(basename "$whl")"
  if cmp -s "$whl" "$dest"; then
    log "local wheel already in compose/wheels/: $(basename "$whl")"
  else
    cp "$whl" "$dest"
    log "copied local wheel to compose/wheels/: $(basename "$whl")"
  fi
done
shopt -u nullglob

# --- mlops-local/debian:bookworm: debootstrap + docker import ---------------------------------
if exists mlops-local/debian:bookworm; then
  log "mlops-local/debian:bookworm exists, skipping (--rebuild to redo)"
else
  command -v debootstrap >/dev/null \
    || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  step=$(date +%s)
  rootfs="$state/rootfs"
  rm -rf "$rootfs"
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap --variant=minbase bookworm from $mirror (log: .offline/logs/debootstrap.log)"
  debootstrap --variant=minbase --cache-dir="$state/debootstrap-cache" \
      bookworm "$rootfs" "$mirror" >"$state/logs/debootstrap.log" 2>&1 \
    || { tail -30 "$state/logs/debootstrap.log" >&2; exit 1; }
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [ "$security_mirror" = none ] || echo "deb $security_mirror bookworm-security main"
  } >"$rootfs/etc/apt/sources.list"
  # Slim apt behaviour, as the official debian images: no recommends, no docs, no .deb leftovers.
  cat >"$rootfs/etc/apt/apt.conf.d/90mlops-local" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Keep-Downloaded-Packages "false";
APT
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90mlops-local-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  : >"$rootfs/etc/machine-id"
  tar -C "$rootfs" --numeric-owner -c . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase bookworm $mirror" \
        - mlops-local/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  log "imported mlops-local/debian:bookworm in $(( $(date +%s) - step ))s"
fi

# --- images built FROM it ---------------------------------------------------------------------
build_args=()
no_cache=()
[ "$rebuild" = 1 ] && no_cache=(--no-cache)
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [ -n "${!v:-}" ] && build_args+=(--build-arg "$v=${!v}")
done
build() {  # build IMAGE DOCKERFILE
  local image="$1" dockerfile="$2" logfile step
  # Always built: Docker's layer cache makes an unchanged image a few seconds' work, and an
  # edited Dockerfile / server.js / CA bundle is never silently left out of an old image.
  logfile="$state/logs/$(basename "$(dirname "$dockerfile")").log"
  step=$(date +%s)
  log "building $image from $dockerfile (log: ${logfile#"$repo"/})"
  if ! docker build --pull=false ${no_cache[@]+"${no_cache[@]}"} \
      ${build_args[@]+"${build_args[@]}"} -t "$image" -f "$dockerfile" . \
      >"$logfile" 2>&1; then
    tail -40 "$logfile" >&2
    echo "building $image failed (full log: $logfile)" >&2
    exit 1
  fi
  log "built $image in $(( $(date +%s) - step ))s"
}
build mlops-local/python:3.11-bookworm compose/offline/python/Dockerfile
build mlops-local/postgres:15 compose/offline/postgres/Dockerfile
build mlops-local/azurite:3.35.0 compose/offline/azurite/Dockerfile
build mlops-local/s3rver:3.7.1 compose/offline/s3/Dockerfile
log "done in $(( $(date +%s) - start ))s. Use them: cat compose/offline.env >> .env  (compose/offline/README.md)"

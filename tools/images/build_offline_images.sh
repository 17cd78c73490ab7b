#!/usr/bin/env bash
# Build local stand-ins for every upstream image the stack uses, from Debian, pip and npm
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
cd "$(dirname "$0")/../.."
repo="$(pwd)"

usage() {
  cat <<USAGE
usage: tools/images/build_offline_images.sh [--rebuild] [--ca-bundle FILE] [--mirror URL]
                                           [--security-mirror URL|none]
                                           [--torch-wheel FILE|none]

Builds the local images the offline path uses (compose/offline.yml). The debootstrap base is
made once; the images on it are rebuilt on every run from Docker's layer cache, so an unchanged
image takes seconds and an edited one is never left stale.

  --rebuild               rebuild every image without the layer cache, the debootstrap base
                          included (the .debs in .offline/debootstrap-cache/ are reused)
  --ca-bundle FILE        PEM bundle every image we build trusts, copied to
                          compose/certs/extra-ca.crt (default: /etc/ssl/certs/ca-certificates.crt
                          when it exists, so a TLS-intercepting proxy this host trusts is trusted
                          in the builds too); --ca-bundle none copies nothing
  --mirror URL            Debian mirror for debootstrap and the images' apt sources
                          (default: the one this machine's apt sources use — required when
                          this machine is not Debian)
  --security-mirror URL   Debian security mirror added to the images' apt sources
                          (default: the one this machine's apt sources use; none = leave it out)
  --torch-wheel FILE      CPU torch wheel for the serving image, copied to compose/wheels/
                          (default: the one this machine's pip configuration resolves the
                          pinned torch to, when that is a CPU build); none = copy nothing

HTTP_PROXY / HTTPS_PROXY / NO_PROXY, PIP_INDEX_URL and NPM_CONFIG_REGISTRY from the
environment are passed to the builds when set; unset, pip and npm use their own defaults.
USAGE
}

rebuild=0
ca_bundle=/etc/ssl/certs/ca-certificates.crt
mirror=
security_mirror=
torch_wheel=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild) rebuild=1 ;;
    --ca-bundle) ca_bundle="${2:?--ca-bundle needs a file}"; shift ;;
    --mirror) mirror="${2:?--mirror needs a URL}"; shift ;;
    --security-mirror) security_mirror="${2:?--security-mirror needs a URL or none}"; shift ;;
    --torch-wheel) torch_wheel="${2:?--torch-wheel needs a file or none}"; shift ;;
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

# The serving image wants torch's CPU build (the default Linux wheel brings GBs of CUDA). Ask this
# machine's pip which wheel its own configuration (find-links, index, mirror) resolves the pinned
# torch to — a dry run, nothing downloaded — and take it only when it is a CPU build.
torch_cpu_wheel() {  # prints a local path or a URL, or nothing
  local spec arch report
  spec=$(python3 tools/images/requirements.py hf | grep '^torch==') || return 0
  arch=$(uname -m)
  # --target: pip refuses --platform without it; with --dry-run nothing is written there.
  report=$(python3 -m pip install --dry-run --quiet --no-deps --ignore-installed \
      --target "$state/pip-dry-run" --only-binary=:all: --python-version 3.11 \
      --implementation cp --abi cp311 --platform "manylinux_2_28_$arch" \
      --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" --platform "linux_$arch" \
      --report - "$spec" 2>"$state/logs/torch-wheel.log") || return 0
  python3 -c '
import json, sys, urllib.parse
[item] = json.load(sys.stdin)["install"]
url = item["download_info"]["url"]
if "+cpu" in item["metadata"]["version"]:
    print(urllib.parse.unquote(url[len("file://"):]) if url.startswith("file://") else url)
' <<<"$report" 2>>"$state/logs/torch-wheel.log" || true
}
if [ "$torch_wheel" = auto ]; then
  torch_wheel=$(torch_cpu_wheel)
  if [ -z "$torch_wheel" ]; then
    torch_wheel=none
    log "no CPU torch wheel through this machine's pip configuration" \
        "(.offline/logs/torch-wheel.log): the serving image takes torch from TORCH_INDEX_URL" \
        "or pip's index"
  fi
fi
case "$torch_wheel" in
  none) ;;
  http://*|https://*)
    log "downloading the CPU torch wheel this machine's pip configuration offers to compose/wheels/"
    python3 -m pip download --quiet --no-deps --dest compose/wheels "$torch_wheel" \
      >>"$state/logs/torch-wheel.log" 2>&1 \
      || { tail -20 "$state/logs/torch-wheel.log" >&2; exit 1; } ;;
  *)
    [ -f "$torch_wheel" ] || { echo "--torch-wheel: no such file: $torch_wheel" >&2; exit 2; }
    dest="compose/wheels/$(basename "$torch_wheel")"
    if cmp -s "$torch_wheel" "$dest"; then
      log "local wheel already in compose/wheels/: $(basename "$torch_wheel")"
    else
      cp "$torch_wheel" "$dest"
      log "copied local wheel to compose/wheels/: $(basename "$torch_wheel")"
    fi ;;
esac

# debootstrap and the images' apt take the Debian mirror this machine's apt already uses (a
# private one included): sources.list lines and deb822 .sources stanzas, enabled `deb` only.
apt_sources() {  # prints "URI SUITE" per enabled deb source of this machine
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {
           i = 2
           if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
           print $i, $(i + 1)
         }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush(  i, j, nu, ns, u, s, on) {
           nu = split(f["uris"], u); ns = split(f["suites"], s)
           on = tolower(f["enabled"]); gsub(/[ \t]/, "", on)
           if (f["types"] ~ /(^|[ \t])deb([ \t]|$)/ && on != "no")
             for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
           delete f; key = ""
         }
         /^#/ { next }
         /^[ \t]*$/ { flush(); next }
         /^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
         { key = tolower(substr($0, 1, index($0, ":") - 1))
           f[key] = substr($0, index($0, ":") + 1) }
         END { flush() }' "$f"
  done
}
debian_mirrors() {  # sets mirror / security_mirror from this machine's apt sources when unset
  local id uri suite
  id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
  if [ "$id" != debian ]; then
    if [ -n "$mirror" ]; then [ -n "$security_mirror" ] || security_mirror=none; return 0; fi
    echo "this machine is not Debian (ID=${id:-unknown}): its apt sources are no Debian mirror;" \
         "pass --mirror URL (a Debian mirror) and --security-mirror URL|none" >&2
    exit 2
  fi
  while read -r uri suite; do
    case "$uri" in http://*|https://*|ftp://*|file:*) ;; *) continue ;; esac
    case "$suite" in
      */updates|*-security) [ -n "$security_mirror" ] || security_mirror=$uri ;;
      *-*) ;;
      *) [ -n "$mirror" ] || mirror=$uri ;;
    esac
  done < <(apt_sources)
  [ -n "$mirror" ] || { echo "no Debian mirror in this machine's apt sources" \
    "(/etc/apt/sources.list, /etc/apt/sources.list.d/): pass --mirror URL" >&2; exit 2; }
  [ -n "$security_mirror" ] || security_mirror=none
}

# --- mlops-local/debian:bookworm: debootstrap + docker import ---------------------------------
if exists mlops-local/debian:bookworm; then
  log "mlops-local/debian:bookworm exists, skipping (--rebuild to redo)"
else
  command -v debootstrap >/dev/null \
    || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  debian_mirrors
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
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy \
         PIP_INDEX_URL NPM_CONFIG_REGISTRY; do
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

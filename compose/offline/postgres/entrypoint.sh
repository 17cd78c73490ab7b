#!/bin/sh
# Entrypoint of the offline postgres stand-in, modelled on the official image's: on an empty
# $PGDATA run initdb with POSTGRES_USER / POSTGRES_PASSWORD, create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/*.sql|*.sh once; then exec postgres (PID 1, so docker stop's signal
# reaches it directly). A data dir that already holds a cluster is never re-initialised.
set -eu

if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi   # `docker run IMAGE -c foo=bar`

if [ "${1:-}" = postgres ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the official image refuses to start without it too)}"
  POSTGRES_USER="${POSTGRES_USER:-postgres}"
  POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
  PGDATA="${PGDATA:-/var/lib/postgresql/data}"
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  export PGDATA

  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "postgres stand-in: initialising $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
    mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as upstream
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"
    # Every other host (the compose network): password auth, as the official image does.
    printf '\n# docker network (offline stand-in entrypoint)\nhost all all all %s\n' "$auth" \
      >> "$PGDATA/pg_hba.conf"

    # Socket-only server for the setup steps, so nothing can connect half-initialised.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" \
      -w start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
      db_ident=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
      user_ident=$(printf '%s' "$POSTGRES_USER" | sed 's/"/""/g')
      psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -q \
        -c "CREATE DATABASE \"$db_ident\" OWNER \"$user_ident\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh)  echo "postgres stand-in: running $f"; . "$f" ;;
        *.sql) echo "postgres stand-in: running $f"
               psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -q -f "$f" ;;
        *) ;;
      esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "postgres stand-in: initialised"
  else
    echo "postgres stand-in: $PGDATA already holds a cluster, skipping initdb"
  fi

  shift
  exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi

exec "$@"

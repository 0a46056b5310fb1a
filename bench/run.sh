#!/usr/bin/env bash
# romgate's authentication benchmark: builds the release binaries, installs
# wrk (and Node.js for the single sign-on row, PostgreSQL with --postgres)
# when missing, then runs bench/main.rs. Safe to run again.
#
#   bash bench/run.sh                 # SQLite in a temporary directory
#   bash bench/run.sh --postgres      # PostgreSQL on 127.0.0.1:5432, database romgate_bench
#   bash bench/run.sh --no-oidc --seconds 3 --reps 3   # any option of the bench binary
#
# Not part of CI: timing is reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/romgate-target}"

log() { printf '== %s\n' "$*" >&2; }

apt_install() {
  log "installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres=false
oidc=true
args=()
for arg in "$@"; do
  case "$arg" in
    --postgres) postgres=true ;;
    --no-oidc) oidc=false; args+=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done

command -v wrk >/dev/null 2>&1 || apt_install wrk

if $oidc; then
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
  if [ ! -f e2e/provider/node_modules/oidc-provider/package.json ]; then
    npm ci --prefix e2e/provider --no-audit --no-fund --loglevel=error
  fi
fi

if $postgres; then
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
      pg_isready -h 127.0.0.1 -p 5432 -q && break
      sleep 1
    done
  fi
  export PGUSER=postgres PGHOST=127.0.0.1 PGPORT=5432
  if ! psql -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
    export PGPASSWORD=postgres
  fi
  # A new, empty database for every run (the first start runs the migrations).
  psql -q -d postgres -c 'DROP DATABASE IF EXISTS romgate_bench' -c 'CREATE DATABASE romgate_bench'
  args+=(--database-url "postgres://postgres:${PGPASSWORD:-}@127.0.0.1:5432/romgate_bench")
fi

log "building the release binaries"
cargo build --release --locked --bin romgate --example bench --example bare_axum

release="$CARGO_TARGET_DIR/release"
exec "$release/examples/bench" \
  --romgate "$release/romgate" --bare-axum "$release/examples/bare_axum" --repo . \
  ${args[@]+"${args[@]}"}

#!/usr/bin/env bash
# The soak: mixed traffic against romgate for a while on SQLite, then on
# PostgreSQL (a private throwaway cluster), with the real OpenID Provider
# for single sign-on. Drives the soak of the end-to-end suite
# (tests/e2e/soak.rs; CI runs it for 30 s) for longer, and collects its
# reports in one Markdown file. Safe to run again.
#
#   bash bench/soak.sh                      # 600 s per engine, debug build
#   bash bench/soak.sh --seconds 60         # shorter
#   bash bench/soak.sh --release            # the optimised binary (slower to build)
#   bash bench/soak.sh --engine sqlite      # one engine: sqlite or postgres
#
# Not part of CI at this length. Exits non-zero when a run saw an unexpected
# answer or unbounded growth (the test's assertions).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/romgate-target}"

seconds=600
workers=3  # as in bench/README.md; the CI version uses 2
profile=()
engines=(sqlite postgres)
report="soak-report.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --release) profile=(--release); shift ;;
    --engine) engines=("$2"); shift 2 ;;
    --report) report="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
[ -f e2e/provider/node_modules/oidc-provider/package.json ] ||
  npm ci --prefix e2e/provider --no-audit --no-fund --loglevel=error
if [[ " ${engines[*]} " == *" postgres "* ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi

report=$(realpath -m "$report")
: >"$report"
cargo test ${profile[@]+"${profile[@]}"} --locked --test e2e --no-run
for engine in "${engines[@]}"; do
  echo "== soak on $engine for ${seconds} s ($workers workers)" >&2
  SOAK_SECONDS="$seconds" SOAK_WORKERS="$workers" SOAK_REPORT="$report" \
    cargo test ${profile[@]+"${profile[@]}"} --locked --test e2e "soak::soak_mixed_traffic_on_$engine" \
    -- --ignored --exact --nocapture
done
echo "== report: $report" >&2

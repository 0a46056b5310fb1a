#!/usr/bin/env bash
# Release profile comparison (issue 17): builds romgate's release binary
# with each link-time optimisation setting in its own target directory, then
# reports build time, binary size, start time (exec to first heartbeat) and
# heartbeat throughput, the variants alternating so drift spreads evenly.
#
#   bash bench/release_profiles.sh                  # none thin fat
#   bash bench/release_profiles.sh thin fat         # only these
#   SKIP_BUILD=1 bash bench/release_profiles.sh     # measure what is built
#
# Variants override Cargo.toml's [profile.release] with --config:
#   none  lto=false,  codegen-units=16
#   thin  lto="thin", codegen-units=16
#   fat   lto="fat",  codegen-units=1
# All strip symbols. Build times include every dependency (a clean target
# directory per variant, as CI's first build), so they are long and noisy on
# a shared machine; the load average is printed with each.
set -euo pipefail
cd "$(dirname "$0")/.."

base="${RELEASE_BENCH_DIR:-$HOME/.cache/romgate-release-bench}"
runs="${RUNS:-15}"
port="${PORT:-18830}"
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(none thin fat)

command -v hyperfine >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
}
command -v wrk >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}

overrides() {
  case "$1" in
    none) echo "--config profile.release.lto=false --config profile.release.codegen-units=16" ;;
    thin) echo "--config profile.release.lto=\"thin\" --config profile.release.codegen-units=16" ;;
    fat) echo "--config profile.release.lto=\"fat\" --config profile.release.codegen-units=1" ;;
    *) echo "unknown variant $1 (none, thin, fat)" >&2; exit 2 ;;
  esac
}

binary() { echo "$base/$1/release/romgate"; }

build() {
  local variant="$1" started elapsed
  # shellcheck disable=SC2046 # the overrides are separate words
  started=$(date +%s)
  CARGO_TARGET_DIR="$base/$variant" cargo build --release --locked --bin romgate \
    --config 'profile.release.strip=true' $(overrides "$variant") >&2
  elapsed=$(( $(date +%s) - started ))
  printf 'build %-5s %5d s  load %s\n' "$variant" "$elapsed" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# Milliseconds from exec to the first 200 from /api/heartbeat, on a data
# directory that exists (the key and the migrated database: a restart).
start_ms() {
  local bin="$1" data="$2" started pid elapsed
  started=$(date +%s%N)
  ROMM_DATA_PATH="$data" ROMM_LIBRARY_PATH="$data/library" ROMM_PORT="$port" RUST_LOG=warn "$bin" serve >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/api/heartbeat"; do
    sleep 0.002
  done
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$elapsed"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

if [ -z "${SKIP_BUILD:-}" ]; then
  for variant in "${variants[@]}"; do build "$variant"; done
fi

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
mkdir -p "$data/library"
for variant in "${variants[@]}"; do
  [ -x "$(binary "$variant")" ] || { echo "not built: $(binary "$variant")" >&2; exit 1; }
  mkdir -p "$data/$variant/library"
  start_ms "$(binary "$variant")" "$data/$variant" >/dev/null # first start: creates the database
done

declare -A starts rps
for _ in $(seq 1 "$runs"); do
  for variant in "${variants[@]}"; do
    starts[$variant]+="$(start_ms "$(binary "$variant")" "$data/$variant") "
  done
done
for _ in 1 2 3; do
  for variant in "${variants[@]}"; do
    ROMM_DATA_PATH="$data/$variant" ROMM_LIBRARY_PATH="$data/$variant/library" ROMM_PORT="$port" RUST_LOG=warn \
      "$(binary "$variant")" serve >/dev/null 2>&1 &
    pid=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$port/api/heartbeat"; do sleep 0.01; done
    rps[$variant]+="$(wrk -t2 -c32 -d3s "http://127.0.0.1:$port/api/heartbeat" | awk '/Requests\/sec/ {printf "%d", $2}') "
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

printf '\n%-5s %10s %14s %16s\n' variant "size (MB)" "start (ms, med)" "heartbeat req/s"
for variant in "${variants[@]}"; do
  size=$(stat -c %s "$(binary "$variant")")
  printf '%-5s %10.1f %14s %16s\n' "$variant" "$(echo "$size / 1048576" | bc -l)" \
    "$(tr ' ' '\n' <<<"${starts[$variant]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${rps[$variant]}" | grep . | median)"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Upload throughput: a 1 GiB file sent to a running release romgate on
# loopback, as one multipart request and as RomM's chunked upload (16 MiB
# chunks, one at a time and four at a time), against `dd` writing the same
# file to the same disk (with an fsync, as romgate syncs the file it places).
# The methods alternate in every repetition so drift hits them alike; the
# medians, MiB/s, the ratio to dd and romgate's CPU seconds per GiB are
# printed. Not part of CI: timing is reported, never asserted.
#
#   bash bench/library_upload.sh                     # 3 repetitions, port 18180
#   REPS=5 PORT=18181 BENCH_DIR=/some/disk bash bench/library_upload.sh
#
# The work directory (BENCH_DIR, default a new temporary directory) holds
# the library and the source file: about 4 GiB free are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/romgate-target}"

REPS="${REPS:-3}"
PORT="${PORT:-18180}"
SIZE_MIB="${SIZE_MIB:-1024}"
CHUNK_MIB=16
BASE="http://127.0.0.1:$PORT"
USERNAME=bench
PASSWORD="bench password, long enough"

log() { printf '== %s\n' "$*" >&2; }

for tool in curl jq bc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "installing $tool"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
  fi
done

if [ -z "${ROMGATE_BIN:-}" ]; then
  log "building the release binary"
  cargo build --release --locked --bin romgate
  ROMGATE_BIN="$CARGO_TARGET_DIR/release/romgate"
fi

work="${BENCH_DIR:-}"
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
else
  mkdir -p "$work"
  trap 'kill "$server" 2>/dev/null || true' EXIT
fi
library="$work/library"
mkdir -p "$library/roms/bench" "$work/data" "$work/pieces"

log "writing the ${SIZE_MIB} MiB source file and its ${CHUNK_MIB} MiB pieces"
src="$work/source.bin"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$src"
split -b "${CHUNK_MIB}M" -d -a 4 "$src" "$work/pieces/"
chunks=$(ls "$work/pieces" | wc -l)

log "starting romgate on $BASE"
ROMM_PORT="$PORT" ROMGATE_LISTEN_ADDRESS=127.0.0.1 ROMM_BASE_URL="$BASE" \
  ROMM_DATA_PATH="$work/data" ROMM_LIBRARY_PATH="$library" \
  ROMM_AUTH_SECRET_KEY=bench-upload-secret-key ROMGATE_MAX_UPLOAD_BYTES=$((8 * 1024 * 1024 * 1024)) \
  RUST_LOG=warn "$ROMGATE_BIN" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/api/heartbeat" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" "$BASE/api/users"
token=$(curl -fsS "$BASE/api/token" -d grant_type=password -d "username=$USERNAME" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "scope=roms.read roms.write platforms.read" |
  jq -r .access_token)
auth="Authorization: Bearer $token"
# The platform's id, as RomM's clients know it: made by a first small upload.
printf 'x' >"$work/seed.bin"
curl -fsS -o /dev/null -H "$auth" -F platform=bench -F "file=@$work/seed.bin;filename=seed.bin" "$BASE/api/roms"
platform_id=$(curl -fsS -H "$auth" "$BASE/api/platforms" | jq '.[] | select(.slug == "bench") | .id')

now() { date +%s.%N; }
# romgate's user + system CPU time, in seconds.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$server/stat"; }

delete_rom() {
  local id
  id=$(curl -fsS -H "$auth" "$BASE/api/roms?search=$1" | jq '.items[0].id')
  curl -fsS -o /dev/null -X DELETE -H "$auth" "$BASE/api/roms/$id"
}

run_dd() {
  dd if="$src" of="$library/roms/bench/dd.bin" bs=16M conv=fsync status=none
  rm -f "$library/roms/bench/dd.bin"
}

run_multipart() {
  curl -fsS -o /dev/null -H "$auth" -H 'Expect:' -F platform=bench \
    -F "file=@$src;filename=multipart-$1.bin" "$BASE/api/roms"
}

# Chunked, $2 chunks in flight at once.
run_chunked() {
  local name="chunked-$1.bin" id
  id=$(curl -fsS -X POST -H "$auth" -H "x-upload-platform: $platform_id" -H "x-upload-filename: $name" \
    -H "x-upload-total-size: $((SIZE_MIB * 1024 * 1024))" -H "x-upload-total-chunks: $chunks" \
    "$BASE/api/roms/upload/start" | jq -r .upload_id)
  # xargs appends "index piece" to: auth, pieces folder, base URL, upload id.
  ls "$work/pieces" | awk '{ print NR - 1, $0 }' |
    xargs -P "$2" -n 2 sh -c 'curl -fsS -o /dev/null -X PUT -H "$0" -H "x-chunk-index: $4" -H "Expect:" \
      --data-binary "@$1/$5" "$2/api/roms/upload/$3"' "$auth" "$work/pieces" "$BASE" "$id"
  curl -fsS -o /dev/null -X POST -H "$auth" "$BASE/api/roms/upload/$id/complete"
}

declare -A secs cpus
methods="dd multipart chunked_1 chunked_4"
for rep in $(seq 1 "$REPS"); do
  for method in $methods; do
    sync
    start_cpu=$(cpu)
    t0=$(now)
    case "$method" in
      dd) run_dd ;;
      multipart) run_multipart "$rep" ;;
      chunked_1) run_chunked "1-$rep" 1 ;;
      chunked_4) run_chunked "4-$rep" 4 ;;
    esac
    t1=$(now)
    end_cpu=$(cpu)
    secs[$method]+="$(echo "$t1 - $t0" | bc -l) "
    cpus[$method]+="$(echo "$end_cpu - $start_cpu" | bc -l) "
    case "$method" in
      multipart) delete_rom "multipart-$rep" ;;
      chunked_1) delete_rom "chunked-1-$rep" ;;
      chunked_4) delete_rom "chunked-4-$rep" ;;
    esac
  done
  log "repetition $rep done"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
dd_s=$(echo "${secs[dd]}" | median)
printf '\n%s MiB file, %s repetitions, medians; load average at the end: %s\n' "$SIZE_MIB" "$REPS" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %10s %10s %10s %14s\n' method seconds MiB/s "x dd" "CPU s/GiB"
for method in $methods; do
  s=$(echo "${secs[$method]}" | median)
  c=$(echo "${cpus[$method]}" | median)
  label=$method
  case "$method" in
    dd) label="dd (bs=16M, conv=fsync)"; c="-" ;;
    multipart) label="romgate multipart" ;;
    chunked_1) label="romgate chunked, 1 at once" ;;
    chunked_4) label="romgate chunked, 4 at once" ;;
  esac
  per_gib=$([ "$c" = "-" ] && echo "-" || echo "scale=2; $c * 1024 / $SIZE_MIB" | bc -l)
  printf '%-28s %10.2f %10.0f %10.2f %14s\n' "$label" "$s" "$(echo "$SIZE_MIB / $s" | bc -l)" \
    "$(echo "$dd_s / $s" | bc -l)" "$per_gib"
done
printf 'every run: %s\n' "$(for m in $methods; do printf '%s [%s] ' "$m" "${secs[$m]}"; done)"

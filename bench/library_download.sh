#!/usr/bin/env bash
# Downloads at disk speed (issue 15): romgate against nginx serving the same
# file from the same folder over loopback, side by side in one run.
#
#   bash bench/library_download.sh                  # 1 GiB file, 5 alternating rounds
#   SIZE_MIB=256 REPS=3 bash bench/library_download.sh
#
# Builds the release romgate, installs Debian's nginx and wrk when missing,
# writes a random file into a temporary library (kept in the page cache: the
# row measures the server, not the disk), starts nginx (sendfile on) and
# romgate on loopback, and in every round, alternating which goes first:
#   - whole: one `curl -o /dev/null` of the whole file;
#   - ranged: wrk (1 thread, 1 connection) for RANGE_SECONDS, each request a
#     random RANGE_MIB range of the file (bench/library_ranges.lua);
# and the server's CPU seconds (user + system, from /proc) over each.
# Prints each round, then medians and ratios (romgate / nginx) with the
# load average. Not CI: timing is reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/romgate-target}"

SIZE_MIB="${SIZE_MIB:-1024}"
REPS="${REPS:-5}"
RANGE_MIB="${RANGE_MIB:-8}"
RANGE_SECONDS="${RANGE_SECONDS:-5}"
NGINX_PORT="${NGINX_PORT:-18280}"
ROMGATE_PORT="${ROMGATE_PORT:-18281}"

log() { printf '== %s\n' "$*" >&2; }

apt_install() {
  log "installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v nginx >/dev/null 2>&1 || apt_install nginx
command -v wrk >/dev/null 2>&1 || apt_install wrk
command -v curl >/dev/null 2>&1 || apt_install curl

log "building the release romgate"
cargo build --release --quiet --bin romgate
romgate="$CARGO_TARGET_DIR/release/romgate"

dir=$(mktemp -d /tmp/romgate-download-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/library/roms/bench" "$dir/data" "$dir/nginx"
chmod 700 "$dir/data"
file="$dir/library/roms/bench/game.bin"
log "writing a ${SIZE_MIB} MiB file"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$file"
cat "$file" >/dev/null

cat >"$dir/nginx/nginx.conf" <<EOF
# Reading a root-owned temporary folder: the workers run as root too.
user root;
worker_processes auto;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $dir/library/roms/bench;
    }
}
EOF
nginx -c "$dir/nginx/nginx.conf" &
pids+=($!)
nginx_pid=$!

export ROMM_DATA_PATH="$dir/data" ROMM_LIBRARY_PATH="$dir/library" ROMM_PORT="$ROMGATE_PORT"
export ROMGATE_LISTEN_ADDRESS=127.0.0.1 ROMM_BASE_URL="http://127.0.0.1:$ROMGATE_PORT"
export ROMM_AUTH_SECRET_KEY=download-bench-secret ROMGATE_DOWNLOAD_LINK_SECONDS=86400
export RUST_LOG=warn
password="download bench password"
"$romgate" user create bench --role admin --password-stdin <<<"$password" >/dev/null
"$romgate" serve >"$dir/romgate.log" 2>&1 &
pids+=($!)
romgate_pid=$!

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$ROMGATE_PORT/api/heartbeat" >/dev/null &&
    curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/game.bin" -r 0-0 && break
  sleep 0.1
done

# A download link: the path a header-less client takes (the link check, then
# the same file response as an ordinary download).
token=$(curl -sf "http://127.0.0.1:$ROMGATE_PORT/api/token" \
  --data-urlencode grant_type=password --data-urlencode username=bench \
  --data-urlencode "password=$password" --data-urlencode "scope=roms.read tasks.run" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$ROMGATE_PORT/api/tasks/scan" >/dev/null
rom_id=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$ROMGATE_PORT/api/roms" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
romgate_url=$(curl -sf -X POST -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$ROMGATE_PORT/api/roms/$rom_id/download-link" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
nginx_url="http://127.0.0.1:$NGINX_PORT/game.bin"

# CPU ticks (user + system) of a process and its children (nginx's workers).
ticks() {
  local total=0 pid
  for pid in "$1" $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)
size=$(stat -c %s "$file")

# One measurement: prints "MiB/s CPU-s/GiB".
whole() { # server-pid url
  local before after seconds
  before=$(ticks "$1")
  seconds=$(curl -sf -o /dev/null -w '%{time_total}' "$2")
  after=$(ticks "$1")
  awk -v b="$size" -v s="$seconds" -v t="$((after - before))" -v hz="$hz" \
    'BEGIN { printf "%.0f %.3f\n", b / 1048576 / s, t / hz / (b / 1073741824) }'
}
ranged() { # server-pid url
  local before after out bytes
  before=$(ticks "$1")
  out=$(SIZE="$size" RANGE="$((RANGE_MIB * 1024 * 1024))" \
    wrk -t1 -c1 -d"${RANGE_SECONDS}s" -s bench/library_ranges.lua "$2")
  after=$(ticks "$1")
  bytes=$(grep -o 'BYTES=[0-9]*' <<<"$out" | cut -d= -f2)
  awk -v b="$bytes" -v s="$RANGE_SECONDS" -v t="$((after - before))" -v hz="$hz" \
    'BEGIN { printf "%.0f %.3f\n", b / 1048576 / s, t / hz / (b / 1073741824) }'
}

declare -A results
log "$REPS rounds, ${SIZE_MIB} MiB file, ranges of ${RANGE_MIB} MiB for ${RANGE_SECONDS} s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
whole "$nginx_pid" "$nginx_url" >/dev/null
whole "$romgate_pid" "$romgate_url" >/dev/null
for rep in $(seq 1 "$REPS"); do
  order=(nginx romgate)
  ((rep % 2 == 0)) && order=(romgate nginx)
  for kind in whole ranged; do
    for server in "${order[@]}"; do
      if [ "$server" = nginx ]; then pid=$nginx_pid url=$nginx_url; else pid=$romgate_pid url=$romgate_url; fi
      results[$kind,$server,$rep]=$("$kind" "$pid" "$url")
      printf 'round %d %-6s %-7s %s MiB/s %s CPU-s/GiB\n' "$rep" "$kind" "$server" ${results[$kind,$server,$rep]}
    done
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "medians of $REPS rounds (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-7s %-8s %10s %10s %8s\n' kind server MiB/s CPU-s/GiB ratio
for kind in whole ranged; do
  declare -A speed cpu
  for server in nginx romgate; do
    speed[$server]=$(for rep in $(seq 1 "$REPS"); do echo "${results[$kind,$server,$rep]}" | cut -d' ' -f1; done | median)
    cpu[$server]=$(for rep in $(seq 1 "$REPS"); do echo "${results[$kind,$server,$rep]}" | cut -d' ' -f2; done | median)
  done
  # The ratio is the median of each round's romgate / nginx.
  ratio=$(for rep in $(seq 1 "$REPS"); do
    awk -v r="${results[$kind,romgate,$rep]%% *}" -v n="${results[$kind,nginx,$rep]%% *}" 'BEGIN { printf "%.3f\n", r / n }'
  done | median)
  printf '%-7s %-8s %10s %10s\n' "$kind" nginx "${speed[nginx]}" "${cpu[nginx]}"
  printf '%-7s %-8s %10s %10s %8.2f\n' "$kind" romgate "${speed[romgate]}" "${cpu[romgate]}" "$ratio"
done

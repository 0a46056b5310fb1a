#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: repeatable on a
# shared machine where wall-clock throughput is not. Runs the release romgate
# under callgrind on SQLite in a temporary directory, sends each kind of
# request for 5 s with wrk (1 thread, 4 connections), and prints the server's
# instructions per request; the profiles stay in the printed directory for
# `callgrind_annotate --inclusive=yes FILE`.
#
#   bash bench/callgrind.sh [ROMGATE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/romgate-target}"
command -v valgrind >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
command -v wrk >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
binary="${1:-}"
if [ -z "$binary" ]; then
  cargo build --release --locked --bin romgate
  binary="$CARGO_TARGET_DIR/release/romgate"
fi

dir=$(mktemp -d /tmp/romgate-callgrind.XXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
ROMM_DATA_PATH="$dir/data" ROMM_LIBRARY_PATH="$dir/library" ROMM_PORT="$port" \
  ROMM_AUTH_SECRET_KEY=bench-secret-key RUST_LOG=info \
  valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" "$binary" >"$dir/romgate.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -s -o /dev/null "$base/api/heartbeat" && break; sleep 0.5; done

password='bench password, long enough'
curl -s -X POST "$base/api/users" -H 'content-type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$password\"}" >/dev/null
session=$(curl -s -u "bench:$password" -X POST -c - "$base/api/login" | awk '/romm_session/ {print $7}')
csrf=$(curl -s -c - -o /dev/null "$base/api/heartbeat" | awk '/romm_csrftoken/ {print $7}')
token=$(curl -s "$base/api/token" -d grant_type=password -d username=bench --data-urlencode "password=$password" \
  -d scope=me.read | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

measure() { # NAME, then wrk's header and URL arguments
  local name=$1 requests total
  shift
  callgrind_control -z "$server" >/dev/null 2>&1
  requests=$(wrk -t1 -c4 -d5s "$@" | awk '/requests in/ {print $1}')
  callgrind_control -d "$name" "$server" >/dev/null 2>&1
  total=$(grep -m1 '^summary:' "$(ls -t "$dir"/callgrind.out.* | head -n 1)" | awk '{print $2}')
  printf '%-40s %8d requests %8d instructions/request\n' "$name" "$requests" $((total / requests))
}
measure heartbeat "$base/api/heartbeat"
measure session -H "Cookie: romm_session=$session; romm_csrftoken=$csrf" "$base/api/users/me"
measure bearer -H "Authorization: Bearer $token" "$base/api/users/me"
measure invalid-cookie -H "Cookie: romm_session=rgs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; romm_csrftoken=$csrf" \
  "$base/api/users/me"
echo "profiles in $dir"

#!/usr/bin/env bash
# The scan benchmark (issue 15): romgate's first scan of a generated library
# against OpenSSL hashing the same files on every core, and a rescan of the
# unchanged library, with the peak memory of each. Not part of CI.
#
#   bash bench/library_scan.sh                      # 10,000 files, about 3 GiB
#   FILES=2000 REPS=3 bash bench/library_scan.sh    # smaller, quicker
#   ROMGATE=target/release/romgate bash bench/library_scan.sh   # a binary you built
#
# The library is generated once under $WORK (default /work/tmp-scan-bench,
# kept for the next run; remove it to regenerate). Every run reads the files
# from the page cache (the machine has the memory for it; caches cannot be
# dropped here), the same for romgate and for OpenSSL: the comparison is of
# hashing and bookkeeping, not of the disk. Runs alternate; medians are
# reported with the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/romgate-target}"

FILES="${FILES:-10000}"
REPS="${REPS:-5}"
WORK="${WORK:-/work/tmp-scan-bench}"
LIBRARY="$WORK/library-$FILES"

if [ -z "${ROMGATE:-}" ]; then
  cargo build --release --locked --quiet
  ROMGATE="$CARGO_TARGET_DIR/release/romgate"
fi

# A library of $FILES files in 20 platform folders: mostly small files
# (4 KiB-256 KiB), some of 256 KiB-2 MiB and one in 200 of 8-32 MiB,
# random contents (a fixed seed: the same library every time).
generate() {
  [ -f "$LIBRARY/.complete" ] && return
  echo "generating $FILES files under $LIBRARY ..." >&2
  rm -rf "$LIBRARY"
  python3 - "$LIBRARY" "$FILES" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(15)
block = os.urandom(32 * 1024 * 1024)
for i in range(count):
    platform = os.path.join(root, "roms", f"platform-{i % 20:02d}")
    os.makedirs(platform, exist_ok=True)
    pick = rng.random()
    if pick < 0.005:
        size = rng.randint(8 << 20, 32 << 20)
    elif pick < 0.1:
        size = rng.randint(256 << 10, 2 << 20)
    else:
        size = rng.randint(4 << 10, 256 << 10)
    start = rng.randint(0, len(block) - size)
    with open(os.path.join(platform, f"game-{i:05d}.bin"), "wb") as f:
        # A per-file prefix, so no two files hash alike.
        f.write(i.to_bytes(8, "little"))
        f.write(block[start:start + size - 8])
PY
  touch "$LIBRARY/.complete"
}

# Seconds and peak resident KiB of a command: "SECONDS KIB".
measure() {
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$@" >/dev/null 2>&1
  tail -n 1 "$WORK/time.txt"
}

openssl_all() {
  find "$LIBRARY/roms" -type f -print0 | xargs -0 -P "$(nproc)" -n 64 openssl dgst -sha256
}

# A fresh database (romgate creates one only for `serve` and `user create`).
fresh_data() {
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  echo "a benchmark password" | ROMM_DATA_PATH="$WORK/data" ROMM_LIBRARY_PATH="$LIBRARY" \
    "$ROMGATE" user create bench --password-stdin >/dev/null 2>&1
}

romgate_scan() {
  ROMM_DATA_PATH="$WORK/data" ROMM_LIBRARY_PATH="$LIBRARY" "$ROMGATE" library scan
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

generate
bytes=$(du -sb "$LIBRARY/roms" | cut -f1)
# Warm the page cache for both.
openssl_all >/dev/null
: > "$WORK/openssl.txt"; : > "$WORK/first.txt"; : > "$WORK/rescan.txt"
for rep in $(seq 1 "$REPS"); do
  measure bash -c "$(declare -f openssl_all); LIBRARY='$LIBRARY'; openssl_all" >> "$WORK/openssl.txt"
  fresh_data
  measure env ROMM_DATA_PATH="$WORK/data" ROMM_LIBRARY_PATH="$LIBRARY" "$ROMGATE" library scan >> "$WORK/first.txt"
  measure env ROMM_DATA_PATH="$WORK/data" ROMM_LIBRARY_PATH="$LIBRARY" "$ROMGATE" library scan >> "$WORK/rescan.txt"
  echo "rep $rep: openssl $(tail -n1 "$WORK/openssl.txt") | first scan $(tail -n1 "$WORK/first.txt") | rescan $(tail -n1 "$WORK/rescan.txt")  (seconds, peak KiB)" >&2
done

ssl=$(cut -d' ' -f1 "$WORK/openssl.txt" | median)
first=$(cut -d' ' -f1 "$WORK/first.txt" | median)
rescan=$(cut -d' ' -f1 "$WORK/rescan.txt" | median)
ssl_mem=$(cut -d' ' -f2 "$WORK/openssl.txt" | median)
first_mem=$(cut -d' ' -f2 "$WORK/first.txt" | median)
rescan_mem=$(cut -d' ' -f2 "$WORK/rescan.txt" | median)
echo
echo "library: $FILES files, $((bytes / 1048576)) MiB; $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $REPS alternating runs (seconds; peak resident memory):"
awk -v s="$ssl" -v f="$first" -v r="$rescan" -v b="$bytes" -v sm="$ssl_mem" -v fm="$first_mem" -v rm="$rescan_mem" 'BEGIN {
  printf "  openssl dgst -sha256, xargs -P: %6.2f s  %7.0f MiB/s  (peak %d MiB per openssl process)\n", s, b / 1048576 / s, sm / 1024
  printf "  romgate first scan:             %6.2f s  %7.0f MiB/s  (peak %d MiB)  ratio to OpenSSL %.2f\n", f, b / 1048576 / f, fm / 1024, s / f
  printf "  romgate rescan, unchanged:      %6.2f s  (peak %d MiB)\n", r, rm / 1024
}'

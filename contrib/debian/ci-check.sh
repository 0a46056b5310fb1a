#!/usr/bin/env bash
# The Debian package's proof on this machine: builds the .deb with cargo-deb
# from the release binary already built, checks its contents, installs it
# with apt (dependencies, maintainer scripts: the romgate user, the settings
# file's owner and mode), verifies the systemd unit, starts the installed
# binary the way the unit would (as the romgate user, in /var/lib/romgate,
# with the unit's Environment= lines and /etc/romgate/romgate.env) and checks
# it answers, then purges the package.
#
# Without systemd as PID 1 (a container, this CI) the unit itself cannot be
# started: `systemd-analyze verify` checks it, `systemd-analyze security
# --offline` scores its hardening, and the start is done by hand. Only the
# port is changed from the settings file (a free one), so a server already
# on 8080 does not get in the way.
#
#   bash contrib/debian/ci-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '== %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if dpkg-query -W -f '${Status}' romgate 2>/dev/null | grep -q 'install ok installed'; then
  fail "a romgate package is installed on this machine; the check would replace and purge it"
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "cargo deb (from the release binary built before)"
deb=$(cargo deb --no-build --locked --quiet --output "$work/")
deb=$(ls "$work"/romgate_*.deb)
log "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for path in ./usr/bin/romgate ./etc/romgate/romgate.env ./usr/share/doc/romgate/README.md \
            ./usr/lib/systemd/system/romgate.service ./usr/share/doc/romgate/copyright; do
  grep -qx "$path" <<<"$contents" || { echo "$contents" >&2; fail "$path is not in the package"; }
done
dpkg-deb --info "$deb" conffiles | grep -qx /etc/romgate/romgate.env || fail "romgate.env is not a conffile"
dpkg-deb --info "$deb" control | grep -q '^Depends:.*adduser' || fail "the package does not depend on adduser"

log "install it with apt"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
getent passwd romgate | grep -q ':/var/lib/romgate:' || fail "no romgate system user with home /var/lib/romgate"
[ "$(stat -c '%U:%G %a' /etc/romgate/romgate.env)" = "root:romgate 640" ] \
  || fail "romgate.env is $(stat -c '%U:%G %a' /etc/romgate/romgate.env), not root:romgate 640"
[ "$(stat -c '%U %a' /var/lib/romgate)" = "romgate 750" ] || fail "/var/lib/romgate is not romgate's, 0750"
romgate --version >/dev/null
runuser -u romgate -- test -r /etc/romgate/romgate.env || fail "the romgate user cannot read its settings (for the CLI)"

log "systemd-analyze verify romgate.service"
unit=/usr/lib/systemd/system/romgate.service
systemd-analyze verify "$unit" 2>&1 | tee "$work/verify.log" >&2
# verify exits 0 with only warnings; a warning about this unit is a failure.
! grep -q 'romgate.service:' "$work/verify.log" || fail "systemd-analyze verify complains about the unit"
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | grep -o 'Overall exposure level for romgate.service: .*' || true)
log "${score:-systemd-analyze security --offline: no score}"

log "start the installed binary as the unit would, and ask it"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The unit's Environment= lines, then the settings file (which overrides them).
mapfile -t unit_env < <(sed -n 's/^Environment=//p' "$unit")
(
  cd /var/lib/romgate
  # shellcheck disable=SC2046 # one word per VARIABLE=value line
  exec runuser -u romgate -- env -i PATH=/usr/bin:/bin "${unit_env[@]}" \
    $(grep -E '^[A-Z_]+=' /etc/romgate/romgate.env) ROMM_PORT="$port" /usr/bin/romgate serve
) >"$work/server.log" 2>&1 &
for _ in $(seq 1 300); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/api/heartbeat" && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/api/heartbeat" | grep -q '"NEEDED":true' || { cat "$work/server.log" >&2; fail "no heartbeat"; }
server_pid=$(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
[ "$(ps -o user= -p "$server_pid")" = romgate ] || fail "the server does not run as romgate"
ss -ltnH "sport = :$port" | grep -q "127.0.0.1:$port" || fail "the server does not listen on 127.0.0.1 only (romgate.env)"
[ "$(stat -c %U /var/lib/romgate/romgate.db)" = romgate ] || fail "no database of romgate's in /var/lib/romgate"
runuser -u romgate -- env ROMM_PORT="$port" ROMGATE_LISTEN_ADDRESS=127.0.0.1 romgate health >/dev/null \
  || fail "romgate health failed"
kill -TERM "$server_pid"
for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$server_pid" 2>/dev/null || fail "the server did not stop on SIGTERM"
server_pid=""

log "purge the package"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq romgate >/dev/null
[ ! -e /usr/bin/romgate ] && [ ! -e /etc/romgate/romgate.env ] && [ ! -e "$unit" ] || fail "files left after purge"
# The package keeps /var/lib/romgate on purge (someone's data); this was
# the check's own, so it goes.
rm -rf /var/lib/romgate
log "Debian package check passed"

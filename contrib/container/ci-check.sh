#!/usr/bin/env bash
# The container proof CI can give on a machine without an image registry:
# builds the Dockerfile's `prebuilt` stage (the runtime image around CI's
# release binary) with buildah FROM a debootstrapped Debian (base.sh), checks
# the image's configuration, then runs the server from the image with
# `buildah run --isolation chroot` and checks that it
#   - answers the heartbeat, and `romgate health` (the HEALTHCHECK) passes;
#   - runs as the image's user, not root (uid 10001);
#   - keeps its data in the /data volume across a restart (an admin created
#     through the API on the first start signs in on the second, in a new
#     container from the same image);
#   - trusts the CA file mounted as the seed describes for OIDC_TLS_CACERTFILE
#     (`romgate oidc check` reaches a TLS provider signed by that CA with the
#     file, and fails on the certificate without it).
# What it cannot prove here: `podman run` fails on this machine kind (crun
# cannot set RLIMIT_NOFILE), so the container's own network namespace,
# published ports, the HEALTHCHECK run by an engine, and the builder stage
# (no Rust image to pull) are not exercised; `buildah run` shares the host's
# network and runs the same command in the image's filesystem as its user.
#
#   bash contrib/container/ci-check.sh [path/to/release/romgate]
set -euo pipefail
cd "$(dirname "$0")/../.."

binary="${1:-${CARGO_TARGET_DIR:-target}/release/romgate}"
[ -x "$binary" ] || { echo "no release binary at $binary (cargo build --release)" >&2; exit 1; }
image=localhost/romgate:ci-check
buildah=(buildah --storage-driver vfs)
log() { printf '== %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
containers=()
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "${tls_pid:-}" ] && kill "$tls_pid" 2>/dev/null || true
  for container in "${containers[@]}"; do "${buildah[@]}" rm "$container" >/dev/null 2>&1 || true; done
  # The image (a few hundred MB in vfs storage) goes too; the base stays cached.
  "${buildah[@]}" rmi "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

base=$(bash contrib/container/base.sh)

log "build the runtime image around $binary"
mkdir -p "$work/bin"
cp "$binary" "$work/bin/romgate"
"${buildah[@]}" bud --quiet --isolation chroot --format docker --layers=false \
  --target prebuilt --build-arg "DEBIAN_IMAGE=$base" --build-context "bin=$work/bin" \
  -t "$image" -f Dockerfile . >/dev/null

log "the image's configuration"
config=$("${buildah[@]}" inspect --type image "$image")
check_config() {
  python3 - "$config" <<'PY'
import json, sys
c = json.loads(sys.argv[1])["Docker"]["config"]
env = dict(e.split("=", 1) for e in c.get("Env") or [])
problems = []
def want(ok, what):
    if not ok: problems.append(what)
want(c.get("User") == "romgate:romgate", f"User is {c.get('User')!r}")
want("8080/tcp" in (c.get("ExposedPorts") or {}), "EXPOSE 8080")
want(set(c.get("Volumes") or {}) >= {"/data", "/library"}, f"volumes {c.get('Volumes')}")
want(env.get("ROMM_DATA_PATH") == "/data" and env.get("ROMM_LIBRARY_PATH") == "/library", f"env {env}")
want((c.get("Healthcheck") or {}).get("Test") == ["CMD", "/usr/local/bin/romgate", "health"], f"healthcheck {c.get('Healthcheck')}")
want(c.get("Entrypoint") == ["/usr/local/bin/romgate"] and c.get("Cmd") == ["serve"], "entrypoint romgate serve")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY
}
check_config || fail "the image's configuration"

container=$("${buildah[@]}" from --quiet "$image"); containers+=("$container")
uid=$("${buildah[@]}" run --isolation chroot "$container" -- id -u)
[ "$uid" = 10001 ] || fail "commands in the image run as uid $uid, not 10001"
"${buildah[@]}" run --isolation chroot "$container" -- test -s /etc/ssl/certs/ca-certificates.crt \
  || fail "no CA certificates in the image"

# The host directories compose.yaml mounts, owned by the image's user.
mkdir -p "$work/data" "$work/library/roms" "$work/certs"
chown -R 10001:10001 "$work/data" "$work/library"
port=$(free_port)

# Starts the server in a new container from the image (a restart, as an
# engine recreating it would), and waits for its heartbeat. Sets `started`
# (the container) and `server_pid` (romgate's process, as the host sees it).
start() {
  started=$("${buildah[@]}" from --quiet "$image"); containers+=("$started")
  # buildah run mounts a fresh directory of its own over each VOLUME of the
  # image, hiding a -v bind mount there: drop the VOLUME marks from this
  # working container (not from the image) so the host directories show.
  "${buildah[@]}" config --volume /data- --volume /library- "$started"
  "${buildah[@]}" run --isolation chroot -v "$work/data:/data" -v "$work/library:/library" \
    -e ROMM_PORT="$port" -e RUST_LOG=warn "$started" -- /usr/local/bin/romgate serve \
    >>"$work/server.log" 2>&1 &
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/api/heartbeat" && break
    sleep 0.1
  done
  curl -fs -o /dev/null "http://127.0.0.1:$port/api/heartbeat" || { cat "$work/server.log" >&2; fail "no heartbeat"; }
  server_pid=$(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
  [ -n "$server_pid" ] || fail "cannot find the server's process"
}
stop() {
  kill -TERM "$server_pid"
  for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$server_pid" 2>/dev/null || fail "the server did not stop on SIGTERM"
  server_pid=""
}

log "first start: heartbeat, health, non-root, an admin created"
start
first=$started
curl -fs "http://127.0.0.1:$port/api/heartbeat" | grep -q '"NEEDED":true' || fail "a fresh /data should need setup"
"${buildah[@]}" run --isolation chroot -e ROMM_PORT="$port" "$first" -- /usr/local/bin/romgate health >/dev/null \
  || fail "romgate health (the HEALTHCHECK) failed against a running server"
server_uid=$(ps -o uid= -p "$server_pid" | tr -d ' ')
[ "$server_uid" = 10001 ] || fail "the server runs as uid $server_uid"
[ "$(stat -c %u "$work/data/romgate.db" 2>/dev/null)" = 10001 ] || { ls -laR "$work/data" >&2; fail "no database owned by the image's user in the mounted /data"; }
password="container-check-$(date +%s%N)"
curl -fs -o /dev/null -H 'content-type: application/json' \
  -d "{\"username\":\"ci-admin\",\"password\":\"$password\"}" "http://127.0.0.1:$port/api/users" \
  || fail "creating the first admin through the API"
stop

log "second start in a new container: the admin is still there"
start
curl -fs "http://127.0.0.1:$port/api/heartbeat" | grep -q '"NEEDED":false' || fail "setup needed again after a restart"
curl -fs -u "ci-admin:$password" "http://127.0.0.1:$port/api/users/me" | grep -q '"username":"ci-admin"' \
  || fail "the admin cannot sign in after a restart"
stop
if "${buildah[@]}" run --isolation chroot -e ROMM_PORT="$port" "$first" -- /usr/local/bin/romgate health >/dev/null 2>&1; then
  fail "romgate health passed with no server running"
fi

log "OIDC_TLS_CACERTFILE: a provider signed by a private CA, the CA mounted"
tls="$work/tls"
mkdir -p "$tls/www/.well-known"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj '/CN=romgate check CA' \
  -keyout "$tls/ca.key" -out "$work/certs/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=localhost' \
  -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$work/certs/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 1 -extfile "$tls/ext" -out "$tls/server.pem" 2>/dev/null
tls_port=$(free_port)
issuer="https://localhost:$tls_port"
cat >"$tls/www/.well-known/openid-configuration" <<JSON
{"issuer":"$issuer","authorization_endpoint":"$issuer/authorize","token_endpoint":"$issuer/token",
 "jwks_uri":"$issuer/jwks","response_types_supported":["code"],"subject_types_supported":["public"],
 "id_token_signing_alg_values_supported":["RS256"]}
JSON
(cd "$tls/www" && exec openssl s_server -quiet -WWW -accept "$tls_port" -cert "$tls/server.pem" -key "$tls/server.key") \
  >"$work/tls.log" 2>&1 &
tls_pid=$!
for _ in $(seq 1 50); do curl -fs --cacert "$work/certs/ca.pem" -o /dev/null "$issuer/.well-known/openid-configuration" && break; sleep 0.1; done
oidc_check() {
  "${buildah[@]}" run --isolation chroot -v "$work/certs:/certs:ro" \
    -e OIDC_ENABLED=true -e OIDC_CLIENT_ID=romgate -e OIDC_CLIENT_SECRET=check \
    -e OIDC_REDIRECT_URI=http://localhost:8080/api/oauth/openid \
    -e OIDC_SERVER_APPLICATION_URL="$issuer" \
    -e OIDC_SERVER_METADATA_URL="$issuer/.well-known/openid-configuration" \
    "$@" "$first" -- /usr/local/bin/romgate oidc check 2>&1 || true
}
with_ca=$(oidc_check -e OIDC_TLS_CACERTFILE=/certs/ca.pem)
grep -q '^✓ OIDC_TLS_CACERTFILE parses (1 certificate(s))' <<<"$with_ca" || { echo "$with_ca" >&2; fail "the CA file was not read"; }
grep -q '^✓ discovery answers with JSON' <<<"$with_ca" || { echo "$with_ca" >&2; fail "the provider was not trusted with the CA file"; }
without_ca=$(oidc_check)
grep '^✗ discovery answers with JSON' <<<"$without_ca" | grep -qi 'certificate' \
  || { echo "$without_ca" >&2; fail "the provider was not refused for its certificate without the CA file"; }
printf '   with the CA file:    %s\n' "$(grep 'discovery answers' <<<"$with_ca")" >&2
printf '   without the CA file: ✗ ... %s\n' "$(grep 'discovery answers' <<<"$without_ca" | grep -io 'invalid peer certificate.*' | cut -c1-80)" >&2

log "container check passed (image built, run and removed)"

#!/usr/bin/env bash
# Try single sign-on locally: the test OpenID Provider (oidc-provider) on
# http://127.0.0.1:9400 and romgate on http://localhost:8080, wired together.
# Sign in as alice / alice-pw (admin) or bob / bob-pw (viewer). Ctrl-C stops both.
#
# Needs: Node.js 20 or later with npm (22 LTS or later is what oidc-provider 9
# supports; on 20 it prints an "Unsupported runtime" warning and works), and
# romgate's release binary: the one in target/release (or
# $CARGO_TARGET_DIR/release) when it is built, else the script builds it with
# cargo (several minutes the first time). ROMGATE_BIN=path uses another binary.
#
# It leaves nothing in the checkout: romgate's data and an empty library live
# in a temporary directory, removed when the demo stops (set ROMM_DATA_PATH to
# keep the data somewhere of your own).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'demo: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

# Node.js: the version the provider package declares (engines: >=20).
command -v node >/dev/null && command -v npm >/dev/null ||
  fail "needs Node.js 20 or later and npm (22 LTS or later recommended); install them and run again"
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  fail "needs Node.js 20 or later (22 LTS or later recommended); this is $(node --version)"
elif ((node_major < 22)); then
  say "Node.js $(node --version): oidc-provider 9 supports 22 LTS or later and will warn \"Unsupported runtime\"; the demo works anyway"
fi

# romgate: the release binary if it is built, else build it.
target_dir=${CARGO_TARGET_DIR:-target}
bin=${ROMGATE_BIN:-$target_dir/release/romgate}
unset ROMGATE_BIN # not one of romgate's variables: it would warn about it
if [[ -x $bin ]]; then
  say "using $bin"
  newer=$(find src templates Cargo.toml Cargo.lock -type f -newer "$bin" -print -quit 2>/dev/null || true)
  [[ -z $newer ]] || say "note: $newer changed after $bin was built; run 'cargo build --release' to try the changes"
else
  command -v cargo >/dev/null ||
    fail "no romgate binary at $bin and no cargo to build it: install Rust (rustup.rs) and a C compiler (build-essential)"
  say "no romgate binary at $bin: building it with 'cargo build --release' (several minutes the first time)"
  cargo build --release
fi

if [[ ! -d e2e/provider/node_modules ]]; then
  say "installing the test provider's packages (npm ci in e2e/provider)"
  npm ci --prefix e2e/provider --no-audit --no-fund --loglevel=error
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/romgate-demo.XXXXXX")
provider='' server=''
stop() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [[ -n $provider ]] && kill "$provider" 2>/dev/null && wait "$provider" 2>/dev/null
  rm -rf "$scratch"
}
trap stop EXIT
trap 'exit 130' INT TERM

node e2e/provider/server.mjs e2e/provider/demo.json >"$scratch/provider.out" &
provider=$!

export OIDC_ENABLED=true OIDC_PROVIDER="Demo IdP"
export OIDC_CLIENT_ID=romgate OIDC_CLIENT_SECRET=romgate-secret
export OIDC_REDIRECT_URI=http://localhost:8080/api/oauth/openid
export OIDC_SERVER_APPLICATION_URL=http://127.0.0.1:9400
export OIDC_CLAIM_ROLES=groups OIDC_ROLE_VIEWER=romm-users OIDC_ROLE_ADMIN=romm-admins
export OIDC_RP_INITIATED_LOGOUT=true OIDC_POST_LOGOUT_REDIRECT_URI=http://localhost:8080/login
export ROMM_BASE_URL=http://localhost:8080 ROMM_PORT=8080
export ROMM_DATA_PATH="${ROMM_DATA_PATH:-$scratch/data}"
export ROMM_LIBRARY_PATH="${ROMM_LIBRARY_PATH:-$scratch/library}"
mkdir -p "$ROMM_LIBRARY_PATH/roms"

# The provider first: romgate reads its discovery document at start.
for _ in $(seq 100); do
  grep -q '^READY' "$scratch/provider.out" 2>/dev/null && break
  kill -0 "$provider" 2>/dev/null || fail "the test provider stopped (is port 9400 taken?)"
  sleep 0.1
done
grep -q '^READY' "$scratch/provider.out" || fail "the test provider did not start within 10 seconds"

"$bin" serve &
server=$!

# Say where to go once romgate answers.
answers() {
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null http://localhost:8080/api/heartbeat 2>/dev/null
  else
    (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null
  fi
}
for _ in $(seq 300); do
  if answers; then
    say "open http://localhost:8080 and sign in with \"Demo IdP\" as alice / alice-pw (admin) or bob / bob-pw (viewer); Ctrl-C stops the demo"
    break
  fi
  kill -0 "$server" 2>/dev/null || fail "romgate stopped (see its lines above; is port 8080 taken?)"
  sleep 0.1
done
wait "$server"

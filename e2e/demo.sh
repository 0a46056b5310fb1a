#!/usr/bin/env bash
# Try single sign-on locally: the test OpenID Provider (oidc-provider) on
# http://127.0.0.1:9400 and romgate on http://localhost:8080, wired together.
# Sign in as alice / alice-pw (admin) or bob / bob-pw (viewer). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix e2e/provider --no-audit --no-fund --loglevel=error
node e2e/provider/server.mjs e2e/provider/demo.json &
provider=$!
trap 'kill $provider 2>/dev/null' EXIT
export OIDC_ENABLED=true OIDC_PROVIDER="Demo IdP"
export OIDC_CLIENT_ID=romgate OIDC_CLIENT_SECRET=romgate-secret
export OIDC_REDIRECT_URI=http://localhost:8080/api/oauth/openid
export OIDC_SERVER_APPLICATION_URL=http://127.0.0.1:9400
export OIDC_CLAIM_ROLES=groups OIDC_ROLE_VIEWER=romm-users OIDC_ROLE_ADMIN=romm-admins
export OIDC_RP_INITIATED_LOGOUT=true OIDC_POST_LOGOUT_REDIRECT_URI=http://localhost:8080/login
export ROMM_DATA_PATH="${ROMM_DATA_PATH:-./data-demo}"
cargo run --release

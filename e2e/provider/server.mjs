// A real OpenID Provider (the `oidc-provider` package) for romgate's
// end-to-end tests. Loopback only. Usage:
//
//   node e2e/provider/server.mjs CONFIG.json
//
// Prints exactly one line `READY <issuer>` on stdout once listening; on a bad
// config prints `oidc-test-provider: bad config: ...` on stderr and exits 2.
// Everything else (warnings, events) goes to stderr. The config format is
// described in e2e/provider/README.md.
import * as crypto from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import Provider from 'oidc-provider';

const NAME = 'oidc-test-provider';
const log = (line) => process.stderr.write(`${NAME}: ${line}\n`);
const fail = (msg) => {
  log(`bad config: ${msg}`);
  process.exit(2);
};
const errText = (e) => `${e.message}${e.error_description ? ` (${e.error_description})` : ''}${e.cause?.message ? `: ${e.cause.message}` : ''}`;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---------------------------------------------------------------- config
if (!process.argv[2]) fail('usage: node server.mjs CONFIG.json');
let cfg;
try {
  cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (err) {
  fail(`cannot read ${process.argv[2]}: ${err.message}`);
}
if (!isObject(cfg)) fail('the config must be a JSON object');
if (!Number.isInteger(cfg.port) || cfg.port < 1 || cfg.port > 65535) fail('`port` must be an integer 1..65535');
if (typeof cfg.issuer !== 'string') fail('`issuer` is required (e.g. http://127.0.0.1:PORT)');
let issuerUrl;
try {
  issuerUrl = new URL(cfg.issuer);
} catch {
  fail(`\`issuer\` is not a URL: ${cfg.issuer}`);
}
const wantHttps = issuerUrl.protocol === 'https:';
if (wantHttps !== Boolean(cfg.tls)) fail('an https issuer needs `tls` {cert, key} and an http one must not have it');
if (cfg.tls && (typeof cfg.tls.cert !== 'string' || typeof cfg.tls.key !== 'string')) fail('`tls` must be {"cert": PEM path, "key": PEM path}');
const clients = cfg.clients ?? [];
if (!Array.isArray(clients) || !clients.every((c) => isObject(c) && typeof c.client_id === 'string')) fail('`clients` must be an array of client metadata objects with client_id');

// ---------------------------------------------------------------- accounts
const accounts = new Map(); // sub -> { sub, login, password, disabled, claims }
function putAccount(a) {
  if (!isObject(a) || typeof a.sub !== 'string' || !a.sub) throw new Error('an account needs a non-empty string `sub`');
  if (typeof a.password !== 'string') throw new Error(`account ${a.sub}: \`password\` (string) is required`);
  if (a.claims !== undefined && !isObject(a.claims)) throw new Error(`account ${a.sub}: \`claims\` must be an object`);
  const account = {
    sub: a.sub, login: a.login ?? a.sub, password: a.password, disabled: Boolean(a.disabled), claims: a.claims ?? {},
  };
  accounts.set(a.sub, account);
  return account;
}
try {
  if (cfg.accounts !== undefined && !Array.isArray(cfg.accounts)) throw new Error('`accounts` must be an array');
  (cfg.accounts ?? []).forEach(putAccount);
} catch (err) {
  fail(err.message);
}
const byLogin = (login) => [...accounts.values()].find((a) => a.login === login);

// ---------------------------------------------------------------- claims and scopes
const STANDARD_SCOPES = {
  openid: ['sub'],
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
    'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
  groups: ['groups'],
};
const knownClaims = new Set(Object.values(STANDARD_SCOPES).flat());
const customClaims = new Set([...(cfg.extraClaims ?? [])]);
for (const a of accounts.values()) {
  Object.keys(a.claims).filter((c) => !knownClaims.has(c) && c !== 'sub').forEach((c) => customClaims.add(c));
}
// A custom claim is released under `profile` and under a scope of its own name
// (romgate asks for the first segment of OIDC_CLAIM_ROLES as a scope).
const claims = { ...STANDARD_SCOPES, profile: [...STANDARD_SCOPES.profile, ...customClaims] };
for (const c of customClaims) if (!(c in claims)) claims[c] = [c];
if (cfg.scopes !== undefined) {
  if (!isObject(cfg.scopes) || !Object.values(cfg.scopes).every(Array.isArray)) fail('`scopes` must map scope names to arrays of claim names');
  Object.assign(claims, cfg.scopes);
}

// ---------------------------------------------------------------- signing keys
const KEY_TYPES = {
  RS256: ['rsa', { modulusLength: 2048 }], PS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }], EdDSA: ['ed25519', {}],
};
function generateKeys(kid, algs) {
  return algs.map((alg, i) => {
    if (!KEY_TYPES[alg]) fail(`signingAlgs: unsupported ${alg} (use ${Object.keys(KEY_TYPES).join(', ')})`);
    const [type, options] = KEY_TYPES[alg];
    // PEM out, then a fresh KeyObject for the JWK: exporting the KeyObject that
    // generateKeyPairSync returned can deadlock Node 20 (a GC during export
    // destroys the key generation job, which locks the same key's mutex).
    const { privateKey: pem } = crypto.generateKeyPairSync(type, {
      ...options,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' });
    return { ...jwk, kid: i === 0 ? kid : `${kid}-${alg.toLowerCase()}`, alg, use: 'sig' };
  });
}
function loadKeys() {
  if (cfg.keys !== undefined) {
    if (!Array.isArray(cfg.keys) || cfg.keys.length === 0 || !cfg.keys.every(isObject)) fail('`keys` must be a non-empty array of private JWKs');
    return cfg.keys;
  }
  if (cfg.keysFile && existsSync(cfg.keysFile)) {
    let saved;
    try {
      saved = JSON.parse(readFileSync(cfg.keysFile, 'utf8')).keys;
    } catch (err) {
      fail(`keysFile ${cfg.keysFile}: ${err.message}`);
    }
    // Reused unless a different `kid` is asked for (that is a rotation).
    if (Array.isArray(saved) && saved.length && (cfg.kid === undefined || saved[0].kid === cfg.kid)) return saved;
  }
  const kid = cfg.kid ?? `kid-${crypto.randomBytes(6).toString('hex')}`;
  const keys = generateKeys(kid, cfg.signingAlgs ?? ['RS256']);
  if (cfg.keysFile) writeFileSync(cfg.keysFile, JSON.stringify({ keys }), { mode: 0o600 });
  return keys;
}

// ---------------------------------------------------------------- provider
const events = [];
const features = {
  devInteractions: { enabled: true },
  rpInitiatedLogout: { enabled: true },
  backchannelLogout: { enabled: true },
  claimsParameter: { enabled: Boolean(cfg.claimsParameter) },
  revocation: { enabled: true },
  introspection: { enabled: true },
};
if (cfg.features !== undefined) {
  if (!isObject(cfg.features)) fail('`features` must be an object');
  for (const [k, v] of Object.entries(cfg.features)) features[k] = { ...features[k], ...v };
  features.devInteractions = { enabled: true };
}
const requirePkce = Boolean(cfg.requirePkce);

const configuration = {
  clients,
  claims,
  conformIdTokenClaims: cfg.conformIdTokenClaims ?? false,
  jwks: { keys: loadKeys() },
  features,
  pkce: { required: (ctx, client) => requirePkce || client.clientAuthMethod === 'none' },
  cookies: { keys: ['romgate-e2e-cookie-key'] },
  ttl: {
    AccessToken: 3600, AuthorizationCode: 600, IdToken: 3600, Interaction: 3600,
    Session: 86400, Grant: 86400, RefreshToken: 86400, ...(cfg.ttl ?? {}),
  },
  async findAccount(ctx, sub) {
    const a = accounts.get(sub);
    if (!a) return undefined;
    return { accountId: a.sub, claims: async () => ({ ...structuredClone(a.claims), sub: a.sub }) };
  },
  // oidc-provider's own fetch refuses loopback addresses (SSRF guard); the
  // relying party under test lives on 127.0.0.1, so back-channel logout must reach it.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  ...(cfg.enabledJWA ? { enabledJWA: cfg.enabledJWA } : {}),
  ...(cfg.providerOptions ?? {}),
};

let provider;
try {
  provider = new Provider(cfg.issuer, configuration);
  for (const c of clients) await provider.Client.find(c.client_id);
} catch (err) {
  fail(errText(err));
}

for (const name of ['backchannel.success', 'backchannel.error', 'end_session.success', 'server_error', 'grant.error', 'authorization.error']) {
  provider.on(name, (ctx, ...rest) => {
    const detail = { event: name, client_id: ctx?.oidc?.entities?.Client?.clientId };
    for (const x of rest) {
      if (x instanceof Error) detail.error = errText(x);
      else if (x?.clientId) detail.client_id = x.clientId;
    }
    if (name.startsWith('backchannel.')) [detail.sub, detail.sid] = rest.slice(-2);
    events.push(detail);
    log(JSON.stringify(detail));
  });
}

// ---------------------------------------------------------------- login with a checked password
const readBody = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
};
const sha256 = (s) => crypto.createHash('sha256').update(s).digest();
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function refusedLoginPage(submitUrl, login, message) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign-in</title></head><body>
<h1>Sign-in</h1><p class="error">${esc(message)}</p>
<form autocomplete="off" action="${esc(submitUrl)}" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" value="${esc(login)}">
  <input required type="password" name="password">
  <button type="submit" class="login login-submit">Sign-in</button>
</form></body></html>`;
}

// devInteractions renders the pages and handles consent; it would accept any
// password, so the login submission is checked here first.
provider.use(async (ctx, next) => {
  const m = ctx.method === 'POST' ? /^\/interaction\/([^/]+)$/.exec(ctx.path) : null;
  if (!m) return next();
  const raw = await readBody(ctx.req);
  const form = new URLSearchParams(raw);
  if (form.get('prompt') !== 'login') {
    ctx.req.body = raw; // handed on to devInteractions' body parser
    return next();
  }
  const login = form.get('login') ?? '';
  const account = byLogin(login);
  let refusal;
  if (!account || !crypto.timingSafeEqual(
    sha256(form.get('password') ?? ''),
    sha256(account.password),
  )) refusal = 'Invalid login or password.';
  else if (account.disabled) refusal = 'This account is disabled.';
  if (refusal) {
    log(`login refused for ${JSON.stringify(login)}: ${refusal}`);
    ctx.status = 401;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = refusedLoginPage(`${cfg.issuer.replace(/\/$/, '')}/interaction/${m[1]}`, login, refusal);
    return undefined;
  }
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  ctx.respond = false;
  return undefined;
});

// ---------------------------------------------------------------- test control endpoints
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/__harness/')) return next();
  ctx.type = 'json';
  try {
    if (ctx.method === 'GET' && ctx.path === '/__harness/events') {
      ctx.body = events;
    } else if (ctx.method === 'POST' && ctx.path === '/__harness/accounts') {
      const a = putAccount(JSON.parse(await readBody(ctx.req)));
      ctx.body = { ok: true, sub: a.sub };
    } else if (ctx.method === 'POST' && ctx.path === '/__harness/backchannel-logout') {
      const { sub, sid, client_id: only } = JSON.parse(await readBody(ctx.req));
      if (typeof sub !== 'string') throw new Error('`sub` is required');
      const results = [];
      for (const c of clients.filter((x) => x.backchannel_logout_uri && (!only || x.client_id === only))) {
        const client = await provider.Client.find(c.client_id);
        try {
          await client.backchannelLogout(sub, sid);
          results.push({ client_id: c.client_id, ok: true });
        } catch (err) {
          results.push({ client_id: c.client_id, ok: false, error: errText(err) });
        }
      }
      ctx.body = results;
    } else {
      ctx.status = 404;
      ctx.body = { error: 'no such harness endpoint' };
    }
  } catch (err) {
    ctx.status = 400;
    ctx.body = { error: err.message };
  }
  return undefined;
});

// ---------------------------------------------------------------- listen
let server;
try {
  server = wantHttps
    ? https.createServer({ cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) }, provider.callback())
    : http.createServer(provider.callback());
} catch (err) {
  fail(`tls: ${err.message}`);
}
server.on('error', (err) => {
  log(`cannot listen on 127.0.0.1:${cfg.port}: ${err.message}`);
  process.exit(3);
});
server.listen(cfg.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${cfg.issuer}\n`);
});

const stop = (signal) => {
  log(`${signal}: shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

// The browser suite's harness: the real romgate binary, the real test
// OpenID Provider (../provider/server.mjs) and Debian's Chromium, all on
// loopback, each scenario with its own data directory. Every romgate page a
// test opens is checked for accessibility (./a11y.mjs).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { romgateOrigins, watch } from './a11y.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../..');
const targetDir = process.env.CARGO_TARGET_DIR || join(repo, 'target');
export const romgateBin = process.env.ROMGATE_BIN || join(targetDir, 'release', 'romgate');
export const screenshotDir = join(repo, 'target', 'browser-screenshots');
mkdirSync(screenshotDir, { recursive: true });

const processes = new Set();
process.on('exit', () => { for (const p of processes) p.kill('SIGKILL'); });

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

function track(child) {
  processes.add(child);
  child.on('exit', () => processes.delete(child));
  return child;
}

/** The test provider with `config` (port and issuer filled in). */
export async function startProvider(config) {
  const port = config.port ?? await freePort();
  const full = { issuer: `http://127.0.0.1:${port}`, ...config, port };
  const dir = mkdtempSync(join(tmpdir(), 'romgate-idp-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(full));
  const child = track(spawn('node', [join(repo, 'e2e/provider/server.mjs'), file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = createInterface({ input: child.stdout });
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`provider did not start: ${stderr}`)), 30000);
    lines.on('line', (line) => { if (line.startsWith('READY')) { clearTimeout(timer); ok(); } });
    child.on('exit', (code) => fail(new Error(`provider exited ${code}: ${stderr}`)));
  });
  return { port, issuer: full.issuer, url: (p) => `${full.issuer}${p}`, stop: () => child.kill('SIGTERM') };
}

/** A provider config for a romgate at `base`: client romgate, accounts. */
export function providerConfig(base, accounts = defaultAccounts()) {
  return {
    clients: [{
      client_id: 'romgate',
      client_secret: 'romgate-secret',
      redirect_uris: [`${base}/api/oauth/openid`],
      post_logout_redirect_uris: [`${base}/login`],
    }],
    accounts,
  };
}

export function account(login, claims) {
  return { sub: `${login}-sub`, login, password: `${login}-pw`, claims: {
    email: `${login}@example.test`, email_verified: true, preferred_username: login, ...claims } };
}

export function defaultAccounts() {
  return [
    account('alice', { name: 'Alice Admin', groups: ['romm-admins'] }),
    account('vera', { name: 'Vera Viewer', groups: ['romm-users'] }),
    account('olga', { name: 'Olga Outsider', groups: ['other'] }),
    account('uma', { name: 'Uma Unverified', email_verified: false, groups: ['romm-users'] }),
  ];
}

/** romgate on `port` with `env`; resolves once it answers. */
export async function startRomgate(port, env = {}) {
  const data = mkdtempSync(join(tmpdir(), 'romgate-data-'));
  const base = `http://127.0.0.1:${port}`;
  romgateOrigins.add(base);
  const fullEnv = {
    PATH: process.env.PATH,
    ROMM_DATA_PATH: data,
    ROMM_LIBRARY_PATH: join(data, 'library'),
    ROMM_PORT: String(port),
    ROMM_BASE_URL: base,
    ROMM_AUTH_SECRET_KEY: 'browser-suite-key',
    RUST_LOG: 'warn',
    ...env,
  };
  const child = track(spawn(romgateBin, [], { env: fullEnv, stdio: ['ignore', 'ignore', 'inherit'] }));
  for (let i = 0; i < 400; i++) {
    try {
      const answer = await fetch(`${base}/api/heartbeat`);
      if (answer.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((ok) => setTimeout(ok, 25));
  }
  const cli = (...args) => execFileSync(romgateBin, args, { env: fullEnv, input: args.includes('--password-stdin') ? 'a long password\n' : '' });
  return { base, data, url: (p) => `${base}${p}`, cli, stop: () => child.kill('SIGTERM') };
}

/** romgate wired to a fresh provider. */
export async function startWired(env = {}, accounts) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const provider = await startProvider(providerConfig(base, accounts));
  const romgate = await startRomgate(port, {
    OIDC_ENABLED: 'true',
    OIDC_CLIENT_ID: 'romgate',
    OIDC_CLIENT_SECRET: 'romgate-secret',
    OIDC_REDIRECT_URI: `${base}/api/oauth/openid`,
    OIDC_SERVER_APPLICATION_URL: provider.issuer,
    ...env,
  });
  return { provider, romgate, stop: () => { romgate.stop(); provider.stop(); } };
}

/** Debian's Chromium, headless, with a fresh profile (playwright makes one). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A fresh browser context (own cookies); `phone` for a 375 px screen,
 * `colorScheme` 'light' (the default) or 'dark' for the system preference
 * the pages see. Its romgate pages are checked with axe-core (./a11y.mjs).
 */
export async function newPage(browser, { phone = false, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({
    colorScheme,
    ...(phone
      ? { viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : { viewport: { width: 1280, height: 800 } }),
  });
  const page = await context.newPage();
  await watch(page);
  return page;
}

/** A full-page screenshot under target/browser-screenshots/. */
export async function shot(page, name) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Signs in at the provider's own pages (login, then consent if asked). */
export async function providerSignIn(page, login, password, shotPrefix) {
  await page.waitForSelector('input[name="login"]');
  if (shotPrefix) await shot(page, `${shotPrefix}-provider-login`);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
  const consent = await page.$('button[autofocus], form input[name="prompt"][value="consent"]');
  if (consent && page.url().includes('/interaction/')) {
    if (shotPrefix) await shot(page, `${shotPrefix}-provider-consent`);
    await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
  }
}

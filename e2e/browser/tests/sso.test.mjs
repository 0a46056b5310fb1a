// Single sign-on in a real browser, through the provider's own pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, providerSignIn, shot, startWired } from '../lib/harness.mjs';

const ROLES = { OIDC_CLAIM_ROLES: 'groups', OIDC_ROLE_VIEWER: 'romm-users', OIDC_ROLE_ADMIN: 'romm-admins' };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('the button names the provider, or says OIDC', async () => {
  for (const [env, label, name] of [[{ OIDC_PROVIDER: 'TestIdP' }, 'Sign in with TestIdP', 'named'], [{}, 'Sign in with OIDC', 'unnamed']]) {
    const wired = await startWired(env);
    try {
      wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
      const page = await newPage(browser);
      await page.goto(wired.romgate.url('/login'));
      assert.equal((await page.textContent('a.button.primary')).trim(), label);
      assert.ok(await page.$('input[name="password"]'), 'the password form is there too');
      await shot(page, `sso-button-${name}`);
    } finally { wired.stop(); }
  }
});

test('the whole round trip lands on / signed in with the mapped role', async () => {
  const wired = await startWired({ OIDC_PROVIDER: 'TestIdP', ...ROLES });
  try {
    wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/login'));
    await page.click('text=Sign in with TestIdP');
    await providerSignIn(page, 'vera', 'vera-pw', 'sso-roundtrip');
    await page.waitForURL(wired.romgate.url('/'));
    assert.match(await page.textContent('main'), /signed in as vera with the role viewer/);
    await shot(page, 'sso-roundtrip-signed-in');
  } finally { wired.stop(); }
});

test('auto-login goes straight to the provider; a refusal shows a page and does not loop', async () => {
  const wired = await startWired({ OIDC_AUTOLOGIN: 'true', ...ROLES });
  try {
    wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/login'));
    assert.ok(page.url().startsWith(wired.provider.issuer), `at the provider: ${page.url()}`);
    await shot(page, 'autologin-1-at-provider');
    await providerSignIn(page, 'olga', 'olga-pw');
    await page.waitForLoadState('load');
    assert.match(page.url(), /\/api\/oauth\/openid/, 'the error page stays put');
    assert.match(await page.textContent('main'), /no role for this application/);
    await shot(page, 'autologin-2-no-role-page');
    await page.waitForTimeout(500);
    assert.match(page.url(), /\/api\/oauth\/openid/, 'no redirect loop');
    await page.goto(wired.romgate.url('/login?local=1'));
    assert.ok(await page.$('input[name="password"]'), 'the local form on request');
    await shot(page, 'autologin-3-local-form');
  } finally { wired.stop(); }
});

test('password login disabled: the button alone', async () => {
  const wired = await startWired({ DISABLE_USERPASS_LOGIN: 'true', OIDC_PROVIDER: 'TestIdP' });
  try {
    wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--email', 'root@example.test');
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/login'));
    assert.equal(await page.$('input[name="password"]'), null);
    assert.ok(await page.$('text=Sign in with TestIdP'));
    await shot(page, 'sso-only-login');
  } finally { wired.stop(); }
});

test('RP-initiated logout ends the provider session: the next sign-in asks again', async () => {
  const wired = await startWired({ OIDC_RP_INITIATED_LOGOUT: 'true', ...ROLES });
  try {
    wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/login'));
    await page.click('text=Sign in with OIDC');
    await providerSignIn(page, 'alice', 'alice-pw');
    await page.waitForURL(wired.romgate.url('/'));
    assert.match(await page.textContent('main'), /role admin/);
    await Promise.all([page.waitForURL((url) => url.toString().startsWith(wired.provider.issuer)), page.click('text=Sign out')]);
    await shot(page, 'rp-logout-1-provider-confirm');
    await Promise.all([page.waitForLoadState('load'), page.click('button[name="logout"][value="yes"], button:has-text("Yes")')]);
    await shot(page, 'rp-logout-2-after');
    await page.goto(wired.romgate.url('/login'));
    await page.click('text=Sign in with OIDC');
    await page.waitForSelector('input[name="login"]');
    assert.ok(page.url().startsWith(wired.provider.issuer), 'the provider asks for credentials again');
    await shot(page, 'rp-logout-3-asked-again');
  } finally { wired.stop(); }
});

test('each refusal a person can meet is a page in plain words', async () => {
  const cases = [
    ['registration-disabled', { OIDC_ALLOW_REGISTRATION: 'false' }, 'vera', /cannot be created by signing in/],
    ['no-role', ROLES, 'olga', /no role for this application/],
    ['unverified-email', {}, 'uma', /not verified/],
  ];
  for (const [name, env, login, words] of cases) {
    const wired = await startWired(env);
    try {
      wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
      const page = await newPage(browser);
      await page.goto(wired.romgate.url('/api/login/openid'));
      await providerSignIn(page, login, `${login}-pw`);
      await page.waitForLoadState('load');
      assert.match(await page.textContent('main'), words, name);
      assert.ok(await page.$('text=Back to sign in'), `${name}: a way back`);
      await shot(page, `refusal-${name}`);
    } finally { wired.stop(); }
  }
  const wired = await startWired({});
  try {
    wired.romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    wired.provider.stop();
    await new Promise((ok) => setTimeout(ok, 300));
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/login'));
    await page.click('text=Sign in with OIDC');
    await page.waitForLoadState('load');
    assert.match(await page.textContent('main'), /unreachable right now/);
    await shot(page, 'refusal-provider-unreachable');
  } finally { wired.stop(); }
});

// RomM's apps for a person who only ever signs in through the identity
// provider (issue 14): a device shows a code, the person approves it from
// a phone through the verification link, the device polls and calls the
// API with its rmm_ token and exactly the approved scopes; the person then
// sees it on the devices page and revokes it, which stops it at once. And
// an app without a device sign-in: the person adds an app token on the
// devices page, gets a pairing code, and the app exchanges it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, providerSignIn, shot, startWired } from '../lib/harness.mjs';

const ROLES = { OIDC_CLAIM_ROLES: 'groups', OIDC_ROLE_VIEWER: 'romm-users', OIDC_ROLE_ADMIN: 'romm-admins' };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function postJson(url, body) {
  const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: answer.status, body: await answer.json() };
}

/** What the device's first poll after the approval receives. */
async function pollOnce(romgate, deviceCode) {
  return postJson(romgate.url('/api/auth/device/token'), { device_code: deviceCode });
}

function api(romgate, token, path) {
  return fetch(romgate.url(path), { headers: { authorization: `Bearer ${token}` } });
}

test('an SSO-only person pairs a TV app from a phone; the app gets exactly the approved scopes', async () => {
  const wired = await startWired({ DISABLE_USERPASS_LOGIN: 'true', OIDC_PROVIDER: 'TestIdP', ...ROLES });
  const { romgate } = wired;
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const started = await postJson(romgate.url('/api/auth/device/init'), {
      client_device_identifier: 'tv-living-room', name: 'Living room TV', client: 'argosy',
      platform: 'android', client_version: '1.4.2',
      requested_scopes: ['me.read', 'roms.read', 'platforms.read', 'roms.write'],
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const flow = started.body;
    const pending = await pollOnce(romgate, flow.device_code);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.detail, 'authorization_pending');

    // The phone opens what the device shows (its QR code holds this link).
    const page = await newPage(browser, { phone: true });
    await page.goto(romgate.url(flow.verification_path_complete));
    await shot(page, 'pair-1-sign-in-first');
    await page.click('text=Sign in with TestIdP');
    await providerSignIn(page, 'vera', 'vera-pw');
    await page.waitForURL((url) => url.pathname === '/pair/device');
    assert.equal(new URL(page.url()).searchParams.get('user_code'), flow.user_code, 'back at the same code');
    assert.match(await page.textContent('main'), /Living room TV/);
    assert.equal((await page.textContent('.usercode')).replace('-', ''), flow.user_code, 'the code the device shows');
    // A viewer cannot grant roms.write: shown, but not to be ticked.
    assert.equal(await page.isDisabled('#scope-roms\\.write'), true);
    await shot(page, 'pair-2-approval-page');
    await page.uncheck('#scope-platforms\\.read');
    await page.fill('#device_name', 'TV downstairs');
    await Promise.all([page.waitForLoadState('load'), page.click('text=Approve')]);
    assert.match(await page.textContent('main'), /Approved/);
    await shot(page, 'pair-3-approved');

    const issued = await pollOnce(romgate, flow.device_code);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = issued.body.access_token;
    assert.match(token, /^rmm_[0-9a-f]{64}$/);
    assert.deepEqual([...issued.body.scopes].sort(), ['me.read', 'roms.read']);
    const again = await pollOnce(romgate, flow.device_code);
    assert.equal(again.body.detail, 'expired_token', 'exactly one poll gets the token');

    const me = await api(romgate, token, '/api/users/me');
    assert.equal(me.status, 200);
    assert.equal((await me.json()).username, 'vera');
    assert.equal((await api(romgate, token, '/api/platforms')).status, 403, 'platforms.read was not approved');

    // On the same phone: the devices page lists the TV with its last use, and revokes it.
    await page.goto(romgate.url('/devices'));
    const tv = page.locator('#devices li', { hasText: 'TV downstairs' });
    assert.equal(await tv.count(), 1);
    const seen = await tv.locator('dt:text-is("Last seen") + dd').textContent();
    assert.match(seen, /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/, 'last use in the page\'s time format');
    assert.match(await tv.textContent(), /argosy 1\.4\.2/);
    assert.match(await tv.textContent(), /me\.read, roms\.read/);
    await shot(page, 'pair-4-devices-page');
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/devices' && url.searchParams.get('done') === 'device'),
      page.getByRole('button', { name: 'Revoke the device TV downstairs' }).click(),
    ]);
    assert.match(await page.textContent('[role="status"]'), /That device is revoked/);
    assert.match(await page.textContent('#devices'), /No devices are signed in/);
    await shot(page, 'pair-5-device-revoked');
    assert.equal((await api(romgate, token, '/api/users/me')).status, 401, 'the device is refused at once');
  } finally { wired.stop(); }
});

test('an SSO-only person adds an app token on the devices page and pairs an app with a short code', async () => {
  const wired = await startWired({ DISABLE_USERPASS_LOGIN: 'true', OIDC_PROVIDER: 'TestIdP', ...ROLES });
  const { romgate } = wired;
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const page = await newPage(browser, { phone: true });
    await page.goto(romgate.url('/devices'));
    await page.click('text=Sign in with TestIdP');
    await providerSignIn(page, 'vera', 'vera-pw');
    await page.waitForURL((url) => url.pathname === '/devices');
    assert.match(await page.textContent('#tokens'), /You have no app tokens/);
    // A viewer is offered no scope beyond the role.
    assert.equal(await page.locator('#add-scope-roms\\.write').count(), 0);
    await page.fill('#token-name', 'Handheld');
    assert.equal(await page.isChecked('#add-scope-roms\\.read'), true, 'what a game app needs is ticked');
    await page.uncheck('#add-scope-platforms\\.read');
    await page.selectOption('#token-expiry', '30d');
    await shot(page, 'app-token-1-add-form');
    await Promise.all([page.waitForURL((url) => url.pathname === '/devices/tokens'), page.click('text=Add the app')]);
    assert.match(await page.textContent('h1'), /Your new app token/);
    assert.match(await page.textContent('main'), /will not be shown again/);
    const shown = await page.inputValue('#raw-token');
    assert.match(shown, /^rmm_[0-9a-f]{64}$/);
    assert.ok(!page.url().includes(shown), 'never in an address');
    await shot(page, 'app-token-2-shown-once');

    await Promise.all([page.waitForURL((url) => /^\/devices\/tokens\/\d+\/pair$/.test(url.pathname)), page.click('text=Get a pairing code')]);
    const code = (await page.textContent('#pairing-code')).trim();
    assert.match(code, /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}$/);
    assert.match(await page.textContent('main'), /within 60 seconds/);
    await shot(page, 'app-token-3-pairing-code');

    // The app, typing the code.
    const exchanged = await postJson(romgate.url('/api/client-tokens/exchange'), { code });
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
    const token = exchanged.body.raw_token;
    assert.match(token, /^rmm_[0-9a-f]{64}$/);
    assert.notEqual(token, shown);
    const me = await api(romgate, token, '/api/users/me');
    assert.equal(me.status, 200);
    assert.equal((await me.json()).username, 'vera');
    assert.equal((await api(romgate, token, '/api/roms')).status, 200, 'roms.read was ticked');
    assert.equal((await api(romgate, token, '/api/platforms')).status, 403, 'platforms.read was not');
    assert.equal((await api(romgate, shown, '/api/users/me')).status, 401, 'the secret shown before is replaced');

    await page.goto(romgate.url('/devices'));
    const listed = page.locator('#tokens li', { hasText: 'Handheld' });
    assert.match(await listed.locator('dt:text-is("Last used") + dd').textContent(), /UTC$/);
    assert.ok(!(await page.content()).includes(token), 'the page shows no secret');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('done') === 'token'),
      page.getByRole('button', { name: 'Revoke the app token Handheld' }).click(),
    ]);
    assert.equal((await api(romgate, token, '/api/users/me')).status, 401);
  } finally { wired.stop(); }
});

// RomM's apps for a person who only ever signs in through the identity
// provider (issue 14): a device shows a code, the person approves it from
// a phone through the verification link, the device polls and calls the
// API with its rmm_ token and exactly the approved scopes.
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
  } finally { wired.stop(); }
});

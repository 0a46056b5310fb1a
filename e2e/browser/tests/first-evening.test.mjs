// What a new self-hoster clicks through (issue 13): single sign-on from the
// setup page, SSO-only setup, the users page's forms, deleting with a
// confirmation, and upload errors on the page they came from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, launch, newPage, providerSignIn, shot, startRomgate, startWired } from '../lib/harness.mjs';

const ROLES = { OIDC_CLAIM_ROLES: 'groups', OIDC_ROLE_VIEWER: 'romm-users', OIDC_ROLE_ADMIN: 'romm-admins' };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function signIn(romgate, name) {
  const page = await newPage(browser);
  await page.goto(romgate.url('/login'));
  await page.fill('#username', name);
  await page.fill('#password', 'a long password');
  await Promise.all([page.waitForURL(romgate.url('/')), page.click('main button[type="submit"]')]);
  return page;
}

test('first boot with single sign-on: the setup page has the button; a provider admin becomes the admin', async () => {
  const wired = await startWired({ OIDC_PROVIDER: 'TestIdP', ...ROLES });
  try {
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/'));
    assert.match(page.url(), /\/setup$/);
    assert.match(await page.textContent('main'), /OIDC_ROLE_ADMIN/);
    await shot(page, 'setup-sso-1-setup-page');
    await page.click('text=Sign in with TestIdP');
    await providerSignIn(page, 'alice', 'alice-pw');
    await page.waitForURL(wired.romgate.url('/'));
    assert.match(await page.textContent('main'), /signed in as alice with the role admin/);
    await shot(page, 'setup-sso-2-admin-home');
  } finally { wired.stop(); }
});

test('first boot, SSO only: setup asks a username and an email, no password', async () => {
  const wired = await startWired({ DISABLE_USERPASS_LOGIN: 'true', OIDC_PROVIDER: 'TestIdP' });
  try {
    const page = await newPage(browser);
    await page.goto(wired.romgate.url('/setup'));
    assert.equal(await page.$('input[name="password"]'), null, 'no password field');
    await shot(page, 'setup-sso-only-1-form');
    await page.fill('#username', 'root');
    await page.fill('#email', 'alice@example.test');
    await Promise.all([page.waitForURL(wired.romgate.url('/')), page.click('main form button[type="submit"]')]);
    assert.match(await page.textContent('main'), /signed in as root with the role admin/);
    await shot(page, 'setup-sso-only-2-home');
  } finally { wired.stop(); }
});

test('users page: create a user, set a password, delete after a confirmation', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const admin = await signIn(romgate, 'root');
    await admin.goto(romgate.url('/login'));
    assert.equal(admin.url(), romgate.url('/'), 'signed in: /login goes home');
    await admin.goto(romgate.url('/admin/users'));
    await admin.fill('#new-username', 'nina');
    await admin.fill('#new-email', 'nina@example.test');
    await admin.fill('#new-password', 'short');
    await admin.selectOption('#new-role', 'editor');
    // The browser's own minlength check would stop it: let the server say it.
    await admin.evaluate(() => document.querySelector('#new-password').removeAttribute('minlength'));
    await Promise.all([admin.waitForLoadState('load'), admin.click('text=Create user')]);
    assert.match(await admin.textContent('[role="alert"]'), /8/);
    assert.equal(await admin.inputValue('#new-username'), 'nina', 'what was typed is kept');
    await shot(admin, 'users-1-create-refused');
    await admin.fill('#new-password', 'nina long password');
    await Promise.all([admin.waitForURL(/done=created/), admin.click('text=Create user')]);
    assert.match(await admin.textContent('main'), /The account is created\./);
    await shot(admin, 'users-2-created');

    const row = admin.locator('tr', { hasText: 'nina@example.test' });
    await row.locator('input[name="password"]').fill('nina other password');
    await Promise.all([admin.waitForURL(/done=password/), row.locator('text=Set password').click()]);
    assert.match(await admin.textContent('main'), /The password is set/);
    const nina = await newPage(browser);
    await nina.goto(romgate.url('/login'));
    await nina.fill('#username', 'nina');
    await nina.fill('#password', 'nina other password');
    await Promise.all([nina.waitForURL(romgate.url('/')), nina.click('main button[type="submit"]')]);
    assert.match(await nina.textContent('main'), /signed in as nina with the role editor/);

    await Promise.all([admin.waitForURL(/\/delete$/), admin.locator('tr', { hasText: 'nina@example.test' }).locator('text=Delete').click()]);
    assert.match(await admin.textContent('main'), /Delete user nina\?/);
    await shot(admin, 'users-3-delete-confirm');
    await Promise.all([admin.waitForURL(/\/admin\/users$/), admin.click('main button:has-text("Delete nina")')]);
    assert.doesNotMatch(await admin.textContent('main'), /nina@example\.test/);
    await shot(admin, 'users-4-deleted');
  } finally { romgate.stop(); }
});

test('library: an upload error shows on its page; deleting a game asks first; viewers see no scan text', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    romgate.cli('user', 'create', 'vera', '--role', 'viewer', '--password-stdin');
    const viewer = await signIn(romgate, 'vera');
    await viewer.goto(romgate.url('/library'));
    assert.doesNotMatch(await viewer.textContent('main'), /run a scan/);
    await shot(viewer, 'library-1-viewer-empty');
    await viewer.goto(romgate.url('/admin/users'));
    assert.match(await viewer.textContent('main'), /Only administrators can see this\./);
    await shot(viewer, 'library-2-viewer-admin-page');

    const admin = await signIn(romgate, 'root');
    await admin.goto(romgate.url('/library'));
    assert.match(await admin.textContent('main'), /run a scan/, 'an admin is told how to add games');
    mkdirSync(join(romgate.data, 'library', 'roms'), { recursive: true });
    const file = { name: 'Mario.z64', mimeType: 'application/octet-stream', buffer: Buffer.from('mario') };
    await admin.fill('#platform', 'n64');
    await admin.setInputFiles('#file', file);
    await Promise.all([admin.waitForURL(/\/library\/n64$/), admin.click('main button:has-text("Upload")')]);
    assert.match(await admin.textContent('h1'), /Nintendo 64/);
    await admin.setInputFiles('#file', file);
    await Promise.all([admin.waitForLoadState('load'), admin.click('main button:has-text("Upload")')]);
    assert.match(await admin.textContent('[role="alert"]'), /already exists/);
    assert.match(await admin.textContent('h1'), /Nintendo 64/, 'on the platform page');
    assert.ok(await admin.$('nav >> text=Library'), 'with the navigation bar');
    await shot(admin, 'library-3-upload-error');

    await Promise.all([admin.waitForURL(/\/delete$/), admin.click('main a:has-text("Delete")')]);
    assert.match(await admin.textContent('main'), /Delete Mario\.z64\?/);
    await shot(admin, 'library-4-delete-confirm');
    await Promise.all([admin.waitForURL(/\/library\/n64$/), admin.click('main button:has-text("Delete Mario.z64")')]);
    assert.match(await admin.textContent('main'), /0 games/);
  } finally { romgate.stop(); }
});

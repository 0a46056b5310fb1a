// First boot and local (password) sign-in, as a person would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, launch, newPage, shot, startRomgate } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('first boot: / leads to setup, the admin is created and lands signed in', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    const page = await newPage(browser);
    await page.goto(romgate.url('/'));
    assert.match(page.url(), /\/setup$/);
    await shot(page, 'first-boot-1-setup');
    await page.fill('#username', 'admin');
    await page.fill('#email', 'admin@example.test');
    await page.fill('#password', 'a long password');
    await Promise.all([page.waitForURL(romgate.url('/')), page.click('button[type="submit"]')]);
    await assert.doesNotReject(page.waitForSelector('text=Hello, admin'));
    assert.match(await page.textContent('main'), /role admin/);
    await shot(page, 'first-boot-2-home-signed-in');
  } finally { romgate.stop(); }
});

test('local sign-in: a wrong password says so, the right one signs in, sign-out signs out', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    romgate.cli('user', 'create', 'alice', '--role', 'editor', '--password-stdin');
    const page = await newPage(browser);
    await page.goto(romgate.url('/'));
    assert.match(page.url(), /\/login$/);
    await shot(page, 'local-1-login');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'not the password');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
    assert.match(await page.textContent('[role="alert"]'), /Incorrect username or password/);
    assert.equal(await page.inputValue('#username'), 'alice', 'the username is kept');
    await shot(page, 'local-2-wrong-password');
    await page.fill('#password', 'a long password');
    await Promise.all([page.waitForURL(romgate.url('/')), page.click('button[type="submit"]')]);
    assert.match(await page.textContent('main'), /signed in as alice with the role editor/);
    await shot(page, 'local-3-signed-in');
    await Promise.all([page.waitForURL(/\/login$/), page.click('text=Sign out')]);
    await page.goto(romgate.url('/'));
    assert.match(page.url(), /\/login$/, 'signed out');
    await shot(page, 'local-4-signed-out');
  } finally { romgate.stop(); }
});

test('opening /logout only asks; its Sign out button signs out', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    romgate.cli('user', 'create', 'alice', '--role', 'viewer', '--password-stdin');
    const page = await newPage(browser);
    await page.goto(romgate.url('/login'));
    await page.fill('#username', 'alice');
    await page.fill('#password', 'a long password');
    await Promise.all([page.waitForURL(romgate.url('/')), page.click('button[type="submit"]')]);
    await page.goto(romgate.url('/logout'));
    assert.match(await page.textContent('main'), /Sign out of romgate\?/);
    await shot(page, 'logout-1-confirm');
    await page.goto(romgate.url('/'));
    assert.match(await page.textContent('main'), /signed in as alice/, 'opening /logout signed nobody out');
    await page.goto(romgate.url('/logout'));
    await Promise.all([page.waitForURL(/\/login$/), page.click('main button:has-text("Sign out")')]);
    await page.goto(romgate.url('/'));
    assert.match(page.url(), /\/login$/, 'signed out');
    await shot(page, 'logout-2-signed-out');
  } finally { romgate.stop(); }
});

test('roles a person can see: an admin has the users page, a viewer gets a clear refusal', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    romgate.cli('user', 'create', 'vera', '--role', 'viewer', '--password-stdin');
    const signIn = async (name) => {
      const page = await newPage(browser);
      await page.goto(romgate.url('/login'));
      await page.fill('#username', name);
      await page.fill('#password', 'a long password');
      await Promise.all([page.waitForURL(romgate.url('/')), page.click('button[type="submit"]')]);
      return page;
    };
    const admin = await signIn('root');
    await admin.click('nav >> text=Users');
    await admin.waitForURL(/\/admin\/users$/);
    assert.match(await admin.textContent('main'), /vera/);
    await shot(admin, 'roles-1-admin-users-page');
    const viewer = await signIn('vera');
    assert.equal(await viewer.$('nav >> text=Users'), null, 'no users link for a viewer');
    await shot(viewer, 'roles-2-viewer-home');
    const refused = await viewer.goto(romgate.url('/admin/users'));
    assert.equal(refused.status(), 403);
    assert.match(await viewer.textContent('main'), /not allowed|Not allowed/i);
    await shot(viewer, 'roles-3-viewer-refused');
  } finally { romgate.stop(); }
});

test('the login page fits a 375 px phone screen', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const page = await newPage(browser, { phone: true });
    await page.goto(romgate.url('/login'));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await shot(page, 'phone-1-login');
    await page.fill('#username', 'root');
    await page.fill('#password', 'a long password');
    await Promise.all([page.waitForURL(romgate.url('/')), page.click('button[type="submit"]')]);
    const overflowHome = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflowHome <= 0, `home: ${overflowHome}px too wide`);
    await shot(page, 'phone-2-home');
  } finally { romgate.stop(); }
});

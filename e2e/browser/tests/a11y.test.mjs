// Pages for every person: axe-core finds nothing on romgate's pages (the
// harness checks every page every test opens; here: each main page in the
// light and the dark color scheme), the dark scheme really is dark, and
// everything works with a keyboard alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checked, settle, takeViolations } from '../lib/a11y.mjs';
import { freePort, launch, newPage, shot, startRomgate } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function signIn(romgate, name, options) {
  const page = await newPage(browser, options);
  await page.goto(romgate.url('/login'));
  await page.fill('#username', name);
  await page.fill('#password', 'a long password');
  await Promise.all([page.waitForURL(romgate.url('/')), page.click('main button[type="submit"]')]);
  return page;
}

/** The relative luminance of the body's background (0 black, 1 white). */
async function backgroundLuminance(page) {
  const color = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = color.match(/\d+(\.\d+)?/g).slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** `name` has an app token and a signed-in device, so the lists show them (API calls with HTTP Basic). */
async function appsOf(romgate, name) {
  const headers = {
    authorization: `Basic ${Buffer.from(`${name}:a long password`).toString('base64')}`,
    'content-type': 'application/json',
  };
  const post = async (path, body, auth = true) => {
    const answer = await fetch(romgate.url(path), { method: 'POST', headers: auth ? headers : { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(answer.ok, `${path}: ${answer.status} ${await answer.clone().text()}`);
    return answer.json();
  };
  await post('/api/client-tokens', { name: 'Playnite', scopes: ['me.read', 'roms.read'], expires_in: '90d' });
  const flow = await post('/api/auth/device/init', {
    client_device_identifier: 'a11y-tv', name: 'TV downstairs', client: 'argosy', platform: 'android',
    client_version: '1.4.2', requested_scopes: ['me.read', 'roms.read'],
  }, false);
  await post('/api/auth/device/approve', { user_code: flow.user_code, approved_scopes: ['me.read', 'roms.read'] });
  await post('/api/auth/device/token', { device_code: flow.device_code }, false);
}

test('the check itself: a page with violations is reported rule by rule', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    const page = await newPage(browser);
    await page.route(romgate.url('/a11y-self-test'), (route) => route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><html><head><title>t</title></head><body><main><h1>Bad</h1><img src="x.png"><button></button></main></body></html>',
    }));
    await page.goto(romgate.url('/a11y-self-test'));
    await settle();
    const found = takeViolations();
    const rules = found.map((line) => line.split(' ')[0]);
    assert.ok(rules.includes('html-has-lang'), found.join('\n'));
    assert.ok(rules.includes('image-alt'), found.join('\n'));
    assert.ok(rules.includes('button-name'), found.join('\n'));
    assert.ok(found.some((line) => line.includes('on /a11y-self-test [light]') && line.includes('at img')), found.join('\n'));
  } finally { romgate.stop(); }
});

test('every main page passes axe in light and dark, and dark pages are dark', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    const setup = {};
    for (const colorScheme of ['light', 'dark']) {
      const page = await newPage(browser, { colorScheme });
      await page.goto(romgate.url('/setup'));
      setup[colorScheme] = await backgroundLuminance(page);
    }
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    romgate.cli('user', 'create', 'vera', '--role', 'viewer', '--password-stdin');
    mkdirSync(join(romgate.data, 'library', 'roms', 'n64'), { recursive: true });
    writeFileSync(join(romgate.data, 'library', 'roms', 'n64', 'Mario.z64'), 'mario');
    romgate.cli('library', 'scan');

    await appsOf(romgate, 'root');

    const pages = ['/', '/library', '/library/n64', '/library/roms/1/delete', '/account', '/devices',
      '/devices/sign-out-everywhere', '/admin/users', '/logout', '/library/no-such-platform'];
    for (const colorScheme of ['light', 'dark']) {
      const luminance = { '/setup': setup[colorScheme] };
      const page = await signIn(romgate, 'root', { colorScheme });
      for (const path of pages) {
        await page.goto(romgate.url(path));
        luminance[path] = await backgroundLuminance(page);
        await shot(page, `a11y-${colorScheme}${path.replace(/[^a-z0-9]+/g, '-').replace(/-$/, '') || '-home'}`);
      }
      // The pages that answer "Add an app" and "Get a pairing code".
      await page.goto(romgate.url('/devices'));
      await page.fill('#token-name', `Handheld ${colorScheme}`);
      await Promise.all([page.waitForURL(/\/devices\/tokens$/), page.click('text=Add the app')]);
      luminance['/devices/tokens'] = await backgroundLuminance(page);
      await shot(page, `a11y-${colorScheme}-app-token`);
      await Promise.all([page.waitForURL(/\/devices\/tokens\/\d+\/pair$/), page.click('text=Get a pairing code')]);
      luminance['/devices/tokens/pair'] = await backgroundLuminance(page);
      await shot(page, `a11y-${colorScheme}-pairing-code`);
      const viewer = await signIn(romgate, 'vera', { colorScheme });
      await viewer.goto(romgate.url('/admin/users'));
      luminance['/admin/users (refused)'] = await backgroundLuminance(viewer);
      await shot(viewer, `a11y-refused-${colorScheme}`);
      for (const [path, value] of Object.entries(luminance)) {
        if (colorScheme === 'dark') assert.ok(value < 0.05, `${path} is dark (luminance ${value.toFixed(3)})`);
        else assert.ok(value > 0.9, `${path} is light (luminance ${value.toFixed(3)})`);
      }
    }
    await settle();
    for (const colorScheme of ['light', 'dark']) {
      for (const path of ['/setup', '/login', ...pages]) {
        assert.ok(checked.some((c) => c.scheme === colorScheme && new URL(c.url).pathname === path),
          `axe ran on ${path} [${colorScheme}]`);
      }
    }
  } finally { romgate.stop(); }
});

/** What the focused element is called: its text, label or id. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { name: '(nothing)', inMain: false, outline: false };
    const style = getComputedStyle(el);
    const name = (el.getAttribute('aria-label') || el.textContent || el.id || el.name || '').replace(/\s+/g, ' ').trim();
    const box = el.getBoundingClientRect();
    return {
      name,
      inMain: Boolean(el.closest('main')),
      outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      onScreen: box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth,
    };
  });
}

/**
 * Waits until the document has presented two frames. Chromium drops input
 * that arrives after a navigation's `load` but before the new page's first
 * frame is shown (a loaded machine makes that window wide), and a dropped
 * Tab leaves the focus on nothing: a person sees the page before pressing.
 */
function painted(page) {
  return page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

/**
 * Presses Tab until the focused element's name starts with `name`; each
 * stop must show a focus outline on screen. Returns the names passed.
 */
async function tabTo(page, name, limit = 40) {
  await painted(page);
  const passed = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    assert.ok(now.outline, `a visible focus outline on "${now.name}"`);
    assert.ok(now.onScreen, `"${now.name}" is on screen when focused`);
    passed.push(now.name);
    if (now.name.startsWith(name)) return passed;
  }
  assert.fail(`Tab never reached "${name}"; passed ${passed.join(' → ')}`);
}

test('keyboard alone: sign in, go to the devices page, sign out a session, then everywhere', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    romgate.cli('user', 'create', 'alice', '--role', 'viewer', '--password-stdin');
    const elsewhere = await signIn(romgate, 'alice');

    const page = await newPage(browser);
    await page.goto(romgate.url('/login'));
    await painted(page);
    assert.equal((await focused(page)).name, 'username', 'the username field has the focus');
    await page.keyboard.type('alice');
    assert.deepEqual(await tabTo(page, 'password'), ['password']);
    await page.keyboard.type('a long password');
    await Promise.all([page.waitForURL(romgate.url('/')), page.keyboard.press('Enter')]);

    const order = await tabTo(page, 'Browse the library');
    assert.deepEqual(order, ['Skip to content', 'romgate', 'Library', 'Account', 'Devices', 'Sign out', 'Browse the library'],
      'skip link, then the bar left to right, then the page');
    await shot(page, 'keyboard-1-home-focus');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal((await focused(page)).name, 'Devices');
    await Promise.all([page.waitForURL(romgate.url('/devices')), page.keyboard.press('Enter')]);
    assert.match(await page.textContent('h1'), /Devices and sessions/);

    // The skip link jumps over the bar.
    assert.deepEqual(await tabTo(page, 'Skip to content', 1), ['Skip to content']);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.ok((await focused(page)).inMain, 'after the skip link, Tab goes into the page');

    await tabTo(page, 'Sign out the session signed in');
    await shot(page, 'keyboard-2-devices-focus');
    await Promise.all([page.waitForURL(/\/devices\?done=session$/), page.keyboard.press('Space')]);
    assert.match(await page.textContent('[role="status"]'), /That session is signed out/);
    await elsewhere.goto(romgate.url('/'));
    assert.match(elsewhere.url(), /\/login$/, 'the other browser is signed out');

    // "Sign out everywhere" asks first; its button confirms.
    await tabTo(page, 'Sign out everywhere');
    await Promise.all([page.waitForURL(/\/devices\/sign-out-everywhere$/), page.keyboard.press('Enter')]);
    assert.match(await page.textContent('h1'), /Sign out everywhere\?/);
    await tabTo(page, 'Sign out everywhere');
    assert.ok((await focused(page)).inMain, 'the confirming button, not the bar');
    await Promise.all([page.waitForURL(/\/login$/), page.keyboard.press('Enter')]);
    await page.goto(romgate.url('/devices'));
    assert.match(page.url(), /\/login\?next=%2Fdevices$/, 'this browser is signed out too');
  } finally { romgate.stop(); }
});

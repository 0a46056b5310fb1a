// The library page's scan button (issue 13): an administrator drops games
// into the library folder, presses "Scan the library" and reads what the
// scan found on the page it comes back to.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, launch, newPage, shot, startRomgate } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('an administrator scans the library from its page and sees what was found', async () => {
  const romgate = await startRomgate(await freePort());
  try {
    romgate.cli('user', 'create', 'root', '--role', 'admin', '--password-stdin');
    const page = await newPage(browser);
    await page.goto(romgate.url('/login'));
    await page.fill('#username', 'root');
    await page.fill('#password', 'a long password');
    await Promise.all([page.waitForURL(romgate.url('/')), page.click('main button[type="submit"]')]);
    const roms = join(romgate.data, 'library', 'roms');
    mkdirSync(join(roms, 'snes'), { recursive: true });
    mkdirSync(join(roms, 'n64'), { recursive: true });
    writeFileSync(join(roms, 'snes', 'Zelda.sfc'), 'zelda');
    writeFileSync(join(roms, 'snes', 'Metroid.sfc'), 'metroid');
    writeFileSync(join(roms, 'n64', 'Mario.z64'), 'mario');
    await page.goto(romgate.url('/library'));
    await shot(page, 'scan-1-before');
    await Promise.all([page.waitForURL(/\/library\?scan=done/), page.click('main button:has-text("Scan the library")')]);
    assert.match(await page.textContent('[role="status"]'), /Scan done: 3 games in 2 platforms, 3 added/);
    assert.match(await page.textContent('main'), /Super Nintendo/);
    assert.match(await page.textContent('main'), /Nintendo 64/);
    await shot(page, 'scan-2-done');
  } finally { romgate.stop(); }
});

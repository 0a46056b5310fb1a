// Accessibility of every romgate page the suite opens, with axe-core.
//
// `watch(page)` (the harness calls it for every page it makes) has axe's
// default rules (WCAG 2.0-2.2 A and AA, and best practices) run on each
// document from a romgate address once it has loaded, in the color scheme
// the page's context emulates. The provider's pages are not reported: it is
// a test double.
//
// How: an init script (which the page's Content-Security-Policy does not
// govern, so the suite keeps romgate's real CSP, no `bypassCSP`) carries
// axe into every document. The document announces itself at once, runs
// axe on its `load` event and reports back through a binding. A check must
// see the document it started on, so a route on the context holds each
// main-frame navigation request until the current document has reported.
// (The check cannot be driven from here with `page.evaluate`: evaluations
// stall while a navigation is pending, and the gate would wait forever.)
//
// Violations are collected, and the test fails after it ends (an
// `afterEach` hook registered here) with one readable line per violating
// element: rule, impact, page, color scheme, element and why.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach } from 'node:test';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const axeVersion = require('axe-core/package.json').version;

/** The origins of the romgate instances the harness started. */
export const romgateOrigins = new Set();

/** Checks not yet reported, of every page. */
const pending = new Set();
/** Readable lines, one per violating element, not yet reported. */
let violations = [];
/** Every check done, `{ url, scheme }`, for tests that assert coverage. */
export const checked = [];

const BINDING = '__romgateA11y';
const CHECK_TIMEOUT_MS = 15000;

/** Runs in each document (top frame only): announces it, checks it on load. */
function inPage(binding) {
  if (window !== window.top || !/^https?:$/.test(location.protocol)) return;
  const id = `${Date.now()}-${Math.random()}`;
  const url = location.href;
  const report = window[binding];
  report({ id, url, stage: 'started' });
  addEventListener('load', async () => {
    const scheme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    if (document.contentType !== 'text/html') {
      report({ id, url, stage: 'skipped' });
      return;
    }
    try {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      const found = result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({
          target: n.target.join(' '),
          why: (n.failureSummary || '').split('\n').slice(1).map((l) => l.trim()).filter(Boolean).join('; '),
        })),
      }));
      report({ id, url, stage: 'done', scheme, found });
    } catch (err) {
      report({ id, url, stage: 'failed', error: String(err) });
    }
  });
}

function isRomgate(url) {
  try {
    return romgateOrigins.has(new URL(url).origin);
  } catch {
    return false;
  }
}

/** Checks each romgate document `page` loads (see the top of this file). */
export async function watch(page) {
  const context = page.context();
  const open = new Map();
  await context.exposeBinding(BINDING, ({ frame }, message) => {
    if (frame !== page.mainFrame() || !isRomgate(message.url)) return;
    if (message.stage === 'started') {
      let settle;
      const promise = new Promise((ok) => { settle = ok; });
      const entry = { promise, settle };
      // A document that never finishes loading must not hold the suite.
      entry.timer = setTimeout(() => finish(message.id, { ...message, stage: 'failed',
        error: `it did not finish loading within ${CHECK_TIMEOUT_MS / 1000} s` }), CHECK_TIMEOUT_MS);
      open.set(message.id, entry);
      pending.add(entry);
      return;
    }
    finish(message.id, message);
  });
  function finish(id, message) {
    const entry = open.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    open.delete(id);
    pending.delete(entry);
    record(message);
    entry.settle();
  }
  await context.addInitScript(`${axeSource}\n;(${inPage})(${JSON.stringify(BINDING)});`);
  await context.route('**/*', async (route) => {
    const request = route.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      await Promise.all([...open.values()].map((entry) => entry.promise));
    }
    await route.fallback();
  });
}

function record(message) {
  const where = new URL(message.url);
  const path = where.pathname + where.search;
  if (message.stage === 'failed') {
    violations.push(`could not check ${path}: ${message.error}`);
    return;
  }
  if (message.stage !== 'done') return;
  checked.push({ url: message.url, scheme: message.scheme });
  for (const v of message.found) {
    for (const node of v.nodes) {
      violations.push(`${v.id} (${v.impact}) on ${path} [${message.scheme}]: ${v.help}\n      at ${node.target}: ${node.why}`);
    }
  }
}

/** Waits for every check started so far. */
export async function settle() {
  await Promise.all([...pending].map((entry) => entry.promise));
}

/** The violations found so far, which are then no longer reported. */
export function takeViolations() {
  const taken = violations;
  violations = [];
  return taken;
}

afterEach(async () => {
  await settle();
  const found = takeViolations();
  if (found.length > 0) {
    throw new Error(`accessibility violations found by axe-core ${axeVersion} (${found.length}):\n  ${found.join('\n  ')}`);
  }
});

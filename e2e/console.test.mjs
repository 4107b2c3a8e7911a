// The console end to end in headless Chromium against callplane and fsim: sign in, create a
// gateway (and see its XML), create an extension, place a click-to-call, watch it complete
// with a playable recording, deliver its webhook again; the overview in English and Chinese.
// Screenshots of the main pages are written to docs/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startSystem, API_KEY, ROOT, until } from './harness.mjs';

const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const HOSTILE = '<img src=x onerror="window.__xss=1">';
let sys;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  sys = await startSystem();
});

after(async () => {
  if (sys) await sys.stop();
});

async function shot(page, name, fullPage = false) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

async function signIn(page) {
  await page.goto(`${sys.base}/console/`);
  await page.fill('#api-key', API_KEY);
  await page.click('button[type=submit]');
  await page.waitForSelector('#stat-nodes');
}

test('an operator signs in, sets up a line, places a call and redelivers its webhook', { timeout: 120000 }, async () => {
  const ctx = await sys.browser('en-US');
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The refused key and the refused form fields are 4xx answers the browser logs; anything
  // else logged as an error (a script error, a CSP violation) fails the test.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text());
  });

  // Sign-in: a wrong key is refused, the right one opens the overview.
  await page.goto(`${sys.base}/console`);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await page.fill('#api-key', 'wrong-key-0123456789');
  await page.click('button[type=submit]');
  await page.getByText('The API key was not accepted.').waitFor();
  await page.fill('#api-key', API_KEY);
  await page.click('button[type=submit]');
  await page.waitForSelector('#stat-nodes');
  await page.locator('#stat-nodes .stat-value', { hasText: '1 / 1' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('callplane.apiKey')), API_KEY);
  assert.equal(await page.evaluate(() => localStorage.getItem('callplane.apiKey')), null);

  // A gateway: the API's validation message is shown, then it is created and its XML shown.
  await page.click('#nav-gateways');
  await page.click('#gateway-new');
  await page.fill('#in-name', 'carrier-a');
  await page.fill('#in-realm', 'bad realm');
  await page.fill('#in-caller_id', '057188880000');
  await page.fill('#in-max_concurrent', '10');
  await page.click('#gateway-form-submit');
  await page.locator('#gateway-form .notice-bad', { hasText: 'realm' }).waitFor();
  assert.equal(await page.getAttribute('#in-realm', 'aria-invalid'), 'true');
  await page.fill('#in-realm', '192.0.2.10');
  await page.click('#gateway-form-submit');
  await page.waitForURL(/#\/gateways\/carrier-a$/);
  const xml = await page.locator('#gateway-xml').textContent();
  assert.match(xml, /<gateway name="carrier-a">/);
  assert.match(xml, /192\.0\.2\.10/);
  await shot(page, 'gateway-xml');
  await page.click('#nav-gateways');
  await page.locator('table a', { hasText: 'carrier-a' }).waitFor();
  await shot(page, 'gateways');

  // Extensions: markup in a display name is refused with the API's own message.
  await page.click('#nav-extensions');
  await page.click('#extension-new');
  await page.fill('#in-extension', '1002');
  await page.fill('#in-display_name', HOSTILE);
  await page.click('#extension-form-submit');
  await page.locator('#extension-form .notice-bad', { hasText: 'display_name' }).waitFor();
  assert.equal(await page.getAttribute('#in-display_name', 'aria-invalid'), 'true');
  await page.fill('#in-extension', '1001');
  await page.fill('#in-display_name', 'Agent 1001');
  await page.fill('#in-password', 'Secr3t-pass');
  await page.click('#extension-form-submit');
  await page.locator('table td', { hasText: 'Agent 1001' }).waitFor();
  await shot(page, 'extensions');

  // Click-to-call over a line that cannot reach the callee's province: the page says why.
  const spare = await sys.api('POST', '/gateway/create',
    { name: 'carrier-spare', realm: '192.0.2.11', blind_areas: ['新疆'], priority: 200 });
  assert.equal(spare.code, 0, JSON.stringify(spare));
  await page.click('#nav-dial');
  await page.fill('#dial-caller', '1001');
  await page.fill('#dial-callee', '13000960001');
  await page.fill('#dial-gateways', 'carrier-spare');
  await page.click('#dial-submit');
  await page.locator('#dial-no-line li', { hasText: 'carrier-spare: cannot reach 新疆 (blind area)' }).waitFor();
  await shot(page, 'dial-no-line');

  // Click-to-call: the chosen line is shown, then the call detail fills in as the call ends.
  await page.fill('#dial-callee', '13800138000');
  await page.fill('#dial-gateways', '');
  await page.fill('#dial-ext-data', 'order=42 <b>not bold</b>');
  await page.click('#dial-submit');
  await page.locator('#dial-chain li', { hasText: 'carrier-a' }).waitFor();
  await shot(page, 'dial');
  await page.click('#dial-open');
  await page.waitForURL(/#\/calls\/[0-9a-f-]{36}$/);
  const callUuid = page.url().split('/').pop();
  const hooksOf = () => sys.hooks.got.filter((x) => x.body.call_uuid === callUuid);
  await page.waitForSelector('#recording', { timeout: 60000 });
  await page.locator('#call-state .badge', { hasText: 'answered' }).waitFor();
  // Caller text is shown as text: ext_data holding markup creates no element.
  assert.equal(await page.locator('pre.ext-data').textContent(), 'order=42 <b>not bold</b>');
  assert.equal(await page.locator('pre.ext-data b').count(), 0);

  // The recording is playable: its signed URL answers with audio, and the player loads it.
  const rec = await page.evaluate(async () => {
    const r = await fetch(document.querySelector('#recording').src);
    return { status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength };
  });
  assert.equal(rec.status, 200);
  assert.match(rec.type, /^audio\//);
  assert.ok(rec.size > 44, `recording has audio data (${rec.size} bytes)`);
  await page.waitForFunction(() => document.querySelector('#recording').readyState > 0);
  assert.ok(await page.evaluate(() => document.querySelector('#recording').duration > 0));

  // The webhook went out once; "Deliver again" sends the same webhook-id and the new attempt shows.
  await page.locator('.badge', { hasText: 'delivered' }).first().waitFor({ timeout: 30000 });
  await shot(page, 'call-detail', true);
  await until('the first webhook', () => hooksOf().length === 1);
  const [first] = hooksOf();
  assert.equal(first.body.type, 'call.completed');
  assert.equal(first.body.status, 'answered');
  await page.click('button.redeliver');
  await page.getByText('Queued for delivery again.').waitFor();
  await until('the redelivered webhook', () => hooksOf().length === 2);
  assert.equal(hooksOf()[1].id, first.id);
  await until('two attempts in the call detail', async () => (await page.locator('#webhook-attempts tbody tr').count()) === 2);

  // A busy callee, placed through the API, for the list and the failure causes.
  const busy = await sys.api('POST', '/call/callback', { caller: '1001', callee: '13900139000' });
  assert.equal(busy.code, 0, JSON.stringify(busy));
  await until('the busy call to end', async () =>
    (await sys.api('GET', `/call/detail?uuid=${busy.data.call_uuid}`)).data.status === 'busy');

  // The calls list, then filtered by callee.
  await page.click('#nav-calls');
  await page.locator('a.call-link').nth(1).waitFor();
  await shot(page, 'calls');
  await page.fill('#f-callee', '13800138000');
  await page.click('.filters button[type=submit]');
  await page.locator('a.call-link').first().waitFor();
  await until('the filtered list', async () => (await page.locator('a.call-link').count()) === 1);

  // The overview shows the call in the chart, the node and the line.
  await page.click('#nav-overview');
  await page.locator('#stat-calls .stat-value', { hasText: '2' }).waitFor();
  assert.ok(await page.locator('#calls-chart rect.bar-ok').count() >= 1);
  assert.ok(await page.locator('#calls-chart rect.bar-bad').count() >= 1);
  await page.locator('.hbar-label', { hasText: 'USER_BUSY' }).waitFor();
  await page.locator('td', { hasText: 'fs-e2e' }).waitFor();
  await shot(page, 'overview-en');

  // The language switch: Chinese, kept in localStorage.
  await page.selectOption('#lang', 'zh-CN');
  await page.locator('#nav-overview', { hasText: '总览' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('callplane.lang')), 'zh-CN');
  await page.locator('#stat-calls .stat-value', { hasText: '2' }).waitFor();
  await shot(page, 'overview-zh');
  await page.selectOption('#lang', 'en');
  await page.locator('#nav-overview', { hasText: 'Overview' }).waitFor();

  assert.deepEqual(errors, [], 'no script errors or CSP violations');
  await ctx.close();
});

test('a browser that prefers Chinese gets the Chinese console', { timeout: 60000 }, async () => {
  const ctx = await sys.browser('zh-CN');
  const page = ctx.pages()[0] || await ctx.newPage();
  await page.goto(`${sys.base}/console/`);
  await page.getByText('API 密钥', { exact: true }).waitFor();
  await signIn(page);
  assert.equal(await page.locator('#nav-calls').textContent(), '通话记录');
  await ctx.close();
});

// The system under test for the console's end-to-end run: fsim (the FreeSWITCH simulator)
// and `callplane serve` as real processes on free ports, a fresh database, a webhook receiver,
// and headless Chromium with the offline flags. Everything started here is stopped by `stop()`.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug');
const PG = process.env.CALLPLANE_TEST_PG || 'postgres://postgres@127.0.0.1:5432';
export const API_KEY = 'e2e-console-key-0123456789';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

async function freePort() {
  const srv = net.createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

async function until(what, check, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(name, bin, args, opts, logDir) {
  const log = fs.openSync(path.join(logDir, `${name}.log`), 'w');
  const child = spawn(bin, args, { ...opts, stdio: ['ignore', log, log] });
  if (process.env.E2E_PIDFILE) fs.appendFileSync(process.env.E2E_PIDFILE, `${child.pid}\n`);
  child.on('exit', (code, sig) => { if (code) process.stderr.write(`${name} exited with ${code ?? sig}\n`); });
  return child;
}

/** A webhook receiver that answers 200 and keeps what it got. */
async function receiver() {
  const got = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ id: req.headers['webhook-id'], body: JSON.parse(body) });
      res.end('ok');
    });
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  return { got, url: `http://127.0.0.1:${srv.address().port}/hooks`, close: () => srv.close() };
}

export async function startSystem() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callplane-e2e-'));
  const [eslPort, httpPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${httpPort}`;
  const db = `callplane_e2e_${process.pid}_${Date.now()}`;
  const hooks = await receiver();
  // [cdr] log_b_leg: like freeswitch-conf/xml_cdr.conf.xml, the customer legs' CDRs are
  // posted too (the webhook waits for the customer leg's CDR).
  fs.writeFileSync(path.join(dir, 'fsim.toml'), `hostname = "fs-e2e"
[cdr]
log_b_leg = true
[[gateways]]
name = "carrier-a"
profile = "external"
state = "REGED"
status = "UP"
username = "acct1"
realm = "192.0.2.10"
[[registrations]]
user = "1001"
profile = "internal"
network_ip = "192.0.2.21"
network_port = 5060
network_proto = "udp"
expires_in = 3600
[default_outcome]
outcome = "answer"
ring_ms = 300
talk_ms = 1500
[[outcomes]]
prefix = "139"
outcome = "busy"
ring_ms = 200
`);
  fs.writeFileSync(path.join(dir, 'callplane.toml'), `[webhook]
poll_interval_ms = 200
[storage]
spool_dir = "${path.join(dir, 'spool')}"
`);
  const procs = [];
  procs.push(start('fsim', path.join(BIN, 'fsim'), ['--listen', `127.0.0.1:${eslPort}`, '--state', path.join(dir, 'fsim.toml'),
    '--cdr-url', `${base}/fsapi/cdr`, '--heartbeat', '0'], {}, dir));
  procs.push(start('callplane', path.join(BIN, 'callplane'), ['serve', '--config', path.join(dir, 'callplane.toml')], {
    cwd: dir,
    env: {
      ...process.env,
      CALLPLANE_LISTEN: `127.0.0.1:${httpPort}`,
      CALLPLANE_PUBLIC_URL: base,
      DATABASE_URL: `${PG}/${db}`,
      CALLPLANE_ESL: `127.0.0.1:${eslPort}`,
      CALLPLANE_API_KEYS: API_KEY,
      CALLPLANE_STORAGE: `file://${path.join(dir, 'recordings')}`,
      CALLPLANE_WEBHOOK_URL: hooks.url,
      CALLPLANE_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      RUST_LOG: 'info',
    },
  }, dir));
  await until('callplane to connect to fsim', async () => {
    const r = await fetch(`${base}/readyz`);
    const body = await r.json();
    return r.ok && body.esl[0].state === 'connected';
  });
  const browsers = [];
  const system = {
    base, hooks, dir,
    /** A /v1 call with the key, for what the test arranges outside the browser. */
    async api(method, route, body) {
      const r = await fetch(`${base}/v1${route}`, {
        method,
        headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return r.json();
    },
    /** A fresh browser profile (own user-data-dir) with the given locale. */
    async browser(locale) {
      const profile = fs.mkdtempSync(path.join(dir, 'profile-'));
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, locale,
        viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
      });
      browsers.push(browser);
      return browser;
    },
    async stop() {
      // A failed test leaves its browser open; close it, or the run would never end.
      await Promise.all(browsers.map((b) => b.close().catch(() => {})));
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((ok) => p.on('exit', ok)) : null)));
      hooks.close();
      spawnSync('psql', [`${PG}/postgres`, '-qc', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`], { stdio: 'ignore' });
      if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return system;
}

export { until };

// modesl (npm) under the same workload as examples/esl_client_bench.rs, one connection to fsim:
//   node modesl_bench.js bgapi HOST PORT N     N sequential `bgapi status` round trips
//   node modesl_bench.js events HOST PORT SECS CUSTOM fsim::load events received in SECS s
// Prints `RESULT <per second>`. bench/run installs modesl into bench/.deps. With
// MODESL_NODELAY=1 the socket gets TCP_NODELAY: modesl writes a command in several pieces, and
// with Nagle's algorithm on (its default) each bgapi waits for a delayed ACK (~40 ms).
'use strict';
const esl = require('modesl');

const [mode, host, port, arg] = process.argv.slice(2);
const n = Number(arg);
const conn = new esl.Connection(host, Number(port), 'ClueCon', () => {
  if (process.env.MODESL_NODELAY === '1') conn.socket.setNoDelay(true);
  if (mode === 'bgapi') {
    conn.events('plain', 'BACKGROUND_JOB', () => {
      let done = 0;
      const started = process.hrtime.bigint();
      const next = () => conn.bgapi('status', (evt) => {
        if (!String(evt.getBody()).startsWith('UP')) throw new Error('bad job result');
        if (++done === n) {
          const secs = Number(process.hrtime.bigint() - started) / 1e9;
          console.log('RESULT ' + Math.round(n / secs));
          process.exit(0);
        }
        next();
      });
      next();
    });
  } else if (mode === 'events') {
    let counting = false;
    let counted = 0;
    let since = 0n;
    conn.on('esl::event::CUSTOM::*', (evt) => {
      if (counting && evt.getHeader('Event-Subclass') === 'fsim::load') counted++;
    });
    conn.events('plain', 'CUSTOM fsim::load', () => {
      // Rates use the clock, not the timer: a busy event loop fires timers late.
      setTimeout(() => {
        counting = true;
        since = process.hrtime.bigint();
        setTimeout(() => {
          const secs = Number(process.hrtime.bigint() - since) / 1e9;
          console.log('RESULT ' + Math.round(counted / secs));
          process.exit(0);
        }, n * 1000);
      }, 1000);
    });
  } else {
    console.error('usage: modesl_bench.js bgapi|events HOST PORT N|SECS');
    process.exit(2);
  }
});
conn.on('error', (e) => { console.error(e); process.exit(1); });

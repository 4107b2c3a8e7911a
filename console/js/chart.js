// Small inline SVG charts, no library: stacked bars of calls per minute, and horizontal bars
// of counts (failure causes). Geometry only goes into SVG attributes, so the strict CSP
// (no inline styles) holds.

import { s, h } from './dom.js';

const W = 720;
const H = 200;
const PAD = { l: 32, r: 8, t: 10, b: 24 };

function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return v;
}

function hhmm(iso) {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** `series`: [{minute, total, answered, unanswered}]; `labels`: {answered, unanswered, in_progress}. */
export function perMinuteChart(series, labels) {
  const max = niceMax(Math.max(0, ...series.map((m) => m.total)));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / Math.max(series.length, 1);
  const y = (v) => PAD.t + ih - (v / max) * ih;
  const parts = [];
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    parts.push(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }));
    parts.push(s('text', { x: PAD.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' },
      Number.isInteger(v) ? v : v.toFixed(1)));
  }
  series.forEach((m, i) => {
    const x = PAD.l + i * bw + 1;
    const width = Math.max(bw - 2, 1);
    const other = Math.max(m.total - m.answered - m.unanswered, 0);
    let base = 0;
    for (const [v, cls, label] of [[m.answered, 'bar-ok', labels.answered],
      [m.unanswered, 'bar-bad', labels.unanswered], [other, 'bar-muted', labels.in_progress]]) {
      if (v > 0) {
        parts.push(s('rect', { x, width, y: y(base + v), height: y(base) - y(base + v), class: cls },
          s('title', null, `${hhmm(m.minute)} · ${label}: ${v}`)));
        base += v;
      }
    }
    if (i % 10 === 0 || i === series.length - 1) {
      parts.push(s('text', { x: x + width / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, hhmm(m.minute)));
    }
  });
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', id: 'calls-chart' }, parts);
  const legend = h('div', { class: 'legend' },
    [['bar-ok', labels.answered], ['bar-bad', labels.unanswered], ['bar-muted', labels.in_progress]]
      .map(([cls, label]) => h('span', null,
        s('svg', { viewBox: '0 0 10 10', class: 'swatch' }, s('rect', { width: 10, height: 10, rx: 2, class: cls })),
        label)));
  return h('div', { class: 'chart-wrap' }, svg, legend);
}

/** Horizontal bars: rows of {key, count}. */
export function countBars(rows) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return h('div', { class: 'hbars' }, rows.map((r) => h('div', { class: 'hbar' },
    h('span', { class: 'hbar-label mono' }, r.key),
    s('svg', { viewBox: '0 0 100 8', preserveAspectRatio: 'none', class: 'hbar-track' },
      s('rect', { width: 100, height: 8, rx: 2, class: 'track' }),
      s('rect', { width: (r.count / max) * 100, height: 8, rx: 2, class: 'bar-bad' })),
    h('span', { class: 'hbar-count' }, r.count))));
}

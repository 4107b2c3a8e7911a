// Overview: FreeSWITCH nodes, gateways (registration, live calls against the cap), the last
// hour's calls per minute and failure causes, and registered extensions.

import { get } from './api.js';
import { h, clear, table, card, badge, notice, orDash, fmtTime } from './dom.js';
import { t } from './i18n.js';
import { perMinuteChart, countBars } from './chart.js';

const NODE_KIND = { connected: 'ok', connecting: 'warn', auth_failed: 'bad', down: 'bad' };

function regBadge(rows) {
  if (!rows.length) return badge('—');
  return rows.map((r) => badge(`${r.state}${rows.length > 1 ? ` @${r.node}` : ''}`,
    r.registered || r.state === 'NOREG' ? 'ok' : /FAIL|DOWN|TIMEOUT|EXPIRED/.test(r.state) ? 'bad' : 'warn'));
}

function reachBadge(rows) {
  const st = rows.map((r) => r.status).filter(Boolean);
  if (!st.length) return badge('—');
  return st.every((x) => x === 'UP') ? badge('UP', 'ok') : badge(st.join('/'), 'bad');
}

/** "3 / 10" with a thin meter; no cap shows "3 / ∞". */
export function capMeter(live, cap) {
  const ratio = cap > 0 ? Math.min(live / cap, 1) : 0;
  const meter = h('meter', { min: 0, max: 1, low: 0.7, high: 0.9, optimum: 0, value: ratio, class: 'cap' });
  return h('span', { class: 'cap-cell' }, h('span', { class: 'mono' }, `${live} / ${cap > 0 ? cap : '∞'}`),
    cap > 0 ? meter : null);
}

function settle(p) {
  return p.then((v) => ({ ok: v }), (e) => ({ err: e }));
}

function stat(label, value, sub, id) {
  return h('div', { class: 'stat', id }, h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value), sub ? h('div', { class: 'stat-sub' }, sub) : null);
}

export async function render(main, _arg, current) {
  const [nodes, gws, gwOnline, extOnline, stats] = await Promise.all([
    get('/node/list'),
    get('/gateway/list', { size: 500 }),
    settle(get('/gateway/online/list', { size: 500 })),
    settle(get('/extension/online/list', { size: 500 })),
    get('/call/stats', { minutes: 60 }),
  ]);
  if (!current()) return;
  const online = gwOnline.ok ? gwOnline.ok.list : [];
  const exts = extOnline.ok ? extOnline.ok.list : [];
  const connected = nodes.list.filter((n) => n.state === 'connected').length;
  const answered = (stats.by_status.find((c) => c.key === 'answered') || { count: 0 }).count;
  const rate = stats.total ? Math.round((answered / stats.total) * 100) : 0;
  const registered = new Set(online.filter((g) => g.registered).map((g) => g.name)).size;

  clear(main).append(
    h('header', { class: 'page-head' }, h('h1', null, t('overview.title'))),
    h('div', { class: 'stats' },
      stat(t('overview.nodes_up'), `${connected} / ${nodes.list.length}`, null, 'stat-nodes'),
      stat(t('overview.gw_registered'), `${registered} / ${gws.total}`, null, 'stat-gateways'),
      stat(t('overview.ext_online'), String(new Set(exts.map((e) => e.extension)).size), null, 'stat-extensions'),
      stat(t('overview.calls_hour'), String(stats.total), t('overview.answer_rate', { rate }), 'stat-calls')),
    h('div', { class: 'grid-2' },
      card(t('overview.chart'), perMinuteChart(stats.per_minute, {
        answered: t('overview.answered'), unanswered: t('overview.unanswered'), in_progress: t('overview.in_progress'),
      })),
      card(t('overview.causes'), stats.failure_causes.length
        ? countBars(stats.failure_causes) : h('p', { class: 'muted' }, t('overview.no_failures')))),
    card(t('overview.nodes'), table([
      { label: t('col.node'), cell: (n) => h('span', { class: 'mono' }, n.node) },
      { label: t('col.hostname'), cell: (n) => orDash(n.hostname) },
      { label: t('col.state'), cell: (n) => badge(n.state, NODE_KIND[n.state] || 'muted') },
      { label: t('col.live'), cell: (n) => String(n.live_channels), class: 'num' },
      { label: t('col.error'), cell: (n) => orDash(n.error) },
    ], nodes.list)),
    card(t('overview.gateways'),
      gwOnline.err ? notice(t('common.unavailable', { why: gwOnline.err.message }), 'warn') : null,
      table([
        { label: t('col.name'), cell: (g) => h('a', { href: `#/gateways/${encodeURIComponent(g.name)}` }, g.name) },
        { label: t('col.registration'), cell: (g) => regBadge(online.filter((o) => o.name === g.name)) },
        { label: t('col.reachable'), cell: (g) => reachBadge(online.filter((o) => o.name === g.name)) },
        { label: t('col.concurrency'), cell: (g) => capMeter(g.live_calls, g.max_concurrent) },
        { label: t('col.priority'), cell: (g) => String(g.priority), class: 'num' },
        { label: t('col.enabled'), cell: (g) => (g.enabled ? badge(t('common.enabled'), 'ok') : badge(t('common.disabled'))) },
      ], gws.list, t('common.none'))),
    card(t('overview.online_ext'),
      extOnline.err ? notice(t('common.unavailable', { why: extOnline.err.message }), 'warn') : null,
      table([
        { label: t('col.extension'), cell: (e) => h('span', { class: 'mono' }, e.extension) },
        { label: t('col.node'), cell: (e) => e.node },
        { label: t('col.contact'), cell: (e) => h('span', { class: 'mono small' }, e.contact) },
        { label: t('col.agent'), cell: (e) => orDash(e.agent) },
        { label: t('col.expires'), cell: (e) => (e.expires ? fmtTime(new Date(e.expires * 1000).toISOString()) : '—') },
      ], exts, t('common.none'))),
  );
}

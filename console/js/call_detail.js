// One call: summary, routing decision (chain and skipped lines with reasons), event
// timeline, legs, CDR, recording player and webhook deliveries with "deliver again". The
// page refreshes itself while the call, its recording or a delivery is still in progress.

import { get, post } from './api.js';
import { h, clear, table, card, badge, fmtTime, orDash, notice } from './dom.js';
import { t } from './i18n.js';
import { statusBadge } from './calls.js';

const POLL_MS = 1500;
// Pending deliveries are watched for a while only: without a webhook URL they stay pending
// for good, and every refresh replaces the audio player.
const WATCH_POLLS = 20;
const watch = { uuid: null, left: 0 };

/** A skipped line's reason in words. */
export function reasonText(s) {
  switch (s.reason) {
    case 'blind_area': return t('reason.blind_area', { province: s.province });
    case 'daily_limit': return t('reason.daily_limit', { used: s.used, limit: s.limit });
    case 'concurrency': return t('reason.concurrency', { live: s.live, max: s.max });
    case 'disabled': return t('reason.disabled');
    case 'down': return t('reason.down');
    default: return String(s.reason);
  }
}

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function routingCard(routing) {
  const roles = Object.entries(routing || {});
  if (!roles.length) return card(t('detail.routing'), h('p', { class: 'muted' }, t('detail.no_routing')));
  return card(t('detail.routing'), roles.map(([role, d]) => h('div', { class: 'routing' },
    h('h3', null, t(`role.${role}`)),
    kv([[t('detail.chain'), d.chain && d.chain.length
      ? h('ol', { class: 'chain' }, d.chain.map((g) => h('li', { class: 'mono' }, g))) : '—']]),
    d.skipped && d.skipped.length ? table([
      { label: t('detail.skipped'), cell: (s) => h('span', { class: 'mono' }, s.gateway) },
      { label: '', cell: (s) => reasonText(s) },
    ], d.skipped) : null)));
}

function recordingCard(rec) {
  if (!rec || rec.status !== 'ok' || !rec.url) {
    return card(t('detail.recording'), h('p', { class: 'muted', id: 'no-recording' },
      rec ? `${t('detail.no_recording')} (${rec.status})` : t('detail.no_recording')));
  }
  return card(t('detail.recording'),
    h('audio', { controls: true, preload: 'metadata', src: rec.url, id: 'recording' }),
    h('p', { class: 'muted small' }, `${orDash(rec.format)} · ${orDash(rec.size)} B · `,
      h('a', { href: rec.url, download: '' }, t('detail.download'))));
}

function webhookCard(d, redraw) {
  const msg = h('div');
  const redeliver = async (id, btn) => {
    btn.disabled = true;
    try {
      await post('/webhook/redeliver', { webhook_id: id });
      clear(msg).append(notice(t('detail.redelivered'), 'ok'));
      watch.left = WATCH_POLLS;
      setTimeout(redraw, 600);
    } catch (e) {
      clear(msg).append(notice(e.message));
      btn.disabled = false;
    }
  };
  return card(t('detail.webhooks'), msg,
    table([
      { label: t('detail.type'), cell: (w) => w.event_type },
      { label: t('detail.webhook_id'), cell: (w) => h('span', { class: 'mono small' }, w.webhook_id) },
      { label: t('col.state'), cell: (w) => badge(w.status, { delivered: 'ok', failed: 'bad' }[w.status] || 'warn') },
      { label: t('detail.attempts_n'), cell: (w) => String(w.attempts), class: 'num' },
      { label: t('col.error'), cell: (w) => orDash(w.last_error) },
      { label: '', cell: (w) => h('button', { class: 'btn btn-small redeliver', dataset: { webhookId: w.webhook_id },
        onclick: (e) => redeliver(w.webhook_id, e.currentTarget) }, t('detail.redeliver')) },
    ], d.webhooks, t('detail.no_webhooks')),
    h('h3', null, t('detail.attempts')),
    h('div', { id: 'webhook-attempts' }, table([
      { label: t('detail.at'), cell: (a) => fmtTime(a.attempted_at) },
      { label: t('detail.type'), cell: (a) => a.event_type },
      { label: t('detail.http_status'), cell: (a) => (a.status_code === null ? badge('—', 'bad')
        : badge(String(a.status_code), a.status_code < 300 ? 'ok' : 'bad')) },
      { label: t('detail.latency'), cell: (a) => orDash(a.latency_ms), class: 'num' },
      { label: t('col.error'), cell: (a) => orDash(a.error) },
    ], d.webhook_attempts, t('common.none'))));
}

export async function render(main, uuid, current) {
  const d = await get('/call/detail', { uuid });
  if (!current()) return;
  const redraw = () => { if (current()) render(main, uuid, current).catch(() => {}); };
  const cdr = d.cdr;
  clear(main).append(
    h('header', { class: 'page-head' },
      h('div', null, h('a', { href: '#/calls', class: 'muted small' }, `← ${t('calls.title')}`),
        h('h1', null, t('detail.title', { uuid: d.call_uuid }))),
      h('div', { class: 'row' }, h('span', { id: 'call-state' }, statusBadge(d)),
        h('button', { class: 'btn', onclick: redraw }, t('common.refresh')))),
    h('div', { class: 'grid-2' },
      card(t('detail.summary'), kv([
        [t('col.caller'), `${d.caller} (${d.caller_kind})`],
        [t('col.callee'), `${d.callee} (${d.callee_kind})`],
        [t('field.province'), orDash(d.callee_province)],
        [t('col.gateway'), orDash(d.gateway)],
        [t('field.state'), d.state],
        [t('field.status'), orDash(d.status)],
        [t('field.hangup_cause'), orDash(d.hangup_cause)],
        [t('field.node'), orDash(d.node)],
        [t('col.created'), fmtTime(d.created_at)],
        [t('field.answer_time'), fmtTime(d.answered_at)],
        [t('field.end_time'), fmtTime(d.ended_at)],
        [t('detail.ext_data'), d.ext_data === null ? '—' : h('pre', { class: 'ext-data' }, d.ext_data)],
      ])),
      cdrCard(t('detail.cdr'), cdr)),
    h('div', { class: 'grid-2' }, cdrCard(t('detail.caller_cdr'), d.caller_cdr)),
    h('div', { class: 'grid-2' }, routingCard(d.routing), recordingCard(d.recording)),
    webhookCard(d, redraw),
    card(t('detail.timeline'), table([
      { label: t('detail.at'), cell: (e) => fmtTime(e.at) },
      { label: t('detail.event'), cell: (e) => h('span', { class: 'mono' }, e.name) },
      { label: t('detail.role'), cell: (e) => roleOf(d.legs, e.leg_uuid) },
      { label: t('detail.detail'), cell: (e) => orDash(e.detail) },
    ], d.events, t('common.none'))),
    card(t('detail.legs'), table([
      { label: t('detail.role'), cell: (l) => t(`role.${l.role}`) },
      { label: t('field.state'), cell: (l) => l.state },
      { label: t('col.gateway'), cell: (l) => orDash(l.gateway) },
      { label: 'UUID', cell: (l) => h('span', { class: 'mono small' }, l.uuid) },
      { label: t('field.answer_time'), cell: (l) => fmtTime(l.answered_at) },
      { label: t('field.end_time'), cell: (l) => fmtTime(l.ended_at) },
      { label: t('col.cause'), cell: (l) => orDash(l.hangup_cause) },
    ], d.legs, t('common.none'))),
  );
  if (watch.uuid !== uuid) Object.assign(watch, { uuid, left: WATCH_POLLS });
  // The call.completed event is queued once the CDR and the recording are settled, so no
  // event yet means the call is still going on.
  const settled = d.webhooks.length > 0;
  const pending = d.webhooks.some((w) => w.status === 'pending');
  if (!settled || (pending && watch.left > 0)) {
    if (settled) watch.left -= 1;
    setTimeout(redraw, POLL_MS);
  }
}

// One leg's CDR: `cdr` is the customer leg that decided the call, `caller_cdr` the agent's.
function cdrCard(title, cdr) {
  return card(title, cdr ? kv([[t('detail.role'), cdr.role ? t(`role.${cdr.role}`) : '—']]
    .concat(['start_time', 'answer_time', 'end_time'].map((k) => [t(`field.${k}`), fmtTime(cdr[k])]))
    .concat(['duration', 'billsec', 'hangup_cause', 'sip_hangup_disposition'].map((k) => [t(`field.${k}`), orDash(cdr[k])])))
    : h('p', { class: 'muted' }, t('detail.no_cdr')));
}

function roleOf(legs, uuid) {
  const leg = legs.find((l) => l.uuid === uuid);
  return leg ? `${t(`role.${leg.role}`)}${leg.gateway ? ` · ${leg.gateway}` : ''}` : '—';
}

// Calls: the list, newest first, filtered by caller, callee, gateway, state and time range,
// with paging. A row opens the call detail.

import { get } from './api.js';
import { h, clear, table, card, badge, fmtTime, orDash, field, localToRfc3339 } from './dom.js';
import { t } from './i18n.js';

const STATES = ['accepted', 'ringing', 'answered', 'bridged', 'completed', 'failed'];
const SIZE = 20;
// Kept while the console is open, so coming back from a detail page keeps the filter.
const filter = { caller: '', callee: '', gateway: '', state: '', from: '', to: '', page: 1 };

export function statusBadge(call) {
  if (call.status) {
    const kind = { answered: 'ok', no_answer: 'warn', busy: 'warn', canceled: 'muted', failed: 'bad' }[call.status];
    return badge(call.status, kind || 'muted');
  }
  return badge(call.state, call.state === 'failed' ? 'bad' : 'info');
}

function filterForm(onApply) {
  const input = (name, type = 'text') => h('input', { type, name, id: `f-${name}`, value: filter[name] });
  const stateSel = h('select', { name: 'state', id: 'f-state' },
    h('option', { value: '' }, t('calls.any_state')),
    STATES.map((st) => h('option', { value: st, selected: st === filter.state }, st)));
  const form = h('form', { class: 'filters' },
    field(t('col.caller'), input('caller')),
    field(t('col.callee'), input('callee')),
    field(t('col.gateway'), input('gateway')),
    field(t('col.state'), stateSel),
    field(t('calls.from'), input('from', 'datetime-local')),
    field(t('calls.to'), input('to', 'datetime-local')),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('calls.apply')),
      h('button', { type: 'reset', class: 'btn' }, t('calls.reset'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const k of ['caller', 'callee', 'gateway', 'state', 'from', 'to']) filter[k] = form.elements[k].value.trim();
    filter.page = 1;
    onApply();
  });
  form.addEventListener('reset', (e) => {
    e.preventDefault();
    Object.assign(filter, { caller: '', callee: '', gateway: '', state: '', from: '', to: '', page: 1 });
    onApply();
  });
  return form;
}

export async function render(main, _arg, current) {
  const data = await get('/call/list', {
    caller: filter.caller,
    callee: filter.callee,
    gateway: filter.gateway,
    state: filter.state,
    from: localToRfc3339(filter.from),
    to: localToRfc3339(filter.to),
    page: filter.page,
    size: SIZE,
  });
  if (!current()) return;
  const again = () => render(main, null, current).catch(() => {});
  const pages = Math.max(1, Math.ceil(data.total / SIZE));
  const pager = h('div', { class: 'pager' },
    h('button', { class: 'btn', disabled: filter.page <= 1, onclick: () => { filter.page -= 1; again(); } }, t('common.prev')),
    h('span', { class: 'muted' }, t('common.page', { page: filter.page, pages, total: data.total })),
    h('button', { class: 'btn', disabled: filter.page >= pages, onclick: () => { filter.page += 1; again(); } }, t('common.next')));
  clear(main).append(
    h('header', { class: 'page-head' }, h('h1', null, t('calls.title')),
      h('button', { class: 'btn', onclick: again }, t('common.refresh'))),
    card(null, filterForm(again)),
    card(null, table([
      { label: t('col.created'), cell: (c) => h('a', { href: `#/calls/${c.call_uuid}`, class: 'call-link' }, fmtTime(c.created_at)) },
      { label: t('col.caller'), cell: (c) => h('span', { class: 'mono' }, c.caller) },
      { label: t('col.callee'), cell: (c) => h('span', { class: 'mono' }, c.callee) },
      { label: t('col.gateway'), cell: (c) => orDash(c.gateway || c.gateways.join(' → ')) },
      { label: t('col.state'), cell: (c) => statusBadge(c) },
      { label: t('col.cause'), cell: (c) => h('span', { class: 'mono small' }, orDash(c.hangup_cause)) },
    ], data.list, t('common.none')), pager),
  );
}

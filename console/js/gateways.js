// Gateways (lines): list, create, edit, enable/disable, delete, and each gateway's generated
// FreeSWITCH XML (#/gateways/<name>).

import { get, getText, post } from './api.js';
import { h, clear, table, card, badge, notice } from './dom.js';
import { t } from './i18n.js';
import { entityForm } from './forms.js';
import { capMeter } from './overview.js';

function specs() {
  return [
    { name: 'name', label: t('col.name') },
    { name: 'realm', label: t('col.realm') },
    { name: 'port', label: t('gw.port'), type: 'number', default: 5060 },
    { name: 'transport', label: t('gw.transport'), type: 'select', options: ['udp', 'tcp', 'tls'], default: 'udp' },
    { name: 'register', label: t('gw.register'), type: 'checkbox', default: false },
    { name: 'username', label: t('gw.username') },
    { name: 'password', label: t('gw.password'), type: 'password' },
    { name: 'caller_id', label: t('gw.caller_id') },
    { name: 'prefix', label: t('gw.prefix') },
    { name: 'max_concurrent', label: t('gw.max_concurrent'), type: 'number', default: 0 },
    { name: 'callee_daily_limit', label: t('gw.daily_limit'), type: 'number', default: 0 },
    { name: 'blind_areas', label: t('gw.blind_areas'), type: 'list' },
    { name: 'priority', label: t('gw.priority'), type: 'number', default: 100 },
    { name: 'enabled', label: t('col.enabled'), type: 'checkbox', default: true },
  ];
}

async function xmlView(main, name, current) {
  const [gw, xml] = await Promise.all([get('/gateway/detail', { name }), getText('/gateway/detail_xml', { name })]);
  if (!current()) return;
  const editor = h('div');
  const edit = () => clear(editor).append(card(t('gw.edit', { name }), entityForm({
    specs: specs().map((s) => (s.name === 'password' ? { ...s, hint: t('gw.password_keep') } : s)),
    initial: gw,
    keyFields: ['name'],
    id: 'gateway-form',
    submitLabel: t('common.save'),
    cancelLabel: t('common.cancel'),
    onCancel: () => clear(editor),
    submit: async (body) => { await post('/gateway/update', body); xmlView(main, name, current); },
  })));
  clear(main).append(
    h('header', { class: 'page-head' },
      h('div', null, h('a', { href: '#/gateways', class: 'muted small' }, `← ${t('gw.title')}`),
        h('h1', null, name)),
      h('div', { class: 'row' },
        gw.enabled ? badge(t('common.enabled'), 'ok') : badge(t('common.disabled')),
        h('span', null, capMeter(gw.live_calls, gw.max_concurrent)),
        h('button', { class: 'btn', id: 'gateway-edit', onclick: edit }, t('common.edit')))),
    editor,
    card(t('gw.xml'), h('p', { class: 'muted small' }, t('gw.xml_hint', { name })),
      h('pre', { class: 'code', id: 'gateway-xml' }, xml)),
  );
}

export async function render(main, name, current) {
  if (name) return xmlView(main, name, current);
  const data = await get('/gateway/list', { size: 500 });
  if (!current()) return;
  const again = () => render(main, null, current).catch((e) => main.prepend(notice(e.message)));
  const editor = h('div');
  const msg = h('div');
  const open = (initial) => clear(editor).append(card(initial ? t('gw.edit', { name: initial.name }) : t('gw.new'), entityForm({
    specs: specs().map((s) => (initial && s.name === 'password' ? { ...s, hint: t('gw.password_keep') } : s)),
    initial,
    keyFields: ['name'],
    id: 'gateway-form',
    submitLabel: initial ? t('common.save') : t('common.create'),
    cancelLabel: t('common.cancel'),
    onCancel: () => clear(editor),
    submit: async (body) => {
      const gw = await post(initial ? '/gateway/update' : '/gateway/create', body);
      location.hash = `#/gateways/${encodeURIComponent(gw.name)}`;
    },
  })));
  const act = async (path, body) => {
    try { await post(path, body); await again(); } catch (e) { clear(msg).append(notice(e.message)); }
  };
  clear(main).append(
    h('header', { class: 'page-head' }, h('h1', null, t('gw.title')),
      h('button', { class: 'btn btn-primary', id: 'gateway-new', onclick: () => open(null) }, t('gw.new'))),
    msg, editor,
    card(null, table([
      { label: t('col.name'), cell: (g) => h('a', { href: `#/gateways/${encodeURIComponent(g.name)}` }, g.name) },
      { label: t('col.realm'), cell: (g) => h('span', { class: 'mono' }, `${g.realm}:${g.port}/${g.transport}`) },
      { label: t('gw.caller_id'), cell: (g) => g.caller_id || '—' },
      { label: t('col.concurrency'), cell: (g) => capMeter(g.live_calls, g.max_concurrent) },
      { label: t('col.priority'), cell: (g) => String(g.priority), class: 'num' },
      { label: t('col.enabled'), cell: (g) => (g.enabled ? badge(t('common.enabled'), 'ok') : badge(t('common.disabled'))) },
      { label: '', class: 'actions', cell: (g) => [
        h('button', { class: 'btn btn-small', onclick: () => open(g) }, t('common.edit')),
        h('button', { class: 'btn btn-small', onclick: () => act('/gateway/update', { name: g.name, enabled: !g.enabled }) },
          g.enabled ? t('common.disable') : t('common.enable')),
        h('button', { class: 'btn btn-small btn-danger', onclick: () => {
          if (window.confirm(t('common.confirm_delete', { name: g.name }))) act('/gateway/delete', { name: g.name });
        } }, t('common.delete'))] },
    ], data.list, t('common.none'))),
  );
}

// Extensions: list, create, edit, enable/disable, delete. Passwords are write-only: the API
// never returns one, so an empty password field on edit keeps the current password.

import { get, post } from './api.js';
import { h, clear, table, card, badge, notice, fmtTime } from './dom.js';
import { t } from './i18n.js';
import { entityForm } from './forms.js';

function specs(editing) {
  return [
    { name: 'extension', label: t('col.extension') },
    { name: 'domain', label: t('col.domain'), hint: t('ext.domain_hint') },
    { name: 'display_name', label: t('col.display_name') },
    { name: 'password', label: t('col.password'), type: 'password', hint: editing ? t('gw.password_keep') : null },
    { name: 'enabled', label: t('col.enabled'), type: 'checkbox', default: true },
  ];
}

const keyOf = (e) => ({ extension: e.extension, domain: e.domain });
const label = (e) => (e.domain ? `${e.extension}@${e.domain}` : e.extension);

export async function render(main, _arg, current) {
  const data = await get('/extension/list', { size: 500 });
  if (!current()) return;
  const again = () => render(main, null, current).catch((e) => main.prepend(notice(e.message)));
  const editor = h('div');
  const msg = h('div');
  const open = (initial) => clear(editor).append(card(initial ? t('ext.edit', { name: label(initial) }) : t('ext.new'), entityForm({
    specs: specs(Boolean(initial)),
    initial,
    keyFields: ['extension', 'domain'],
    id: 'extension-form',
    submitLabel: initial ? t('common.save') : t('common.create'),
    cancelLabel: t('common.cancel'),
    onCancel: () => clear(editor),
    submit: async (body) => {
      await post(initial ? '/extension/update' : '/extension/create', body);
      await again();
    },
  })));
  const act = async (path, body) => {
    try { await post(path, body); await again(); } catch (e) { clear(msg).append(notice(e.message)); }
  };
  clear(main).append(
    h('header', { class: 'page-head' }, h('h1', null, t('ext.title')),
      h('button', { class: 'btn btn-primary', id: 'extension-new', onclick: () => open(null) }, t('ext.new'))),
    msg, editor,
    card(null, table([
      { label: t('col.extension'), cell: (e) => h('span', { class: 'mono' }, e.extension) },
      { label: t('col.domain'), cell: (e) => e.domain || '—' },
      { label: t('col.display_name'), cell: (e) => e.display_name || '—' },
      { label: t('col.password'), cell: (e) => (e.password_set ? badge('••••', 'muted') : badge('—', 'warn')) },
      { label: t('col.enabled'), cell: (e) => (e.enabled ? badge(t('common.enabled'), 'ok') : badge(t('common.disabled'))) },
      { label: t('col.created'), cell: (e) => fmtTime(e.created_at) },
      { label: '', class: 'actions', cell: (e) => [
        h('button', { class: 'btn btn-small', onclick: () => open(e) }, t('common.edit')),
        h('button', { class: 'btn btn-small', onclick: () => act('/extension/update', { ...keyOf(e), enabled: !e.enabled }) },
          e.enabled ? t('common.disable') : t('common.enable')),
        h('button', { class: 'btn btn-small btn-danger', onclick: () => {
          if (window.confirm(t('common.confirm_delete', { name: label(e) }))) act('/extension/delete', keyOf(e));
        } }, t('common.delete'))] },
    ], data.list, t('common.none'))),
  );
}

// Click-to-call: places a call through POST /v1/call/callback and shows the lines chosen, or,
// when no line fits, the API's reason for every line.

import { post } from './api.js';
import { h, clear, card, field, notice } from './dom.js';
import { t } from './i18n.js';

/** "no line can take this call: callee 138...: gw1: disabled; gw2: ..." -> one row per line. */
function reasons(message) {
  const tail = message.replace(/^no line can take this call:\s*/, '');
  const m = tail.match(/^(caller|callee) [^:]+:\s*(.*)$/);
  const body = m ? m[2] : tail;
  return { head: m ? tail.slice(0, tail.length - body.length).replace(/:\s*$/, '') : null,
    lines: body.split('; ').filter(Boolean) };
}

export async function render(main) {
  const out = h('div', { id: 'dial-result' });
  const inputs = {
    caller: h('input', { name: 'caller', id: 'dial-caller', required: true, autocomplete: 'off' }),
    callee: h('input', { name: 'callee', id: 'dial-callee', required: true, autocomplete: 'off' }),
    gateways: h('input', { name: 'gateways', id: 'dial-gateways', autocomplete: 'off' }),
    ext_data: h('textarea', { name: 'ext_data', id: 'dial-ext-data', rows: 2 }),
  };
  const form = h('form', { class: 'entity-form', id: 'dial-form', novalidate: true },
    h('div', { class: 'form-grid' },
      field(t('col.caller'), inputs.caller),
      field(t('col.callee'), inputs.callee),
      field(t('dial.gateways'), inputs.gateways),
      field(t('dial.ext_data'), inputs.ext_data)),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'dial-submit' }, t('dial.submit'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { caller: inputs.caller.value.trim(), callee: inputs.callee.value.trim() };
    const gws = inputs.gateways.value.trim();
    if (gws) body.gateways = gws;
    if (inputs.ext_data.value !== '') body.ext_data = inputs.ext_data.value;
    clear(out);
    try {
      const res = await post('/call/callback', body);
      out.append(notice(t('dial.placed'), 'ok'),
        res.gateways.length
          ? h('div', null, h('h3', null, t('dial.chain')), h('ol', { class: 'chain', id: 'dial-chain' },
            res.gateways.map((g) => h('li', { class: 'mono' }, g))))
          : h('p', { class: 'muted' }, t('dial.extension_only')),
        h('p', null, h('a', { href: `#/calls/${res.call_uuid}`, class: 'btn', id: 'dial-open' }, t('dial.open'))));
    } catch (err) {
      if (err.code === 40901) {
        const r = reasons(err.message);
        out.append(h('div', { class: 'notice notice-bad', role: 'alert', id: 'dial-no-line' },
          h('strong', null, t('dial.no_line')), r.head ? h('div', { class: 'mono small' }, r.head) : null,
          h('ul', null, r.lines.map((l) => h('li', null, l)))));
      } else {
        out.append(notice(err.message));
      }
    }
  });
  clear(main).append(
    h('header', { class: 'page-head' }, h('h1', null, t('dial.title'))),
    card(null, h('p', { class: 'muted' }, t('dial.lead')), form),
    out,
  );
}

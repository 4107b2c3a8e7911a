// The console shell: sign-in, the sidebar, the language switch and a hash router
// (#/overview, #/calls, #/calls/<uuid>, #/dial, #/gateways, #/gateways/<name>, #/extensions).
// Each page module exports `render(main, arg)` and draws into the element it is given.

import { apiKey, signIn, signOut, get, ApiError } from './api.js';
import { h, clear, field, notice } from './dom.js';
import { t, lang, setLang, LANGS } from './i18n.js';
import * as overview from './overview.js';
import * as calls from './calls.js';
import * as callDetail from './call_detail.js';
import * as gateways from './gateways.js';
import * as extensions from './extensions.js';
import * as dial from './dial.js';

const NAV = [
  ['overview', 'nav.overview', overview],
  ['calls', 'nav.calls', calls],
  ['dial', 'nav.dial', dial],
  ['gateways', 'nav.gateways', gateways],
  ['extensions', 'nav.extensions', extensions],
];

const root = document.getElementById('app');

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = parts[0] || 'overview';
  const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null;
  return { name, arg };
}

function langSwitch() {
  const sel = h('select', { class: 'lang', 'aria-label': t('lang.label'), id: 'lang' },
    LANGS.map(([code, label]) => h('option', { value: code, selected: code === lang() }, label)));
  sel.value = lang();
  sel.addEventListener('change', () => {
    setLang(sel.value);
    draw();
  });
  return sel;
}

function drawSignIn(message) {
  clear(root).className = 'app app-signin';
  const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', required: true });
  const form = h('form', { class: 'signin card' },
    h('div', { class: 'brand brand-large' }, h('img', { src: 'favicon.svg', alt: '' }), 'callplane'),
    h('h1', null, t('signin.title')),
    h('p', { class: 'muted' }, t('signin.lead')),
    message ? notice(message) : null,
    field(t('signin.key'), input),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('signin.submit')), langSwitch()));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    signIn(input.value.trim());
    try {
      await get('/node/list');
      if (!location.hash || location.hash === '#/') location.hash = '#/overview';
      draw();
    } catch (err) {
      signOut();
      drawSignIn(err instanceof ApiError && err.status === 401 ? t('signin.bad') : err.message);
    }
  });
  root.append(form);
  input.focus();
}

let drawing = 0;

async function draw() {
  if (apiKey() === null) {
    drawSignIn();
    return;
  }
  const { name, arg } = route();
  const entry = NAV.find(([n]) => n === name) || NAV[0];
  const page = name === 'calls' && arg ? callDetail : entry[2];
  const main = h('main', { class: 'main', id: 'main' });
  const nav = h('nav', { class: 'sidebar' },
    h('div', { class: 'brand' }, h('img', { src: 'favicon.svg', alt: '' }), 'callplane'),
    h('ul', null, NAV.map(([n, label]) => h('li', null,
      h('a', { href: `#/${n}`, class: n === entry[0] ? 'active' : null, id: `nav-${n}` }, t(label))))),
    h('div', { class: 'sidebar-foot' },
      langSwitch(),
      h('a', { href: '/docs/', class: 'muted small' }, t('nav.api')),
      h('button', { type: 'button', class: 'btn btn-link', id: 'signout', onclick: () => { signOut(); draw(); } },
        t('nav.signout'))));
  clear(root).className = 'app';
  root.append(nav, main);
  document.title = `${t(entry[1])} · ${t('app.title')}`;
  const mine = ++drawing;
  main.append(h('p', { class: 'muted' }, t('common.loading')));
  try {
    await page.render(main, arg, () => mine === drawing);
  } catch (err) {
    if (mine !== drawing) return;
    clear(main).append(notice(err.message));
  }
}

window.addEventListener('hashchange', draw);
window.addEventListener('callplane:unauthorized', () => {
  signOut();
  drawSignIn(t('signin.bad'));
});
draw();

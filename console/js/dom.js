// Tiny DOM helpers. Every piece of data becomes a text node or an attribute value set
// through the DOM API: caller-controlled text (ext_data, display names, CDR fields) is never
// parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'disabled') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** h('div', {class: 'x'}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** A coloured pill; `kind` is ok, warn, bad, info or muted. */
export function badge(text, kind = 'muted') {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** A table: columns are {label, cell(row) -> node|string, class?}. */
export function table(columns, rows, empty) {
  const head = h('tr', null, columns.map((c) => h('th', { class: c.class }, c.label)));
  const body = rows.length
    ? rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.class }, c.cell(r)))))
    : [h('tr', null, h('td', { class: 'empty', colspan: columns.length }, empty || '—'))];
  return h('table', { class: 'table' }, h('thead', null, head), h('tbody', null, body));
}

/** A titled panel. */
export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', null, title) : null, children);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** "2026-11-26T09:00" for <input type=datetime-local> -> RFC 3339 with the local offset. */
export function localToRfc3339(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export function orDash(v) {
  return v === null || v === undefined || v === '' ? '—' : String(v);
}

/** A labelled form row. */
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input,
    hint ? h('span', { class: 'field-hint' }, hint) : null);
}

/** A message line for errors and notices. */
export function notice(text, kind = 'bad') {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, text);
}

// Create/edit forms for gateways and extensions. The API validates; the form shows its
// message as is (it names the field) and marks that field. Edits send only the fields that
// changed, since updates are partial and an untouched field must keep its value.

import { h, field, notice, clear } from './dom.js';

/** Field specs: {name, label, type: text|password|number|checkbox|select|list, options?, hint?}. */
function input(spec, value) {
  const id = `in-${spec.name}`;
  switch (spec.type) {
    case 'checkbox':
      return h('input', { type: 'checkbox', name: spec.name, id, checked: Boolean(value) });
    case 'select':
      return h('select', { name: spec.name, id }, spec.options.map((o) => h('option', { value: o, selected: o === value }, o)));
    case 'list':
      return h('input', { type: 'text', name: spec.name, id, value: (value || []).join(', ') });
    default:
      return h('input', { type: spec.type || 'text', name: spec.name, id, value: value ?? '', autocomplete: 'off',
        readonly: spec.readonly || null });
  }
}

function read(spec, el) {
  switch (spec.type) {
    case 'checkbox': return el.checked;
    case 'number': return el.value.trim() === '' ? null : Number(el.value);
    case 'list': return el.value.split(/[,，]/).map((x) => x.trim()).filter(Boolean);
    default: return el.value.trim();
  }
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
    || ((a === '' || a === null) && (b === '' || b === null || b === undefined));
}

/**
 * A form over `specs`. `initial` is the current object when editing (null to create);
 * `submit(body)` sends it and resolves, or throws an ApiError whose message is shown.
 */
export function entityForm({ specs, initial, keyFields, submitLabel, cancelLabel, submit, onCancel, id }) {
  const msg = h('div', { class: 'form-msg' });
  const inputs = new Map();
  const rows = specs.map((spec) => {
    const el = input(spec, initial ? initial[spec.name] : spec.default);
    if (initial && keyFields.includes(spec.name)) el.readOnly = true;
    inputs.set(spec.name, el);
    return field(spec.label, el, spec.hint);
  });
  const form = h('form', { class: 'entity-form', id, novalidate: true },
    msg, h('div', { class: 'form-grid' }, rows),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', id: `${id}-submit` }, submitLabel),
      h('button', { type: 'button', class: 'btn', onclick: onCancel }, cancelLabel)));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const spec of specs) {
      const v = read(spec, inputs.get(spec.name));
      if (initial) {
        if (keyFields.includes(spec.name)) body[spec.name] = initial[spec.name];
        else if (spec.type === 'password' ? v !== '' : !same(v, initial[spec.name])) body[spec.name] = v;
      } else if (v !== '' && v !== null && !(Array.isArray(v) && !v.length)) {
        body[spec.name] = v;
      }
    }
    for (const el of inputs.values()) el.removeAttribute('aria-invalid');
    clear(msg);
    try {
      await submit(body);
    } catch (err) {
      msg.append(notice(err.message));
      const named = specs.find((s) => err.message.startsWith(`${s.name}:`) || err.message.includes(` ${s.name}:`)
        || err.message.includes(`.${s.name}`));
      if (named) {
        inputs.get(named.name).setAttribute('aria-invalid', 'true');
        inputs.get(named.name).focus();
      }
    }
  });
  return form;
}

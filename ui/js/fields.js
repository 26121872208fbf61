// Form fields, their error messages, and the unsaved-changes check.
//
// Each field is a label, a control and an error slot (id "field-error-<key>") tied to
// the control by aria-describedby. Backend validation errors name their field first
// ("title is required", "case_id: no record …"); FieldErrors puts them next to it.

import { h } from './dom.js';
import { t, has } from './i18n.js';

let counter = 0;
const uid = (prefix) => `${prefix}-${++counter}`;

function describe(control, ...ids) {
  const list = new Set((control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  ids.filter(Boolean).forEach((id) => list.add(id));
  if (list.size) control.setAttribute('aria-describedby', [...list].join(' '));
}

function errorSlot(key) {
  return h('p', {
    id: `field-error-${key}`,
    class: 'field-error',
    testid: 'field-error',
    hidden: true,
    attrs: { 'aria-live': 'polite' },
  });
}

function hintNode(hint, controlId) {
  return hint ? h('p', { id: `${controlId}-hint`, class: 'field-hint', text: hint }) : null;
}

/** A text input or textarea. → {wrap, input, error} */
export function textField({ id, key, label, value = '', hint, type = 'text', multiline = false,
  rows = 4, required = false, maxlength, inputmode, placeholder, className }) {
  const input = multiline
    ? h('textarea', { id, name: key, rows, value: value ?? '' })
    : h('input', { id, name: key, type, value: value ?? '' });
  input.setAttribute('autocomplete', 'off');
  if (type === 'text' || type === 'search' || multiline) {
    input.spellcheck = true;
    input.dir = 'auto'; // typed text aligns with its own script, whatever the UI language
  }
  if (required) input.setAttribute('aria-required', 'true');
  if (maxlength) input.maxLength = maxlength;
  if (type === 'date') input.placeholder = t('field.date.placeholder');
  if (inputmode) input.inputMode = inputmode;
  if (placeholder) input.placeholder = placeholder;
  return labelled(input, { id, key, label, hint, required, className });
}

/** Wraps an input with its label, hint and error slot. → {wrap, input, error} */
function labelled(input, { id, key, label, hint, required, className }) {
  const error = errorSlot(key);
  const hintEl = hintNode(hint, id);
  describe(input, hintEl?.id, error.id);
  const wrap = h('div', { class: ['field', className] },
    h('label', { for: id, class: required ? 'required' : null, text: label }),
    input, hintEl, error);
  return { wrap, input, error };
}

/** A select. options: [{value, label, depth?}]. → {wrap, input, error} */
export function selectField({ id, key, label, options, value = '', hint, required = false, className }) {
  const input = h('select', { id, name: key },
    options.map((o) => h('option', {
      value: o.value,
      text: o.depth ? `${'\u2003'.repeat(o.depth)}${o.label}` : o.label,
      selected: o.value === value,
    })));
  input.value = value ?? '';
  if (required) input.setAttribute('aria-required', 'true');
  return labelled(input, { id, key, label, hint, required, className });
}

/** A single checkbox with its label after it. → {wrap, input, error} */
export function checkboxField({ id, key, label, checked = false, hint }) {
  const input = h('input', { id, name: key, type: 'checkbox', checked: Boolean(checked) });
  const error = errorSlot(key);
  const hintEl = hintNode(hint, id);
  describe(input, hintEl?.id, error.id);
  const wrap = h('div', { class: 'field field-check' },
    h('div', { class: 'check' }, input, h('label', { for: id, text: label })),
    hintEl, error);
  return { wrap, input, error };
}

/**
 * A group of checkboxes in a fieldset (roles, act types). options: [{value, label,
 * depth?}]. → {wrap, inputs, error, values()}
 */
export function checkboxGroup({ id, key, legend, options, values = [], hint, idPrefix, testidPrefix, scroll = false, className }) {
  const chosen = new Set(values);
  const error = errorSlot(key);
  const inputs = options.map((o) => {
    const inputId = `${idPrefix || id}-${o.value.replace(/_/g, '-')}`;
    const input = h('input', {
      id: inputId, type: 'checkbox', name: key, value: o.value, checked: chosen.has(o.value),
      testid: testidPrefix ? `${testidPrefix}-${o.value}` : null,
    });
    return { input, row: h('div', { class: ['check', o.depth ? `depth-${Math.min(o.depth, 3)}` : null] },
      input, h('label', { for: inputId, text: o.label })) };
  });
  const hintEl = hintNode(hint, id);
  const fieldset = h('fieldset', { id, class: ['field', 'checkbox-group', scroll ? 'scroll' : null, className] },
    h('legend', { text: legend }),
    hintEl,
    h('div', { class: 'checks' }, inputs.map((i) => i.row)),
    error);
  describe(fieldset, hintEl?.id, error.id);
  return {
    wrap: fieldset,
    inputs: inputs.map((i) => i.input),
    error,
    values: () => inputs.filter((i) => i.input.checked).map((i) => i.input.value),
  };
}

/** Turns "tag one, tag two" into ["tag one", "tag two"] (no empties, no duplicates). */
export function splitList(text) {
  const seen = new Set();
  return String(text || '')
    .split(/[,\n،]/)
    .map((s) => s.trim())
    .filter((s) => s && !seen.has(s) && seen.add(s));
}

/**
 * A typed date as YYYY-MM-DD: Arabic-Indic and Persian digits become ASCII (where
 * the webview shows a plain text box instead of a date picker). '' stays ''.
 */
export function normalizeDate(text) {
  return String(text || '')
    .trim()
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0));
}

/** True for a real calendar date written YYYY-MM-DD. */
export function isDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Today's date in local time as YYYY-MM-DD. */
export function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The field a backend validation message is about, or null. Messages start with the
 * field's path followed by ':' or ' is ' ("title is required", "consent.publish: …").
 */
export function errorField(message) {
  const text = String(message || '');
  if (/^end date\b/.test(text)) return 'end';
  if (/^latitude\b/.test(text)) return 'location.lat';
  if (/^longitude\b/.test(text)) return 'location.lon';
  const m = /^([A-Za-z_]\w*(?:\.\w+|\[\d+\])*)(?::\s*| is )/.exec(text);
  return m ? m[1] : null;
}

/** A backend validation message, shown next to its field (localized where known). */
function fieldMessage(message) {
  const text = String(message || '');
  if (/^\S+ is required$/.test(text)) return t('error.required');
  if (/^end date is before start date$/.test(text)) return t('error.end_before_start');
  if (/^group_size is only for a group$/.test(text)) return t('error.group_size_only_for_group');
  if (/: no record /.test(text)) return t('error.link_missing');
  const colon = text.indexOf(': ');
  return colon > 0 && errorField(text) ? text.slice(colon + 2) : text;
}

/** The localized text for a backend error {kind, message}. */
export function errorText(error) {
  const e = error || {};
  if (e.kind === 'invalid') return fieldMessage(e.message) || t('error.invalid');
  const key = `error.${e.kind}`;
  if (has(key)) {
    // These carry details the user can act on; the detail is kept, in English.
    if (['weak_passphrase', 'damaged', 'io', 'database', 'newer_format', 'bad_request', 'internal', 'unknown',
      'hub_unreachable', 'tls_failed', 'connection_lost', 'hub_refused', 'hub_protocol',
      'invalid_route', 'file_exists', 'evidence', 'import_refused', 'import_failed'].includes(e.kind) && e.message) {
      return `${t(key)} (${e.message})`;
    }
    return t(key);
  }
  return e.message || t('error.unknown');
}

/** Field-level and form-level errors of one form. */
export class FieldErrors {
  /** formError: the element for errors that are not about one field. */
  constructor(formError) {
    this.formError = formError;
    this.fields = new Map(); // path → {error, control}
  }

  /** Ties a field path (as the backend names it) to its error slot and control. */
  add(path, error, control) {
    this.fields.set(path, { error, control });
    return this;
  }

  clear() {
    for (const { error, control } of this.fields.values()) {
      error.hidden = true;
      error.textContent = '';
      control?.removeAttribute('aria-invalid');
    }
    if (this.formError) {
      this.formError.hidden = true;
      this.formError.textContent = '';
    }
  }

  /** Shows a message next to a field (by path) and returns whether it found one. */
  set(path, text, focus = true) {
    let p = path;
    while (p) {
      const slot = this.fields.get(p);
      if (slot) {
        slot.error.textContent = text;
        slot.error.hidden = false;
        slot.control?.setAttribute('aria-invalid', 'true');
        if (focus) focusControl(slot.control);
        return true;
      }
      const shorter = p.replace(/(\.\w+|\[\d+\])$/, '');
      p = shorter === p ? '' : shorter;
    }
    return false;
  }

  /** Shows a backend error next to its field, or as a form error. */
  show(error) {
    const e = error || {};
    const path = e.kind === 'invalid' ? errorField(e.message) : null;
    if (path && this.set(path, errorText(e))) return;
    this.form(errorText(e));
  }

  /** Shows a form-level message. */
  form(text) {
    if (!this.formError) return;
    this.formError.textContent = text;
    this.formError.hidden = false;
    this.formError.focus?.();
  }
}

function focusControl(control) {
  if (!control) return;
  const target = control.matches('fieldset') ? control.querySelector('input, select, textarea') : control;
  target?.focus();
}

/** A form-level error element (role=alert). */
export function formError(id) {
  return h('p', { id, class: 'form-error', testid: 'form-error', hidden: true, tabIndex: -1, attrs: { role: 'alert' } });
}

/** The values of every control in a form, as one string, to tell whether it changed. */
export function snapshot(form) {
  return JSON.stringify(
    [...form.querySelectorAll('input, select, textarea')].map((el) =>
      el.type === 'checkbox' || el.type === 'radio' ? el.checked : el.value),
  );
}

/** Makes a unique id (for controls that have no stable test id). */
export function uniqueId(prefix) {
  return uid(prefix);
}

/**
 * The values of a form's controls by id, to keep them across a lock (a draft): text
 * and choices as typed, checkboxes and radios as checked. Controls without an id are
 * left out (every field of the record forms has one).
 */
export function formValues(form) {
  const values = {};
  for (const el of form.querySelectorAll('input, select, textarea')) {
    if (!el.id || el.type === 'password' || el.type === 'file') continue;
    values[el.id] = el.type === 'checkbox' || el.type === 'radio' ? el.checked : el.value;
  }
  return values;
}

/**
 * Puts values from formValues back into a form, as if typed: each control gets its input
 * and change events (so that dependent fields show or hide). → how many were restored.
 */
export function applyValues(form, values) {
  let restored = 0;
  for (const [id, value] of Object.entries(values || {})) {
    const el = form.querySelector(`#${CSS.escape(id)}`);
    if (!el || !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) continue;
    if (el.type === 'checkbox' || el.type === 'radio') {
      if (el.checked === Boolean(value)) continue;
      el.checked = Boolean(value);
    } else {
      if (el.value === String(value)) continue;
      el.value = String(value);
    }
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    restored++;
  }
  return restored;
}

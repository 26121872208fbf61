// Following up what was sent to a protection mechanism: the "mark as sent" dialog of a
// draft intervention, and the "follow-up due" panel the case list shows after unlock.
//
// Ids: #mark-sent-dialog (data-record-id), #mark-sent-date, #mark-sent-channel,
// #mark-sent-reference, #mark-sent-follow-up, #field-error-mark-sent-date,
// #field-error-mark-sent-follow-up, #mark-sent-error, #mark-sent-save,
// #mark-sent-cancel. The panel: #followup-due (items [data-testid=followup-item]
// [data-case-id][data-record-id], each a link [data-testid=followup-open]),
// #followup-awaiting (data-count), #followup-dismiss.

import * as api from './api.js';
import { h, userText } from './dom.js';
import { t, formatDate, formatNumber } from './i18n.js';
import { errorText, normalizeDate, isDate, today } from './fields.js';

/** How an intervention can be sent (its `channel`); a stored value not listed is kept. */
export const CHANNELS = ['email', 'web_form', 'post', 'in_person', 'partner', 'other'];

/** The channel menu's options: not set, the known ways, and a stored one not known. */
export function channelOptions(current = '') {
  const known = CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) }));
  const kept = current && !CHANNELS.includes(current) ? [{ value: current, label: current }] : [];
  return [{ value: '', label: t('value.not_set') }, ...known, ...kept];
}

/** A language's name in the UI's language ("fr" → "French"), or its code. */
export function languageName(code) {
  try {
    return new Intl.DisplayNames([document.documentElement.lang || 'en'], { type: 'language' }).of(code) || code;
  } catch {
    return code;
  }
}

/** YYYY-MM-DD, `days` after the local day `from` (YYYY-MM-DD). */
export function addDays(from, days) {
  const [y, m, d] = from.split('-').map(Number);
  const date = new Date(y, m - 1, d + days);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Days until the first follow-up a "mark as sent" proposes. */
const FOLLOW_UP_AFTER = 30;

let openDialog = null; // {close(answer)}

/**
 * Asks when and how a draft intervention was sent, and what comes next; saving marks it
 * sent (the backend writes a new version). record: the stored intervention (for its
 * channel and reference). → Promise of {recordId, versionId}, or null when cancelled.
 */
export function markSentDialog({ recordId, record = {} }) {
  closeMarkSent();
  const day = today();
  const field = (id, label, control, hint) => {
    const error = h('p', { id: `field-error-${id}`, class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
    control.setAttribute('aria-describedby', [hint ? `${id}-hint` : null, error.id].filter(Boolean).join(' '));
    return { error, control, wrap: h('div', { class: 'field' }, h('label', { for: id, text: label }), control,
      hint ? h('p', { id: `${id}-hint`, class: 'field-hint', text: hint }) : null, error) };
  };
  const date = field('mark-sent-date', t('followup.sent_on'),
    h('input', { id: 'mark-sent-date', type: 'date', value: day, attrs: { placeholder: t('field.date.placeholder') } }));
  const channel = field('mark-sent-channel', t('field.channel'),
    h('select', { id: 'mark-sent-channel' }, channelOptions(record.channel || '').map((o) =>
      h('option', { value: o.value, text: o.label }))));
  channel.control.value = record.channel || '';
  const reference = field('mark-sent-reference', t('field.reference'),
    h('input', { id: 'mark-sent-reference', type: 'text', dir: 'auto', value: record.reference || '',
      attrs: { autocomplete: 'off' } }), t('followup.reference.hint'));
  const followUp = field('mark-sent-follow-up', t('field.follow_up'),
    h('input', { id: 'mark-sent-follow-up', type: 'date', value: addDays(day, FOLLOW_UP_AFTER),
      attrs: { placeholder: t('field.date.placeholder') } }), t('followup.follow_up.hint'));
  const error = h('p', { id: 'mark-sent-error', class: 'form-error', hidden: true, tabIndex: -1, attrs: { role: 'alert' } });
  const save = h('button', { type: 'submit', id: 'mark-sent-save', class: 'button primary', text: t('followup.mark_sent.save') });
  const cancel = h('button', { type: 'button', id: 'mark-sent-cancel', class: 'button secondary', text: t('action.cancel') });
  const form = h('form', { id: 'mark-sent-form', class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    h('p', { class: 'field-hint', text: t('followup.mark_sent.intro') }),
    h('div', { class: 'form-grid' }, date.wrap, channel.wrap), reference.wrap, followUp.wrap, error,
    h('div', { class: 'actions' }, cancel, save));
  const dialog = h('dialog', { id: 'mark-sent-dialog', class: 'dialog', data: { recordId },
    attrs: { 'aria-labelledby': 'mark-sent-title' } },
  h('h2', { id: 'mark-sent-title', text: t('followup.mark_sent.title') }), form);
  document.body.append(dialog);
  const returnFocus = document.activeElement;

  return new Promise((resolve) => {
    let busy = false;
    const close = (answer) => {
      if (openDialog?.dialog === dialog) openDialog = null;
      if (dialog.open && typeof dialog.close === 'function') dialog.close();
      dialog.remove();
      if (returnFocus?.isConnected) returnFocus.focus?.();
      resolve(answer);
    };
    openDialog = { dialog, close };
    /** A typed date, checked: '' when empty; null (and the error shown) when wrong. */
    const dateOf = (f, required) => {
      const value = normalizeDate(f.control.value);
      const problem = !value ? (required ? t('error.required') : null) : (isDate(value) ? null : t('error.date_format'));
      f.error.textContent = problem || '';
      f.error.hidden = !problem;
      f.control.toggleAttribute('aria-invalid', Boolean(problem));
      return problem ? null : value;
    };
    cancel.addEventListener('click', () => {
      if (!busy) close(null);
    });
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      if (!busy) close(null);
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (busy) return;
      error.hidden = true;
      const sent = dateOf(date, true);
      const next = dateOf(followUp, false);
      if (sent === null) {
        date.control.focus();
        return;
      }
      if (next === null) {
        followUp.control.focus();
        return;
      }
      busy = true;
      save.disabled = true;
      try {
        const written = await api.markInterventionSent({
          recordId, date: sent, channel: channel.control.value,
          reference: reference.control.value.trim(), followUp: next || null,
        });
        close(written);
      } catch (err) {
        busy = false;
        save.disabled = false;
        if (!dialog.isConnected) return;
        error.textContent = errorText(err);
        error.hidden = false;
        error.focus();
      }
    });
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    date.control.focus();
  });
}

/** Closes the "mark as sent" dialog, if open (a lock, leaving the screen). */
export function closeMarkSent() {
  openDialog?.close(null);
}

/**
 * The "follow-up due" panel: each intervention whose follow-up has come (its case, where
 * it went, when it was sent, the follow-up date), each opening its case, and how many
 * submissions await a response. due: the backend's `follow_ups` answer. → the element,
 * or null when nothing is due.
 */
export function duePanel(app, due, { mechanismLabel = (c) => c, onDismiss } = {}) {
  const items = due?.due || [];
  if (!items.length) return null;
  const awaiting = Number(due?.awaiting) || 0;
  const dismiss = h('button', { type: 'button', id: 'followup-dismiss', class: 'button link small',
    text: t('followup.due.dismiss'), on: { click: () => onDismiss?.() } });
  return h('section', { id: 'followup-due', class: 'callout warning followup-due', data: { count: String(items.length) },
    attrs: { 'aria-labelledby': 'followup-due-title' } },
  h('div', { class: 'panel-head' },
    h('h2', { id: 'followup-due-title', class: 'callout-title', text: t('followup.due.title', { n: formatNumber(items.length) }) }),
    dismiss),
  h('ul', { class: 'followup-list' }, items.map((d) => h('li', { testid: 'followup-item',
    data: { caseId: d.case_id, recordId: d.record_id } },
  h('button', { type: 'button', class: 'button link row-open', testid: 'followup-open',
    on: { click: () => app.navigate('case', { id: d.case_id }) } },
  userText(d.case_title || t('value.untitled'))),
  ' — ',
  h('span', { class: 'followup-mechanism' }, d.mechanism ? mechanismLabel(d.mechanism) : userText(d.title || '')),
  ' · ',
  h('span', { class: 'muted', text: d.date ? t('followup.due.sent', { date: formatDate(d.date) }) : t('followup.due.not_sent') }),
  ' · ',
  h('strong', { text: t('followup.due.on', { date: formatDate(d.follow_up) }) })))),
  h('p', { id: 'followup-awaiting', data: { count: String(awaiting) },
    text: t('followup.awaiting', { n: formatNumber(awaiting) }) }));
}

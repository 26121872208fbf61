// Quick entry: log a threat or an attack in under a minute — what, when, where, who.
//
// Saves, in this order, a case, the person (a victim), and the incident naming that
// person, then opens the case, where everything can be completed later. If a step
// fails after the case exists, the case is opened anyway with the error shown, so
// nothing typed is lost silently.

import * as api from '../api.js';
import { h } from '../dom.js';
import { t, tPlain } from '../i18n.js';
import {
  textField, selectField, FieldErrors, formError, errorText, snapshot, today, normalizeDate, isDate,
  formValues, applyValues,
} from '../fields.js';

export async function render(app, params = {}) {
  const acts = await app.vocabulary('act_types');
  const labels = new Map(acts.map((a) => [a.code, a.label]));

  const what = selectField({ id: 'quick-act', key: 'quick-act', label: t('quick.what'), required: true,
    options: [{ value: '', label: t('quick.what.choose') },
      ...acts.map((a) => ({ value: a.code, label: a.label, depth: a.depth }))] });
  const when = textField({ id: 'quick-date', key: 'quick-date', label: t('quick.when'), type: 'date', value: today(), required: true });
  when.input.max = today();
  const where = textField({ id: 'quick-place', key: 'quick-place', label: t('quick.where'), hint: t('quick.where.hint') });
  const who = textField({ id: 'quick-who', key: 'quick-who', label: t('quick.who'), required: true, hint: t('quick.who.hint') });
  const details = textField({ id: 'quick-details', key: 'quick-details', label: t('quick.details'), multiline: true, rows: 3,
    hint: t('quick.details.hint') });

  const error = formError('quick-error');
  const errors = new FieldErrors(error)
    .add('act_types', what.error, what.input)
    .add('start', when.error, when.input)
    .add('location', where.error, where.input)
    .add('name', who.error, who.input);
  const progress = h('p', { id: 'quick-progress', class: 'busy-note', hidden: true, attrs: { role: 'status' } });
  const submit = h('button', { type: 'submit', id: 'quick-submit', class: 'button primary large', text: t('quick.submit') });

  const form = h('form', { id: 'quick-form', class: 'card form', attrs: { autocomplete: 'off', novalidate: true } },
    h('p', { class: 'field-hint required-note', text: t('form.required_note') }),
    what.wrap,
    h('div', { class: 'form-grid' }, when.wrap, where.wrap),
    who.wrap,
    details.wrap,
    error,
    h('div', { class: 'actions' }, submit),
    progress);

  let saved = snapshot(form);
  let busy = false;
  // Unsaved entries kept at the last lock: put back (still unsaved).
  if (params.draft?.values) applyValues(form, params.draft.values);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    errors.clear();
    const code = what.input.value;
    const date = normalizeDate(when.input.value);
    const place = where.input.value.trim();
    const name = who.input.value.trim();
    if (!code) return errors.set('act_types', t('error.required'));
    if (!date) return errors.set('start', t('error.required'));
    if (!isDate(date)) return errors.set('start', t('error.date_format'));
    if (!name) return errors.set('name', t('error.required'));

    const act = labels.get(code) || code;
    busy = true;
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    progress.hidden = false;
    let caseId = null;
    try {
      progress.textContent = t('quick.progress.case');
      ({ recordId: caseId } = await api.saveRecord(null, {
        kind: 'case',
        title: tPlain('quick.case_title', { act, who: name }),
        summary: details.input.value,
        status: 'open',
        tags: [],
        confidentiality: 'restricted',
        owner: '',
      }));
      progress.textContent = t('quick.progress.person');
      const { recordId: personId } = await api.saveRecord(null, {
        kind: 'person',
        case_id: caseId,
        name,
        roles: ['victim'],
      });
      progress.textContent = t('quick.progress.incident');
      await api.saveRecord(null, {
        kind: 'incident',
        case_id: caseId,
        title: act,
        description: details.input.value,
        start: { date, precision: 'day' },
        location: place ? { place, region: '', country: '', lat: null, lon: null } : null,
        act_types: [code],
        persons: [{ person_id: personId, role: 'victim' }],
      });
      saved = snapshot(form);
      app.notify(t('quick.done'));
      await app.navigate('case', { id: caseId }, { force: true });
    } catch (err) {
      busy = false;
      submit.disabled = false;
      form.removeAttribute('aria-busy');
      progress.hidden = true;
      if (caseId) {
        // The case exists: open it, say what is missing.
        saved = snapshot(form);
        await app.navigate('case', { id: caseId }, { force: true });
        app.notify(`${t('quick.partial')} ${errorText(err)}`, 'error');
      } else {
        errors.show(err);
      }
    }
    return undefined;
  });

  const el = h('section', { id: 'screen-quick', class: 'screen narrow', attrs: { 'aria-labelledby': 'quick-title' } },
    h('h1', { id: 'quick-title', text: t('quick.title') }),
    h('p', { class: 'lead', text: t('quick.intro') }),
    form);

  return {
    el,
    focus: what.input,
    isDirty: () => form.isConnected && !busy && snapshot(form) !== saved,
    /** What was typed, to keep across a lock; null when nothing is unsaved. */
    draft: () => (form.isConnected && !busy && snapshot(form) !== saved
      ? { screen: 'quick', values: formValues(form) } : null),
    destroy() {
      form.reset();
    },
  };
}

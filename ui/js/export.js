// The export dialog: one case (from the case screen), or all cases or the cases the
// search and filters show (from the case list).
//
// What it asks, in order: what to export (the scope), the format (the backend says which
// it can write: JSON, CSV, PDF report, and a submission to each protection mechanism —
// the UN Special Rapporteur, the Observatory, an EU mission, the African Commission's
// Special Rapporteur, the Inter-American Commission), for a communication its form (the
// UN SR's own fields; another mechanism's questions as the backend lists them, its
// language among those it accepts, text or PDF, prefilled from the answers kept in the
// case's draft intervention), then a plain warning that the file is not
// encrypted, with the option to encrypt it to an age recipient (age1…), and the path
// (typed, or chosen with the system's save dialog, as for evidence). For a communication
// the elements it lacks are listed BEFORE anything is written; the export then needs an
// explicit "export anyway". A PDF (the case report, a communication as PDF) may include
// the patterns: the charts and map of the cases the file holds (those of the scope; a
// communication's one case), from the figures published with the small-count threshold
// (default 3). The dialog's parts shared with the patterns screen's chart export (warning,
// encryption, path, result, the dialog itself) come from export-parts.js. A long export
// shows its progress (`export-progress` events, counts only). Nothing of what is
// exported passes through the page: the backend reads the vault and writes the file.
//
// A file is never replaced: a path where something exists is refused next to the path.
// CSV writes a new folder (one file per table) at the path.
//
// Ids: #export-dialog (data-scope: case or list; data-format; data-missing),
// #export-scope (on the case list: radios #export-scope-all, #export-scope-shown),
// #export-format with radios #export-format-<format> (json, csv, pdf, unsr), #export-unsr
// (#export-unsr-type, #export-unsr-pdf, #export-submitter, #export-link-to-work,
// #export-current-risk, #export-context), #export-submission (data-format,
// data-mechanism on its .submission-form; #export-submission-language,
// #export-submission-pdf, one control per question #export-q-<key> with `_` as `-`, a
// "choices" question's boxes #export-q-<key>-<code>), #export-patterns-option (a PDF only:
// #export-patterns, #export-patterns-hint, #export-patterns-threshold,
// #field-error-export-patterns-threshold), #export-warning, #export-encrypt,
// #export-recipient, #field-error-export-recipient, #export-file, #export-file-choose,
// #field-error-export-file, #export-missing (items [data-testid=missing-item]
// [data-element], a perpetrator's [data-testid=perpetrator-type][data-record-id]
// select), #export-anyway, #export-progress (a <progress>, data-done, data-total),
// #export-progress-text, #export-error, #export-result (data-path, data-encrypted,
// data-withheld, data-patterns: the threshold, empty without), #export-run, #export-close.

import * as api from './api.js';
import { h, replace, userText } from './dom.js';
import { t, has, formatNumber } from './i18n.js';
import { errorText } from './fields.js';
import { choiceLabel } from './records.js';
import { formatBytes } from './evidence.js';
import { languageName } from './followup.js';
import { exportDialog, exportParts, removeDialog, showDialog, thresholdOf, today } from './export-parts.js';

const EXTENSION = { json: 'json', csv: '', uwazi: '', pdf: 'pdf', unsr: 'txt' };
const UNSR_TYPES = ['urgent_appeal', 'allegation_letter'];

let current = null; // the open dialog: {dialog, close()}

/**
 * The text for a missing element: in the UI language when known (an unanswered question
 * by its label), else the core's words.
 */
function missingText(item) {
  const key = `export.missing.${item.element}`;
  if (has(key)) return t(key);
  const question = `submission.q.${item.element}`;
  return has(question) ? t(question) : item.message || item.element;
}

/**
 * Opens the export dialog. options: {caseId, title} (one case), or {all: number of
 * cases, shown: [case ids] or null (no search or filter)} (the case list); onClose()
 * when it closes (a submission may have written the case's draft intervention).
 */
export async function openExport(app, options = {}) {
  closeExport();
  let formats;
  try {
    formats = await api.exportFormats();
  } catch (e) {
    app.notify(errorText(e), 'error');
    return;
  }
  const single = Boolean(options.caseId);
  const shown = single ? null : options.shown;

  // What
  const scopeAll = h('input', { type: 'radio', id: 'export-scope-all', name: 'export-scope', value: 'all',
    checked: !shown || !shown.length });
  const scopeShown = h('input', { type: 'radio', id: 'export-scope-shown', name: 'export-scope', value: 'shown',
    checked: Boolean(shown && shown.length), disabled: !shown || !shown.length });
  const scope = single
    ? h('p', { id: 'export-scope', class: 'export-scope' }, t('export.scope.case'), ' ',
      userText(options.title || t('value.untitled'), { class: 'export-case-title' }))
    : h('fieldset', { id: 'export-scope', class: 'field radio-group' },
      h('legend', { text: t('export.scope') }),
      h('div', { class: 'check' }, scopeAll,
        h('label', { for: 'export-scope-all', text: t('export.scope.all', { n: formatNumber(options.all || 0) }) })),
      shown ? h('div', { class: 'check' }, scopeShown,
        h('label', { for: 'export-scope-shown', text: t('export.scope.shown', { n: formatNumber(shown.length) }) })) : null);
  const caseIds = () => {
    if (single) return [options.caseId];
    return scopeShown.checked && shown ? shown : null;
  };

  // Format (a communication is about one case: not offered for several)
  const radios = formats.map((f, i) => {
    const input = h('input', { type: 'radio', id: `export-format-${f.format}`, name: 'export-format', value: f.format,
      checked: i === 0, data: { singleCase: f.single_case ? 'true' : null } });
    return h('div', { class: 'check' }, input,
      h('label', { for: `export-format-${f.format}`, text: t(`export.format.${f.format}`) }));
  });
  const formatSet = h('fieldset', { id: 'export-format', class: 'field radio-group' },
    h('legend', { text: t('export.format') }), radios,
    single ? null : h('p', { class: 'field-hint', text: t('export.unsr.one_case') }));
  const format = () => formatSet.querySelector('input:checked')?.value || 'json';
  const isFolder = () => Boolean(formats.find((f) => f.format === format())?.folder);

  // UN-SR communication
  const unsrType = h('select', { id: 'export-unsr-type', name: 'unsr-type' },
    UNSR_TYPES.map((v) => h('option', { value: v, text: choiceLabel('intervention_type', v) })));
  const unsrPdf = h('input', { type: 'checkbox', id: 'export-unsr-pdf', name: 'unsr-pdf' });
  const submitter = h('input', { id: 'export-submitter', type: 'text', name: 'submitter', dir: 'auto',
    attrs: { autocomplete: 'off', 'aria-describedby': 'export-submitter-hint' } });
  const area = (id, label, hint) => {
    const input = h('textarea', { id, name: id, rows: 2, dir: 'auto', attrs: { 'aria-describedby': `${id}-hint` } });
    return { input, wrap: h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
      h('p', { id: `${id}-hint`, class: 'field-hint', text: hint })) };
  };
  const linkToWork = area('export-link-to-work', t('export.unsr.link_to_work'), t('export.unsr.link_to_work.hint'));
  const currentRisk = area('export-current-risk', t('export.unsr.current_risk'), t('export.unsr.current_risk.hint'));
  const context = area('export-context', t('export.unsr.context'), t('export.unsr.context.hint'));
  const perpetratorTypes = new Map(); // person id → 'state' | 'non_state'
  const missing = h('div', { id: 'export-missing', class: 'callout warning', hidden: true, attrs: { 'aria-live': 'polite' } });
  const anyway = h('input', { type: 'checkbox', id: 'export-anyway', name: 'anyway' });
  const anywayRow = h('div', { class: 'check export-anyway', hidden: true },
    anyway, h('label', { for: 'export-anyway', text: t('export.anyway') }));
  const unsr = h('div', { id: 'export-unsr', class: 'export-unsr', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'export-unsr-type', text: t('export.unsr.type') }), unsrType),
    h('div', { class: 'field field-check' },
      h('div', { class: 'check' }, unsrPdf, h('label', { for: 'export-unsr-pdf', text: t('export.unsr.pdf') }))),
    h('div', { class: 'field' }, h('label', { for: 'export-submitter', text: t('export.unsr.submitter') }), submitter,
      h('p', { id: 'export-submitter-hint', class: 'field-hint', text: t('export.unsr.submitter.hint') })),
    linkToWork.wrap, currentRisk.wrap, context.wrap,
    h('p', { class: 'field-hint', id: 'export-unsr-redaction', text: t('export.unsr.redaction') }));

  // A submission to another mechanism: its form, as the backend describes it, with the
  // answers kept in the case's draft intervention (per format, while the dialog is open,
  // what was typed stays when another format is looked at).
  const submission = h('div', { id: 'export-submission', class: 'export-submission', hidden: true });
  const forms = new Map(); // format → {language, pdf, answers(), el} once loaded
  let loading = null; // the format whose form is being asked for
  const communication = h('div', { id: 'export-communication', hidden: true }, unsr, submission, missing, anywayRow);

  // Patterns: the charts and map of the exported cases, in a PDF (the case report, a
  // submission as PDF), from the figures published with the threshold.
  const patterns = h('input', { type: 'checkbox', id: 'export-patterns', name: 'patterns',
    attrs: { 'aria-describedby': 'export-patterns-hint' } });
  const patternsThreshold = h('input', { id: 'export-patterns-threshold', type: 'number', name: 'patterns-threshold',
    value: '3', attrs: { min: 1, max: 10000, step: 1, inputmode: 'numeric',
      'aria-describedby': 'export-patterns-threshold-hint field-error-export-patterns-threshold' } });
  const patternsThresholdError = h('p', { id: 'field-error-export-patterns-threshold', class: 'field-error', hidden: true });
  const patternsThresholdField = h('div', { class: 'field export-patterns-threshold', hidden: true },
    h('label', { for: 'export-patterns-threshold', text: t('export.patterns.threshold') }), patternsThreshold,
    h('p', { id: 'export-patterns-threshold-hint', class: 'field-hint', text: t('export.patterns.threshold.hint') }),
    patternsThresholdError);
  const patternsOption = h('div', { id: 'export-patterns-option', class: 'export-patterns', hidden: true },
    h('div', { class: 'field field-check' },
      h('div', { class: 'check' }, patterns, h('label', { for: 'export-patterns', text: t('export.patterns') })),
      h('p', { id: 'export-patterns-hint', class: 'field-hint',
        text: single ? t('export.patterns.hint.case') : t('export.patterns.hint') })),
    patternsThresholdField);

  // Not encrypted, unless… ; where; going, done
  const parts = exportParts({
    prefix: 'export',
    path: 'file',
    chooseId: 'export-file-choose',
    warning: t('export.warning'),
    pathLabel: t('export.path'),
    pathHint: null,
    chooseTitle: t('export.choose.title'),
    suggested: () => suggestedName(),
    onEncrypt: () => update(),
  });
  const { encrypt, recipientField, run, closeButton, error, result } = parts;
  const progress = h('progress', { id: 'export-progress', class: 'export-progress', hidden: true, max: 1, value: 0,
    attrs: { 'aria-labelledby': 'export-progress-text' } });
  const progressText = h('p', { id: 'export-progress-text', class: 'busy-note', hidden: true, attrs: { role: 'status' } });

  const { dialog, form } = exportDialog({
    id: 'export-dialog',
    titleId: 'export-title',
    title: t('export.title'),
    formId: 'export-form',
    data: { scope: single ? 'case' : 'list' },
    children: [scope, formatSet, communication, patternsOption, parts.warning, parts.encryptRow, recipientField,
      parts.pathRow, progressText, progress, error, result, parts.actions],
  });

  let busy = false;
  let checked = null; // the missing elements of the last check, for the current choices
  let checking = 0;
  let stopListening = null;

  /** The one case a submission is about (the case, or the only one the list shows). */
  const oneCase = () => {
    const ids = caseIds();
    return ids?.length === 1 ? ids[0] : null;
  };
  /** The mechanism a format submits to (its `mechanisms` code), or null. */
  const mechanismOf = (f = format()) => formats.find((x) => x.format === f)?.mechanism || null;
  /** A communication to a mechanism other than the UN SR: the generic form. */
  const isSubmission = (f = format()) => f !== 'unsr' && Boolean(mechanismOf(f));
  /** Any communication: its missing elements come first. */
  const isCommunication = (f = format()) => f === 'unsr' || isSubmission(f);
  /** The file is a PDF (the case report, or a communication as PDF): it can hold the patterns. */
  const writesPdf = (f = format()) => f === 'pdf'
    || (f === 'unsr' ? unsrPdf.checked : isSubmission(f) && Boolean(forms.get(f)?.pdf.checked));
  /** The threshold of the patterns asked for; null: none asked for; false: not a valid one. */
  const patternsAsked = () => {
    if (!writesPdf() || !patterns.checked) return null;
    return thresholdOf(patternsThreshold) ?? false;
  };

  function suggestedName() {
    const base = single ? 'custos-case' : 'custos-export';
    const pdf = format() === 'unsr' ? unsrPdf.checked : Boolean(forms.get(format())?.pdf.checked);
    const ext = isCommunication() ? (pdf ? 'pdf' : 'txt') : EXTENSION[format()];
    return `${base}-${today()}${ext ? `.${ext}` : ''}${encrypt.checked && ext ? '.age' : ''}`;
  }

  /** The communication's own fields, as the backend takes them. */
  function unsrFields() {
    return {
      kind: unsrType.value,
      submitter: submitter.value,
      linkToWork: linkToWork.input.value,
      currentRisk: currentRisk.input.value,
      context: context.input.value,
      perpetratorTypes: Object.fromEntries(perpetratorTypes),
      pdf: unsrPdf.checked,
    };
  }

  /** The submission's fields, as the backend takes them (the form shown for format). */
  function submissionFields() {
    const f = forms.get(format());
    return {
      language: f?.language.value || '',
      answers: f ? f.answers() : {},
      perpetratorTypes: Object.fromEntries(perpetratorTypes),
      pdf: Boolean(f?.pdf.checked),
    };
  }

  /** One question of a mechanism's form, as a field: {wrap, value()}. */
  function questionField(q, saved) {
    const id = `export-q-${q.key.replace(/_/g, '-')}`;
    const label = has(`submission.q.${q.key}`) ? t(`submission.q.${q.key}`) : q.key;
    const hintKey = `submission.q.${q.key}.hint`;
    const hint = has(hintKey) ? h('p', { id: `${id}-hint`, class: 'field-hint', text: t(hintKey) }) : null;
    const choiceText = (c) => (has(`submission.choice.${c}`) ? t(`submission.choice.${c}`) : c);
    const type = q.kind?.type;
    const described = { 'aria-describedby': hint ? hint.id : null, 'aria-required': q.required ? 'true' : null };
    if (type === 'choices') {
      const chosen = new Set(String(saved || '').split(',').map((v) => v.trim()).filter(Boolean));
      const boxes = (q.kind.choices || []).map((c) => h('input', { type: 'checkbox', id: `${id}-${c.replace(/_/g, '-')}`,
        value: c, checked: chosen.has(c), data: { question: q.key } }));
      return {
        wrap: h('fieldset', { id, class: 'field checkbox-group', data: { question: q.key }, attrs: described },
          h('legend', { class: q.required ? 'required' : null, text: label }), hint,
          h('div', { class: 'checks' }, boxes.map((b) => h('div', { class: 'check' }, b,
            h('label', { for: b.id, text: choiceText(b.value) }))))),
        value: () => boxes.filter((b) => b.checked).map((b) => b.value).join(','),
      };
    }
    let input;
    if (type === 'choice') {
      input = h('select', { id, data: { question: q.key }, attrs: described },
        h('option', { value: '', text: t('submission.choose') }),
        (q.kind.choices || []).map((c) => h('option', { value: c, text: choiceText(c) })));
      input.value = saved || '';
    } else if (type === 'text') {
      input = h('textarea', { id, rows: 3, dir: 'auto', value: saved || '', data: { question: q.key }, attrs: described });
    } else {
      input = h('input', { id, type: type === 'date' ? 'date' : 'text', dir: type === 'date' ? null : 'auto',
        value: saved || '', data: { question: q.key }, attrs: { ...described, autocomplete: 'off' } });
    }
    return {
      wrap: h('div', { class: 'field' }, h('label', { for: id, class: q.required ? 'required' : null, text: label }), input, hint),
      value: () => input.value.trim(),
    };
  }

  /** Shows the form of a submission format, asking the backend for it the first time. */
  async function showSubmission() {
    const f = format();
    if (f === 'unsr') {
      submission.hidden = true;
      await prefillUnsr();
      return;
    }
    if (!isSubmission(f)) {
      submission.hidden = true;
      return;
    }
    submission.hidden = false;
    const known = forms.get(f);
    if (known) {
      replace(submission, known.el);
      return;
    }
    loading = f;
    replace(submission, h('p', { class: 'busy-note', text: t('submission.loading') }));
    let spec;
    try {
      spec = await api.submissionForm(oneCase(), f);
    } catch (e) {
      if (loading === f && dialog.isConnected) replace(submission, h('p', { class: 'form-error', text: errorText(e) }));
      return;
    }
    if (!dialog.isConnected || forms.has(f)) return;
    const answers = spec.answers || {};
    // The perpetrators' types kept with the draft count as given (the list may ask again).
    for (const [person, type] of Object.entries(spec.perpetratorTypes || {})) {
      if (!perpetratorTypes.has(person)) perpetratorTypes.set(person, type);
    }
    const language = h('select', { id: 'export-submission-language', attrs: { 'aria-describedby': 'export-submission-language-hint' } },
      (spec.languages || []).map((l) => h('option', { value: l, text: `${languageName(l)} (${l})` })));
    language.value = spec.language || spec.languages?.[0] || '';
    const pdf = h('input', { type: 'checkbox', id: 'export-submission-pdf' });
    const fields = (spec.questions || []).map((q) => [q.key, questionField(q, answers[q.key])]);
    const el = h('div', { class: 'submission-form', data: { format: f, mechanism: spec.mechanism || '' } },
      h('h3', { class: 'form-title', id: 'export-submission-title', text: t(`export.format.${f}`) }),
      spec.saved ? h('p', { class: 'field-hint', id: 'export-submission-saved', text: t('submission.saved') }) : null,
      h('div', { class: 'form-grid' },
        h('div', { class: 'field' }, h('label', { for: 'export-submission-language', text: t('submission.language') }), language,
          h('p', { id: 'export-submission-language-hint', class: 'field-hint', text: t('submission.language.hint') })),
        h('div', { class: 'field field-check' },
          h('div', { class: 'check' }, pdf, h('label', { for: 'export-submission-pdf', text: t('submission.pdf') })))),
      fields.map(([, q]) => q.wrap),
      h('p', { class: 'field-hint', id: 'export-submission-redaction', text: t('submission.redaction') }),
      h('p', { class: 'field-hint', id: 'export-submission-draft', text: t('submission.draft') }));
    el.addEventListener('input', () => recheck(300));
    el.addEventListener('change', (e) => (e.target === pdf ? update() : recheck()));
    forms.set(f, {
      el, language, pdf,
      answers: () => Object.fromEntries(fields.map(([key, q]) => [key, q.value()]).filter(([, v]) => v)),
    });
    if (format() === f) {
      replace(submission, el);
      recheck();
    }
  }

  /** The UN SR's fields, once, from the answers the case keeps (what is typed stays). */
  let unsrPrefilled = false;
  async function prefillUnsr() {
    if (unsrPrefilled || !oneCase()) return;
    unsrPrefilled = true;
    let spec;
    try {
      spec = await api.submissionForm(oneCase(), 'unsr');
    } catch {
      return; // the form still works, empty
    }
    if (!dialog.isConnected || !spec?.saved) return;
    const a = spec.answers || {};
    if (a.type && UNSR_TYPES.includes(a.type)) unsrType.value = a.type;
    for (const [input, key] of [[submitter, 'submitter'], [linkToWork.input, 'link_to_work'],
      [currentRisk.input, 'current_risk'], [context.input, 'context']]) {
      if (!input.value && a[key]) input.value = a[key];
    }
    for (const [person, type] of Object.entries(spec.perpetratorTypes || {})) {
      if (!perpetratorTypes.has(person)) perpetratorTypes.set(person, type);
    }
    if (format() === 'unsr') recheck();
  }

  /** A missing element as a list item; a perpetrator's type can be given right there. */
  function missingItem(m) {
    const label = [missingText(m), m.record_title ? [' — ', userText(m.record_title)] : null];
    if (m.element !== 'perpetrator_type' || !m.record_id) {
      return h('li', { testid: 'missing-item', data: { element: m.element || '', recordId: m.record_id || null } }, label);
    }
    const id = `export-perpetrator-${m.record_id}`;
    const select = h('select', { id, testid: 'perpetrator-type', data: { recordId: m.record_id },
      on: { change: (e) => {
        if (e.target.value) perpetratorTypes.set(m.record_id, e.target.value);
        else perpetratorTypes.delete(m.record_id);
        recheck();
      } } },
    h('option', { value: '', text: t('export.perpetrator.choose') }),
    h('option', { value: 'state', text: t('export.perpetrator.state') }),
    h('option', { value: 'non_state', text: t('export.perpetrator.non_state') }));
    select.value = perpetratorTypes.get(m.record_id) || '';
    return h('li', { testid: 'missing-item', data: { element: m.element, recordId: m.record_id } },
      h('label', { for: id }, label), ' ', select);
  }

  /** Asks what a communication would lack (before anything is written). */
  async function check() {
    checked = null;
    anyway.checked = false;
    if (isSubmission() && !forms.has(format())) {
      // The form is not there yet: checked once it is.
      missing.hidden = true;
      anywayRow.hidden = true;
      update();
      return;
    }
    if (!isCommunication()) {
      missing.hidden = true;
      anywayRow.hidden = true;
      update();
      return;
    }
    const mine = ++checking;
    replace(missing, h('p', { text: t('export.missing.checking') }));
    missing.hidden = false;
    anywayRow.hidden = true;
    update();
    let answer;
    try {
      answer = await api.exportCheck(format() === 'unsr'
        ? { format: 'unsr', caseIds: caseIds(), unsr: unsrFields() }
        : { format: format(), caseIds: caseIds(), submission: submissionFields() });
    } catch (e) {
      if (mine !== checking || !dialog.isConnected) return;
      replace(missing, h('p', { class: 'form-error', text: errorText(e) }));
      return;
    }
    if (mine !== checking || !dialog.isConnected) return;
    checked = answer?.missing || [];
    dialog.dataset.missing = String(checked.length);
    const unsrWords = format() === 'unsr';
    if (!checked.length) {
      missing.className = 'callout success';
      replace(missing, h('p', { id: 'export-missing-none',
        text: t(unsrWords ? 'export.missing.none' : 'export.missing.mechanism_none') }));
    } else {
      missing.className = 'callout warning';
      replace(missing,
        h('p', { class: 'callout-title',
          text: t(unsrWords ? 'export.missing.title' : 'export.missing.mechanism_title', { n: formatNumber(checked.length) }) }),
        h('ul', {}, checked.map(missingItem)));
      anywayRow.hidden = false;
    }
    update();
  }

  /** Shows what goes with the current choices. */
  function update() {
    const isUnsr = isCommunication();
    unsr.hidden = format() !== 'unsr';
    communication.hidden = !isUnsr;
    // A communication is about exactly one case.
    for (const input of formatSet.querySelectorAll('input[data-single-case]')) {
      input.disabled = !single && !(scopeShown.checked && shown?.length === 1);
      if (input.disabled && input.checked) {
        formatSet.querySelector('input').checked = true;
        recheck();
      }
    }
    parts.setPathHint(isFolder() ? t('export.path.folder') : null);
    patternsOption.hidden = !writesPdf();
    patternsThresholdField.hidden = !writesPdf() || !patterns.checked;
    recipientField.hidden = !encrypt.checked;
    dialog.dataset.format = format();
    const blocked = isUnsr && (checked === null || (checked.length > 0 && !anyway.checked));
    run.disabled = busy || blocked;
    run.textContent = busy ? t('export.running') : isUnsr && checked?.length ? t('export.run.anyway') : t('export.run');
  }

  let checkTimer = null;
  const recheck = (delay = 0) => {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, delay);
  };
  formatSet.addEventListener('change', () => {
    showSubmission();
    recheck();
  });
  unsrType.addEventListener('change', () => recheck());
  unsrPdf.addEventListener('change', () => update());
  submitter.addEventListener('input', () => recheck(300));
  for (const a of [linkToWork, currentRisk, context]) a.input.addEventListener('input', () => recheck(300));
  scopeAll.addEventListener('change', () => recheck());
  scopeShown.addEventListener('change', () => recheck());
  anyway.addEventListener('change', update);
  patterns.addEventListener('change', update);
  const showThreshold = () => {
    const ok = thresholdOf(patternsThreshold) !== null;
    patternsThreshold.toggleAttribute('aria-invalid', !ok);
    patternsThresholdError.textContent = ok ? '' : t('patterns.threshold.invalid');
    patternsThresholdError.hidden = ok;
    return ok;
  };
  patternsThreshold.addEventListener('input', showThreshold);

  function showProgress(done, total) {
    const d = Math.max(0, Number(done) || 0);
    const n = Math.max(d, Number(total) || 0, 1);
    progress.max = n;
    progress.value = d;
    progress.dataset.done = String(d);
    progress.dataset.total = String(n);
    progressText.textContent = t('export.progress', { done: formatNumber(d), total: formatNumber(n) });
  }

  async function start() {
    const asked = parts.checked();
    if (!asked) return;
    const { path, recipient: to } = asked;
    const threshold = patternsAsked();
    if (threshold === false) {
      showThreshold();
      patternsThreshold.focus();
      return;
    }
    busy = true;
    update();
    closeButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    showProgress(0, 0);
    progress.hidden = false;
    progressText.hidden = false;
    stopListening = await api.onExportProgress((p) => {
      if (busy) showProgress(p.done, p.total);
    });
    let out = null;
    let failure = null;
    try {
      out = await api.exportRun({
        format: format(),
        caseIds: caseIds(),
        path,
        recipient: to,
        unsr: format() === 'unsr' ? unsrFields() : undefined,
        submission: isSubmission() ? submissionFields() : undefined,
        acceptMissing: isCommunication() && anyway.checked,
        patterns: threshold ?? undefined,
      });
    } catch (e) {
      failure = e;
    }
    stopListening?.();
    stopListening = null;
    busy = false;
    closeButton.disabled = false;
    form.removeAttribute('aria-busy');
    if (!dialog.isConnected) return;
    progressText.hidden = true;
    update();
    if (failure) {
      progress.hidden = true;
      // What the missing elements are is asked again (and shown) first.
      if (failure.kind === 'missing_elements') await check();
      if (dialog.isConnected) parts.failed(failure, path);
      return;
    }
    showProgress(progress.max, progress.max);
    result.dataset.path = out.path;
    result.dataset.encrypted = String(Boolean(out.encrypted));
    result.dataset.withheld = String(out.withheld || 0);
    result.dataset.patterns = String(threshold ?? '');
    parts.done(app, Boolean(out.encrypted), [
      h('p', {}, h('code', { id: 'export-result-path', text: out.path, attrs: { dir: 'ltr' } }),
        ` · ${formatBytes(out.bytes)}`),
      out.files > 1 ? h('p', { text: t('export.done.files', { n: formatNumber(out.files) }) }) : null,
      out.withheld ? h('p', { text: t('export.done.withheld', { n: formatNumber(out.withheld) }) }) : null,
    ]);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!busy && !run.disabled) start();
  });

  function close() {
    clearTimeout(checkTimer);
    checking++;
    stopListening?.();
    stopListening = null;
    if (current?.dialog === dialog) current = null;
    removeDialog(dialog);
    options.onClose?.();
  }

  current = { dialog, close };
  update();
  showDialog(dialog, { closeButton, close, busy: () => busy,
    focus: formatSet.querySelector('input:checked') || parts.path });
}

/** Closes the export dialog, if open (leaving the screen, locking). */
export function closeExport() {
  current?.close();
}

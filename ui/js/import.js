// The import dialog: what another tool exported (Martus, ODK, Uwazi, Tella), from the
// case list.
//
// What it asks, in order: the tool (the backend lists them, with what to choose for
// each), the export's path (typed, or picked with the system's dialog, as for
// evidence), then "Check the export": the backend reads it whole and answers with what
// importing it would make — records of each kind, files and their size, records already
// in the vault from an earlier import (left as they are), the source fields with no
// place in Custos (kept, in a note of each record) — and every problem, each with its
// line or element. Only an export without problems can be imported; the import is all
// or nothing, with a progress bar (`import-progress` events: counts only). Nothing of the
// export passes through the page.
//
// Ids: #import-dialog (data-state: choose, checked, refused, done), #import-source (a
// select; its hint #import-source-hint), #import-path, #import-path-choose,
// #field-error-import-path, #import-check, #import-preview (data-units, data-new,
// data-already, data-files), #import-counts (rows [data-kind]), #import-unmapped
// (items [data-testid=unmapped-field]), #import-problems (items
// [data-testid=import-problem]), #import-progress (a <progress>), #import-progress-text,
// #import-error, #import-result (data-records, data-files), #import-run, #import-close.

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t, formatNumber } from './i18n.js';
import { errorText } from './fields.js';
import { formatBytes } from './evidence.js';

const KINDS = ['case', 'incident', 'person', 'intervention', 'note', 'evidence'];

let current = null; // the open dialog: {dialog, close()}

/** Opens the import dialog; onClose(imported) when it closes (true if records came in). */
export async function openImport(app, options = {}) {
  closeImport();
  let sources;
  try {
    sources = await api.importSources();
  } catch (e) {
    app.notify(errorText(e), 'error');
    return;
  }
  let imported = false;
  let busy = false;
  let preview = null;
  let stopListening = null;

  const source = h('select', { id: 'import-source', name: 'source', attrs: { 'aria-describedby': 'import-source-hint' } },
    sources.map((s) => h('option', { value: s.code, text: s.name })));
  const sourceHint = h('p', { id: 'import-source-hint', class: 'field-hint' });
  const path = h('input', { id: 'import-path', type: 'text', name: 'path', dir: 'ltr', spellcheck: false,
    attrs: { autocomplete: 'off', 'aria-describedby': 'import-path-hint field-error-import-path' } });
  const pathError = h('p', { id: 'field-error-import-path', class: 'field-error', hidden: true });
  const choose = h('button', { type: 'button', id: 'import-path-choose', class: 'button secondary', text: t('evidence.choose') });
  const checkButton = h('button', { type: 'button', id: 'import-check', class: 'button secondary', text: t('import.check') });
  const previewBox = h('div', { id: 'import-preview', class: 'import-preview', hidden: true, attrs: { 'aria-live': 'polite' } });
  const progress = h('progress', { id: 'import-progress', class: 'export-progress', hidden: true, max: 1, value: 0,
    attrs: { 'aria-labelledby': 'import-progress-text' } });
  const progressText = h('p', { id: 'import-progress-text', class: 'busy-note', hidden: true, attrs: { role: 'status' } });
  const error = h('p', { id: 'import-error', class: 'form-error', hidden: true, attrs: { role: 'alert', tabindex: '-1' } });
  const result = h('div', { id: 'import-result', class: 'callout success', hidden: true, attrs: { role: 'status' } });
  const run = h('button', { type: 'submit', id: 'import-run', class: 'button primary', text: t('import.run') });
  const closeButton = h('button', { type: 'button', id: 'import-close', class: 'button secondary', text: t('action.cancel') });

  const form = h('form', { id: 'import-form', class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    h('p', { class: 'field-hint', text: t('import.intro') }),
    h('div', { class: 'field' }, h('label', { for: 'import-source', text: t('import.source') }), source, sourceHint),
    h('div', { class: 'path-row' },
      h('div', { class: 'field grow' }, h('label', { for: 'import-path', text: t('import.path') }), path,
        h('p', { id: 'import-path-hint', class: 'field-hint', text: t('import.path.hint') }), pathError),
      choose),
    h('div', { class: 'actions start' }, checkButton),
    previewBox, progressText, progress, error, result,
    h('div', { class: 'actions' }, closeButton, run));
  const dialog = h('dialog', { id: 'import-dialog', class: 'dialog export-dialog', data: { state: 'choose' },
    attrs: { 'aria-labelledby': 'import-title' } },
  h('h2', { id: 'import-title', text: t('import.title') }), form);

  const chosen = () => sources.find((s) => s.code === source.value) || sources[0];

  function update() {
    sourceHint.textContent = t(`import.choose.${chosen().code}`);
    const canImport = preview && !preview.problems.length && preview.new_total > 0;
    run.disabled = busy || !canImport;
    checkButton.disabled = busy;
    choose.disabled = busy;
    source.disabled = busy;
    path.disabled = busy;
    run.textContent = busy ? t('import.running') : t('import.run');
  }

  /** Forgets a preview when what it was about changes. */
  function reset() {
    preview = null;
    previewBox.hidden = true;
    result.hidden = true;
    error.hidden = true;
    dialog.dataset.state = 'choose';
    update();
  }

  function showProgress(p) {
    const total = Math.max(Number(p.total) || 0, 1);
    const done = Math.min(Math.max(Number(p.done) || 0, 0), total);
    // Both reads in one bar: the check is the first half, the writing the second.
    const writing = p.phase === 'writing';
    const whole = dialog.dataset.state === 'checked' || writing ? 2 : 1;
    const value = (writing ? 1 : 0) + done / total;
    progress.max = whole;
    progress.value = value;
    const percent = Math.floor((value / whole) * 100);
    progressText.textContent = t(writing ? 'import.progress.writing' : 'import.progress.checking',
      { percent: formatNumber(percent) });
  }

  function kindLabel(kind) {
    return t(`search.kind.${kind}`);
  }

  function showPreview(p) {
    preview = { ...p, new_total: Object.values(p.new || {}).reduce((a, b) => a + b, 0) };
    previewBox.dataset.units = String(p.units);
    previewBox.dataset.new = String(preview.new_total);
    previewBox.dataset.already = String(p.already);
    previewBox.dataset.files = String(p.files);
    previewBox.dataset.problems = String(p.problems.length);
    const rows = KINDS.filter((k) => p.new?.[k]).map((k) =>
      h('tr', { data: { kind: k } }, h('th', { scope: 'row', text: kindLabel(k) }),
        h('td', { class: 'number', text: formatNumber(p.new[k]) })));
    const parts = [
      h('p', { id: 'import-read', text: t('import.read', { n: formatNumber(p.units), source: chosen().name }) }),
    ];
    if (rows.length) {
      parts.push(h('table', { id: 'import-counts', class: 'list-table compact' },
        h('caption', { text: t('import.will_make') }),
        h('tbody', {}, rows)));
    } else if (!p.problems.length) {
      parts.push(h('p', { id: 'import-nothing-new', text: t('import.nothing_new') }));
    }
    if (p.files) {
      parts.push(h('p', { id: 'import-files', text: t('import.files', { n: formatNumber(p.files), size: formatBytes(p.file_bytes) }) }));
    }
    if (p.already) {
      parts.push(h('p', { id: 'import-already', text: t('import.already', { n: formatNumber(p.already) }) }));
    }
    if (p.unmapped.length) {
      parts.push(h('div', { id: 'import-unmapped', class: 'callout' },
        h('p', { class: 'callout-title', text: t('import.unmapped', { n: formatNumber(p.unmapped.length) }) }),
        h('ul', {}, p.unmapped.map(([name, n]) => h('li', { data: { testid: 'unmapped-field' } },
          h('bdi', { text: name }), ` · ${t('import.unmapped.records', { n: formatNumber(n) })}`)))));
    }
    if (p.problems.length) {
      parts.push(h('div', { id: 'import-problems', class: 'callout warning' },
        h('p', { class: 'callout-title', text: t('import.problems', { n: formatNumber(p.problems.length) }) }),
        // A problem is in the words of the export's own place and the core's (English): each
        // line takes the direction of its text, so a right-to-left page keeps it readable.
        h('ul', {}, p.problems.map((pr) => h('li', { dir: 'auto', data: { testid: 'import-problem' } },
          pr.at ? h('bdi', { class: 'problem-at', text: pr.at }) : null, pr.at ? ': ' : '', h('bdi', { text: pr.message }))))));
    }
    replace(previewBox, parts);
    previewBox.hidden = false;
    dialog.dataset.state = p.problems.length ? 'refused' : 'checked';
  }

  function pathOk() {
    pathError.hidden = true;
    path.removeAttribute('aria-invalid');
    if (path.value.trim()) return true;
    pathError.textContent = t('error.required');
    pathError.hidden = false;
    path.setAttribute('aria-invalid', 'true');
    path.focus();
    return false;
  }

  async function going(call) {
    busy = true;
    error.hidden = true;
    update();
    closeButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    progress.hidden = false;
    progressText.hidden = false;
    showProgress({ phase: 'checking', done: 0, total: 1 });
    stopListening = await api.onImportProgress((p) => {
      if (busy) showProgress(p);
    });
    let out = null;
    let failure = null;
    try {
      out = await call();
    } catch (e) {
      failure = e;
    }
    stopListening?.();
    stopListening = null;
    busy = false;
    closeButton.disabled = false;
    form.removeAttribute('aria-busy');
    progress.hidden = true;
    progressText.hidden = true;
    if (!dialog.isConnected) return null;
    update();
    if (failure) {
      error.textContent = errorText(failure);
      error.hidden = false;
      error.focus();
      return null;
    }
    return out;
  }

  async function check() {
    if (busy || !pathOk()) return;
    reset();
    const p = await going(() => api.importPreview({ source: source.value, path: path.value.trim() }));
    if (!p) return;
    showPreview(p);
    update();
    (p.problems.length ? previewBox : run).focus?.();
  }

  async function start() {
    if (busy || run.disabled || !pathOk()) return;
    const out = await going(() => api.importRun({ source: source.value, path: path.value.trim() }));
    if (!out) {
      // Refused (the export changed since the check): show what is wrong now.
      return;
    }
    imported = imported || out.records > 0 || out.files > 0;
    result.dataset.records = String(out.records);
    result.dataset.files = String(out.files);
    replace(result,
      h('p', { id: 'import-done', text: t('import.done', { n: formatNumber(out.records), files: formatNumber(out.files), source: chosen().name }) }),
      out.preview.unmapped.length ? h('p', { text: t('import.done.unmapped') }) : null);
    result.hidden = false;
    preview = null;
    dialog.dataset.state = 'done';
    closeButton.textContent = t('export.close');
    update();
    app.notify(t('import.done', { n: formatNumber(out.records), files: formatNumber(out.files), source: chosen().name }));
  }

  source.addEventListener('change', reset);
  path.addEventListener('input', reset);
  checkButton.addEventListener('click', check);
  choose.addEventListener('click', async () => {
    try {
      const picked = await api.pickFile(t('import.choose.title'));
      if (picked) {
        // Tella's export is a folder: a file picked in it stands for its folder.
        path.value = chosen().folder && !/\.zip$/i.test(picked) ? picked.replace(/\/[^/]*$/, '') : picked;
        reset();
      }
    } catch (e) {
      error.textContent = errorText(e);
      error.hidden = false;
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    start();
  });

  function close() {
    stopListening?.();
    stopListening = null;
    if (current?.dialog === dialog) current = null;
    if (dialog.open && typeof dialog.close === 'function') dialog.close();
    dialog.remove();
    options.onClose?.(imported);
  }
  closeButton.addEventListener('click', () => {
    if (!busy) close();
  });
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    if (!busy) close();
  });

  document.body.append(dialog);
  current = { dialog, close };
  update();
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
  source.focus();
}

/** Closes the import dialog, if open (leaving the screen, locking). */
export function closeImport() {
  current?.close();
}

// Evidence on the case screen: the list of a case's evidence items and the attach form.
//
// Ids: section #section-evidence, button #add-evidence, list #evidence-list with rows
// [data-testid=evidence-row][data-record-id] (each with [data-testid=evidence-open]),
// #evidence-list-empty; the form #evidence-form with #evidence-path, #evidence-choose,
// #evidence-description, #evidence-attached-to (checkboxes), #evidence-derived-from,
// #evidence-submit, #evidence-cancel, #evidence-error, #evidence-progress.

import * as api from './api.js';
import { h, replace, userText } from './dom.js';
import { t, formatDateTime, formatNumber } from './i18n.js';
import { checkboxGroup, selectField, textField, errorText, formError, snapshot } from './fields.js';

/** A byte count for people: "1.2 MB" (decimal units, as file managers show them). */
export function formatBytes(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${formatNumber(i === 0 ? v : Math.round(v * 10) / 10)} ${units[i]}`;
}

/** The first characters of a hash, for lists (the full hash is in the title). */
export function shortHash(hex) {
  return `${String(hex).slice(0, 12)}…`;
}

/**
 * The evidence panel of a case. options: {caseId, links: () => list lines of the
 * case's records}. → {el, isDirty(), reload(), destroy()}
 */
export function evidenceSection(app, { caseId, links }) {
  let items = [];
  let form = null; // the open attach form: {el, isDirty}
  const list = h('ul', { id: 'evidence-list', class: 'record-list' });
  const empty = h('p', { id: 'evidence-list-empty', class: 'empty muted', text: t('evidence.empty') });
  const count = h('span', { class: 'count', id: 'evidence-count' });
  const slot = h('div', { class: 'editor-slot', id: 'evidence-editor' });
  const error = h('p', { id: 'evidence-load-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  const add = h('button', { type: 'button', id: 'add-evidence', class: 'button secondary', text: t('evidence.add'),
    on: { click: () => openForm() } });

  function row(item) {
    const e = item.evidence;
    const original = e.derived_from ? items.find((i) => i.evidence_id === e.derived_from) : null;
    return h('li', { testid: 'evidence-row', class: 'record-row', data: { recordId: item.evidence_id } },
      h('div', { class: 'record-main' },
        h('span', { class: 'record-title', testid: 'evidence-title' }, userText(e.description || e.file_name)),
        e.derived_from ? h('span', { class: 'badge marker', testid: 'working-copy-marker',
          text: t('evidence.working_copy_of', { name: original?.evidence.file_name || '…' }) }) : null,
        h('span', { class: 'muted record-updated' },
          userText(e.file_name), ` · ${e.media_type} · ${formatBytes(e.size)} · `,
          h('code', { class: 'hash', attrs: { title: e.sha256 }, text: `SHA-256 ${shortHash(e.sha256)}` }),
          ` · ${t('evidence.imported', { date: formatDateTime(e.imported_at) })}`)),
      h('div', { class: 'record-actions' },
        h('button', { type: 'button', class: 'button small secondary', testid: 'evidence-open',
          attrs: { 'aria-label': t('evidence.open.named', { name: e.file_name }) }, text: t('evidence.open'),
          on: { click: () => app.navigate('evidence', { id: item.evidence_id, caseId }) } })));
  }

  function draw() {
    replace(list, items.map(row));
    list.hidden = items.length === 0;
    empty.hidden = items.length > 0;
    count.textContent = `(${formatNumber(items.length)})`;
  }

  async function reload() {
    try {
      items = (await api.evidenceList(caseId)) || [];
      error.hidden = true;
    } catch (e) {
      error.textContent = errorText(e);
      error.hidden = false;
    }
    draw();
  }

  function closeForm() {
    form = null;
    slot.replaceChildren();
    add.hidden = false;
  }

  function openForm() {
    form = attachForm(app, {
      caseId,
      links: links().filter((r) => r.kind === 'incident' || r.kind === 'person'),
      originals: items,
      onCancel: closeForm,
      onDone: async () => {
        closeForm();
        await reload();
        add.focus();
      },
    });
    slot.replaceChildren(form.el);
    add.hidden = true;
    form.focus.focus();
  }

  const el = h('section', { id: 'section-evidence', class: 'panel', attrs: { 'aria-labelledby': 'evidence-heading' } },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'evidence-heading' }, t('evidence.heading'), ' ', count),
      add),
    h('p', { class: 'field-hint', text: t('evidence.intro') }),
    error, slot, list, empty);

  return {
    el,
    reload,
    isDirty: () => Boolean(form?.isDirty()),
    destroy() {
      items = [];
      closeForm();
    },
  };
}

/** The form that imports a file. */
function attachForm(app, { caseId, links, originals, onCancel, onDone }) {
  const path = textField({ id: 'evidence-path', key: 'evidence-path', label: t('evidence.file'), required: true,
    hint: t('evidence.file.hint') });
  path.input.dir = 'ltr';
  path.input.spellcheck = false;
  const choose = h('button', { type: 'button', id: 'evidence-choose', class: 'button secondary', text: t('evidence.choose') });
  const description = textField({ id: 'evidence-description', key: 'evidence-description', label: t('evidence.description'),
    multiline: true, rows: 2, hint: t('evidence.description.hint') });
  const attached = checkboxGroup({ id: 'evidence-attached-to', key: 'evidence-attached_to', legend: t('evidence.attached_to'),
    hint: t('evidence.attached_to.hint'),
    options: links.map((r) => ({ value: r.record_id, label: r.title || t('value.untitled') })),
    idPrefix: 'evidence-attached-to', testidPrefix: 'evidence-attached-to' });
  const derived = selectField({ id: 'evidence-derived-from', key: 'evidence-derived_from', label: t('evidence.derived_from'),
    hint: t('evidence.derived_from.hint'),
    options: [{ value: '', label: t('evidence.derived_from.none') },
      ...originals.map((i) => ({ value: i.evidence_id, label: i.evidence.file_name }))] });
  const error = formError('evidence-error');
  const progress = h('p', { id: 'evidence-progress', class: 'busy-note', hidden: true, attrs: { role: 'status' } });
  const submit = h('button', { type: 'submit', id: 'evidence-submit', class: 'button primary', text: t('evidence.attach') });
  const cancel = h('button', { type: 'button', id: 'evidence-cancel', class: 'button secondary', text: t('action.cancel'),
    on: { click: () => onCancel() } });
  const el = h('form', { id: 'evidence-form', class: ['form', 'record-form'], attrs: { autocomplete: 'off', novalidate: true } },
    h('h3', { class: 'form-title', text: t('evidence.add') }),
    h('div', { class: 'path-row' }, path.wrap, choose),
    description.wrap,
    links.length ? attached.wrap : null,
    originals.length ? derived.wrap : null,
    error,
    h('div', { class: 'actions' }, submit, cancel),
    progress);
  let saved = snapshot(el);
  let busy = false;

  choose.addEventListener('click', async () => {
    try {
      const chosen = await api.pickFile(t('evidence.choose.title'));
      if (chosen) {
        path.input.value = chosen;
        path.error.hidden = true;
      }
    } catch (e) {
      error.textContent = errorText(e);
      error.hidden = false;
    }
  });

  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    error.hidden = true;
    path.error.hidden = true;
    const file = path.input.value.trim();
    if (!file) {
      path.error.textContent = t('error.required');
      path.error.hidden = false;
      path.input.focus();
      return;
    }
    busy = true;
    submit.disabled = true;
    el.setAttribute('aria-busy', 'true');
    progress.textContent = t('evidence.progress');
    progress.hidden = false;
    let id;
    try {
      id = await api.attachEvidence(file, caseId, attached.values(), description.input.value, derived.input.value);
    } catch (err) {
      busy = false;
      submit.disabled = false;
      el.removeAttribute('aria-busy');
      progress.hidden = true;
      error.textContent = errorText(err);
      error.hidden = false;
      error.focus();
      return;
    }
    saved = snapshot(el);
    app.notify(t('evidence.added'));
    // The original is still on disk: offer to delete it, honestly.
    const remove = await app.confirm(t('evidence.delete_original.message', { path: file }), {
      title: t('evidence.delete_original.title'),
      confirmLabel: t('evidence.delete_original.yes'),
      cancelLabel: t('evidence.delete_original.no'),
      danger: true,
    });
    if (remove) {
      try {
        await api.deleteOriginal(id);
        app.notify(t('evidence.delete_original.done'));
      } catch (err) {
        app.notify(errorText(err), 'error');
      }
    }
    await onDone(id);
  });

  return { el, focus: path.input, isDirty: () => !busy && el.isConnected && snapshot(el) !== saved };
}

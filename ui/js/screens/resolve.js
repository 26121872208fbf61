// Resolving concurrent edits. Two devices edited one record while apart: both versions
// (the heads) are kept and the record is flagged. The backend proposes a merge field by
// field against their common ancestor: a field changed on one side only is taken
// automatically; a field changed differently on several sides is a choice, shown here
// as one radio group per field (preselected: the proposal's choice). Saving writes a
// version whose parents are every head, and the flag goes.

import * as api from '../api.js';
import { h, userText } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { errorText, formError } from '../fields.js';
import { fieldLabel, formatValue, titleOf } from '../records.js';

/** The field of a deletion against an edit, as the backend names it. */
const DELETED = '(deleted)';

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const isPlainObject = (v) => v && typeof v === 'object' && !Array.isArray(v);

/** A field's value as text; an object (a date with its precision, a place) by its parts. */
function describe(kind, field, value, lookups) {
  if (isPlainObject(value)) {
    const parts = Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => `${fieldLabel(kind, `${field}.${k}`)}: ${formatValue(kind, `${field}.${k}`, v, lookups)}`);
    return parts.length ? parts.join(' · ') : t('value.empty');
  }
  return formatValue(kind, field, value, lookups);
}

export async function render(app, params = {}) {
  const recordId = params.id;
  const caseId = params.caseId || null;
  const leave = () => (caseId ? app.navigate('case', { id: caseId }, { force: true }) : app.navigate('cases', {}, { force: true }));
  const back = h('button', { type: 'button', id: 'resolve-back', class: 'button link',
    text: caseId ? t('history.back.case') : t('case.back'), on: { click: leave } });

  let proposal;
  try {
    proposal = await api.mergeProposal(recordId);
  } catch (e) {
    return {
      el: h('section', { id: 'screen-resolve', class: 'screen' }, back,
        h('h1', { text: t('resolve.title.plain') }),
        h('p', { id: 'resolve-load-error', class: 'form-error', attrs: { role: 'alert' }, text: errorText(e) })),
    };
  }

  const heads = proposal.heads || [];
  const kind = heads.find((v) => v.record)?.kind || heads[0]?.kind || 'case';
  const merged = proposal.merged || null;
  const conflicts = proposal.conflicts || [];
  const conflictFields = new Set(conflicts.map((c) => c.field));

  // Ids and codes → titles and labels.
  const lookups = { records: new Map() };
  const tasks = [];
  if (kind === 'incident') tasks.push(app.vocabulary('act_types').then((v) => { lookups.act_types = new Map(v.map((x) => [x.code, x.label])); }));
  if (kind === 'intervention') tasks.push(app.vocabulary('mechanisms').then((v) => { lookups.mechanisms = new Map(v.map((x) => [x.code, x.label])); }));
  const theCase = kind === 'case' ? recordId : (merged?.case_id || caseId);
  if (theCase) {
    tasks.push(api.listRecords({ caseId: theCase, includeDeleted: true }).then((list) => {
      for (const r of list || []) lookups.records.set(r.record_id, r.title || r.record_id);
    }));
  }
  await Promise.allSettled(tasks);

  // The heads, numbered oldest first, each with when and where it was written.
  const number = new Map(heads.map((v, i) => [v.version_id, i + 1]));
  const headName = (versionId) => {
    const v = heads.find((x) => x.version_id === versionId);
    return t('resolve.head', { n: number.get(versionId) || '?', date: formatDateTime(v?.updated) });
  };
  const headList = h('ol', { id: 'resolve-heads', class: 'resolve-heads' },
    heads.map((v) => h('li', { testid: 'resolve-head', data: { versionId: v.version_id, device: v.device } },
      h('strong', { text: headName(v.version_id) }), ' ',
      h('span', { class: 'muted', text: v.device === proposal.this_device
        ? t('resolve.device.this')
        : t('resolve.device.other', { id: String(v.device).slice(0, 8) }) }),
      v.deleted ? h('span', { class: 'badge marker deleted', text: t('marker.deleted') }) : null)));

  // Fields the heads disagree on that needed no choice: one side changed them.
  const fields = new Set();
  for (const v of heads) for (const k of Object.keys(v.record || {})) if (k !== 'kind') fields.add(k);
  for (const k of Object.keys(merged || {})) if (k !== 'kind') fields.add(k);
  const automatic = [...fields].filter((f) => !conflictFields.has(f)
    && heads.some((v) => v.record && !same(v.record[f], heads.find((x) => x.record)?.record?.[f])));
  const mergedList = automatic.length
    ? h('dl', { id: 'resolve-merged', class: 'details' },
      automatic.map((f) => {
        const from = heads.filter((v) => v.record && same(v.record[f], merged?.[f])).map((v) => number.get(v.version_id));
        return [
          h('dt', { text: fieldLabel(kind, f) }),
          h('dd', { testid: 'merged-field', data: { field: f } },
            userText(describe(kind, f, merged?.[f], lookups), { class: 'merged-value' }),
            ' ',
            h('span', { class: 'muted', text: t('resolve.from', { n: from.join(', ') }) })),
        ];
      }))
    : h('p', { id: 'resolve-merged', class: 'muted', text: t('resolve.merged.none') });

  // One choice per field changed differently on several heads.
  const groups = conflicts.map((c, i) => {
    const name = `resolve-choice-${i}`;
    const deletion = c.field === DELETED;
    const options = (c.values || []).map(([version, value], j) => {
      const id = `resolve-${i}-${j}`;
      const input = h('input', { type: 'radio', id, name, value: version, checked: version === c.chosen,
        testid: 'conflict-choice', data: { versionId: version } });
      const text = deletion
        ? (value ? t('resolve.deleted.yes') : t('resolve.deleted.no'))
        : describe(kind, c.field, value, lookups);
      return h('div', { class: 'check resolve-option' }, input,
        h('label', { for: id },
          userText(text, { class: 'choice-value' }),
          h('span', { class: 'muted choice-source', text: headName(version) })));
    });
    return {
      conflict: c,
      name,
      el: h('fieldset', { class: 'field resolve-choice', testid: 'conflict-field', data: { field: c.field } },
        h('legend', { text: deletion ? t('resolve.deleted.legend') : fieldLabel(kind, c.field) }),
        options),
    };
  });

  const error = formError('resolve-error');
  const save = h('button', { type: 'submit', id: 'resolve-save', class: 'button primary', text: t('resolve.save') });
  const cancel = h('button', { type: 'button', id: 'resolve-cancel', class: 'button secondary', text: t('action.cancel'),
    on: { click: leave } });

  const form = h('form', { id: 'resolve-form', class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    h('section', { class: 'card', attrs: { 'aria-labelledby': 'resolve-conflicts-title' } },
      h('h2', { id: 'resolve-conflicts-title', text: t('resolve.conflicts') }),
      groups.length
        ? h('div', { id: 'resolve-conflicts' }, groups.map((g) => g.el))
        : h('p', { id: 'resolve-conflicts', class: 'muted', data: { count: '0' }, text: t('resolve.conflicts.none') })),
    error,
    h('div', { class: 'actions' }, save, cancel));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    // The choices go to the backend, which writes the merge (or the deletion chosen).
    const takes = groups.map((g) => [
      g.conflict.field,
      form.querySelector(`input[name="${g.name}"]:checked`)?.value || g.conflict.chosen,
    ]);
    save.disabled = true;
    try {
      await api.resolveRecord(recordId, takes);
      app.notify(t('resolve.saved'));
      await leave();
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      error.focus();
    } finally {
      save.disabled = false;
    }
  });

  const title = titleOf(merged) || titleOf(heads.find((v) => v.record)?.record) || t('value.untitled');
  const el = h('section', { id: 'screen-resolve', class: 'screen narrow', data: { recordId },
    attrs: { 'aria-labelledby': 'resolve-title' } },
  back,
  h('h1', { id: 'resolve-title' }, t('resolve.title', { title })),
  h('p', { text: t('resolve.intro') }),
  h('section', { class: 'card', attrs: { 'aria-labelledby': 'resolve-heads-title' } },
    h('h2', { id: 'resolve-heads-title', text: t('resolve.heads') }),
    headList),
  h('section', { class: 'card', attrs: { 'aria-labelledby': 'resolve-merged-title' } },
    h('h2', { id: 'resolve-merged-title', text: t('resolve.merged') }),
    mergedList),
  form);

  return {
    el,
    destroy() {
      proposal = null;
    },
  };
}

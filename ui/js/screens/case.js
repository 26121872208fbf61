// A case: its own fields, then its incidents, persons, interventions and notes, each
// with add, edit, history and delete. One child form is open at a time; leaving a form
// with unsaved changes (another form, another screen) asks first.
//
// Locking with unsaved changes keeps them (draft(), sealed in the vault by the backend);
// after the next unlock, params.draft puts them back: the case's form, and the child
// form that was open.

import * as api from '../api.js';
import { h, replace, userText } from '../dom.js';
import { t, formatDateTime, formatNumber } from '../i18n.js';
import { errorText } from '../fields.js';
import { recordEditor } from '../editors.js';
import { evidenceSection } from '../evidence.js';
import { openExport, closeExport } from '../export.js';
import { closeMarkSent } from '../followup.js';
import { CHILD_KINDS, markers, statusBadge } from '../records.js';

const SECTION = {
  incident: { id: 'incidents', heading: 'case.incidents', add: 'case.add.incident', empty: 'case.empty.incident' },
  person: { id: 'persons', heading: 'case.persons', add: 'case.add.person', empty: 'case.empty.person' },
  intervention: { id: 'interventions', heading: 'case.interventions', add: 'case.add.intervention', empty: 'case.empty.intervention' },
  note: { id: 'notes', heading: 'case.notes', add: 'case.add.note', empty: 'case.empty.note' },
};

export async function render(app, params = {}) {
  const caseId = params.id || null;
  let view = null; // get_record of the case

  const back = h('button', { type: 'button', id: 'back-to-cases', class: 'button link', text: t('case.back'),
    on: { click: () => app.navigate('cases') } });

  if (caseId) {
    try {
      view = await api.getRecord(caseId);
    } catch (e) {
      return {
        el: h('section', { id: 'screen-case', class: 'screen' }, back,
          h('h1', { text: t('case.title') }),
          h('p', { id: 'case-load-error', class: 'form-error', attrs: { role: 'alert' }, text: errorText(e) })),
      };
    }
  }

  let left = false; // the screen was left: nothing more is asked for it
  const record = view?.record || null;
  const deleted = Boolean(view?.deleted || (view && !record));
  const title = h('h1', { id: 'case-heading' }, caseId ? userText(record?.title || t('value.untitled')) : t('case.new'));

  // The case's own form
  let caseEditor = null;
  const caseSlot = h('div', { class: 'case-form-slot' });
  if (!deleted) {
    caseEditor = await recordEditor(app, {
      kind: 'case',
      recordId: caseId,
      record,
      saveLabel: caseId ? t('action.save') : t('case.create'),
      onSaved: async ({ recordId, created }) => {
        app.notify(t('case.saved'));
        if (created) {
          await app.navigate('case', { id: recordId }, { force: true });
        } else {
          const fresh = await api.getRecord(recordId).catch(() => null);
          if (fresh?.record) {
            replace(title, userText(fresh.record.title || t('value.untitled')));
            conflictBanner.hidden = !fresh.conflict;
            if (meta) meta.textContent = t('case.meta', { date: formatDateTime(fresh.updated) });
          }
        }
      },
    });
    caseSlot.append(caseEditor.el);
  }

  const conflictBanner = h('div', { id: 'conflict-banner', class: 'callout warning', hidden: !view?.conflict, attrs: { role: 'note' } },
    h('p', { text: t('case.conflict') }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'conflict-resolve', class: 'button primary small', text: t('resolve.open'),
        on: { click: () => app.navigate('resolve', { id: caseId, caseId }) } })));
  const deletedBanner = h('div', { id: 'deleted-banner', class: 'callout warning', hidden: !deleted, attrs: { role: 'note' } },
    h('p', { text: t('case.deleted') }));

  const headActions = caseId ? h('div', { class: 'head-actions' },
    h('button', { type: 'button', id: 'case-history', class: 'button secondary', text: t('action.history'),
      on: { click: () => app.navigate('history', { id: caseId, caseId }) } }),
    deleted ? null : h('button', { type: 'button', id: 'case-export', class: 'button secondary', text: t('case.export'),
      on: { click: () => openExport(app, { caseId, title: record?.title || '',
        onClose: () => (left ? null : loadChildren()) }) } }),
    deleted ? null : h('button', { type: 'button', id: 'case-delete', class: 'button danger-outline', text: t('case.delete'),
      on: { click: deleteCase } })) : null;

  async function deleteCase() {
    const ok = await app.confirm(t('case.delete.confirm', { title: record?.title || '' }), {
      title: t('case.delete'), confirmLabel: t('action.delete'), danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteRecord(caseId);
      app.notify(t('case.deleted.done'));
      await app.navigate('cases', {}, { force: true });
    } catch (e) {
      app.notify(errorText(e), 'error');
    }
  }

  // The case's records
  let children = [];
  let open = null; // {kind, recordId, editor}
  const sections = {};

  function buildSection(kind) {
    const s = SECTION[kind];
    const list = h('ul', { id: `${kind}-list`, class: 'record-list' });
    const empty = h('p', { id: `${kind}-list-empty`, class: 'empty muted', text: t(s.empty) });
    const count = h('span', { class: 'count', id: `${kind}-count` });
    const slot = h('div', { class: 'editor-slot', id: `${kind}-editor` });
    const add = h('button', { type: 'button', id: `add-${kind}`, class: 'button secondary', text: t(s.add),
      on: { click: () => openEditor(kind, null) } });
    const el = h('section', { id: `section-${s.id}`, class: 'panel', attrs: { 'aria-labelledby': `${kind}-heading` } },
      h('div', { class: 'panel-head' },
        h('h2', { id: `${kind}-heading` }, t(s.heading), ' ', count),
        add),
      slot, list, empty);
    sections[kind] = { el, list, empty, count, slot, add };
    return el;
  }

  function childRow(item) {
    const kind = item.kind;
    const rowTitle = item.title || t('value.untitled');
    const isOpen = open?.recordId === item.record_id;
    return h('li', { testid: `${kind}-row`, class: ['record-row', isOpen ? 'is-open' : null], data: { recordId: item.record_id } },
      h('div', { class: 'record-main' },
        h('span', { class: 'record-title', testid: `${kind}-title` }, userText(rowTitle)),
        markers(item),
        kind === 'intervention' ? statusBadge(kind, item.status) : null,
        h('span', { class: 'muted record-updated' },
          h('time', { dateTime: item.updated || '', text: t('case.updated', { date: formatDateTime(item.updated) }) }))),
      h('div', { class: 'record-actions' },
        item.conflict ? h('button', { type: 'button', class: 'button small primary', testid: `${kind}-resolve`,
          attrs: { 'aria-label': t('resolve.open.named', { title: rowTitle }) }, text: t('resolve.open'),
          on: { click: () => app.navigate('resolve', { id: item.record_id, caseId }) } }) : null,
        h('button', { type: 'button', class: 'button small secondary', testid: `${kind}-edit`,
          attrs: { 'aria-label': t('action.edit.named', { title: rowTitle }) }, text: t('action.edit'),
          on: { click: () => openEditor(kind, item.record_id) } }),
        h('button', { type: 'button', class: 'button small link', testid: `${kind}-history`,
          attrs: { 'aria-label': t('action.history.named', { title: rowTitle }) }, text: t('action.history'),
          on: { click: () => app.navigate('history', { id: item.record_id, caseId }) } }),
        h('button', { type: 'button', class: 'button small danger-link', testid: `${kind}-delete`,
          attrs: { 'aria-label': t('action.delete.named', { title: rowTitle }) }, text: t('action.delete'),
          on: { click: () => deleteChild(item) } })));
  }

  function drawChildren() {
    for (const kind of CHILD_KINDS) {
      const s = sections[kind];
      if (!s) continue;
      const items = children.filter((c) => c.kind === kind)
        .sort((a, b) => String(b.updated).localeCompare(String(a.updated)));
      replace(s.list, items.map(childRow));
      s.list.hidden = items.length === 0;
      s.empty.hidden = items.length > 0;
      s.count.textContent = `(${formatNumber(items.length)})`;
    }
  }

  const childError = h('p', { id: 'children-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });

  async function loadChildren() {
    try {
      const list = await api.listRecords({ caseId });
      children = (list || []).filter((r) => r.kind !== 'case' && r.record_id !== caseId);
      childError.hidden = true;
    } catch (e) {
      childError.textContent = errorText(e);
      childError.hidden = false;
    }
    drawChildren();
  }

  async function closeEditor() {
    if (!open) return;
    open.editor.destroy?.();
    const s = sections[open.kind];
    s.slot.replaceChildren();
    s.add.hidden = false;
    open = null;
    drawChildren();
  }

  async function openEditor(kind, recordId) {
    if (open?.editor.isDirty()) {
      const leave = await app.confirm(t('confirm.leave'), {
        title: t('confirm.leave.title'), confirmLabel: t('action.discard'), cancelLabel: t('action.keep_editing'), danger: true,
      });
      if (!leave) return;
    }
    await closeEditor();
    let stored = null;
    if (recordId) {
      try {
        const got = await api.getRecord(recordId);
        stored = got.record;
        if (!stored) throw { kind: 'not_found', message: '' };
      } catch (e) {
        app.notify(errorText(e), 'error');
        return;
      }
    }
    const s = sections[kind];
    const editor = await recordEditor(app, {
      kind,
      caseId,
      recordId,
      record: stored,
      links: children,
      heading: recordId ? t(`case.edit.${kind}`) : t(`case.new.${kind}`),
      onCancel: () => closeEditor(),
      onSaved: async () => {
        app.notify(t(`case.saved.${kind}`));
        await closeEditor();
        await loadChildren();
        s.add.focus();
      },
    });
    open = { kind, recordId, editor };
    s.slot.replaceChildren(editor.el);
    s.add.hidden = true;
    drawChildren();
    editor.el.scrollIntoView?.({ block: 'nearest' });
    editor.focus?.focus();
  }

  async function deleteChild(item) {
    const ok = await app.confirm(t(`case.delete.${item.kind}.confirm`, { title: item.title || t('value.untitled') }), {
      title: t('action.delete'), confirmLabel: t('action.delete'), danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteRecord(item.record_id);
      if (open?.recordId === item.record_id) await closeEditor();
      app.notify(t('case.deleted.child'));
      await loadChildren();
    } catch (e) {
      app.notify(errorText(e), 'error');
    }
  }

  const evidence = caseId && !deleted ? evidenceSection(app, { caseId, links: () => children }) : null;
  const childSections = caseId && !deleted
    ? h('div', { class: 'case-records' }, childError, CHILD_KINDS.map(buildSection), evidence.el)
    : null;
  if (childSections) await Promise.all([loadChildren(), evidence.reload()]);

  const meta = view ? h('p', { class: 'muted case-meta', id: 'case-meta' },
    t('case.meta', { date: formatDateTime(view.updated) })) : null;

  // Unsaved changes kept at the last lock: put back where they were.
  const restoring = params.draft?.editors || [];
  for (const kept of restoring) {
    if (kept.kind === 'case') caseEditor?.restore(kept.values);
  }
  const child = restoring.find((kept) => kept.kind !== 'case' && SECTION[kept.kind]);
  if (child && childSections) {
    await openEditor(child.kind, child.recordId || null);
    if (open?.kind === child.kind) open.editor.restore(child.values);
  }
  // Once shown, the restored child form comes into view.
  const reveal = child && open ? () => requestAnimationFrame(() => open?.editor.el.scrollIntoView?.({ block: 'center' })) : null;

  /** The unsaved changes of this screen, to keep across a lock; null when none. */
  function draft() {
    const editors = [];
    if (caseEditor?.isDirty()) editors.push({ kind: 'case', recordId: caseId, values: caseEditor.values() });
    if (open?.editor.isDirty()) editors.push({ kind: open.kind, recordId: open.recordId, values: open.editor.values() });
    if (!editors.length) return null;
    const typed = caseEditor?.values()['case-title'];
    return { screen: 'case', caseId, title: record?.title || typed || '', editors };
  }

  const el = h('section', { id: 'screen-case', class: 'screen', data: { recordId: caseId || '' },
    attrs: { 'aria-labelledby': 'case-heading' } },
  back,
  h('div', { class: 'screen-head' }, title, headActions),
  meta,
  conflictBanner, deletedBanner,
  h('section', { class: 'panel', id: 'section-case', attrs: { 'aria-label': t('case.details') } }, caseSlot),
  childSections);

  reveal?.();
  return {
    el,
    focus: caseId ? null : caseEditor?.focus,
    isDirty: () => Boolean(caseEditor?.isDirty() || open?.editor.isDirty() || evidence?.isDirty()),
    draft,
    destroy() {
      left = true;
      closeExport();
      closeMarkSent();
      children = [];
      evidence?.destroy();
      open?.editor.destroy?.();
      caseEditor?.destroy();
      open = null;
    },
  };
}

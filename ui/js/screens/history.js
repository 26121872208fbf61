// The history of a record: every version (a record is never overwritten), and for two
// chosen versions, which fields changed. The comparison is made here, from the two
// decrypted contents; a damaged version is listed with its error and cannot be chosen.

import * as api from '../api.js';
import { h, replace, userText } from '../dom.js';
import { t, formatDateTime, formatNumber } from '../i18n.js';
import { errorText } from '../fields.js';
import { diffRecords, fieldLabel, formatValue, titleOf } from '../records.js';

export async function render(app, params = {}) {
  const recordId = params.id;
  const caseId = params.caseId || null;

  const back = h('button', { type: 'button', id: 'history-back', class: 'button link',
    text: caseId ? t('history.back.case') : t('case.back'),
    on: { click: () => (caseId ? app.navigate('case', { id: caseId }) : app.navigate('cases')) } });

  let versions;
  try {
    versions = await api.recordHistory(recordId);
  } catch (e) {
    return {
      el: h('section', { id: 'screen-history', class: 'screen' }, back,
        h('h1', { text: t('history.title.plain') }),
        h('p', { id: 'history-error', class: 'form-error', attrs: { role: 'alert' }, text: errorText(e) })),
    };
  }
  versions = versions || [];

  const good = versions.filter((v) => v && !v.error);
  const kind = good[0]?.kind || good[0]?.record?.kind || 'case';
  const latest = [...good].reverse().find((v) => v.record) || null;

  // Codes and ids → labels and titles, for readable values.
  const lookups = { records: new Map() };
  const lookupsReady = (async () => {
    const tasks = [];
    if (kind === 'incident') tasks.push(app.vocabulary('act_types').then((v) => { lookups.act_types = new Map(v.map((x) => [x.code, x.label])); }));
    if (kind === 'intervention') tasks.push(app.vocabulary('mechanisms').then((v) => { lookups.mechanisms = new Map(v.map((x) => [x.code, x.label])); }));
    const theCase = kind === 'case' ? recordId : latest?.record?.case_id;
    if (theCase) {
      tasks.push(api.listRecords({ caseId: theCase, includeDeleted: true }).then((list) => {
        for (const r of list || []) lookups.records.set(r.record_id, r.title || r.record_id);
      }));
      tasks.push(api.listRecords({ kind: 'case', includeDeleted: true }).then((list) => {
        for (const r of list || []) if (r.record_id === theCase) lookups.records.set(r.record_id, r.title);
      }));
    }
    await Promise.allSettled(tasks);
  })();
  await lookupsReady;

  const name = titleOf(latest?.record) || t('value.untitled');
  const heading = h('h1', { id: 'history-title', text: t('history.title', { title: name }) });

  let from = null;
  let to = null;
  const selectable = versions.map((v, i) => (v && !v.error ? i : -1)).filter((i) => i >= 0);
  if (selectable.length >= 2) {
    from = selectable[selectable.length - 2];
    to = selectable[selectable.length - 1];
  } else if (selectable.length === 1) {
    from = selectable[0];
    to = selectable[0];
  }

  const body = h('tbody');
  const table = h('table', { id: 'history-list', class: 'list-table history-table' },
    h('caption', { class: 'visually-hidden', text: t('history.versions') }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: t('history.col.from') }),
      h('th', { scope: 'col', text: t('history.col.to') }),
      h('th', { scope: 'col', text: t('history.col.version') }),
      h('th', { scope: 'col', text: t('history.col.date') }),
      h('th', { scope: 'col', text: t('history.col.title') }),
      h('th', { scope: 'col', text: t('history.col.actions') }))),
    body);

  const diff = h('section', { id: 'history-diff', class: 'panel', attrs: { 'aria-live': 'polite', 'aria-labelledby': 'diff-title' } });

  const last = good[good.length - 1];

  function row(v, i) {
    const number = formatNumber(i + 1);
    if (!v || v.error) {
      return h('tr', { testid: 'history-row', class: 'row is-damaged', data: { index: String(i), damaged: 'true' } },
        h('td', {}), h('td', {}),
        h('th', { scope: 'row', text: number }),
        h('td', { colSpan: 3 },
          h('span', { class: 'badge marker damaged', testid: 'damaged-marker', text: t('history.damaged') }), ' ',
          h('span', { class: 'muted', text: errorText(v?.error || { kind: 'damaged' }) })));
    }
    const radio = (group, checked) => {
      const input = h('input', { type: 'radio', name: `history-${group}`, value: String(i), checked,
        id: `history-${group}-${i}`, testid: `history-${group}`,
        attrs: { 'aria-label': t(`history.${group}.label`, { n: number }) } });
      input.addEventListener('change', () => {
        if (group === 'from') from = i;
        else to = i;
        drawDiff();
      });
      return input;
    };
    const label = v.record ? titleOf(v.record) || t('value.untitled') : '';
    // Any earlier content can be brought back as a new version (nothing is overwritten).
    const canRestore = Boolean(v.record) && v !== last;
    return h('tr', { testid: 'history-row', class: ['row', v.record ? null : 'is-deleted'],
      data: { index: String(i), versionId: v.version_id || '' } },
    h('td', {}, radio('from', i === from)),
    h('td', {}, radio('to', i === to)),
    h('th', { scope: 'row', text: number }),
    h('td', {}, h('time', { dateTime: v.updated || '', text: formatDateTime(v.updated) }),
      v.by_this_device || v.by
        ? h('span', { class: 'muted history-by', testid: 'history-by', dir: 'auto',
          text: ' · ' + (v.by_this_device ? t('history.by_this_device') : t('history.by', { device: v.by })) })
        : null),
    h('td', {},
      v.record ? userText(label) : h('span', { class: 'badge marker deleted', testid: 'deleted-marker', text: t('history.tombstone') }),
      (v.parents || []).length > 1 ? [' ', h('span', { class: 'badge marker merge', text: t('history.merge') })] : null,
      (v.heads || []).includes(v.version_id)
        ? [' ', h('span', { class: ['badge', 'marker', v.conflict ? 'conflict' : 'current'], testid: 'head-marker', text: t('history.current') })]
        : null),
    h('td', {}, canRestore ? h('button', { type: 'button', class: 'button small secondary', testid: 'history-restore',
      text: t('history.restore'), on: { click: () => restore(v, number) } }) : null));
  }

  function drawDiff() {
    const a = versions[from];
    const b = versions[to];
    const title = h('h2', { id: 'diff-title', text: t('history.diff.title', { a: formatNumber(from + 1), b: formatNumber(to + 1) }) });
    if (!a || !b) {
      replace(diff, h('h2', { id: 'diff-title', text: t('history.diff.plain') }), h('p', { class: 'muted', text: t('history.single') }));
      return;
    }
    if (from === to) {
      replace(diff, title, h('p', { id: 'history-no-change', class: 'muted', text: t(good.length < 2 ? 'history.single' : 'history.same') }));
      return;
    }
    if (!a.record || !b.record) {
      replace(diff, title, h('p', { id: 'history-tombstone', class: 'muted',
        text: !b.record ? t('history.diff.deleted') : t('history.diff.restored') }));
      return;
    }
    const changes = diffRecords(kind, a.record, b.record);
    if (!changes.length) {
      replace(diff, title, h('p', { id: 'history-no-change', class: 'muted', text: t('history.no_change') }));
      return;
    }
    replace(diff, title,
      h('table', { id: 'diff-table', class: 'list-table diff-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col', text: t('history.diff.field') }),
          h('th', { scope: 'col', text: t('history.diff.before', { n: formatNumber(from + 1) }) }),
          h('th', { scope: 'col', text: t('history.diff.after', { n: formatNumber(to + 1) }) }))),
        h('tbody', {}, changes.map((c) => h('tr', { testid: 'diff-row', data: { field: c.path } },
          h('th', { scope: 'row', text: fieldLabel(kind, c.path) }),
          h('td', { class: 'diff-before' }, userText(formatValue(kind, c.path, c.before, lookups), { class: 'value' })),
          h('td', { class: 'diff-after' }, userText(formatValue(kind, c.path, c.after, lookups), { class: 'value' })))))));
  }

  async function restore(v, number) {
    const ok = await app.confirm(t('history.restore.confirm', { n: number }), { title: t('history.restore'), confirmLabel: t('history.restore') });
    if (!ok) return;
    const content = { ...v.record };
    try {
      await api.saveRecord(recordId, content);
      app.notify(t('history.restored', { n: number }));
      await app.navigate('history', { id: recordId, caseId }, { force: true });
    } catch (e) {
      app.notify(errorText(e), 'error');
    }
  }

  replace(body, versions.map(row));
  drawDiff();

  const el = h('section', { id: 'screen-history', class: 'screen', data: { recordId },
    attrs: { 'aria-labelledby': 'history-title' } },
  back,
  heading,
  h('p', { class: 'lead', text: t('history.intro') }),
  h('p', { id: 'history-count', class: 'muted', text: t('history.count', { n: formatNumber(versions.length) }) }),
  last?.conflict ? h('p', { id: 'history-conflict', class: 'callout warning', attrs: { role: 'note' }, text: t('history.conflict') }) : null,
  table,
  diff);

  return {
    el,
    destroy() {
      versions = [];
      lookups.records.clear();
    },
  };
}

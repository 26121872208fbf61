// The case list: search (titles and tags, as you type), status filter, sort, and the
// way into a case. The list comes from the backend's index (no record is decrypted to
// draw it); searching, filtering and sorting happen here, in memory.

import * as api from '../api.js';
import { h, replace, userText } from '../dom.js';
import { t, formatDateTime, formatNumber, compare, fold } from '../i18n.js';
import { errorText, uniqueId } from '../fields.js';
import { CHOICES, choiceLabel, statusBadge, markers } from '../records.js';

// What the list shows is kept between visits while the vault is unlocked (filters
// only; never record data), and reset by a lock (the module state is replaced below).
const view = { search: '', status: '', sort: 'updated', includeDeleted: false };

export async function render(app) {
  let cases = [];

  const search = h('input', { id: 'search', type: 'search', name: 'search', value: view.search, dir: 'auto',
    attrs: { autocomplete: 'off', placeholder: t('cases.search.placeholder') } });
  const status = h('select', { id: 'filter-status', name: 'status' },
    h('option', { value: '', text: t('cases.filter.all') }),
    CHOICES.case_status.map((s) => h('option', { value: s, text: choiceLabel('case_status', s) })));
  status.value = view.status;
  const sort = h('select', { id: 'sort', name: 'sort' },
    h('option', { value: 'updated', text: t('cases.sort.updated') }),
    h('option', { value: 'title', text: t('cases.sort.title') }));
  sort.value = view.sort;
  const showDeleted = h('input', { id: 'show-deleted', type: 'checkbox', checked: view.includeDeleted });
  const newCase = h('button', { type: 'button', id: 'new-case', class: 'button primary', text: t('cases.new'),
    on: { click: () => app.navigate('case', { id: null }) } });

  const count = h('p', { id: 'case-count', class: 'muted', attrs: { 'aria-live': 'polite' } });
  const body = h('tbody');
  const table = h('table', { id: 'case-list', class: 'list-table' },
    h('caption', { class: 'visually-hidden', text: t('cases.title') }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: t('cases.col.title') }),
      h('th', { scope: 'col', text: t('cases.col.status') }),
      h('th', { scope: 'col', text: t('cases.col.tags') }),
      h('th', { scope: 'col', text: t('cases.col.updated') }))),
    body);
  const empty = h('div', { id: 'case-list-empty', class: 'empty', hidden: true });
  const error = h('p', { id: 'cases-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });

  function matches(c, words) {
    if (!words.length) return true;
    const hay = fold([c.title, ...(c.tags || [])].join(' '));
    return words.every((w) => hay.includes(w));
  }

  function draw() {
    const words = fold(view.search).split(/\s+/).filter(Boolean);
    const shown = cases
      .filter((c) => !view.status || c.status === view.status)
      .filter((c) => matches(c, words))
      .sort(view.sort === 'title'
        ? (a, b) => compare(a.title, b.title)
        : (a, b) => String(b.updated).localeCompare(String(a.updated)));
    replace(body, shown.map(row));
    table.hidden = shown.length === 0;
    count.textContent = t('cases.count', { shown: formatNumber(shown.length), total: formatNumber(cases.length) });
    empty.hidden = shown.length > 0;
    if (!shown.length) {
      replace(empty, cases.length
        ? h('p', { text: t('cases.empty.filtered') })
        : [h('p', { text: t('cases.empty') }), h('p', { class: 'muted', text: t('cases.empty.hint') })]);
    }
  }

  function row(c) {
    const open = () => app.navigate('case', { id: c.record_id });
    const titleId = uniqueId('case-title');
    const tr = h('tr', { testid: 'case-row', class: ['row', c.deleted ? 'is-deleted' : null],
      data: { recordId: c.record_id, status: c.status || '' },
      on: { click: (e) => { if (!e.target.closest('button')) open(); } } },
    h('td', { class: 'cell-title' },
      h('button', { type: 'button', class: 'row-open', id: titleId, testid: 'case-open', on: { click: open } },
        userText(c.title || t('value.untitled'))),
      markers(c)),
    h('td', {}, statusBadge('case', c.status)),
    h('td', { class: 'cell-tags' }, (c.tags || []).map((tag) => h('span', { class: 'tag', testid: 'case-tag' }, userText(tag)))),
    h('td', { class: 'cell-date' }, h('time', { dateTime: c.updated || '', text: formatDateTime(c.updated) })));
    return tr;
  }

  async function load() {
    error.hidden = true;
    try {
      const list = await api.listRecords({ kind: 'case', includeDeleted: view.includeDeleted });
      cases = (list || []).filter((r) => r.kind === 'case');
    } catch (e) {
      cases = [];
      error.textContent = errorText(e);
      error.hidden = false;
    }
    draw();
  }

  search.addEventListener('input', () => {
    view.search = search.value;
    draw();
  });
  status.addEventListener('change', () => {
    view.status = status.value;
    draw();
  });
  sort.addEventListener('change', () => {
    view.sort = sort.value;
    draw();
  });
  showDeleted.addEventListener('change', () => {
    view.includeDeleted = showDeleted.checked;
    load();
  });

  const el = h('section', { id: 'screen-cases', class: 'screen', attrs: { 'aria-labelledby': 'cases-title' } },
    h('div', { class: 'screen-head' },
      h('h1', { id: 'cases-title', text: t('cases.title') }),
      newCase),
    h('form', { id: 'case-filters', class: 'toolbar', attrs: { role: 'search', autocomplete: 'off' },
      on: { submit: (e) => e.preventDefault() } },
    h('div', { class: 'field grow' }, h('label', { for: 'search', text: t('cases.search') }), search),
    h('div', { class: 'field' }, h('label', { for: 'filter-status', text: t('cases.filter.status') }), status),
    h('div', { class: 'field' }, h('label', { for: 'sort', text: t('cases.sort') }), sort),
    h('div', { class: 'check toolbar-check' }, showDeleted, h('label', { for: 'show-deleted', text: t('cases.show_deleted') }))),
    error, count, table, empty);

  await load();

  return {
    el,
    destroy() {
      cases = [];
    },
  };
}

/** Forgets the list's search and filters (called on lock). */
export function reset() {
  Object.assign(view, { search: '', status: '', sort: 'updated', includeDeleted: false });
}

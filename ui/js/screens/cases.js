// The case list: search as you type (a case's title and tags, and the titles and names
// of its records), filters (status, tag, act type, incident dates), sort, and the way
// into a case. The list comes from the backend's index (no record is decrypted to draw
// it); searching, filtering and sorting happen here, in memory. Right after the vault is
// created (params.offerDuress), the optional duress passphrase comes first.

import * as api from '../api.js';
import { h, replace, userText } from '../dom.js';
import { t, formatDateTime, formatNumber, compare, fold } from '../i18n.js';
import { errorText, uniqueId, normalizeDate, isDate } from '../fields.js';
import { CHOICES, choiceLabel, statusBadge, markers } from '../records.js';
import { duressSection } from '../duress.js';

// What the list shows is kept between visits while the vault is unlocked (filters
// only; never record data), and reset by a lock (the module state is replaced below).
const EMPTY_VIEW = { search: '', status: '', tag: '', act: '', from: '', to: '', sort: 'updated', includeDeleted: false };
const view = { ...EMPTY_VIEW };

/** What the list knows of a case from its records: {text, acts: Set, dates: [YYYY-MM-DD]}. */
function digest(records) {
  const byCase = new Map();
  for (const r of records) {
    if (r.kind === 'case' || !r.case_id) continue;
    if (!byCase.has(r.case_id)) byCase.set(r.case_id, { text: [], acts: new Set(), dates: [] });
    const d = byCase.get(r.case_id);
    if (r.title) d.text.push(r.title);
    if (r.kind === 'incident') {
      for (const a of r.act_types || []) d.acts.add(a);
      if (r.date) d.dates.push(r.date);
    }
  }
  return byCase;
}

/** Rows drawn at first, and added by each "show more": the filters find the rest. */
const PAGE = 100;

export async function render(app, params = {}) {
  let cases = [];
  let limit = PAGE;
  let related = new Map(); // case id → digest
  const acts = await app.vocabulary('act_types').catch(() => []);
  const actLabel = new Map(acts.map((a) => [a.code, a.label]));

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
  const tag = h('select', { id: 'filter-tag', name: 'tag' });
  const act = h('select', { id: 'filter-act', name: 'act' });
  const from = h('input', { id: 'filter-from', type: 'date', name: 'from', value: view.from,
    attrs: { placeholder: t('field.date.placeholder') } });
  const to = h('input', { id: 'filter-to', type: 'date', name: 'to', value: view.to,
    attrs: { placeholder: t('field.date.placeholder') } });
  const clear = h('button', { type: 'button', id: 'clear-filters', class: 'button link', text: t('cases.filter.clear') });

  /** Fills a filter's menu with the values present, keeping the chosen one. */
  function fillMenu(select, values, label, current) {
    const all = [...new Set([...values, ...(current ? [current] : [])])]
      .sort((a, b) => compare(label(a), label(b)));
    replace(select, h('option', { value: '', text: t('cases.filter.any') }),
      all.map((v) => h('option', { value: v, text: label(v) })));
    select.value = current;
  }
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
  const more = h('button', { type: 'button', id: 'show-more', class: 'button secondary show-more', hidden: true,
    on: { click: () => {
      limit += PAGE;
      draw();
    } } });
  const error = h('p', { id: 'cases-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });

  function matches(c, words) {
    if (!words.length) return true;
    const hay = fold([c.title, ...(c.tags || []), ...(related.get(c.record_id)?.text || [])].join(' '));
    return words.every((w) => hay.includes(w));
  }

  /** A typed filter date, or '' when it is empty or not a date (shown as invalid). */
  function dateOf(input) {
    const d = normalizeDate(input.value);
    const ok = !d || isDate(d);
    input.toggleAttribute('aria-invalid', !ok);
    return ok ? d : '';
  }

  function inRange(c) {
    if (!view.from && !view.to) return true;
    return (related.get(c.record_id)?.dates || [])
      .some((d) => (!view.from || d >= view.from) && (!view.to || d <= view.to));
  }

  function draw() {
    const words = fold(view.search).split(/\s+/).filter(Boolean);
    const shown = cases
      .filter((c) => !view.status || c.status === view.status)
      .filter((c) => !view.tag || (c.tags || []).includes(view.tag))
      .filter((c) => !view.act || related.get(c.record_id)?.acts.has(view.act))
      .filter(inRange)
      .filter((c) => matches(c, words))
      .sort(view.sort === 'title'
        ? (a, b) => compare(a.title, b.title)
        : (a, b) => String(b.updated).localeCompare(String(a.updated)));
    replace(body, shown.slice(0, limit).map(row));
    table.hidden = shown.length === 0;
    count.textContent = t('cases.count', { shown: formatNumber(shown.length), total: formatNumber(cases.length) });
    count.dataset.shown = String(shown.length);
    count.dataset.total = String(cases.length);
    more.hidden = shown.length <= limit;
    more.textContent = t('cases.more', { n: formatNumber(Math.min(PAGE, shown.length - limit)),
      rest: formatNumber(Math.max(0, shown.length - limit)) });
    empty.hidden = shown.length > 0;
    clear.hidden = !(view.search || view.status || view.tag || view.act || view.from || view.to);
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
      // Every record: the case lines, and what their records add to search and filters.
      const list = await api.listRecords({ includeDeleted: view.includeDeleted });
      cases = (list || []).filter((r) => r.kind === 'case');
      related = digest((list || []).filter((r) => !r.deleted));
    } catch (e) {
      cases = [];
      related = new Map();
      error.textContent = errorText(e);
      error.hidden = false;
    }
    fillMenu(tag, cases.flatMap((c) => c.tags || []), (v) => v, view.tag);
    fillMenu(act, [...related.values()].flatMap((d) => [...d.acts]), (v) => actLabel.get(v) || v, view.act);
    draw();
  }

  /** A new search, filter or sort starts again from the first page. */
  const redraw = () => {
    limit = PAGE;
    draw();
  };

  search.addEventListener('input', () => {
    view.search = search.value;
    redraw();
  });
  status.addEventListener('change', () => {
    view.status = status.value;
    redraw();
  });
  sort.addEventListener('change', () => {
    view.sort = sort.value;
    redraw();
  });
  tag.addEventListener('change', () => {
    view.tag = tag.value;
    redraw();
  });
  act.addEventListener('change', () => {
    view.act = act.value;
    redraw();
  });
  for (const input of [from, to]) {
    input.addEventListener('input', () => {
      view.from = dateOf(from);
      view.to = dateOf(to);
      redraw();
    });
  }
  clear.addEventListener('click', () => {
    Object.assign(view, { search: '', status: '', tag: '', act: '', from: '', to: '' });
    search.value = '';
    status.value = '';
    tag.value = '';
    act.value = '';
    from.value = '';
    to.value = '';
    from.removeAttribute('aria-invalid');
    to.removeAttribute('aria-invalid');
    redraw();
    search.focus();
  });
  showDeleted.addEventListener('change', () => {
    view.includeDeleted = showDeleted.checked;
    load();
  });

  // Right after the vault was created: the optional duress passphrase, first.
  const duress = params.offerDuress ? duressSection(app, {
    firstRun: true,
    onDone: () => {
      duress.el.remove();
      newCase.focus();
    },
  }) : null;

  const el = h('section', { id: 'screen-cases', class: 'screen', attrs: { 'aria-labelledby': 'cases-title' } },
    duress?.el,
    h('div', { class: 'screen-head' },
      h('h1', { id: 'cases-title', text: t('cases.title') }),
      newCase),
    h('form', { id: 'case-filters', class: 'toolbar', attrs: { role: 'search', autocomplete: 'off' },
      on: { submit: (e) => e.preventDefault() } },
    h('div', { class: 'field grow' }, h('label', { for: 'search', text: t('cases.search') }), search),
    h('div', { class: 'field' }, h('label', { for: 'filter-status', text: t('cases.filter.status') }), status),
    h('div', { class: 'field' }, h('label', { for: 'filter-tag', text: t('cases.filter.tag') }), tag),
    h('div', { class: 'field' }, h('label', { for: 'filter-act', text: t('cases.filter.act') }), act),
    h('div', { class: 'field date' }, h('label', { for: 'filter-from', text: t('cases.filter.from') }), from),
    h('div', { class: 'field date' }, h('label', { for: 'filter-to', text: t('cases.filter.to') }), to),
    h('div', { class: 'field' }, h('label', { for: 'sort', text: t('cases.sort') }), sort),
    h('div', { class: 'toolbar-end' },
      h('div', { class: 'check toolbar-check' }, showDeleted, h('label', { for: 'show-deleted', text: t('cases.show_deleted') })),
      clear)),
    h('p', { class: 'field-hint', id: 'filter-hint', text: t('cases.filter.hint') }),
    error, count, table, more, empty);

  await load();
  let synced = app.sync.status?.last_success || null;

  return {
    el,
    /** A sync that brought news (a new success) redraws the list. */
    syncChanged(status) {
      const now = status?.last_success || null;
      if (now !== synced && !status?.running) {
        synced = now;
        load();
      }
    },
    destroy() {
      cases = [];
      related = new Map();
      duress?.destroy();
    },
  };
}

/** Forgets the list's search and filters (called on lock). */
export function reset() {
  Object.assign(view, EMPTY_VIEW);
}

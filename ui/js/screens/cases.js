// The case list: search as you type, filters (status, tag, act type, incident dates,
// place, a person's role, follow-up), sort, export, the patterns of the cases selected
// (#open-patterns), and the way into a case. The list comes from
// the backend's index (no record is decrypted to draw it).
//
// Typed words (and the place and role filters) go to the backend's full-text search
// (`search`, debounced; an answer to an older query is dropped): every record of every
// case, diacritics and case ignored, the last word as a prefix. Each case found shows
// which of its records matched. Without words, the status, tag, act and date filters
// work here, in memory. While the search index is still being built after an unlock,
// the titles known here are searched too, so nothing that matched before goes missing.
// Right after the vault is created (params.offerDuress), the optional duress passphrase
// comes first. After an unlock, the follow-ups that are due come at the top (the
// backend's `follow_ups`), until dismissed for the session.

import * as api from '../api.js';
import { h, replace, userText } from '../dom.js';
import { t, formatDateTime, formatNumber, compare, fold } from '../i18n.js';
import { errorText, uniqueId, normalizeDate, isDate, today } from '../fields.js';
import { CHOICES, choiceLabel, statusBadge, markers } from '../records.js';
import { duressSection } from '../duress.js';
import { openExport, closeExport } from '../export.js';
import { openImport, closeImport } from '../import.js';
import { duePanel } from '../followup.js';

// What the list shows is kept between visits while the vault is unlocked (filters
// only; never record data), and reset by a lock (the module state is replaced below).
const EMPTY_VIEW = { search: '', status: '', tag: '', act: '', from: '', to: '', location: '', role: '',
  awaiting: '', due: '', sort: 'relevance', includeDeleted: false };
const FILTER_KEYS = ['search', 'status', 'tag', 'act', 'from', 'to', 'location', 'role', 'awaiting', 'due'];
const view = { ...EMPTY_VIEW };
// The "follow-up due" panel was dismissed: not shown again until the next unlock.
let dueDismissed = false;

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
/** How long typing must pause before the search is asked (ms). */
const DEBOUNCE = 150;
/** The most hits one search brings back. */
const HIT_LIMIT = 500;
/** The matching records listed under a case found by a search. */
const MATCHES_SHOWN = 5;

/** The backend's hits grouped by case: case id → {score, hits: [{record_id, kind, title}]}. */
function groupHits(hits) {
  const byCase = new Map();
  for (const hit of hits || []) {
    const caseId = hit.kind === 'case' ? hit.record_id : hit.case_id;
    if (!caseId) continue;
    if (!byCase.has(caseId)) byCase.set(caseId, { score: 0, hits: [] });
    const g = byCase.get(caseId);
    g.score = Math.max(g.score, Number(hit.score) || 0);
    if (hit.kind !== 'case') g.hits.push(hit);
  }
  return byCase;
}

export async function render(app, params = {}) {
  let cases = [];
  let limit = PAGE;
  let related = new Map(); // case id → digest
  let found = null; // the last search's answer: {byCase, ready, total, hits} (null: no search)
  let asked = 0; // searches asked; an answer to an older one is dropped
  let timer = null;
  let shownIds = []; // the cases the filters show (all pages), for "export the cases shown"
  let unlisten = null;
  const acts = await app.vocabulary('act_types').catch(() => []);
  const actLabel = new Map(acts.map((a) => [a.code, a.label]));

  const search = h('input', { id: 'search', type: 'search', name: 'search', value: view.search, dir: 'auto',
    attrs: { autocomplete: 'off', placeholder: t('cases.search.placeholder') } });
  const status = h('select', { id: 'filter-status', name: 'status' },
    h('option', { value: '', text: t('cases.filter.all') }),
    CHOICES.case_status.map((s) => h('option', { value: s, text: choiceLabel('case_status', s) })));
  status.value = view.status;
  const sort = h('select', { id: 'sort', name: 'sort' },
    h('option', { value: 'relevance', text: t('cases.sort.relevance') }),
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
  const location = h('input', { id: 'filter-location', type: 'search', name: 'location', value: view.location,
    dir: 'auto', attrs: { autocomplete: 'off', placeholder: t('cases.filter.location.placeholder') } });
  const role = h('select', { id: 'filter-role', name: 'role' },
    h('option', { value: '', text: t('cases.filter.any') }),
    CHOICES.role.map((r) => h('option', { value: r, text: choiceLabel('role', r) })));
  role.value = view.role;
  // Follow-up: cases with a submission awaiting a response, or whose follow-up is due
  // today (the backend's search decides both).
  const awaiting = h('input', { id: 'filter-awaiting', type: 'checkbox', checked: Boolean(view.awaiting) });
  const due = h('input', { id: 'filter-due', type: 'checkbox', checked: Boolean(view.due) });
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
  const exportButton = h('button', { type: 'button', id: 'export-cases', class: 'button secondary', text: t('cases.export'),
    on: { click: () => openExport(app, {
      all: cases.filter((c) => !c.deleted).length,
      shown: filtered() ? shownIds.filter((id) => !cases.find((c) => c.record_id === id)?.deleted) : null,
    }) } });
  // Patterns (timeline, map, figures) of the cases the search and filters select.
  const patternsButton = h('button', { type: 'button', id: 'open-patterns', class: 'button secondary',
    text: t('cases.patterns'), on: { click: () => app.navigate('patterns', { query: query(), filters: described() }) } });
  // Another tool's export (Martus, ODK, Uwazi, Tella): new cases redraw the list.
  const importButton = h('button', { type: 'button', id: 'import-cases', class: 'button secondary', text: t('cases.import'),
    on: { click: () => openImport(app, {
      onClose: (imported) => {
        if (imported) load().then(() => (searching() ? runSearch() : null));
      },
    }) } });
  const indexing = h('p', { id: 'search-indexing', class: 'muted busy-note', hidden: true, attrs: { role: 'status' } });
  const limited = h('p', { id: 'search-limited', class: 'muted', hidden: true });

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

  /** True when the backend's search decides which cases are shown. */
  const searching = () => Boolean(view.search.trim() || backendOnly());
  /** Filters only the backend can apply (nothing here knows places, roles, follow-ups). */
  const backendOnly = () => Boolean(view.location.trim() || view.role || view.awaiting || view.due);
  /** True when some search or filter narrows the list. */
  const filtered = () => FILTER_KEYS.some((k) => String(view[k]).trim());

  /** Whether the filters kept here (status, tag, act, dates) let a case through. */
  const localFilters = (c) => (!view.status || c.status === view.status)
    && (!view.tag || (c.tags || []).includes(view.tag))
    && (!view.act || related.get(c.record_id)?.acts.has(view.act))
    && inRange(c);

  /**
   * Whether a case is listed: in the last search's answer (the backend applied every
   * filter); or, while the index is still being built or before the first answer,
   * matched here by its titles.
   */
  function listed(c, words) {
    if (found?.byCase.has(c.record_id)) return true;
    if (found?.ready) return false;
    if (searching() && (backendOnly() || (found && !words.length))) return false;
    return localFilters(c) && matches(c, words);
  }

  const score = (c) => found?.byCase.get(c.record_id)?.score || 0;
  const byUpdated = (a, b) => String(b.updated).localeCompare(String(a.updated));
  function order() {
    if (view.sort === 'title') return (a, b) => compare(a.title, b.title);
    if (view.sort === 'relevance' && found && view.search.trim()) return (a, b) => score(b) - score(a) || byUpdated(a, b);
    return byUpdated;
  }

  function draw() {
    const words = fold(view.search).split(/\s+/).map((w) => w.replace(/^"+|"+$/g, '')).filter(Boolean);
    const shown = cases
      .filter((c) => listed(c, words))
      .sort(order());
    shownIds = shown.map((c) => c.record_id);
    indexing.hidden = !(found && !found.ready);
    if (found && !found.ready) {
      indexing.textContent = found.progress
        ? t('cases.search.indexing.count', { done: formatNumber(found.progress.done), total: formatNumber(found.progress.total) })
        : t('cases.search.indexing');
    }
    limited.hidden = !(found && found.total > found.hits);
    if (found) limited.textContent = t('cases.search.limited', { shown: formatNumber(found.hits), total: formatNumber(found.total) });
    replace(body, shown.slice(0, limit).map(row));
    table.hidden = shown.length === 0;
    count.textContent = t('cases.count', { shown: formatNumber(shown.length), total: formatNumber(cases.length) });
    count.dataset.shown = String(shown.length);
    count.dataset.total = String(cases.length);
    more.hidden = shown.length <= limit;
    more.textContent = t('cases.more', { n: formatNumber(Math.min(PAGE, shown.length - limit)),
      rest: formatNumber(Math.max(0, shown.length - limit)) });
    empty.hidden = shown.length > 0;
    clear.hidden = !filtered();
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
      markers(c),
      matchList(c)),
    h('td', {}, statusBadge('case', c.status)),
    h('td', { class: 'cell-tags' }, (c.tags || []).map((tag) => h('span', { class: 'tag', testid: 'case-tag' }, userText(tag)))),
    h('td', { class: 'cell-date' }, h('time', { dateTime: c.updated || '', text: formatDateTime(c.updated) })));
    return tr;
  }

  /** Under a case found by a search: which of its records matched (kind and title). */
  function matchList(c) {
    const hits = found?.byCase.get(c.record_id)?.hits || [];
    if (!hits.length) return null;
    const rest = hits.length - MATCHES_SHOWN;
    return h('ul', { class: 'match-list', testid: 'case-matches', attrs: { 'aria-label': t('cases.search.found_in') } },
      hits.slice(0, MATCHES_SHOWN).map((hit) => h('li', { testid: 'case-match', data: { kind: hit.kind, recordId: hit.record_id } },
        h('span', { class: 'badge match-kind', text: t(`search.kind.${hit.kind}`) }), ' ',
        userText(hit.title || t('value.untitled'), { class: 'match-title' }))),
      rest > 0 ? h('li', { class: 'muted', text: t('cases.search.more_matches', { n: formatNumber(rest) }) }) : null);
  }

  /** The backend query for the current search and filters. */
  function query() {
    return {
      text: view.search.trim(),
      prefix: true,
      status: view.status || null,
      tags: view.tag ? [view.tag] : [],
      act_type: view.act || null,
      from: view.from || null,
      to: view.to || null,
      location: view.location.trim() || null,
      role: view.role || null,
      awaiting_response: Boolean(view.awaiting),
      follow_up_due: view.due ? today() : null,
      kinds: [],
      limit: HIT_LIMIT,
    };
  }

  /** The search and filters in use, for the patterns screen to say what it shows. */
  function described() {
    const out = [];
    if (view.search.trim()) out.push({ kind: 'text', value: view.search.trim() });
    for (const kind of ['status', 'tag', 'act', 'from', 'to', 'location', 'role']) {
      if (String(view[kind]).trim()) out.push({ kind, value: String(view[kind]).trim() });
    }
    if (view.awaiting) out.push({ kind: 'awaiting' });
    if (view.due) out.push({ kind: 'due' });
    return out;
  }

  /** Asks the backend; only the answer to the newest question is shown. */
  async function runSearch() {
    clearTimeout(timer);
    timer = null;
    const mine = ++asked;
    if (!searching()) {
      found = null;
      table.removeAttribute('aria-busy');
      redraw();
      return;
    }
    table.setAttribute('aria-busy', 'true');
    let answer;
    try {
      answer = await api.search(query());
    } catch (e) {
      if (mine !== asked) return;
      table.removeAttribute('aria-busy');
      found = null;
      error.textContent = errorText(e);
      error.hidden = false;
      redraw();
      return;
    }
    if (mine !== asked) return;
    table.removeAttribute('aria-busy');
    error.hidden = true;
    found = {
      byCase: groupHits(answer?.hits),
      ready: answer?.ready !== false,
      total: Number(answer?.total) || 0,
      hits: (answer?.hits || []).length,
      progress: found?.progress || null,
    };
    redraw();
  }

  /** A search soon (typing), or now (a menu). */
  function searchSoon(delay = DEBOUNCE) {
    clearTimeout(timer);
    if (!searching()) {
      runSearch();
      return;
    }
    table.setAttribute('aria-busy', 'true');
    timer = setTimeout(runSearch, delay);
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
    searchSoon();
  });
  location.addEventListener('input', () => {
    view.location = location.value;
    searchSoon();
  });
  role.addEventListener('change', () => {
    view.role = role.value;
    searchSoon(0);
  });
  // The backend filters too: a menu asks again at once (when a search is on).
  const filterChanged = () => (searching() ? searchSoon(0) : redraw());
  status.addEventListener('change', () => {
    view.status = status.value;
    filterChanged();
  });
  sort.addEventListener('change', () => {
    view.sort = sort.value;
    redraw();
  });
  tag.addEventListener('change', () => {
    view.tag = tag.value;
    filterChanged();
  });
  act.addEventListener('change', () => {
    view.act = act.value;
    filterChanged();
  });
  for (const input of [from, to]) {
    input.addEventListener('input', () => {
      view.from = dateOf(from);
      view.to = dateOf(to);
      filterChanged();
    });
  }
  awaiting.addEventListener('change', () => {
    view.awaiting = awaiting.checked ? 'on' : '';
    searchSoon(0);
  });
  due.addEventListener('change', () => {
    view.due = due.checked ? 'on' : '';
    searchSoon(0);
  });
  clear.addEventListener('click', () => {
    Object.assign(view, { search: '', status: '', tag: '', act: '', from: '', to: '', location: '', role: '',
      awaiting: '', due: '' });
    for (const input of [search, status, tag, act, from, to, location, role]) input.value = '';
    awaiting.checked = false;
    due.checked = false;
    from.removeAttribute('aria-invalid');
    to.removeAttribute('aria-invalid');
    runSearch();
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

  // What needs following up: after unlock, until dismissed for this session.
  const dueSlot = h('div', { id: 'followup-slot' });
  async function loadDue() {
    if (dueDismissed) return;
    let answer;
    try {
      answer = await api.followUps(today());
    } catch {
      return; // the list still works; the panel comes back at the next visit
    }
    const mechanisms = await app.vocabulary('mechanisms').catch(() => []);
    const labels = new Map(mechanisms.map((m) => [m.code, m.label]));
    const panel = duePanel(app, answer, {
      mechanismLabel: (code) => labels.get(code) || code,
      onDismiss: () => {
        dueDismissed = true;
        dueSlot.replaceChildren();
        search.focus();
      },
    });
    dueSlot.replaceChildren(...(panel && !dueDismissed ? [panel] : []));
  }

  const el = h('section', { id: 'screen-cases', class: 'screen', attrs: { 'aria-labelledby': 'cases-title' } },
    duress?.el,
    dueSlot,
    h('div', { class: 'screen-head' },
      h('h1', { id: 'cases-title', text: t('cases.title') }),
      h('div', { class: 'head-actions' }, patternsButton, importButton, exportButton, newCase)),
    h('form', { id: 'case-filters', class: 'toolbar', attrs: { role: 'search', autocomplete: 'off' },
      on: { submit: (e) => e.preventDefault() } },
    h('div', { class: 'field grow' }, h('label', { for: 'search', text: t('cases.search') }), search),
    h('div', { class: 'field' }, h('label', { for: 'filter-status', text: t('cases.filter.status') }), status),
    h('div', { class: 'field' }, h('label', { for: 'filter-tag', text: t('cases.filter.tag') }), tag),
    h('div', { class: 'field' }, h('label', { for: 'filter-act', text: t('cases.filter.act') }), act),
    h('div', { class: 'field date' }, h('label', { for: 'filter-from', text: t('cases.filter.from') }), from),
    h('div', { class: 'field date' }, h('label', { for: 'filter-to', text: t('cases.filter.to') }), to),
    h('div', { class: 'field' }, h('label', { for: 'filter-location', text: t('cases.filter.location') }), location),
    h('div', { class: 'field' }, h('label', { for: 'filter-role', text: t('cases.filter.role') }), role),
    h('div', { class: 'field' }, h('label', { for: 'sort', text: t('cases.sort') }), sort),
    h('fieldset', { class: 'field toolbar-followup', id: 'filter-followup' },
      h('legend', { text: t('cases.filter.followup') }),
      h('div', { class: 'check toolbar-check' }, awaiting, h('label', { for: 'filter-awaiting', text: t('cases.filter.awaiting') })),
      h('div', { class: 'check toolbar-check' }, due, h('label', { for: 'filter-due', text: t('cases.filter.due') }))),
    h('div', { class: 'toolbar-end' },
      h('div', { class: 'check toolbar-check' }, showDeleted, h('label', { for: 'show-deleted', text: t('cases.show_deleted') })),
      clear)),
    h('p', { class: 'field-hint', id: 'filter-hint', text: t('cases.filter.hint') }),
    error, indexing, count, limited, table, more, empty);

  await Promise.all([load(), loadDue()]);
  // While the index is being built after an unlock: the progress, and, once it is
  // done, the search asked again (its first answer may have been incomplete).
  api.onSearchIndex((p) => {
    if (!found || found.ready) return;
    found.progress = { done: Number(p.done) || 0, total: Number(p.total) || 0 };
    if (found.progress.done >= found.progress.total) runSearch();
    else draw();
  }).then((stop) => {
    if (unlisten === 'destroyed') stop();
    else unlisten = stop;
  });
  if (searching()) await runSearch();
  let synced = app.sync.status?.last_success || null;

  return {
    el,
    /** A sync that brought news (a new success) redraws the list. */
    syncChanged(status) {
      const now = status?.last_success || null;
      if (now !== synced && !status?.running) {
        synced = now;
        load().then(() => (searching() ? runSearch() : null));
      }
    },
    destroy() {
      closeExport();
      closeImport();
      clearTimeout(timer);
      asked++;
      cases = [];
      related = new Map();
      found = null;
      shownIds = [];
      if (typeof unlisten === 'function') unlisten();
      unlisten = 'destroyed';
      duress?.destroy();
    },
  };
}

/** Forgets the list's search and filters (called on lock). */
export function reset() {
  Object.assign(view, EMPTY_VIEW);
  dueDismissed = false;
}

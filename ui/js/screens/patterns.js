// Patterns: the figures of the cases the case list's search and filters select, and
// their drawings — the map, incidents over time, counts by act type, victims by sex and
// by occupation, perpetrators by type, interventions by mechanism and status — with the
// totals (persons who did not consent to be published are counted, never named).
//
// - Reached from the case list (#open-patterns) with params {query (the `search`
//   command's shape), filters: [{kind, value}] (what the list's search and filters
//   were, to say so)}; #patterns-back goes back to the list.
// - The backend computes (`patterns_figures`) on its own thread; meanwhile the screen
//   says it is busy (#patterns-busy, aria-busy) and the rest of the window stays usable.
//   An answer to an older question (the period changed meanwhile) is dropped.
// - The drawings arrive as SVG text from our own renderer (every text escaped there);
//   they are still parsed as image/svg+xml, checked to be an <svg>, stripped of
//   anything active (scripts, foreignObject, event attributes, styles, outside links),
//   and adopted as nodes: never innerHTML.
// - Exports (one chart, or every chart into a new folder, SVG or PNG) go through the
//   backend (`patterns_export`) to the path the user typed or chose, with the counts
//   below the threshold shown as "fewer than N"; encrypted to an age recipient when
//   asked. The dialog is built from the parts it shares with the export dialog
//   (export-parts.js: warning, encryption, path, result, the modal dialog).
// - Nothing is kept: no web storage, no cache; the figures and drawings live in this
//   screen's closure and its nodes, and go when the screen is torn down (leaving it,
//   locking).
//
// Ids: #screen-patterns (aria-busy while computing; data-state: busy | ready | failed),
// #patterns-title, #patterns-back, #patterns-scope (data-cases), #patterns-period-month,
// #patterns-period-week, #patterns-threshold, #patterns-export-all-svg,
// #patterns-export-all-png, #patterns-busy, #patterns-error, #patterns-totals (items
// [data-total=cases|incidents|victims|without_consent] with data-n), #patterns-charts
// (figures .chart[data-key] holding one <svg>; buttons [data-testid=chart-export-svg],
// [data-testid=chart-export-png]), #patterns-empty; the export dialog
// #patterns-export-dialog (data-which, data-format), #patterns-export-what,
// #patterns-export-warning, #patterns-export-encrypt, #patterns-export-recipient,
// #field-error-patterns-export-recipient, #patterns-export-path,
// #patterns-export-choose, #field-error-patterns-export-path, #patterns-export-error,
// #patterns-export-result (data-count, data-encrypted), #patterns-export-run,
// #patterns-export-close.

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { t, lang, formatNumber, formatDate } from '../i18n.js';
import { errorText } from '../fields.js';
import { choiceLabel } from '../records.js';
import { exportDialog, exportParts, removeDialog, showDialog, thresholdOf, today } from '../export-parts.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** The longest drawing accepted from the backend (characters). */
const MAX_SVG = 8_000_000;
/**
 * The drawings' width, in points: they are made for print (a report's page), so the
 * screen asks for one narrower than the space it has and scales it up, for legible text.
 */
const MAX_WIDTH = 640;
const MIN_WIDTH = 480;
const SCREEN_SCALE = 1.5;
// A total of the screen's figures ({ shown: 'exact', n }): the screen shows the user's
// own, exact figures; anything else reads as 0.
function countOf(v) {
  const n = v && typeof v === 'object' && v.shown === 'exact' ? Number(v.n) : NaN;
  return Number.isFinite(n) ? n : 0;
}

const KEYS = ['map', 'timeline', 'act_types', 'victims_by_sex', 'victims_by_occupation',
  'perpetrators_by_type', 'interventions'];
const EXTENSION = { svg: 'svg', png: 'png' };

/** The screen's words for each chart (the drawing carries its own title too). */
function chartTitle(key) {
  switch (key) {
    case 'map': return t('patterns.chart.map');
    case 'timeline': return t('patterns.chart.timeline');
    case 'act_types': return t('patterns.chart.act_types');
    case 'victims_by_sex': return t('patterns.chart.victims_by_sex');
    case 'victims_by_occupation': return t('patterns.chart.victims_by_occupation');
    case 'perpetrators_by_type': return t('patterns.chart.perpetrators_by_type');
    case 'interventions': return t('patterns.chart.interventions');
    default: return key;
  }
}

// Settings of this screen kept between visits while unlocked (never data); reset by a lock.
const EMPTY_VIEW = { period: 'month', threshold: 3 };
const view = { ...EMPTY_VIEW };

let dialogOpen = null; // the open export dialog: {close()}

/**
 * Parses a drawing and returns it as a safe, inert <svg> element of this document, or
 * null when it is not one. Removes scripts, foreignObject, style elements and
 * attributes, event handler attributes and every link that is not to a fragment of the
 * drawing itself; gives it a viewBox so it scales with the page.
 */
export function safeSvg(text) {
  if (typeof text !== 'string' || !text || text.length > MAX_SVG) return null;
  let doc;
  try {
    doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  } catch {
    return null;
  }
  const root = doc?.documentElement;
  if (!root || root.namespaceURI !== SVG_NS || root.localName !== 'svg') return null;
  if (doc.getElementsByTagName('parsererror').length) return null;
  for (const el of [...root.querySelectorAll('*')]) {
    const name = el.localName.toLowerCase();
    if (el.namespaceURI !== SVG_NS || ['script', 'foreignobject', 'style', 'iframe', 'image', 'use',
      'a', 'animate', 'set', 'animatemotion', 'animatetransform', 'handler', 'listener'].includes(name)) {
      el.remove();
    }
  }
  for (const el of [root, ...root.querySelectorAll('*')]) {
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      const local = attr.localName.toLowerCase();
      const link = local === 'href' || local === 'src';
      if (name.startsWith('on') || name === 'style' || (link && !attr.value.trim().startsWith('#'))
        || /^\s*(javascript|data|vbscript):/i.test(attr.value) || /url\(\s*['"]?(?!#)/i.test(attr.value)) {
        el.removeAttributeNode(attr);
      }
    }
  }
  if (!root.hasAttribute('viewBox')) {
    const w = parseFloat(root.getAttribute('width'));
    const hgt = parseFloat(root.getAttribute('height'));
    if (Number.isFinite(w) && Number.isFinite(hgt) && w > 0 && hgt > 0) root.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  }
  // Sized by the page (CSS), in proportion.
  root.removeAttribute('width');
  root.removeAttribute('height');
  root.setAttribute('preserveAspectRatio', 'xMidYMin meet');
  root.setAttribute('focusable', 'false');
  return document.adoptNode(root);
}

/**
 * Puts each right-to-left text of an inserted drawing where its anchor says. The
 * renderer writes such a text as a right-to-left run inside a left-to-right <text>,
 * anchored by its left (start) or right (end) end; WebKit anchors that run by its other
 * end, which pushes Arabic titles and labels out of the drawing. Measured, not guessed:
 * a text already in place is left alone, so an engine that does it right is unaffected.
 */
export function straighten(svg) {
  for (const text of svg.querySelectorAll('text')) {
    const anchor = text.getAttribute('text-anchor') || 'start';
    if (anchor === 'middle' || !text.querySelector('tspan[direction=rtl]')) continue;
    const x = parseFloat(text.getAttribute('x'));
    let box = null;
    try {
      box = text.getBBox();
    } catch {
      box = null;
    }
    if (!Number.isFinite(x) || !box || !(box.width > 0)) continue;
    const want = anchor === 'end' ? x - box.width : x;
    const off = want - box.x;
    if (Math.abs(off) > 0.5) text.setAttribute('x', String(x + off));
  }
}

export async function render(app, params = {}) {
  const query = params.query && typeof params.query === 'object' ? params.query : {};
  const filters = Array.isArray(params.filters) ? params.filters : [];
  let asked = 0; // questions asked; an answer to an older one is dropped
  let alive = true;
  let answer = null; // {figures, charts} of the newest answer
  const acts = filters.some((f) => f.kind === 'act')
    ? await app.vocabulary('act_types').catch(() => [])
    : [];
  const actLabel = new Map(acts.map((a) => [a.code, a.label]));

  // What the list's search and filters were, in words.
  function filterText(f) {
    const v = String(f.value ?? '');
    switch (f.kind) {
      case 'text': return t('patterns.filter.text', { text: v });
      case 'status': return t('patterns.filter.status', { status: choiceLabel('case_status', v) });
      case 'tag': return t('patterns.filter.tag', { tag: v });
      case 'act': return t('patterns.filter.act', { act: actLabel.get(v) || v });
      case 'from': return t('patterns.filter.from', { date: formatDate(v) });
      case 'to': return t('patterns.filter.to', { date: formatDate(v) });
      case 'location': return t('patterns.filter.location', { place: v });
      case 'role': return t('patterns.filter.role', { role: choiceLabel('role', v) });
      case 'awaiting': return t('patterns.filter.awaiting');
      case 'due': return t('patterns.filter.due');
      default: return v;
    }
  }
  const described = filters.map(filterText).filter(Boolean);

  const title = h('h1', { id: 'patterns-title', text: t('patterns.title') });
  const back = h('button', { type: 'button', id: 'patterns-back', class: 'button secondary', text: t('patterns.back'),
    on: { click: () => app.navigate('cases', {}) } });
  const scope = h('p', { id: 'patterns-scope', class: 'patterns-scope', attrs: { 'aria-live': 'polite' } });
  function drawScope(cases) {
    scope.dataset.cases = cases === null ? '' : String(cases);
    const n = cases === null ? '…' : formatNumber(cases);
    scope.textContent = described.length
      ? t('patterns.scope.filtered', { n, filters: described.join(t('patterns.filter.separator')) })
      : t('patterns.scope.all', { n });
  }
  drawScope(null);

  // Controls
  const radio = (value) => h('input', { type: 'radio', id: `patterns-period-${value}`, name: 'patterns-period', value,
    checked: view.period === value });
  const month = radio('month');
  const week = radio('week');
  const period = h('fieldset', { id: 'patterns-period', class: 'field radio-group patterns-period' },
    h('legend', { text: t('patterns.period') }),
    h('div', { class: 'check' }, month, h('label', { for: 'patterns-period-month', text: t('patterns.period.month') })),
    h('div', { class: 'check' }, week, h('label', { for: 'patterns-period-week', text: t('patterns.period.week') })));
  const threshold = h('input', { id: 'patterns-threshold', type: 'number', name: 'threshold', value: String(view.threshold),
    attrs: { min: 1, max: 10000, step: 1, inputmode: 'numeric', 'aria-describedby': 'patterns-threshold-hint field-error-patterns-threshold' } });
  const thresholdError = h('p', { id: 'field-error-patterns-threshold', class: 'field-error', hidden: true });
  const thresholdField = h('div', { class: 'field patterns-threshold' },
    h('label', { for: 'patterns-threshold', text: t('patterns.threshold') }), threshold,
    h('p', { id: 'patterns-threshold-hint', class: 'field-hint', text: t('patterns.threshold.hint') }), thresholdError);
  const exportAllSvg = h('button', { type: 'button', id: 'patterns-export-all-svg', class: 'button secondary',
    text: t('patterns.export.all.svg'), disabled: true, on: { click: () => openExportDialog(null, 'svg') } });
  const exportAllPng = h('button', { type: 'button', id: 'patterns-export-all-png', class: 'button secondary',
    text: t('patterns.export.all.png'), disabled: true, on: { click: () => openExportDialog(null, 'png') } });
  const controls = h('form', { id: 'patterns-controls', class: 'toolbar patterns-controls',
    attrs: { autocomplete: 'off', novalidate: true }, on: { submit: (e) => e.preventDefault() } },
  period, thresholdField,
  h('div', { class: 'field patterns-export-all' },
    h('span', { class: 'field-label', id: 'patterns-export-all-label', text: t('patterns.export.all') }),
    h('div', { class: 'button-row', attrs: { role: 'group', 'aria-labelledby': 'patterns-export-all-label' } },
      exportAllSvg, exportAllPng)));

  const busy = h('p', { id: 'patterns-busy', class: 'busy-note', hidden: true, attrs: { role: 'status' },
    text: t('patterns.busy') });
  const error = h('p', { id: 'patterns-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  const totals = h('dl', { id: 'patterns-totals', class: 'patterns-totals', hidden: true });
  const charts = h('div', { id: 'patterns-charts', class: 'patterns-charts' });
  const empty = h('p', { id: 'patterns-empty', class: 'empty', hidden: true, text: t('patterns.empty') });

  const el = h('section', { id: 'screen-patterns', class: 'screen patterns', data: { state: 'busy' },
    attrs: { 'aria-labelledby': 'patterns-title' } },
  h('div', { class: 'screen-head' }, title, h('div', { class: 'head-actions' }, back)),
  scope, controls, busy, error, totals, empty, charts);

  function total(key, label, n, note) {
    return h('div', { class: 'patterns-total', data: { total: key, n: String(n) } },
      h('dt', { text: label }),
      h('dd', {}, h('span', { class: 'patterns-total-n', text: formatNumber(n) }),
        note ? h('span', { class: 'patterns-total-note', text: note }) : null));
  }

  function drawTotals(f) {
    const n = countOf;
    replace(totals,
      total('cases', t('patterns.total.cases'), n(f.cases)),
      total('incidents', t('patterns.total.incidents'), n(f.incidents)),
      total('victims', t('patterns.total.victims'), n(f.victims)),
      total('without_consent', t('patterns.total.without_consent'), n(f.without_publish_consent),
        t('patterns.total.without_consent.note')));
    totals.hidden = false;
  }

  function drawCharts(list) {
    const figures = [];
    for (const chart of list || []) {
      const key = KEYS.includes(chart?.key) ? chart.key : null;
      if (!key) continue;
      const svg = safeSvg(chart.svg);
      const caption = h('figcaption', { class: 'chart-head' },
        // A chart's drawing shows its own title, and this one names the figure for screen
        // readers; the map's drawing has none, so the map's is shown.
        h('h2', { class: ['chart-title', key === 'map' ? null : 'visually-hidden'], id: `chart-title-${key}`,
          text: chartTitle(key) }),
        h('div', { class: 'chart-actions' },
          h('button', { type: 'button', class: 'button link', testid: 'chart-export-svg', text: t('patterns.export.svg'),
            attrs: { 'aria-describedby': `chart-title-${key}` }, on: { click: () => openExportDialog(key, 'svg') } }),
          h('button', { type: 'button', class: 'button link', testid: 'chart-export-png', text: t('patterns.export.png'),
            attrs: { 'aria-describedby': `chart-title-${key}` }, on: { click: () => openExportDialog(key, 'png') } })));
      const body = h('div', { class: 'chart-body' },
        svg || h('p', { class: 'form-error', text: t('patterns.chart.unreadable') }));
      if (svg) {
        svg.setAttribute('role', 'img');
        svg.setAttribute('aria-labelledby', `chart-title-${key}`);
      }
      figures.push(h('figure', { class: ['chart', `chart-${key}`], id: `chart-${key}`, data: { key },
        attrs: { 'aria-labelledby': `chart-title-${key}` } }, caption, body));
    }
    replace(charts, figures);
    return figures.length;
  }

  function setBusy(on) {
    busy.hidden = !on;
    el.toggleAttribute('aria-busy', on);
    if (on) el.dataset.state = 'busy';
    exportAllSvg.disabled = on || !answer?.charts?.length;
    exportAllPng.disabled = on || !answer?.charts?.length;
  }

  /** The width to draw at: the space the charts have on screen, within bounds. */
  function drawingWidth() {
    const space = (charts.isConnected ? charts.clientWidth : document.getElementById('main')?.clientWidth - 64) || 0;
    return Math.round(Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, space / SCREEN_SCALE)));
  }

  /** Asks for the figures of the current period; shows the newest answer only. */
  async function load() {
    const mine = ++asked;
    error.hidden = true;
    setBusy(true);
    let got;
    try {
      got = await api.patternsFigures({ query, period: view.period, threshold: view.threshold, lang: lang(),
        width: drawingWidth() });
    } catch (e) {
      if (!alive || mine !== asked) return;
      answer = null;
      setBusy(false);
      el.dataset.state = 'failed';
      error.textContent = errorText(e);
      error.hidden = false;
      return;
    }
    if (!alive || mine !== asked) return;
    answer = { figures: got?.figures || {}, charts: got?.charts || [] };
    drawScope(countOf(answer.figures.cases));
    drawTotals(answer.figures);
    const drawn = drawCharts(answer.charts);
    const fix = () => {
      if (alive) for (const svg of charts.querySelectorAll('.chart-body svg')) straighten(svg);
    };
    if (el.isConnected) fix();
    else requestAnimationFrame(fix);
    empty.hidden = drawn > 0;
    setBusy(false);
    el.dataset.state = 'ready';
    el.dataset.period = view.period;
  }

  for (const input of [month, week]) {
    input.addEventListener('change', () => {
      if (!input.checked) return;
      view.period = input.value;
      load();
    });
  }
  threshold.addEventListener('input', () => {
    const n = thresholdOf(threshold);
    threshold.toggleAttribute('aria-invalid', n === null);
    thresholdError.hidden = n !== null;
    thresholdError.textContent = n === null ? t('patterns.threshold.invalid') : '';
    if (n !== null) view.threshold = n;
  });

  // Exports

  /** Opens the export dialog for one chart (key) or every chart (null), as svg or png. */
  function openExportDialog(which, format) {
    closeExportDialog();
    if (!answer || thresholdOf(threshold) === null) {
      threshold.focus();
      return;
    }
    const folder = which === null;
    const limit = view.threshold;
    const what = h('p', { id: 'patterns-export-what', class: 'export-scope', text: folder
      ? t('patterns.export.what.all', { format: format.toUpperCase() })
      : t('patterns.export.what.one', { chart: chartTitle(which), format: format.toUpperCase() }) });
    const published = h('p', { id: 'patterns-export-published', class: 'field-hint',
      text: t('patterns.export.published', { n: formatNumber(limit) }) });
    const parts = exportParts({
      prefix: 'patterns-export',
      path: 'path',
      chooseId: 'patterns-export-choose',
      warning: t('patterns.export.warning'),
      pathLabel: folder ? t('patterns.export.path.folder') : t('export.path'),
      pathHint: folder ? t('patterns.export.path.folder.hint') : t('patterns.export.path.hint'),
      chooseTitle: t('patterns.export.choose.title'),
      suggested: () => suggested(),
      ageSuffix: () => !folder,
    });
    const { encrypt, run, closeButton } = parts;
    const { dialog, form } = exportDialog({
      id: 'patterns-export-dialog',
      titleId: 'patterns-export-title',
      title: t('patterns.export.title'),
      formId: 'patterns-export-form',
      data: { which: which || 'all', format },
      children: [what, published, parts.warning, parts.encryptRow, parts.recipientField, parts.pathRow,
        parts.error, parts.result, parts.actions],
    });

    let running = false;
    const suggested = () => {
      const base = folder ? `patterns-${today()}` : `patterns-${which}-${today()}.${EXTENSION[format]}`;
      return encrypt.checked && !folder ? `${base}.age` : base;
    };

    async function start() {
      const asked = parts.checked();
      if (!asked) return;
      const { path: where, recipient: to } = asked;
      running = true;
      run.disabled = true;
      closeButton.disabled = true;
      run.textContent = t('export.running');
      form.setAttribute('aria-busy', 'true');
      let out = null;
      let err = null;
      try {
        out = await api.patternsExport({ query, period: view.period, threshold: limit, lang: lang(), which,
          format, path: where, recipient: to });
      } catch (e) {
        err = e;
      }
      running = false;
      if (!dialog.isConnected) return;
      run.disabled = false;
      closeButton.disabled = false;
      run.textContent = t('export.run');
      form.removeAttribute('aria-busy');
      if (err) {
        parts.failed(err, where);
        return;
      }
      const count = Number(out?.count) || 0;
      parts.result.dataset.count = String(count);
      parts.result.dataset.encrypted = String(Boolean(out?.encrypted));
      parts.done(app, Boolean(out?.encrypted), [
        h('p', { text: t('patterns.export.done.files', { n: formatNumber(count) }) }),
        h('p', {}, h('code', { id: 'patterns-export-result-path', text: where, attrs: { dir: 'ltr' } })),
      ]);
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!running) start();
    });

    function close() {
      if (dialogOpen?.dialog === dialog) dialogOpen = null;
      removeDialog(dialog);
    }
    dialogOpen = { dialog, close };
    showDialog(dialog, { closeButton, close, busy: () => running, focus: parts.path });
  }

  load();

  return {
    el,
    destroy() {
      alive = false;
      asked++;
      answer = null;
      closeExportDialog();
      // The drawings go with the nodes: nothing of them stays in the page.
      charts.replaceChildren();
      totals.replaceChildren();
    },
  };
}

/** Closes the export dialog, if open (leaving the screen, locking). */
function closeExportDialog() {
  dialogOpen?.close();
}

/** Forgets the screen's choices (called on lock). */
export function reset() {
  closeExportDialog();
  Object.assign(view, EMPTY_VIEW);
}

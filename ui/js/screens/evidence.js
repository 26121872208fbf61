// One evidence item: its content shown from memory (through the evidence: protocol;
// nothing decrypted is written to disk), its hash and metadata, its chain of custody,
// and verify and export.
//
// Ids: #screen-evidence, #evidence-back, #evidence-heading, #evidence-viewer (an img,
// video, audio or iframe, or #evidence-no-preview), #evidence-details, #evidence-sha256,
// #custody-list with rows [data-testid=custody-row][data-action], #evidence-verify,
// #verify-result ([data-ok]), #export-path, #export-choose, #export-submit,
// #export-result, #export-error.

import * as api from '../api.js';
import { h, replace, userText } from '../dom.js';
import { t, formatDateTime, formatNumber } from '../i18n.js';
import { errorText } from '../fields.js';
import { formatBytes } from '../evidence.js';

const VIEWERS = [
  [/^image\//, 'img'],
  [/^video\//, 'video'],
  [/^audio\//, 'audio'],
  [/^application\/pdf$/, 'iframe'],
];

export async function render(app, params = {}) {
  const id = params.id;
  const caseId = params.caseId || null;
  const back = h('button', { type: 'button', id: 'evidence-back', class: 'button link', text: t('history.back.case'),
    on: { click: () => app.navigate('case', { id: caseId }) } });

  let item;
  try {
    const all = await api.evidenceList(caseId);
    item = (all || []).find((i) => i.evidence_id === id);
    if (!item) throw { kind: 'not_found', message: '' };
  } catch (e) {
    return {
      el: h('section', { id: 'screen-evidence', class: 'screen' }, back,
        h('h1', { text: t('evidence.title') }),
        h('p', { id: 'evidence-load-error', class: 'form-error', attrs: { role: 'alert' }, text: errorText(e) })),
    };
  }
  const e = item.evidence;

  // The viewer: only for types the webview can show; opening it is recorded.
  const kind = VIEWERS.find(([re]) => re.test(e.media_type))?.[1];
  let viewer;
  if (kind) {
    try {
      const token = await api.viewEvidence(id);
      const src = api.evidenceUrl(token, kind === 'iframe');
      const label = t('evidence.viewer.label', { name: e.file_name });
      viewer = kind === 'img'
        ? h('img', { id: 'evidence-viewer', class: 'evidence-media', src, alt: e.description || label })
        : kind === 'iframe'
          ? h('iframe', { id: 'evidence-viewer', class: 'evidence-media pdf', src, title: label })
          : h(kind, { id: 'evidence-viewer', class: 'evidence-media', src, controls: true, preload: 'metadata',
            attrs: { 'aria-label': label } });
    } catch (err) {
      viewer = h('p', { id: 'evidence-no-preview', class: 'form-error', text: errorText(err) });
    }
  } else {
    viewer = h('p', { id: 'evidence-no-preview', class: 'muted', text: t('evidence.no_preview') });
  }

  const dl = (rows) => h('dl', { class: 'details' }, rows.filter(Boolean).map(([term, value, attrs = {}]) => [
    h('dt', { text: term }), h('dd', attrs, value)]));
  const details = h('section', { id: 'evidence-details', class: 'panel', attrs: { 'aria-labelledby': 'details-heading' } },
    h('h2', { id: 'details-heading', text: t('evidence.details') }),
    dl([
      [t('evidence.file'), userText(e.file_name)],
      [t('evidence.media_type'), e.media_type],
      [t('evidence.size'), `${formatBytes(e.size)} (${t('evidence.bytes', { n: formatNumber(e.size) })})`],
      ['SHA-256', h('code', { id: 'evidence-sha256', class: 'hash full', text: e.sha256 })],
      [t('evidence.file_modified'), e.file_modified ? formatDateTime(e.file_modified) : t('value.empty')],
      [t('evidence.imported_at'), formatDateTime(e.imported_at)],
      [t('evidence.device'), h('code', { class: 'hash', text: e.imported_by })],
      e.derived_from ? [t('evidence.derived_from'), h('button', { type: 'button', class: 'button link', id: 'evidence-original',
        text: t('evidence.open_original'), on: { click: () => app.navigate('evidence', { id: e.derived_from, caseId }) } })] : null,
      e.description ? [t('evidence.description'), userText(e.description)] : null,
    ]));

  // Chain of custody
  const custodyBody = h('tbody');
  const custodyError = h('p', { id: 'custody-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  async function loadCustody() {
    try {
      const entries = await api.evidenceCustody(id);
      replace(custodyBody, (entries || []).map((c) => h('tr', { testid: 'custody-row', data: { action: c.action } },
        h('td', { text: formatNumber(c.seq + 1) }),
        h('td', { text: t(`custody.${c.action}`) }),
        h('td', {}, h('time', { dateTime: c.at, text: formatDateTime(c.at) })),
        h('td', {}, h('code', { class: 'hash', attrs: { title: c.device }, text: c.device.slice(0, 8) })),
        h('td', {}, userText(c.detail)))));
      custodyError.hidden = true;
    } catch (err) {
      custodyError.textContent = errorText(err);
      custodyError.hidden = false;
    }
  }
  const custody = h('section', { id: 'evidence-custody', class: 'panel', attrs: { 'aria-labelledby': 'custody-heading' } },
    h('h2', { id: 'custody-heading', text: t('evidence.custody') }),
    h('p', { class: 'field-hint', text: t('evidence.custody.hint') }),
    custodyError,
    h('div', { class: 'table-scroll' },
      h('table', { id: 'custody-list', class: 'list-table' },
        h('thead', {}, h('tr', {},
          ['#', t('custody.action'), t('custody.when'), t('custody.device'), t('custody.detail')]
            .map((c) => h('th', { scope: 'col', text: c })))),
        custodyBody)));

  // Verify
  const verifyButton = h('button', { type: 'button', id: 'evidence-verify', class: 'button secondary', text: t('evidence.verify') });
  const verifyResult = h('div', { id: 'verify-result', class: 'callout', hidden: true, attrs: { role: 'status' } });
  verifyButton.addEventListener('click', async () => {
    verifyButton.disabled = true;
    verifyButton.textContent = t('evidence.verifying');
    try {
      const v = await api.verifyEvidence(id);
      verifyResult.dataset.ok = String(v.ok);
      verifyResult.className = ['callout', v.ok ? 'success' : 'warning'].join(' ');
      replace(verifyResult, h('p', { text: v.ok ? t('evidence.verify.ok') : t('evidence.verify.bad') }),
        v.problems.length ? h('ul', {}, v.problems.map((p) => h('li', { testid: 'verify-problem', text: p }))) : null);
    } catch (err) {
      verifyResult.dataset.ok = 'false';
      verifyResult.className = 'callout warning';
      replace(verifyResult, h('p', { text: errorText(err) }));
    } finally {
      verifyResult.hidden = false;
      verifyButton.disabled = false;
      verifyButton.textContent = t('evidence.verify');
      await loadCustody();
    }
  });

  // Export
  const exportPath = h('input', { id: 'export-path', type: 'text', dir: 'ltr', spellcheck: false,
    attrs: { autocomplete: 'off', 'aria-describedby': 'export-warning' } });
  const exportChoose = h('button', { type: 'button', id: 'export-choose', class: 'button secondary', text: t('evidence.choose') });
  const exportSubmit = h('button', { type: 'submit', id: 'export-submit', class: 'button primary', text: t('evidence.export') });
  const exportError = h('p', { id: 'export-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  const exportResult = h('div', { id: 'export-result', class: 'callout success', hidden: true, attrs: { role: 'status' } });
  exportChoose.addEventListener('click', async () => {
    try {
      const chosen = await api.pickDestination(t('evidence.export.title'), e.file_name);
      if (chosen) exportPath.value = chosen;
    } catch (err) {
      exportError.textContent = errorText(err);
      exportError.hidden = false;
    }
  });
  const exportForm = h('form', { id: 'export-form', class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    h('p', { id: 'export-warning', class: 'callout warning', text: t('evidence.export.warning') }),
    h('div', { class: 'path-row' },
      h('div', { class: 'field grow' }, h('label', { for: 'export-path', text: t('evidence.export.path') }), exportPath),
      exportChoose),
    exportError,
    h('div', { class: 'actions' }, exportSubmit),
    exportResult);
  exportForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    exportError.hidden = true;
    exportResult.hidden = true;
    if (!exportPath.value.trim()) {
      exportError.textContent = t('error.required');
      exportError.hidden = false;
      exportPath.focus();
      return;
    }
    exportSubmit.disabled = true;
    exportSubmit.textContent = t('evidence.exporting');
    try {
      const out = await api.exportEvidence(id, exportPath.value.trim());
      replace(exportResult,
        h('p', { text: t('evidence.export.done') }),
        h('ul', {}, [out.file, out.report_text, out.report_json].map((f) => h('li', {}, h('code', { text: f })))));
      exportResult.hidden = false;
    } catch (err) {
      exportError.textContent = errorText(err);
      exportError.hidden = false;
    } finally {
      exportSubmit.disabled = false;
      exportSubmit.textContent = t('evidence.export');
      await loadCustody();
    }
  });

  await loadCustody();

  const el = h('section', { id: 'screen-evidence', class: 'screen', data: { recordId: id },
    attrs: { 'aria-labelledby': 'evidence-heading' } },
  back,
  h('div', { class: 'screen-head' },
    h('h1', { id: 'evidence-heading' }, userText(e.description || e.file_name)),
    h('div', { class: 'head-actions' }, verifyButton)),
  verifyResult,
  h('section', { class: 'panel evidence-view', attrs: { 'aria-label': t('evidence.viewer') } }, viewer),
  details,
  custody,
  h('section', { class: 'panel', attrs: { 'aria-labelledby': 'export-heading' } },
    h('h2', { id: 'export-heading', text: t('evidence.export') }), exportForm));

  return {
    el,
    destroy() {
      // Drop the decrypted media from the page at once.
      if (viewer?.src !== undefined) viewer.removeAttribute('src');
      viewer?.remove();
    },
  };
}

// The duress passphrase: a second passphrase for when someone forces the user to
// unlock. Typed at the unlock screen it opens a decoy vault (an ordinary, separate
// vault the user fills with harmless cases by unlocking with it) or wipes the vault and
// answers "wrong passphrase". Shown in Settings and, right after the vault is created,
// as an optional step at the top of the case list (screens/cases.js).
//
// Inside a decoy this section reads exactly as in a vault that has no duress
// passphrase: the backend's duress_status of a decoy is "none", and nothing here
// mentions another vault.

import * as api from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { errorText, formError } from './fields.js';

const STATUS = { decoy: 'duress.status.decoy', wipe: 'duress.status.wipe' };

/**
 * The duress section. options: {firstRun (the offer after creation: its own title and
 * "Skip"), onDone() (after setting it, or skipping)}. → {el, isDirty(), destroy()}
 */
export function duressSection(app, { firstRun = false, onDone } = {}) {
  let busy = false;
  let action = null; // the backend's answer: null, 'decoy' or 'wipe'

  const status = h('p', { id: 'duress-status', class: 'duress-status', data: { action: '' }, attrs: { role: 'status' } });
  const pass = h('input', { id: 'duress-passphrase', type: 'password', name: 'duress',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'duress-passphrase-hint' } });
  const confirm = h('input', { id: 'duress-confirm', type: 'password', name: 'duress-confirm',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' } });
  const radio = (value, label, hint) => {
    const input = h('input', { id: `duress-action-${value}`, type: 'radio', name: 'duress-action', value, checked: value === 'decoy',
      attrs: { 'aria-describedby': `duress-action-${value}-hint` } });
    return h('div', { class: 'field field-check' },
      h('div', { class: 'check' }, input, h('label', { for: input.id, text: label })),
      h('p', { id: `duress-action-${value}-hint`, class: 'field-hint', text: hint }));
  };
  const actions = h('fieldset', { id: 'duress-action', class: 'field' },
    h('legend', { text: t('duress.action') }),
    radio('decoy', t('duress.action.decoy'), t('duress.action.decoy.hint')),
    radio('wipe', t('duress.action.wipe'), t('duress.action.wipe.hint')));
  const error = formError('duress-error');
  const progress = h('p', { id: 'duress-progress', class: 'busy-note', hidden: true, attrs: { role: 'status' } });
  const save = h('button', { type: 'submit', id: 'duress-save', class: 'button primary', text: t('duress.save') });
  const clear = h('button', { type: 'button', id: 'duress-clear', class: 'button danger-outline', hidden: true,
    text: t('duress.clear'), on: { click: () => clearIt() } });
  const skip = firstRun
    ? h('button', { type: 'button', id: 'duress-later', class: 'button secondary', text: t('duress.skip'),
      on: { click: () => onDone?.() } })
    : null;

  const form = h('form', { id: 'duress-form', class: 'form', attrs: { autocomplete: 'off', novalidate: true } },
    h('div', { class: 'field' },
      h('label', { for: 'duress-passphrase', text: t('duress.passphrase') }),
      h('p', { id: 'duress-passphrase-hint', class: 'field-hint', text: t('duress.passphrase.hint') }),
      pass),
    h('div', { class: 'field' },
      h('label', { for: 'duress-confirm', text: t('duress.confirm') }),
      confirm),
    actions,
    error,
    h('div', { class: 'actions' }, save, skip, clear),
    progress);

  function show() {
    status.dataset.action = action || '';
    status.textContent = action ? t(STATUS[action]) : t('duress.status.none');
    clear.hidden = !action;
    save.textContent = action ? t('duress.replace') : t('duress.save');
  }

  function setBusy(on, text = '') {
    busy = on;
    save.disabled = on;
    clear.disabled = on;
    if (skip) skip.disabled = on;
    pass.readOnly = on;
    confirm.readOnly = on;
    progress.hidden = !on;
    progress.textContent = text;
    form.setAttribute('aria-busy', String(on));
  }

  function message(err) {
    if (err.kind === 'passphrase_mismatch') return t('create.mismatch');
    if (err.kind === 'invalid' && /differ/.test(err.message)) return t('duress.same');
    return errorText(err);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    error.hidden = true;
    if (!pass.value) {
      error.textContent = t('duress.empty');
      error.hidden = false;
      pass.focus();
      return;
    }
    if (pass.value !== confirm.value) {
      error.textContent = t('create.mismatch');
      error.hidden = false;
      confirm.focus();
      return;
    }
    const chosen = form.querySelector('input[name=duress-action]:checked')?.value || 'decoy';
    setBusy(true, t('duress.busy'));
    try {
      ({ action } = await api.setDuress(pass.value, confirm.value, chosen));
      pass.value = '';
      confirm.value = '';
      show();
      app.notify(t(chosen === 'decoy' ? 'duress.saved.decoy' : 'duress.saved.wipe'));
      setBusy(false);
      onDone?.();
    } catch (err) {
      setBusy(false);
      error.textContent = message(err);
      error.hidden = false;
      pass.focus();
    }
  });

  async function clearIt() {
    const ok = await app.confirm(t('duress.clear.confirm'), {
      title: t('duress.clear'), confirmLabel: t('duress.clear'), danger: true, purpose: 'duress-clear',
    });
    if (!ok) return;
    setBusy(true, t('duress.busy'));
    try {
      ({ action } = await api.clearDuress());
      show();
      app.notify(t('duress.cleared'));
    } catch (err) {
      error.textContent = message(err);
      error.hidden = false;
    } finally {
      setBusy(false);
    }
  }

  api.duressStatus().then((s) => {
    action = s.action || null;
    show();
  }).catch(() => show());
  show();

  // After creation the offer starts small: what it is, "set one now" or "skip".
  const body = h('div', { class: 'duress-body', hidden: firstRun },
    h('p', { text: t('duress.decoy.text') }),
    h('div', { id: 'duress-limits', class: 'callout warning', attrs: { role: 'note' } },
      h('p', { class: 'callout-title', text: t('duress.limits.title') }),
      h('ul', {},
        h('li', { text: t('duress.limits.image') }),
        h('li', { text: t('duress.limits.known') }),
        h('li', { text: t('duress.limits.settings') }))),
    firstRun ? null : status,
    form);
  const opener = firstRun ? h('div', { class: 'actions' },
    h('button', { type: 'button', id: 'duress-open', class: 'button primary', text: t('duress.open'),
      on: { click: (e) => {
        body.hidden = false;
        e.currentTarget.parentElement.hidden = true;
        pass.focus();
      } } }),
    h('button', { type: 'button', class: 'button secondary', id: 'duress-skip', text: t('duress.skip'),
      on: { click: () => onDone?.() } })) : null;

  const el = h('section', { class: ['card', firstRun ? 'duress-offer' : null], id: 'duress-card',
    attrs: { 'aria-labelledby': 'duress-title' } },
    h('h2', { id: 'duress-title', text: firstRun ? t('duress.step.title') : t('duress.title') }),
    firstRun ? h('p', { class: 'lead', text: t('duress.step.intro') }) : null,
    h('p', { text: t('duress.intro') }),
    opener,
    body);

  return {
    el,
    isDirty: () => pass.isConnected && (pass.value !== '' || confirm.value !== ''),
    destroy() {
      pass.value = '';
      confirm.value = '';
    },
  };
}

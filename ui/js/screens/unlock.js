// Unlock the vault.
//
// The backend slows down repeated wrong guesses, so a call can take several seconds:
// the button says "Checking…" and stays disabled until the answer comes. It counts
// them (across restarts); when "wipe after N failed unlocks" is on, the screen says how
// many are left, and after the last one the backend wipes the vault and the first-run
// screen follows. The panic wipe is here too (#unlock-wipe), behind its typed word.
//
// A duress passphrase looks like any other here: a decoy opens like the vault, and a
// duress wipe answers "wrong passphrase".

import * as api from '../api.js';
import { h } from '../dom.js';
import { t, formatNumber } from '../i18n.js';
import { errorText } from '../fields.js';
import { panicWipe } from '../wipe.js';

const NOTICES = {
  manual: 'unlock.notice.locked',
  shortcut: 'unlock.notice.locked',
  auto: 'unlock.notice.auto',
  suspend: 'unlock.notice.suspend',
  session: 'unlock.notice.session',
  backend: 'unlock.notice.backend',
};

export async function render(app, params = {}) {
  let busy = false;
  // The backend's count of failed unlocks (it decides the delay and the wipe).
  let counts = await api.unlockState().catch(() => ({ failures: 0, wipeAfter: null, delaySeconds: 0 }));

  const pass = h('input', { id: 'unlock-passphrase', type: 'password', name: 'passphrase',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'unlock-error' } });
  const submit = h('button', { type: 'submit', id: 'unlock-submit', class: 'button primary', text: t('unlock.submit') });
  const error = h('p', { id: 'unlock-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  const noticeKey = NOTICES[params.notice];
  const notice = h('p', { id: 'unlock-notice', class: 'callout info', hidden: !noticeKey,
    attrs: { role: 'status' }, text: noticeKey ? t(noticeKey) : '' });
  if (params.error) {
    error.textContent = params.error.kind === 'draft_not_saved'
      ? t('unlock.draft_failed')
      : `${t('unlock.lock_failed')} ${errorText(params.error)}`;
    error.hidden = false;
  }
  const wipeWarning = h('p', { id: 'unlock-wipe-warning', class: 'callout warning', hidden: true, attrs: { role: 'status' } });
  function showCounts() {
    const left = counts.wipeAfter ? counts.wipeAfter - counts.failures : null;
    wipeWarning.hidden = !(left !== null && counts.failures > 0 && left > 0);
    wipeWarning.textContent = wipeWarning.hidden ? ''
      : t(left === 1 ? 'unlock.wipe_warning.last' : 'unlock.wipe_warning', { left: formatNumber(left) });
  }
  showCounts();

  function setBusy(on) {
    busy = on;
    submit.disabled = on;
    pass.readOnly = on;
    submit.textContent = on ? t('unlock.checking') : t('unlock.submit');
    form.setAttribute('aria-busy', String(on));
  }

  const form = h('form', { id: 'unlock-form', class: 'card form', attrs: { autocomplete: 'off', novalidate: true } },
    h('div', { class: 'field' },
      h('label', { for: 'unlock-passphrase', text: t('unlock.passphrase') }),
      pass),
    error,
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    if (!pass.value) {
      error.textContent = t('unlock.empty');
      error.hidden = false;
      pass.focus();
      return;
    }
    error.hidden = true;
    notice.hidden = true;
    setBusy(true);
    try {
      await api.unlockVault(pass.value);
      pass.value = '';
      await app.unlocked();
    } catch (err) {
      if (err.kind === 'wiped_after_failures') {
        pass.value = '';
        await app.wiped({ afterFailures: counts.wipeAfter });
        return;
      }
      setBusy(false);
      counts = await api.unlockState().catch(() => counts);
      showCounts();
      error.textContent = err.kind === 'wrong_passphrase'
        ? [t('unlock.wrong'), counts.failures >= 2 ? t('unlock.slowed') : ''].filter(Boolean).join(' ')
        : errorText(err);
      error.hidden = false;
      pass.setAttribute('aria-invalid', 'true');
      pass.focus();
      pass.select();
    }
  });
  pass.addEventListener('input', () => pass.removeAttribute('aria-invalid'));

  const wipe = h('div', { class: 'unlock-wipe' },
    h('button', { type: 'button', id: 'unlock-wipe', class: 'button link danger-link', text: t('wipe.open'),
      on: { click: () => {
        if (!busy) panicWipe(app);
      } } }));

  const el = h('section', { id: 'screen-unlock', class: 'screen narrow', attrs: { 'aria-labelledby': 'unlock-title' } },
    h('h1', { id: 'unlock-title', text: t('unlock.title') }),
    h('p', { class: 'lead', text: t('unlock.intro') }),
    notice,
    wipeWarning,
    form,
    wipe);

  return {
    el,
    focus: pass,
    destroy() {
      pass.value = '';
    },
  };
}

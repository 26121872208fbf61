// Unlock the vault.
//
// The backend slows down repeated wrong guesses, so a call can take several seconds:
// the button says "Checking…" and stays disabled until the answer comes.

import * as api from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { errorText } from '../fields.js';

const NOTICES = {
  manual: 'unlock.notice.locked',
  shortcut: 'unlock.notice.locked',
  auto: 'unlock.notice.auto',
  backend: 'unlock.notice.backend',
};

// Wrong passphrases in a row in this session (the backend keeps its own count and
// decides the delay; this only tells the user why the next answer takes longer).
let wrongInARow = 0;

export function render(app, params = {}) {
  let busy = false;

  const pass = h('input', { id: 'unlock-passphrase', type: 'password', name: 'passphrase',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'unlock-error' } });
  const submit = h('button', { type: 'submit', id: 'unlock-submit', class: 'button primary', text: t('unlock.submit') });
  const error = h('p', { id: 'unlock-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  const noticeKey = NOTICES[params.notice];
  const notice = h('p', { id: 'unlock-notice', class: 'callout info', hidden: !noticeKey,
    attrs: { role: 'status' }, text: noticeKey ? t(noticeKey) : '' });
  if (params.error) {
    error.textContent = `${t('unlock.lock_failed')} ${errorText(params.error)}`;
    error.hidden = false;
  }

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
      wrongInARow = 0;
      pass.value = '';
      await app.unlocked();
    } catch (err) {
      setBusy(false);
      if (err.kind === 'wrong_passphrase') wrongInARow += 1;
      error.textContent = err.kind === 'wrong_passphrase'
        ? [t('unlock.wrong'), wrongInARow >= 2 ? t('unlock.slowed') : ''].filter(Boolean).join(' ')
        : errorText(err);
      error.hidden = false;
      pass.setAttribute('aria-invalid', 'true');
      pass.focus();
      pass.select();
    }
  });
  pass.addEventListener('input', () => pass.removeAttribute('aria-invalid'));

  const el = h('section', { id: 'screen-unlock', class: 'screen narrow', attrs: { 'aria-labelledby': 'unlock-title' } },
    h('h1', { id: 'unlock-title', text: t('unlock.title') }),
    h('p', { class: 'lead', text: t('unlock.intro') }),
    notice,
    form);

  return {
    el,
    focus: pass,
    destroy() {
      pass.value = '';
    },
  };
}

// Settings: the language (switches at once) and the auto-lock delay. Both are kept by
// the backend (get_settings / set_settings), never in the webview.

import { h } from '../dom.js';
import { t, LANGUAGES, lang, formatNumber } from '../i18n.js';
import { errorText } from '../fields.js';

const MIN_MINUTES = 1;
const MAX_MINUTES = 240; // the backend accepts 1–240

export function render(app) {
  const settings = app.settings;

  const language = h('select', { id: 'language', name: 'language', attrs: { 'aria-describedby': 'language-hint' } },
    LANGUAGES.map((code) => h('option', { value: code, text: t(`lang.${code}`), selected: code === lang(), attrs: { lang: code } })));
  language.value = lang();
  language.addEventListener('change', () => app.setLanguage(language.value));

  const minutes = h('input', { id: 'auto-lock', name: 'autoLockMinutes', type: 'number',
    value: String(settings.autoLockMinutes ?? 10),
    attrs: { min: MIN_MINUTES, max: MAX_MINUTES, step: 1, inputmode: 'numeric', autocomplete: 'off',
      'aria-describedby': 'auto-lock-hint field-error-auto-lock' } });
  const minutesError = h('p', { id: 'field-error-auto-lock', class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
  const saveButton = h('button', { type: 'submit', id: 'settings-save', class: 'button primary', text: t('action.save') });
  const status = h('p', { id: 'settings-status', class: 'muted', attrs: { role: 'status' } });

  const form = h('form', { id: 'settings-form', class: 'card form', attrs: { autocomplete: 'off', novalidate: true } },
    h('div', { class: 'field' },
      h('label', { for: 'language', text: t('settings.language') }),
      h('p', { id: 'language-hint', class: 'field-hint', text: t('settings.language.hint') }),
      language),
    h('div', { class: 'field' },
      h('label', { for: 'auto-lock', text: t('settings.auto_lock') }),
      h('p', { id: 'auto-lock-hint', class: 'field-hint',
        text: t('settings.auto_lock.hint', { min: formatNumber(MIN_MINUTES), max: formatNumber(MAX_MINUTES) }) }),
      minutes, minutesError),
    h('div', { class: 'actions' }, saveButton),
    status);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    minutesError.hidden = true;
    minutes.removeAttribute('aria-invalid');
    const n = Number(minutes.value);
    if (!Number.isInteger(n) || n < MIN_MINUTES || n > MAX_MINUTES) {
      minutesError.textContent = t('settings.auto_lock.invalid', { min: formatNumber(MIN_MINUTES), max: formatNumber(MAX_MINUTES) });
      minutesError.hidden = false;
      minutes.setAttribute('aria-invalid', 'true');
      minutes.focus();
      return;
    }
    saveButton.disabled = true;
    try {
      await app.saveSettings({ autoLockMinutes: n, language: lang() });
      status.textContent = t('settings.saved');
    } catch (err) {
      minutesError.textContent = errorText(err);
      minutesError.hidden = false;
    } finally {
      saveButton.disabled = false;
    }
  });

  const el = h('section', { id: 'screen-settings', class: 'screen narrow', attrs: { 'aria-labelledby': 'settings-title' } },
    h('h1', { id: 'settings-title', text: t('settings.title') }),
    form,
    h('section', { class: 'card', id: 'lock-help', attrs: { 'aria-labelledby': 'lock-help-title' } },
      h('h2', { id: 'lock-help-title', text: t('settings.lock.title') }),
      h('p', { text: t('settings.lock.text', { shortcut: app.lockShortcut() }) })));

  return {
    el,
    isDirty: () => minutes.isConnected && minutes.value !== String(app.settings.autoLockMinutes ?? 10),
  };
}

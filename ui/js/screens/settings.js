// Settings: the language (switches at once), the auto-lock delay and "wipe after N
// failed unlocks", all kept by the backend (get_settings / set_settings) in its
// settings file, never in the webview; the way to the Sync screen; the key backup:
// printable shares of the vault key with their QR codes, shown once and never stored;
// the duress passphrase (js/duress.js); checking a package the user brought (the app
// downloads nothing: an update is a file checked here, then installed); and the panic
// wipe (js/wipe.js).

import * as api from '../api.js';
import { h, qrSvg, replace, userText } from '../dom.js';
import { t, LANGUAGES, lang, formatNumber, isReviewed, languageOption } from '../i18n.js';
import { errorText, textField } from '../fields.js';
import { duressSection } from '../duress.js';
import { panicWipe } from '../wipe.js';

const MIN_MINUTES = 1;
const MAX_MINUTES = 240; // the backend accepts 1–240
const MIN_WIPE = 3;
const MAX_WIPE = 20; // the backend accepts 3–20
const DEFAULT_WIPE = 10;

export function render(app) {
  const settings = app.settings;

  // An unreviewed translation says so, in the menu and under it.
  const reviewed = isReviewed(lang());
  const notReviewed = reviewed ? null
    : h('p', { id: 'language-not-reviewed', class: 'field-hint', text: t('settings.language.not_reviewed') });
  const language = h('select', { id: 'language', name: 'language',
    attrs: { 'aria-describedby': reviewed ? 'language-hint' : 'language-hint language-not-reviewed' } },
  LANGUAGES.map((l) => languageOption(l.code)));
  language.value = lang();
  language.addEventListener('change', () => app.setLanguage(language.value));

  const minutes = h('input', { id: 'auto-lock', name: 'autoLockMinutes', type: 'number',
    value: String(settings.autoLockMinutes ?? 5),
    attrs: { min: MIN_MINUTES, max: MAX_MINUTES, step: 1, inputmode: 'numeric', autocomplete: 'off',
      'aria-describedby': 'auto-lock-hint field-error-auto-lock' } });
  const minutesError = h('p', { id: 'field-error-auto-lock', class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
  // Wipe after N failed unlocks: off by default; a warning shows as soon as it is on.
  const wipeOn = h('input', { id: 'wipe-after-enabled', type: 'checkbox', checked: Boolean(settings.wipeAfterFailures),
    attrs: { 'aria-describedby': 'wipe-after-hint' } });
  const wipeCount = h('input', { id: 'wipe-after-count', name: 'wipeAfterFailures', type: 'number',
    value: String(settings.wipeAfterFailures || DEFAULT_WIPE),
    attrs: { min: MIN_WIPE, max: MAX_WIPE, step: 1, inputmode: 'numeric', autocomplete: 'off',
      'aria-describedby': 'field-error-wipe-after' } });
  const wipeError = h('p', { id: 'field-error-wipe-after', class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
  const wipeWarning = h('div', { id: 'wipe-after-warning', class: 'callout warning', attrs: { role: 'alert' } },
    h('p', { class: 'callout-title', text: t('settings.wipe_after.warning.title') }),
    h('p', { text: t('settings.wipe_after.warning') }));
  const wipeCountField = h('div', { class: 'field' },
    h('label', { for: 'wipe-after-count', text: t('settings.wipe_after.count') }),
    wipeCount, wipeError);
  const syncWipe = () => {
    wipeWarning.hidden = !wipeOn.checked;
    wipeCountField.hidden = !wipeOn.checked;
  };
  wipeOn.addEventListener('change', syncWipe);
  syncWipe();
  const wipeAfter = () => (wipeOn.checked ? Number(wipeCount.value) : null);
  const saveButton = h('button', { type: 'submit', id: 'settings-save', class: 'button primary', text: t('action.save') });
  const status = h('p', { id: 'settings-status', class: 'muted', attrs: { role: 'status' } });

  const form = h('form', { id: 'settings-form', class: 'card form', attrs: { autocomplete: 'off', novalidate: true } },
    h('div', { class: 'field' },
      h('label', { for: 'language', text: t('settings.language') }),
      h('p', { id: 'language-hint', class: 'field-hint', text: t('settings.language.hint') }),
      language, notReviewed),
    h('div', { class: 'field' },
      h('label', { for: 'auto-lock', text: t('settings.auto_lock') }),
      h('p', { id: 'auto-lock-hint', class: 'field-hint',
        text: t('settings.auto_lock.hint', { min: formatNumber(MIN_MINUTES), max: formatNumber(MAX_MINUTES) }) }),
      minutes, minutesError),
    h('fieldset', { id: 'wipe-after', class: 'field' },
      h('legend', { text: t('settings.wipe_after') }),
      h('p', { id: 'wipe-after-hint', class: 'field-hint',
        text: t('settings.wipe_after.hint', { min: formatNumber(MIN_WIPE), max: formatNumber(MAX_WIPE) }) }),
      h('div', { class: 'check' }, wipeOn, h('label', { for: 'wipe-after-enabled', text: t('settings.wipe_after.enable') })),
      wipeWarning,
      wipeCountField),
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
    wipeError.hidden = true;
    wipeCount.removeAttribute('aria-invalid');
    const wipe = wipeAfter();
    if (wipe !== null && !(Number.isInteger(wipe) && wipe >= MIN_WIPE && wipe <= MAX_WIPE)) {
      wipeError.textContent = t('settings.wipe_after.invalid', { min: formatNumber(MIN_WIPE), max: formatNumber(MAX_WIPE) });
      wipeError.hidden = false;
      wipeCount.setAttribute('aria-invalid', 'true');
      wipeCount.focus();
      return;
    }
    // Turning the wipe on (or making it quicker) is confirmed with the warning once more.
    const before = app.settings.wipeAfterFailures;
    if (wipe !== null && (!before || wipe < before)) {
      const ok = await app.confirm(t('settings.wipe_after.confirm', { n: formatNumber(wipe) }), {
        title: t('settings.wipe_after.warning.title'),
        details: [t('settings.wipe_after.warning')],
        confirmLabel: t('settings.wipe_after.confirm.button'),
        danger: true,
        purpose: 'wipe-after',
      });
      if (!ok) return;
    }
    saveButton.disabled = true;
    try {
      await app.saveSettings({ autoLockMinutes: n, language: lang(), wipeAfterFailures: wipe });
      status.textContent = t('settings.saved');
    } catch (err) {
      minutesError.textContent = errorText(err);
      minutesError.hidden = false;
    } finally {
      saveButton.disabled = false;
    }
  });

  const backup = keyBackupSection();
  const duress = duressSection(app);

  const el = h('section', { id: 'screen-settings', class: 'screen narrow', attrs: { 'aria-labelledby': 'settings-title' } },
    h('h1', { id: 'settings-title', text: t('settings.title') }),
    form,
    h('section', { class: 'card', id: 'sync-settings-link', attrs: { 'aria-labelledby': 'settings-sync-title' } },
      h('h2', { id: 'settings-sync-title', text: t('sync.title') }),
      h('p', { text: t('settings.sync.text') }),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'open-sync', class: 'button secondary', text: t('settings.sync.open'),
          on: { click: () => app.navigate('sync') } }))),
    backup.el,
    h('section', { class: 'card', id: 'lock-help', attrs: { 'aria-labelledby': 'lock-help-title' } },
      h('h2', { id: 'lock-help-title', text: t('settings.lock.title') }),
      h('p', { text: t('settings.lock.text', { shortcut: app.lockShortcut() }) }),
      h('p', { text: t('settings.lock.desktop') })),
    duress.el,
    packageSection().el,
    h('section', { class: 'card danger-zone', id: 'wipe-card', attrs: { 'aria-labelledby': 'wipe-card-title' } },
      h('h2', { id: 'wipe-card-title', text: t('wipe.title') }),
      h('p', { text: t('wipe.intro') }),
      h('p', { text: t('wipe.intro.after') }),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'wipe-vault', class: 'button danger', text: t('wipe.open'),
          on: { click: () => panicWipe(app) } }))));

  const wipeChanged = () => wipeAfter() !== (app.settings.wipeAfterFailures ?? null);
  return {
    el,
    isDirty: () => minutes.isConnected && (minutes.value !== String(app.settings.autoLockMinutes ?? 5)
      || wipeChanged() || duress.isDirty()),
    destroy: () => {
      backup.clear();
      duress.destroy();
    },
  };
}

/**
 * The key backup: how many shares, how many restore, then the shares one at a time.
 * Only the share on screen is in the page, so Print sends one share per print job: a
 * printer's memory, a spool folder or a "print to PDF" file never holds enough shares
 * to restore the key.
 */
function keyBackupSection() {
  const count = h('input', { id: 'backup-shares', type: 'number', value: '5',
    attrs: { min: 2, max: 20, step: 1, inputmode: 'numeric' } });
  const threshold = h('input', { id: 'backup-threshold', type: 'number', value: '3',
    attrs: { min: 2, max: 20, step: 1, inputmode: 'numeric' } });
  const error = h('p', { id: 'backup-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
  const cards = h('ol', { id: 'backup-cards', class: 'share-cards', hidden: true, attrs: { 'aria-live': 'polite' } });
  const hint = h('p', { id: 'backup-one-at-a-time', class: 'field-hint', hidden: true, text: t('backup.one_at_a_time') });
  const previous = h('button', { type: 'button', id: 'backup-previous', class: 'button secondary', text: t('backup.previous'),
    on: { click: () => show(current - 1) } });
  const next = h('button', { type: 'button', id: 'backup-next', class: 'button secondary', text: t('backup.next'),
    on: { click: () => show(current + 1) } });
  const tools = h('div', { class: 'actions', hidden: true },
    previous,
    h('button', { type: 'button', id: 'backup-print', class: 'button primary', text: t('backup.print'),
      on: { click: () => window.print() } }),
    next,
    h('button', { type: 'button', id: 'backup-hide', class: 'button secondary', text: t('backup.hide'),
      on: { click: () => clear() } }));
  const make = h('button', { type: 'submit', id: 'backup-make', class: 'button primary', text: t('backup.make') });
  let shares = [];
  let current = 0;
  let made = { k: 0, n: 0 };

  function clear() {
    shares = [];
    current = 0;
    cards.replaceChildren();
    cards.hidden = true;
    hint.hidden = true;
    tools.hidden = true;
  }

  /** Puts share `i` (and only it) in the page. */
  function show(i) {
    if (i < 0 || i >= shares.length) return;
    current = i;
    const s = shares[i];
    const fingerprint = s.text.split(':')[1] || '';
    replace(cards, h('li', { class: 'share-card', testid: 'share-card' },
      h('h3', { text: t('backup.card.title', { n: formatNumber(s.number), total: formatNumber(made.n) }) }),
      h('p', { class: 'field-hint', text: t('backup.card.text', { k: formatNumber(made.k), total: formatNumber(made.n), fingerprint }) }),
      qrSvg(s.size, s.modules, t('backup.card.qr', { n: formatNumber(s.number) })),
      h('code', { class: 'share-text', dir: 'ltr', testid: 'share-text', text: s.text })));
    previous.disabled = i === 0;
    next.disabled = i === shares.length - 1;
  }

  const form = h('form', { id: 'backup-form', class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    h('div', { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'backup-shares', text: t('backup.shares') }), count),
      h('div', { class: 'field' }, h('label', { for: 'backup-threshold', text: t('backup.threshold') }), threshold)),
    error,
    h('div', { class: 'actions' }, make));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const n = Number(count.value);
    const k = Number(threshold.value);
    if (!Number.isInteger(n) || !Number.isInteger(k) || k < 2 || k > n || n > 20) {
      error.textContent = t('backup.invalid');
      error.hidden = false;
      return;
    }
    make.disabled = true;
    try {
      clear();
      shares = await api.keyBackup(k, n);
      made = { k, n };
      show(0);
      cards.hidden = false;
      hint.hidden = false;
      tools.hidden = false;
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      make.disabled = false;
    }
  });

  const el = h('section', { class: 'card', id: 'key-backup', attrs: { 'aria-labelledby': 'backup-title' } },
    h('h2', { id: 'backup-title', text: t('backup.title') }),
    h('p', { text: t('backup.intro') }),
    h('p', { class: 'callout warning', text: t('backup.warning') }),
    form, hint, cards, tools);
  return { el, clear };
}

/** A path in a shell command, quoted when it holds anything a shell would read. */
function shellPath(path) {
  return /^[\w./+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * Packages and updates: the user brings a package with the release's SHA256SUMS and
 * SHA256SUMS.minisig, chooses it (the system's file chooser, or its path typed), and
 * the backend checks it against the release keys built into the app. The result is
 * shown here: genuine (name, version against this one, key, SHA-256, and how to install
 * it) or refused (why, with the check's own detail).
 */
function packageSection() {
  const path = textField({ id: 'package-path', key: 'package-path', label: t('settings.package.file'),
    hint: t('settings.package.file.hint') });
  path.input.dir = 'ltr';
  path.input.spellcheck = false;
  const choose = h('button', { type: 'button', id: 'package-choose', class: 'button primary',
    text: t('settings.package.choose') });
  const submit = h('button', { type: 'submit', id: 'package-check', class: 'button secondary',
    text: t('settings.package.check') });
  const result = h('div', { id: 'package-result', class: 'callout', hidden: true,
    attrs: { role: 'status', 'aria-live': 'polite' } });
  let busy = false;

  async function check(file) {
    if (busy || !file) return;
    busy = true;
    choose.disabled = true;
    submit.disabled = true;
    submit.textContent = t('settings.package.checking');
    try {
      show(await api.checkPackage(file));
    } catch (err) {
      refused(err);
    } finally {
      busy = false;
      choose.disabled = false;
      submit.disabled = false;
      submit.textContent = t('settings.package.check');
      result.hidden = false;
    }
  }

  function show(c) {
    result.className = 'callout success';
    result.dataset.outcome = 'genuine';
    result.dataset.update = c.update;
    const version = c.version ?? '';
    const older = c.update === 'older';
    const against = {
      newer: t('settings.package.newer', { version, running: c.running }),
      same: t('settings.package.same', { version }),
      older: version,
    }[c.update] ?? t('settings.package.unknown');
    const rows = [
      [t('settings.package.name'), userText(c.file, { dir: 'ltr' })],
      [t('settings.package.version'), h('span', { testid: 'package-version', text: against })],
      [t('settings.package.key'), h('span', { dir: 'ltr', text: `${c.key} (${c.key_id})` })],
      ['SHA-256', h('code', { class: 'hash', dir: 'ltr', testid: 'package-sha256', text: c.sha256 })],
      [t('settings.package.comment'), userText(c.comment, { dir: 'ltr' })],
    ];
    // What to do with the file: an older one is not installed (it would undo fixes).
    let advice;
    if (older) {
      advice = h('p', { class: 'callout warning', testid: 'package-advice',
        text: t('settings.package.older', { version, running: c.running }) });
    } else if (/\.deb$/i.test(c.file)) {
      advice = h('p', { testid: 'package-advice',
        text: t('settings.package.install_deb', { command: `sudo apt install ${shellPath(c.path)}` }) });
    } else {
      advice = h('p', { testid: 'package-advice', text: t('settings.package.install_other') });
    }
    replace(result,
      h('p', { class: 'callout-title', text: t('settings.package.genuine') }),
      c.test_key ? h('p', { class: 'callout warning', text: t('settings.package.test_key') }) : null,
      h('dl', { class: 'details' }, rows.map(([term, value]) => [h('dt', { text: term }), h('dd', {}, value)])),
      advice);
  }

  function refused(err) {
    result.className = 'callout refused';
    result.dataset.outcome = 'refused';
    result.dataset.kind = err?.kind ?? 'unknown';
    delete result.dataset.update;
    // The sentence in the user's language, then the check's own English words (the file
    // or key they name) apart from it, isolated so that a right-to-left page keeps their
    // order.
    replace(result,
      h('p', { class: 'callout-title', text: t('settings.package.refused') }),
      h('p', { testid: 'package-error', text: errorText({ kind: err?.kind }) }),
      err?.message ? h('p', { class: 'field-hint' },
        h('bdi', { dir: 'ltr', testid: 'package-detail', text: err.message })) : null);
  }

  choose.addEventListener('click', async () => {
    try {
      const chosen = await api.pickFile(t('settings.package.choose.title'));
      if (chosen) {
        path.input.value = chosen;
        await check(chosen);
      }
    } catch (err) {
      refused(err);
      result.hidden = false;
    }
  });

  const form = h('form', { id: 'package-form', class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    h('div', { class: 'path-row' }, path.wrap, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    check(path.input.value.trim());
  });

  const el = h('section', { class: 'card', id: 'package-card', attrs: { 'aria-labelledby': 'package-title' } },
    h('h2', { id: 'package-title', text: t('settings.package.title') }),
    h('p', { text: t('settings.package.intro') }),
    h('div', { class: 'actions' }, choose),
    form,
    result);
  return { el };
}

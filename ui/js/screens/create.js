// First run: create the vault.
//
// A passphrase, typed twice, with a live strength meter (the backend's zxcvbn score,
// asked for at most every 300 ms). The button stays disabled until the backend calls
// the passphrase acceptable and both entries match. Then the case list, which offers an
// optional step first: a duress passphrase (js/duress.js).
//
// After a wipe (params.wiped) this screen says so first, with how long it took.

import * as api from '../api.js';
import { h } from '../dom.js';
import { t, has, formatNumber } from '../i18n.js';
import { errorText, formError } from '../fields.js';

const DEBOUNCE_MS = 300;

// zxcvbn's feedback, as the backend sends it (English), → our locale keys.
const FEEDBACK = {
  'Straight rows of keys are easy to guess.': 'zxcvbn.straight_rows',
  'Short keyboard patterns are easy to guess.': 'zxcvbn.short_keyboard_patterns',
  'Repeats like "aaa" are easy to guess.': 'zxcvbn.simple_repeats',
  'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': 'zxcvbn.repeated_patterns',
  'This is a top-10 common password.': 'zxcvbn.top10',
  'This is a top-100 common password.': 'zxcvbn.top100',
  'This is a very common password.': 'zxcvbn.common',
  'This is similar to a commonly used password.': 'zxcvbn.similar_to_common',
  'Sequences like abc or 6543 are easy to guess.': 'zxcvbn.sequences',
  'Recent years are easy to guess.': 'zxcvbn.recent_years',
  'A word by itself is easy to guess.': 'zxcvbn.word_by_itself',
  'Dates are often easy to guess.': 'zxcvbn.dates',
  'Names and surnames by themselves are easy to guess.': 'zxcvbn.names_by_themselves',
  'Common names and surnames are easy to guess.': 'zxcvbn.common_names',
  'Use a few words, avoid common phrases.': 'zxcvbn.use_a_few_words',
  'No need for symbols, digits, or uppercase letters.': 'zxcvbn.no_need_for_symbols',
  'Add another word or two. Uncommon words are better.': 'zxcvbn.add_another_word',
  "Capitalization doesn't help very much.": 'zxcvbn.capitalization',
  'All-uppercase is almost as easy to guess as all-lowercase.': 'zxcvbn.all_uppercase',
  "Reversed words aren't much harder to guess.": 'zxcvbn.reversed_words',
  "Predictable substitutions like '@' instead of 'a' don't help very much.": 'zxcvbn.substitutions',
  'Use a longer keyboard pattern with more turns.': 'zxcvbn.longer_keyboard_pattern',
  'Avoid repeated words and characters.': 'zxcvbn.avoid_repeats',
  'Avoid sequences.': 'zxcvbn.avoid_sequences',
  'Avoid recent years.': 'zxcvbn.avoid_recent_years',
  'Avoid years that are associated with you.': 'zxcvbn.avoid_associated_years',
  'Avoid dates and years that are associated with you.': 'zxcvbn.avoid_associated_dates',
};

function feedback(text) {
  const key = FEEDBACK[text];
  return key && has(key) ? t(key) : text;
}

/** The message after a wipe: how fast (panic wipe) or why (failed unlocks). */
function wipedNotice(wiped) {
  if (!wiped) return null;
  const text = wiped.afterFailures
    ? t('wipe.done.failures', { n: formatNumber(wiped.afterFailures) })
    : t('wipe.done', {
      keys: formatNumber(Math.round(wiped.keysDestroyedMs * 10) / 10),
      total: formatNumber(Math.round(wiped.totalMs * 10) / 10),
    });
  return h('div', { id: 'wipe-result', class: 'callout info', attrs: { role: 'status' } },
    h('p', { text }),
    h('p', { text: t('wipe.done.after') }));
}

export function render(app, params = {}) {
  let timer = null;
  let asked = 0; // sequence number of the latest strength request
  let strength = null; // the latest answer for the current passphrase
  let busy = false;

  const pass = h('input', { id: 'create-passphrase', type: 'password', name: 'passphrase',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'strength-label strength-feedback' } });
  const confirm = h('input', { id: 'create-confirm', type: 'password', name: 'confirmation',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'create-mismatch' } });
  const show = h('input', { id: 'create-show', type: 'checkbox' });

  const bar = h('div', { class: 'strength-bar' }, [0, 1, 2, 3, 4].map(() => h('span', { class: 'strength-step' })));
  const meter = h('div', { id: 'strength-meter', class: 'strength-meter', data: { score: '' },
    attrs: { role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '4', 'aria-valuenow': '0',
      'aria-labelledby': 'strength-title', 'aria-valuetext': t('strength.none') } }, bar);
  const label = h('p', { id: 'strength-label', class: 'strength-label', text: t('strength.none') });
  const warning = h('p', { id: 'strength-warning', class: 'strength-warning', hidden: true });
  const suggestions = h('ul', { id: 'strength-suggestions', class: 'strength-suggestions', hidden: true });
  const mismatch = h('p', { id: 'create-mismatch', class: 'field-error', hidden: true, text: t('create.mismatch') });
  const submit = h('button', { type: 'submit', id: 'create-submit', class: 'button primary', disabled: true, text: t('create.submit') });
  const status = h('p', { id: 'create-status', class: 'busy-note', hidden: true, attrs: { role: 'status' } });
  const error = formError('create-error');

  function update() {
    const matches = pass.value.length > 0 && pass.value === confirm.value;
    mismatch.hidden = !(confirm.value.length > 0 && !matches);
    if (!mismatch.hidden) confirm.setAttribute('aria-invalid', 'true');
    else confirm.removeAttribute('aria-invalid');
    submit.disabled = busy || !(strength?.acceptable && matches);
  }

  function showStrength(s) {
    strength = s;
    const score = s ? s.score : null;
    meter.dataset.score = score === null ? '' : String(score);
    meter.setAttribute('aria-valuenow', String(score ?? 0));
    const text = score === null ? t('strength.none') : t(`strength.${score}`);
    meter.setAttribute('aria-valuetext', text);
    label.textContent = s ? `${text} — ${s.acceptable ? t('strength.acceptable') : t('strength.not_acceptable')}` : text;
    label.dataset.acceptable = s ? String(s.acceptable) : '';
    warning.hidden = !s?.warning;
    warning.textContent = s?.warning ? feedback(s.warning) : '';
    suggestions.replaceChildren(...(s?.suggestions || []).map((x) => h('li', { text: feedback(x) })));
    suggestions.hidden = !(s?.suggestions || []).length;
    update();
  }

  function askStrength() {
    clearTimeout(timer);
    strength = null;
    update();
    const value = pass.value;
    if (!value) {
      asked++;
      showStrength(null);
      return;
    }
    label.textContent = t('strength.checking');
    timer = setTimeout(async () => {
      const mine = ++asked;
      try {
        const s = await api.passphraseStrength(value);
        if (mine === asked && value === pass.value) showStrength(s);
      } catch (e) {
        if (mine === asked) {
          showStrength(null);
          error.textContent = errorText(e);
          error.hidden = false;
        }
      }
    }, DEBOUNCE_MS);
  }

  pass.addEventListener('input', askStrength);
  confirm.addEventListener('input', update);
  show.addEventListener('change', () => {
    pass.type = show.checked ? 'text' : 'password';
    confirm.type = show.checked ? 'text' : 'password';
  });

  const form = h('form', { id: 'create-form', class: 'card form', attrs: { autocomplete: 'off', novalidate: true } },
    h('div', { class: 'field' },
      h('label', { for: 'create-passphrase', text: t('create.passphrase') }),
      h('p', { class: 'field-hint', id: 'create-passphrase-hint', text: t('create.passphrase.hint') }),
      pass),
    h('div', { class: 'strength', attrs: { 'aria-live': 'polite' } },
      h('p', { id: 'strength-title', class: 'strength-title', text: t('strength.title') }),
      meter, label,
      h('div', { id: 'strength-feedback' }, warning, suggestions)),
    h('div', { class: 'field' },
      h('label', { for: 'create-confirm', text: t('create.confirm') }),
      confirm, mismatch),
    h('div', { class: 'check' }, show, h('label', { for: 'create-show', text: t('create.show') })),
    error,
    h('div', { class: 'actions' }, submit),
    status);
  pass.setAttribute('aria-describedby', 'create-passphrase-hint strength-label strength-feedback');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    update();
    if (submit.disabled) return;
    busy = true;
    submit.disabled = true;
    pass.disabled = true;
    confirm.disabled = true;
    error.hidden = true;
    status.hidden = false;
    status.textContent = t('create.busy');
    form.setAttribute('aria-busy', 'true');
    try {
      await api.createVault(pass.value, confirm.value);
      pass.value = '';
      confirm.value = '';
      app.notify(t('create.done'));
      await app.unlocked({ name: 'cases', params: { offerDuress: true } });
    } catch (err) {
      busy = false;
      pass.disabled = false;
      confirm.disabled = false;
      status.hidden = true;
      form.removeAttribute('aria-busy');
      error.textContent = errorText(err);
      error.hidden = false;
      update();
      pass.focus();
    }
  });

  const el = h('section', { id: 'screen-create', class: 'screen narrow', attrs: { 'aria-labelledby': 'create-title' } },
    h('h1', { id: 'create-title', text: t('create.title') }),
    wipedNotice(params.wiped),
    h('p', { class: 'lead', text: t('create.intro') }),
    h('div', { id: 'create-warning', class: 'callout warning', attrs: { role: 'note' } },
      h('h2', { class: 'callout-title', text: t('create.warning.title') }),
      h('p', { text: t('create.warning') }),
      h('p', { text: t('create.warning.backup') })),
    form);

  return {
    el,
    focus: pass,
    destroy() {
      clearTimeout(timer);
      asked++;
      pass.value = '';
      confirm.value = '';
    },
  };
}

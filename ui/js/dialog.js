// The confirmation dialog (leave unsaved changes? delete this record?).
//
// An in-page <dialog>, not window.confirm(): its words are localized, it follows the
// page's direction, and a WebDriver test finds it by id (#confirm-dialog,
// #confirm-message, #confirm-ok, #confirm-cancel).

import { h } from './dom.js';
import { t, lang } from './i18n.js';

let open = null; // the pending {dialog, resolve, returnFocus}

/**
 * Asks a yes/no question. → Promise<boolean>. options: {title, confirmLabel,
 * cancelLabel, danger, purpose (→ data-purpose, for tests), details (more paragraphs),
 * typeWord: {words, label}, keepOnEscape (Escape does not answer "no")}.
 *
 * With typeWord, the second, deliberate step: the OK button stays disabled until one of
 * `words` is typed into the dialog's box (#confirm-word; case and surrounding spaces
 * do not matter), so that no single click can confirm.
 */
export function confirmDialog(message, options = {}) {
  if (open) close(false);
  const title = h('h2', { id: 'confirm-title', text: options.title || t('confirm.title') });
  const text = h('p', { id: 'confirm-message', text: message });
  const details = (options.details || []).map((d) => h('p', { class: 'confirm-detail', text: d }));
  const cancel = h('button', { type: 'button', id: 'confirm-cancel', class: 'button secondary',
    text: options.cancelLabel || t('action.cancel') });
  const ok = h('button', { type: 'button', id: 'confirm-ok',
    class: ['button', options.danger ? 'danger' : 'primary'],
    text: options.confirmLabel || t('action.confirm') });
  let typed = null;
  if (options.typeWord) {
    // Lower case as the UI language writes it (Turkish İ/i and I/ı), composed the same
    // way, so a word typed in either case on that language's keyboard matches.
    const fold = (w) => w.trim().normalize('NFC').toLocaleLowerCase(lang());
    const words = options.typeWord.words.map(fold);
    const input = h('input', { id: 'confirm-word', type: 'text',
      attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', dir: 'auto' } });
    const matches = () => words.includes(fold(input.value));
    ok.disabled = true;
    input.addEventListener('input', () => {
      ok.disabled = !matches();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && matches()) {
        e.preventDefault();
        ok.click();
      }
    });
    typed = h('div', { class: 'field confirm-word' },
      h('label', { for: 'confirm-word', text: options.typeWord.label }), input);
  }
  const dialog = h('dialog', { id: 'confirm-dialog', class: 'dialog', data: { purpose: options.purpose || null },
    attrs: { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message' } },
  title, text, details, typed, h('div', { class: 'actions' }, cancel, ok));
  document.body.append(dialog);

  const returnFocus = document.activeElement;
  return new Promise((resolve) => {
    open = { dialog, resolve, returnFocus };
    cancel.addEventListener('click', () => close(false));
    ok.addEventListener('click', () => {
      if (!ok.disabled) close(true);
    });
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      if (!options.keepOnEscape) close(false);
    });
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    (typed ? typed.querySelector('input') : options.danger ? cancel : ok).focus();
  });
}

/** Closes the open dialog, if any, with an answer (lock closes it with "no"). */
export function close(answer = false) {
  if (!open) return;
  const { dialog, resolve, returnFocus } = open;
  open = null;
  if (dialog.open && typeof dialog.close === 'function') dialog.close();
  dialog.remove();
  if (returnFocus?.isConnected) returnFocus.focus?.();
  resolve(answer);
}

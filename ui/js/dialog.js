// The confirmation dialog (leave unsaved changes? delete this record?).
//
// An in-page <dialog>, not window.confirm(): its words are localized, it follows the
// page's direction, and a WebDriver test finds it by id (#confirm-dialog,
// #confirm-message, #confirm-ok, #confirm-cancel).

import { h } from './dom.js';
import { t } from './i18n.js';

let open = null; // the pending {dialog, resolve, returnFocus}

/**
 * Asks a yes/no question. → Promise<boolean>. options: {title, confirmLabel,
 * cancelLabel, danger}.
 */
export function confirmDialog(message, options = {}) {
  if (open) close(false);
  const title = h('h2', { id: 'confirm-title', text: options.title || t('confirm.title') });
  const text = h('p', { id: 'confirm-message', text: message });
  const cancel = h('button', { type: 'button', id: 'confirm-cancel', class: 'button secondary',
    text: options.cancelLabel || t('action.cancel') });
  const ok = h('button', { type: 'button', id: 'confirm-ok',
    class: ['button', options.danger ? 'danger' : 'primary'],
    text: options.confirmLabel || t('action.confirm') });
  const dialog = h('dialog', { id: 'confirm-dialog', class: 'dialog',
    attrs: { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message' } },
  title, text, h('div', { class: 'actions' }, cancel, ok));
  document.body.append(dialog);

  const returnFocus = document.activeElement;
  return new Promise((resolve) => {
    open = { dialog, resolve, returnFocus };
    cancel.addEventListener('click', () => close(false));
    ok.addEventListener('click', () => close(true));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(false);
    });
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    (options.danger ? cancel : ok).focus();
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

// What every export dialog has in common (the export dialog of export.js, the patterns
// screen's chart export): the plain warning that the file is not encrypted, the option to
// encrypt it to an age recipient (age1…), the path (typed, or chosen with the system's
// save dialog), the error and the result, the run and close buttons, and the dialog
// itself (modal, closed by Escape unless an export runs).
//
// Ids, for a prefix P (`export`, `patterns-export`) and a path name F (`file`, `path`):
// #P-warning (#P-warning-title, #P-warning-text), #P-encrypt, #P-recipient
// (#P-recipient-hint, #field-error-P-recipient), #P-F (#P-F-hint, #field-error-P-F),
// the choose button (its own id), #P-error, #P-result, #P-run, #P-close.

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { errorText } from './fields.js';

/** True when an age recipient looks right (the backend checks it properly). */
export function looksLikeRecipient(text) {
  return /^age1[02-9ac-hj-np-z]{58}$/.test(text.trim());
}

/** Today as YYYY-MM-DD, for file names. */
export function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A whole number threshold from 1 to 10 000 (what the field holds), else null. */
export function thresholdOf(input) {
  const n = Number(input.value);
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : null;
}

/**
 * Builds the shared parts. options: prefix (P), path (F), chooseId, warning (the
 * warning's text), pathLabel, pathHint (a hint under the path, or null), chooseTitle
 * (the save dialog's title), suggested() (the name it proposes), ageSuffix() (true when
 * the path follows the encryption choice with `.age`), onEncrypt() (after the choice
 * changed).
 *
 * → the nodes (warning, encrypt, encryptRow, recipient, recipientField, path, pathRow,
 * choose, error, result, run, closeButton, actions) and:
 * - setPathHint(text): the hint under the path (null: none);
 * - checked(): clears the messages and checks the recipient and the path; → {path,
 *   recipient (null: plaintext)}, or null after pointing at what is wrong;
 * - failed(err, path): shows why an export failed (at the path, at the recipient, or
 *   in general); → the kind of the error;
 * - done(app, encrypted, children): shows what was written (children between the first
 *   line and the reminder that the file is plaintext) and tells the app.
 */
export function exportParts(options) {
  const p = options.prefix;
  const fileId = `${p}-${options.path}`;
  const warning = h('div', { id: `${p}-warning`, class: 'callout warning', attrs: { role: 'note' } },
    h('p', { class: 'callout-title', id: `${p}-warning-title`, text: t('export.warning.title') }),
    h('p', { id: `${p}-warning-text`, text: options.warning }));

  const encrypt = h('input', { type: 'checkbox', id: `${p}-encrypt`, name: 'encrypt' });
  const encryptRow = h('div', { class: 'field field-check' },
    h('div', { class: 'check' }, encrypt, h('label', { for: `${p}-encrypt`, text: t('export.encrypt') })));
  const recipient = h('input', { id: `${p}-recipient`, type: 'text', name: 'recipient', dir: 'ltr', spellcheck: false,
    attrs: { autocomplete: 'off', placeholder: 'age1…',
      'aria-describedby': `${p}-recipient-hint field-error-${p}-recipient` } });
  const recipientError = h('p', { id: `field-error-${p}-recipient`, class: 'field-error', hidden: true });
  const recipientField = h('div', { class: 'field', hidden: true },
    h('label', { for: `${p}-recipient`, text: t('export.recipient') }), recipient,
    h('p', { id: `${p}-recipient-hint`, class: 'field-hint', text: t('export.recipient.hint') }), recipientError);

  const path = h('input', { id: fileId, type: 'text', name: options.path, dir: 'ltr', spellcheck: false,
    attrs: { autocomplete: 'off' } });
  const pathError = h('p', { id: `field-error-${fileId}`, class: 'field-error', hidden: true });
  const pathHint = h('p', { id: `${fileId}-hint`, class: 'field-hint' });
  /** The hint under the path (null: none; it is then not read out either). */
  function setPathHint(text) {
    pathHint.textContent = text || '';
    pathHint.hidden = !text;
    path.setAttribute('aria-describedby', text ? `${fileId}-hint field-error-${fileId}` : `field-error-${fileId}`);
  }
  setPathHint(options.pathHint);
  const choose = h('button', { type: 'button', id: options.chooseId, class: 'button secondary', text: t('evidence.choose') });
  const pathRow = h('div', { class: 'path-row' },
    h('div', { class: 'field grow' }, h('label', { for: fileId, text: options.pathLabel }), path, pathHint, pathError),
    choose);

  const error = h('p', { id: `${p}-error`, class: 'form-error', hidden: true, attrs: { role: 'alert', tabindex: '-1' } });
  const result = h('div', { id: `${p}-result`, class: 'callout success', hidden: true, attrs: { role: 'status' } });
  const run = h('button', { type: 'submit', id: `${p}-run`, class: 'button primary', text: t('export.run') });
  const closeButton = h('button', { type: 'button', id: `${p}-close`, class: 'button secondary', text: t('action.cancel') });
  const actions = h('div', { class: 'actions' }, closeButton, run);

  encrypt.addEventListener('change', () => {
    recipientField.hidden = !encrypt.checked;
    // The suggested name follows the choice (.age when encrypted).
    if (!options.ageSuffix || options.ageSuffix()) {
      const v = path.value.trim();
      if (encrypt.checked && v && !v.endsWith('.age')) path.value = `${v}.age`;
      else if (!encrypt.checked && v.endsWith('.age')) path.value = v.slice(0, -4);
    }
    options.onEncrypt?.();
    if (encrypt.checked) recipient.focus();
  });
  choose.addEventListener('click', async () => {
    try {
      const chosen = await api.pickDestination(options.chooseTitle, options.suggested());
      if (chosen && path.isConnected) {
        path.value = chosen;
        pathError.hidden = true;
      }
    } catch (e) {
      error.textContent = errorText(e);
      error.hidden = false;
    }
  });

  const wrong = (input, message, text) => {
    message.textContent = text;
    message.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };

  function checked() {
    error.hidden = true;
    result.hidden = true;
    pathError.hidden = true;
    recipientError.hidden = true;
    path.removeAttribute('aria-invalid');
    recipient.removeAttribute('aria-invalid');
    const where = path.value.trim();
    const to = encrypt.checked ? recipient.value.trim() : null;
    if (encrypt.checked && !looksLikeRecipient(to || '')) {
      wrong(recipient, recipientError, to ? t('export.recipient.invalid') : t('error.required'));
      return null;
    }
    if (!where) {
      wrong(path, pathError, t('error.required'));
      return null;
    }
    return { path: where, recipient: to };
  }

  function failed(err, where) {
    if (err?.kind === 'file_exists') {
      wrong(path, pathError, t('export.exists', { path: where }));
    } else if (err?.kind === 'invalid_recipient') {
      wrong(recipient, recipientError, t('export.recipient.invalid'));
    } else {
      error.textContent = errorText(err);
      error.hidden = false;
      error.focus();
    }
    return err?.kind;
  }

  function done(app, encrypted, children) {
    replace(result,
      h('p', { text: encrypted ? t('export.done.encrypted') : t('export.done') }),
      children,
      encrypted ? null : h('p', { class: 'field-hint', text: t('export.done.reminder') }));
    result.hidden = false;
    closeButton.textContent = t('export.close');
    app.notify(encrypted ? t('export.done.encrypted') : t('export.done'));
  }

  return {
    warning, encrypt, encryptRow, recipient, recipientField, path, pathRow, choose,
    error, result, run, closeButton, actions, setPathHint, checked, failed, done,
  };
}

/**
 * Builds the dialog around a form: options id, titleId, title, formId, data (the
 * dialog's dataset), children (the form's).
 */
export function exportDialog(options) {
  const form = h('form', { id: options.formId, class: 'form', attrs: { novalidate: true, autocomplete: 'off' } },
    options.children);
  const dialog = h('dialog', { id: options.id, class: 'dialog export-dialog', data: options.data,
    attrs: { 'aria-labelledby': options.titleId } },
  h('h2', { id: options.titleId, text: options.title }), form);
  return { dialog, form };
}

/**
 * Shows a dialog as modal: its close button and Escape close it (close()) unless
 * busy() says an export runs; focus goes to `focus`.
 */
export function showDialog(dialog, { closeButton, close, busy, focus }) {
  closeButton.addEventListener('click', () => {
    if (!busy()) close();
  });
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    if (!busy()) close();
  });
  document.body.append(dialog);
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
  focus?.focus();
}

/** Takes a dialog away (after it is closed). */
export function removeDialog(dialog) {
  if (dialog.open && typeof dialog.close === 'function') dialog.close();
  dialog.remove();
}

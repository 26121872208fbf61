// The panic wipe, from Settings (unlocked) or the unlock screen (locked): two
// deliberate steps — the button, then a word typed into the dialog — and then it is
// fast: the backend destroys the keys first (a few milliseconds), then the data.
//
// The word is the UI language's (wipe.word) or the English one, so that a keyboard set
// to another script still allows it.

import * as api from './api.js';
import { t } from './i18n.js';
import { errorText } from './fields.js';

/** Asks (two steps), then wipes. → true when the vault was wiped. */
export async function panicWipe(app) {
  const word = t('wipe.word');
  const confirmed = await app.confirm(t('wipe.confirm'), {
    title: t('wipe.title'),
    details: [t('wipe.confirm.details')],
    confirmLabel: t('wipe.confirm.button'),
    danger: true,
    purpose: 'wipe',
    typeWord: { words: [word, 'ERASE'], label: t('wipe.type', { word }) },
  });
  if (!confirmed) return false;
  try {
    const report = await api.wipeVault();
    await app.wiped(report);
    return true;
  } catch (e) {
    app.notify(errorText(e), 'error');
    return false;
  }
}

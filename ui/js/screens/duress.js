// Right after the vault is created: the optional duress passphrase (js/duress.js), or
// "skip" (it can be set later in Settings). Either way the case list follows.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { duressSection } from '../duress.js';

export function render(app) {
  const section = duressSection(app, {
    firstRun: true,
    onDone: () => app.navigate('cases', {}, { force: true }),
  });
  const el = h('section', { id: 'screen-duress', class: 'screen narrow', attrs: { 'aria-labelledby': 'duress-step-title' } },
    h('h1', { id: 'duress-step-title', text: t('duress.step.title') }),
    h('p', { class: 'lead', text: t('duress.step.intro') }),
    section.el);
  return {
    el,
    focus: el.querySelector('#duress-passphrase'),
    isDirty: section.isDirty,
    destroy: section.destroy,
  };
}

// Sync with the organisation's hub. Not enrolled yet: the enrollment form (paste the
// invite, name the device, choose the route). Enrolled: what the hub is (address, pin,
// role, route), how sync stands (last success, what waits to be sent, the last error),
// "Sync now", and the settings (pause, interval, route).
//
// The invite holds a one-time secret: it lives in the text box until enrollment
// succeeds (or the screen is left), then the box is emptied; it is never shown again.

import * as api from '../api.js';
import { h, qrSvg, replace } from '../dom.js';
import { t, formatDateTime, formatRelative, formatNumber } from '../i18n.js';
import { errorText, snapshot } from '../fields.js';
import { errorLine, failed, isProxy, routeText } from '../sync.js';
import { confirmDialog } from '../dialog.js';

const MIN_INTERVAL = 1;
const MAX_INTERVAL = 1440; // the backend accepts 1–1440 minutes
const DEFAULT_PROXY = '127.0.0.1:9050';

/** The route controls: direct or SOCKS5, with the proxy's address. */
function routeControls(prefix, route) {
  const current = String(route || 'direct');
  const socks = current.startsWith('socks5:');
  const direct = h('input', { type: 'radio', id: `${prefix}-route-direct`, name: `${prefix}-route`, value: 'direct', checked: !socks });
  const viaProxy = h('input', { type: 'radio', id: `${prefix}-route-socks5`, name: `${prefix}-route`, value: 'socks5', checked: socks });
  const proxy = h('input', { type: 'text', id: `${prefix}-proxy`, name: 'proxy', dir: 'ltr', spellcheck: false,
    value: socks ? current.slice('socks5:'.length) : DEFAULT_PROXY,
    attrs: { autocomplete: 'off', inputmode: 'url', 'aria-describedby': `${prefix}-proxy-hint field-error-${prefix}-proxy` } });
  const proxyError = h('p', { id: `field-error-${prefix}-proxy`, class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
  const proxyField = h('div', { class: 'field proxy-field', hidden: !socks },
    h('label', { for: `${prefix}-proxy`, text: t('sync.proxy') }),
    proxy,
    h('p', { id: `${prefix}-proxy-hint`, class: 'field-hint', text: t('sync.proxy.hint') }),
    proxyError);
  const sync = () => {
    proxyField.hidden = !viaProxy.checked;
  };
  direct.addEventListener('change', sync);
  viaProxy.addEventListener('change', sync);
  const el = h('fieldset', { id: `${prefix}-route`, class: 'field route-choice' },
    h('legend', { text: t('sync.route') }),
    h('div', { class: 'check' }, direct, h('label', { for: `${prefix}-route-direct`, text: t('sync.route.direct') })),
    h('div', { class: 'check' }, viaProxy, h('label', { for: `${prefix}-route-socks5`, text: t('sync.route.socks5') })),
    proxyField,
    h('p', { class: 'field-hint', text: t('sync.route.hint') }));
  return {
    el,
    /** → 'direct', 'socks5:HOST:PORT', or null (with the error shown) */
    value() {
      proxyError.hidden = true;
      proxy.removeAttribute('aria-invalid');
      if (!viaProxy.checked) return 'direct';
      if (!isProxy(proxy.value)) {
        proxyError.textContent = t('sync.proxy.invalid');
        proxyError.hidden = false;
        proxy.setAttribute('aria-invalid', 'true');
        proxy.focus();
        return null;
      }
      return `socks5:${proxy.value.trim()}`;
    },
  };
}

export async function render(app) {
  let status = await api.syncStatus();
  const root = h('section', { id: 'screen-sync', class: 'screen narrow', attrs: { 'aria-labelledby': 'sync-title' } });
  let view = null; // the drawn part: {update?, isDirty?, destroy?}

  function draw() {
    view?.destroy?.();
    view = status.enrolled ? enrolledView() : enrollView();
    replace(root, h('h1', { id: 'sync-title', text: t('sync.title') }), view.el);
  }

  // Not enrolled: the enrollment form.
  function enrollView() {
    const invite = h('textarea', { id: 'sync-invite', name: 'invite', rows: 3, dir: 'ltr', spellcheck: false,
      attrs: { autocomplete: 'off', autocapitalize: 'off', 'aria-describedby': 'sync-invite-hint field-error-sync-invite' } });
    const inviteError = h('p', { id: 'field-error-sync-invite', class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
    const label = h('input', { id: 'sync-label', name: 'label', type: 'text', dir: 'auto', maxLength: 80,
      attrs: { autocomplete: 'off', 'aria-describedby': 'sync-label-hint field-error-sync-label' } });
    const labelError = h('p', { id: 'field-error-sync-label', class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
    const route = routeControls('sync', 'direct');
    const error = h('p', { id: 'sync-enroll-error', class: 'form-error', hidden: true, tabIndex: -1, attrs: { role: 'alert' } });
    const submit = h('button', { type: 'submit', id: 'sync-enroll-submit', class: 'button primary', text: t('sync.enroll.submit') });

    const form = h('form', { id: 'sync-enroll-form', class: 'card form', attrs: { autocomplete: 'off', novalidate: true } },
      h('h2', { text: t('sync.enroll.title') }),
      h('p', { text: t('sync.enroll.intro') }),
      h('div', { class: 'callout', id: 'sync-trust' },
        h('p', { text: t('sync.enroll.pinned') }),
        h('p', { text: t('sync.enroll.socks') })),
      h('div', { class: 'field' },
        h('label', { for: 'sync-invite', class: 'required', text: t('sync.invite') }),
        invite,
        h('p', { id: 'sync-invite-hint', class: 'field-hint', text: t('sync.invite.hint') }),
        inviteError),
      h('div', { class: 'field' },
        h('label', { for: 'sync-label', class: 'required', text: t('sync.label') }),
        label,
        h('p', { id: 'sync-label-hint', class: 'field-hint', text: t('sync.label.hint') }),
        labelError),
      route.el,
      error,
      h('div', { class: 'actions' }, submit));

    const fieldError = (el, input, text) => {
      el.textContent = text;
      el.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    };

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      for (const [el, input] of [[inviteError, invite], [labelError, label]]) {
        el.hidden = true;
        input.removeAttribute('aria-invalid');
      }
      error.hidden = true;
      if (!invite.value.trim()) return fieldError(inviteError, invite, t('error.required'));
      if (!label.value.trim()) return fieldError(labelError, label, t('error.required'));
      const chosen = route.value();
      if (!chosen) return undefined;
      submit.disabled = true;
      submit.textContent = t('sync.enroll.busy');
      form.setAttribute('aria-busy', 'true');
      try {
        status = await api.syncEnroll(invite.value.trim(), label.value.trim(), chosen);
        invite.value = '';
        app.notify(t('sync.enrolled'));
        draw();
        const heading = root.querySelector('h1');
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
        window.scrollTo(0, 0);
        app.sync.refresh();
      } catch (err) {
        if (err.kind === 'invalid' && /^label\b/.test(err.message)) {
          fieldError(labelError, label, errorText(err));
        } else if (err.kind === 'invite_malformed') {
          fieldError(inviteError, invite, errorText(err));
        } else {
          error.textContent = errorText(err);
          error.hidden = false;
          error.focus();
        }
      } finally {
        submit.disabled = false;
        submit.textContent = t('sync.enroll.submit');
        form.removeAttribute('aria-busy');
      }
      return undefined;
    });
    return {
      el: form,
      destroy() {
        invite.value = '';
      },
    };
  }

  // Enrolled: status, sync now, settings.
  function enrolledView() {
    const value = (id) => h('dd', { id });
    const dd = {
      hub: value('sync-hub'),
      pin: value('sync-pin'),
      role: value('sync-role'),
      route: value('sync-route-value'),
      state: value('sync-state'),
      success: value('sync-last-success'),
      pending: value('sync-pending'),
      error: value('sync-last-error'),
      conflicts: value('sync-conflicts'),
    };
    const row = (label, el) => [h('dt', { text: label }), el];
    const details = h('dl', { id: 'sync-details', class: 'details' },
      row(t('sync.hub'), dd.hub),
      row(t('sync.pin'), dd.pin),
      row(t('sync.role'), dd.role),
      row(t('sync.route'), dd.route),
      row(t('sync.state'), dd.state),
      row(t('sync.last_success'), dd.success),
      row(t('sync.pending'), dd.pending),
      row(t('sync.last_error'), dd.error),
      row(t('sync.conflicts'), dd.conflicts));

    const now = h('button', { type: 'button', id: 'sync-now', class: 'button primary', text: t('sync.now') });
    const result = h('p', { id: 'sync-result', class: 'muted', hidden: true, attrs: { role: 'status' } });
    const nowError = h('p', { id: 'sync-error', class: 'form-error', hidden: true, tabIndex: -1, attrs: { role: 'alert' } });
    let busy = false;

    function showBusy() {
      const on = busy || Boolean(status.running);
      now.disabled = on;
      now.textContent = on ? t('sync.now.busy') : t('sync.now');
      now.toggleAttribute('aria-busy', on);
    }

    now.addEventListener('click', async () => {
      if (busy) return;
      busy = true;
      showBusy();
      nowError.hidden = true;
      result.hidden = true;
      try {
        const r = await api.syncNow();
        result.textContent = [
          t('sync.result', {
            sent: formatNumber(r.pushed), received: formatNumber(r.pulled),
            up: formatNumber(r.blobs_up), down: formatNumber(r.blobs_down),
          }),
          r.refused ? t('sync.result.refused', { n: formatNumber(r.refused) }) : '',
          r.conflicts ? t('sync.result.conflicts', { n: formatNumber(r.conflicts) }) : '',
        ].filter(Boolean).join(' ');
        result.hidden = false;
      } catch (err) {
        nowError.textContent = errorText(err);
        nowError.hidden = false;
      } finally {
        busy = false;
        await app.sync.refresh();
        showBusy();
      }
    });

    // Settings: pause at once; interval and route with Save.
    const paused = h('input', { type: 'checkbox', id: 'sync-paused', checked: Boolean(status.paused),
      attrs: { 'aria-describedby': 'sync-paused-hint' } });
    const interval = h('input', { id: 'sync-interval', name: 'interval', type: 'number',
      value: String(status.interval_minutes),
      attrs: { min: MIN_INTERVAL, max: MAX_INTERVAL, step: 1, inputmode: 'numeric', autocomplete: 'off',
        'aria-describedby': 'sync-interval-hint field-error-sync-interval' } });
    const intervalError = h('p', { id: 'field-error-sync-interval', class: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
    const route = routeControls('sync-set', status.route);
    const save = h('button', { type: 'submit', id: 'sync-settings-save', class: 'button secondary', text: t('action.save') });
    const saved = h('p', { id: 'sync-settings-status', class: 'muted', attrs: { role: 'status' } });
    const settingsError = h('p', { id: 'sync-settings-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });

    paused.addEventListener('change', async () => {
      paused.disabled = true;
      try {
        status = await api.syncSet({ paused: paused.checked });
        app.notify(paused.checked ? t('sync.paused.done') : t('sync.resumed.done'));
        nowError.hidden = true;
        update();
        app.sync.refresh();
      } catch (err) {
        paused.checked = !paused.checked;
        app.notify(errorText(err), 'error');
      } finally {
        paused.disabled = false;
      }
    });

    // Pausing applies at once: it is not part of the form that Save sends.
    const pause = h('div', { class: 'field field-check', id: 'sync-pause' },
      h('div', { class: 'check' }, paused, h('label', { for: 'sync-paused', text: t('sync.paused') })),
      h('p', { id: 'sync-paused-hint', class: 'field-hint', text: t('sync.paused.hint') }));
    const settings = h('form', { id: 'sync-settings-form', class: 'form', attrs: { autocomplete: 'off', novalidate: true } },
      h('div', { class: 'field' },
        h('label', { for: 'sync-interval', text: t('sync.interval') }),
        interval,
        h('p', { id: 'sync-interval-hint', class: 'field-hint',
          text: t('sync.interval.hint', { min: formatNumber(MIN_INTERVAL), max: formatNumber(MAX_INTERVAL) }) }),
        intervalError),
      route.el,
      settingsError,
      h('div', { class: 'actions' }, save),
      saved);
    let clean = snapshot(settings);

    settings.addEventListener('submit', async (e) => {
      e.preventDefault();
      settingsError.hidden = true;
      intervalError.hidden = true;
      interval.removeAttribute('aria-invalid');
      saved.textContent = '';
      const n = Number(interval.value);
      if (!Number.isInteger(n) || n < MIN_INTERVAL || n > MAX_INTERVAL) {
        intervalError.textContent = t('sync.interval.invalid', { min: formatNumber(MIN_INTERVAL), max: formatNumber(MAX_INTERVAL) });
        intervalError.hidden = false;
        interval.setAttribute('aria-invalid', 'true');
        interval.focus();
        return;
      }
      const chosen = route.value();
      if (!chosen) return;
      save.disabled = true;
      try {
        status = await api.syncSet({ intervalMinutes: n, route: chosen });
        saved.textContent = t('sync.settings.saved');
        clean = snapshot(settings);
        update();
        app.sync.refresh();
      } catch (err) {
        settingsError.textContent = errorText(err);
        settingsError.hidden = false;
      } finally {
        save.disabled = false;
      }
    });

    function update() {
      dd.hub.replaceChildren(h('code', { dir: 'ltr', text: status.hub }));
      dd.pin.replaceChildren(h('code', { class: 'pin', dir: 'ltr', text: status.pin }));
      dd.role.textContent = status.role === 'coordinator' ? t('sync.role.coordinator') : t('sync.role.field');
      dd.route.textContent = routeText(status.route);
      dd.state.textContent = status.paused
        ? t('sync.state.paused')
        : t('sync.state.active', { n: formatNumber(status.interval_minutes) });
      dd.state.dataset.paused = String(Boolean(status.paused));
      dd.success.textContent = status.last_success
        ? t('sync.last_success.value', { date: formatDateTime(status.last_success), when: formatRelative(status.last_success) })
        : t('sync.never');
      const versions = status.pending_versions || 0;
      const files = status.pending_blobs || 0;
      dd.pending.textContent = versions + files === 0
        ? t('sync.pending.none')
        : t('sync.pending.value', { versions: formatNumber(versions), files: formatNumber(files) });
      dd.pending.dataset.versions = String(versions);
      dd.pending.dataset.files = String(files);
      if (status.last_error) {
        const line = errorLine(status);
        replace(dd.error,
          h('span', { class: failed(status) ? 'sync-failed' : 'sync-warning', text: line }),
          line !== status.last_error ? h('span', { class: 'field-hint error-detail', dir: 'auto', text: status.last_error }) : null);
      } else {
        dd.error.textContent = t('sync.last_error.none');
      }
      dd.error.dataset.failed = String(failed(status));
      dd.conflicts.textContent = status.conflicts
        ? t('sync.conflicts.value', { n: formatNumber(status.conflicts) })
        : t('sync.conflicts.none');
      if (paused.checked !== Boolean(status.paused) && !paused.disabled) paused.checked = Boolean(status.paused);
      showBusy();
      readers?.update();
      organisation?.update();
    }

    const organisation = organisationCard();
    const readers = readersCard();
    update();
    const travel = travelCard();

    const el = h('div', { class: 'sync-enrolled' },
      h('section', { class: 'card', id: 'sync-status-card', attrs: { 'aria-labelledby': 'sync-status-title' } },
        h('h2', { id: 'sync-status-title', text: t('sync.status') }),
        details,
        h('div', { class: 'actions' }, now),
        result, nowError),
      organisation.el,
      readers.el,
      h('section', { class: 'card', id: 'sync-settings', attrs: { 'aria-labelledby': 'sync-settings-title' } },
        h('h2', { id: 'sync-settings-title', text: t('sync.settings') }),
        pause,
        settings),
      travel.el,
      h('p', { class: 'muted', text: t('sync.enrolled.note') }));
    return {
      el,
      update,
      isDirty: () => settings.isConnected && snapshot(settings) !== clean,
    };
  }

  // The organisation key: once the organisation signs its roster, only that roster says
  // whom this vault encrypts to and whose changes it takes in. Its words (and QR code)
  // are compared with a coordinator's in person; a key the hub offers is taken only
  // when the user types the words the coordinator read out.
  function organisationCard() {
    const body = h('div', { id: 'sync-org' });
    const error = h('p', { id: 'sync-org-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
    const wordList = (words, id) => h('ol', { id, class: 'key-words', dir: 'ltr' },
      ...String(words || '').split(' ').map((w) => h('li', { text: w })));

    async function confirmWords(input) {
      error.hidden = true;
      try {
        status = await api.orgConfirm(input.value);
        input.value = '';
        app.notify(t('sync.org.confirmed'));
        update();
        app.sync.refresh();
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
        input.focus();
      }
    }

    // A coordinator creates the organisation key: a name, the hub's roster shown (each
    // device with its words, to compare with the organisation's own list), then signed.
    function createForm() {
      const name = h('input', { type: 'text', id: 'sync-org-create-name', dir: 'auto', attrs: { autocomplete: 'off' } });
      const preview = h('div', { id: 'sync-org-preview', hidden: true });
      const show = h('button', { type: 'button', id: 'sync-org-preview-show', class: 'button secondary', text: t('sync.org.create.preview') });
      const formError = h('p', { id: 'sync-org-create-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
      const fail = (err) => {
        formError.textContent = errorText(err);
        formError.hidden = false;
      };
      show.addEventListener('click', async () => {
        formError.hidden = true;
        if (!name.value.trim()) {
          fail({ message: t('sync.org.create.name_needed') });
          name.focus();
          return;
        }
        show.disabled = true;
        try {
          const roster = await api.orgPreview();
          const sign = h('button', { type: 'button', id: 'sync-org-sign', class: 'button', text: t('sync.org.create.sign') });
          sign.addEventListener('click', async () => {
            const ok = await confirmDialog(t('sync.org.create.question'), {
              title: t('sync.org.title'), confirmLabel: t('sync.org.create.sign'),
              details: [t('sync.org.create.detail')],
            });
            if (!ok) return;
            sign.disabled = true;
            try {
              status = await api.orgCreate(name.value.trim(), roster.devices.map((d) => d.signer));
              app.notify(t('sync.org.created'));
              update();
              app.sync.refresh();
            } catch (err) {
              fail(err);
              sign.disabled = false;
            }
          });
          replace(preview,
            h('h3', { text: t('sync.org.create.roster') }),
            h('ul', { id: 'sync-org-preview-coordinators', class: 'plain-list' }, ...roster.coordinators.map((c) => h('li', {},
              h('strong', { text: t('sync.readers.coordinator') }), ' ',
              h('code', { class: 'recipient', dir: 'ltr', text: c })))),
            h('ul', { id: 'sync-org-preview-devices', class: 'plain-list' }, ...roster.devices.map((d) => h('li', { data: { revoked: String(d.revoked) } },
              h('strong', { dir: 'auto', text: d.label }), ' ',
              h('span', { class: 'muted', text: t(`sync.changes.role.${d.role}`) + (d.revoked ? ` · ${t('sync.org.create.revoked')}` : '') }), ' ',
              h('code', { dir: 'ltr', text: d.words })))),
            h('p', { class: 'field-hint', text: t('sync.org.create.compare') }),
            h('div', { class: 'actions' }, sign));
          preview.hidden = false;
        } catch (err) {
          fail(err);
        } finally {
          show.disabled = false;
        }
      });
      return h('div', { id: 'sync-org-create' },
        h('h3', { text: t('sync.org.create.title') }),
        h('p', { class: 'field-hint', text: t('sync.org.create.hint') }),
        h('div', { class: 'field' },
          h('label', { for: name.id, text: t('sync.org.create.name') }),
          name),
        h('div', { class: 'actions' }, show),
        preview, formError);
    }

    function fill() {
      const org = status.org || {};
      const parts = [];
      if (org.signed) {
        parts.push(
          h('p', { id: 'sync-org-name', dir: 'auto', text: t('sync.org.signed', { name: org.name || '—', n: formatNumber(org.entries || 0) }) }),
          h('p', { class: 'field-hint', text: t('sync.org.words.hint') }),
          wordList(org.words, 'sync-org-words'));
        if (status.org_qr) {
          parts.push(h('div', { class: 'org-qr' }, qrSvg(status.org_qr[0], status.org_qr[1], t('sync.org.qr'))));
        }
        if (org.holds_key) parts.push(h('p', { class: 'muted', text: t('sync.org.holds_key') }));
      } else {
        parts.push(h('p', { id: 'sync-org-name', class: 'muted', text: t('sync.org.unsigned') }));
        if (status.role === 'coordinator' && !org.offered_words) parts.push(createForm());
      }
      if (org.offered_words) {
        const input = h('input', { type: 'text', id: 'sync-org-confirm-words', dir: 'ltr', spellcheck: false,
          attrs: { autocomplete: 'off', 'aria-describedby': 'sync-org-offer-text' } });
        parts.push(h('div', { id: 'sync-org-offer', class: 'callout warning' },
          h('p', { id: 'sync-org-offer-text', text: t(org.signed ? 'sync.org.changed' : 'sync.org.offered') }),
          h('div', { class: 'field' },
            h('label', { for: input.id, text: t('sync.org.type_words') }),
            input),
          h('div', { class: 'actions' },
            h('button', { type: 'button', id: 'sync-org-confirm', class: 'button secondary', text: t('sync.org.confirm'),
              on: { click: () => confirmWords(input) } }))));
      }
      if (org.awaiting_approval) {
        parts.push(h('p', { id: 'sync-org-waiting', class: 'callout warning', text: t('sync.org.waiting') }));
      }
      parts.push(
        h('h3', { text: t('sync.org.device_words') }),
        h('p', { class: 'field-hint', text: t('sync.org.device_words.hint') }),
        wordList(org.device_words, 'sync-device-words'));
      const unapproved = org.unapproved || [];
      if (unapproved.length) {
        parts.push(
          h('h3', { text: t('sync.org.unapproved') }),
          h('ul', { id: 'sync-org-unapproved', class: 'plain-list' }, ...unapproved.map((u) => h('li', {},
            h('strong', { dir: 'auto', text: u.label }), ' ',
            h('span', { class: 'muted', text: t(`sync.changes.role.${u.role}`) }), ' ',
            h('code', { dir: 'ltr', text: u.words })))));
      }
      replace(body, ...parts);
    }

    const el = h('section', { class: 'card', id: 'sync-org-card', attrs: { 'aria-labelledby': 'sync-org-title' } },
      h('h2', { id: 'sync-org-title', text: t('sync.org.title') }),
      body, error);
    return { el, update: fill };
  }

  // Who can read this vault's records (this vault, the confirmed coordinators), and
  // coordinator keys the hub announced since enrollment: used for nothing until the
  // user confirms them, after checking with the organisation — not through the hub.
  function readersCard() {
    const list = h('ul', { id: 'sync-readers', class: 'plain-list' });
    const announced = h('div', { id: 'sync-announced', hidden: true });
    const changes = h('div', { id: 'sync-changes', hidden: true });
    const error = h('p', { id: 'sync-readers-error', class: 'form-error', hidden: true, attrs: { role: 'alert' } });
    const devices = (names) => (names?.length ? names.join(', ') : t('sync.readers.no_device'));

    async function decide(recipient, confirm) {
      error.hidden = true;
      if (confirm) {
        const ok = await confirmDialog(t('sync.announced.confirm.question'), {
          title: t('sync.announced.title'), confirmLabel: t('sync.announced.confirm'),
          details: [t('sync.announced.confirm.detail'), recipient],
        });
        if (!ok) return;
      }
      try {
        status = await api.coordinatorDecide(recipient, confirm);
        app.notify(confirm ? t('sync.announced.confirmed') : t('sync.announced.refused'));
        update();
        app.sync.refresh();
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
      }
    }

    function fill() {
      replace(list, ...(status.readers || []).map((r, i) => h('li', { class: 'reader', id: `sync-reader-${i}`, data: { kind: r.kind } },
        h('strong', { text: r.kind === 'own' ? t('sync.readers.own') : t('sync.readers.coordinator') }),
        ' ',
        h('span', { class: 'muted', dir: 'auto', text: devices(r.devices) }),
        h('code', { class: 'recipient', dir: 'ltr', text: r.recipient }))));
      const pending = status.pending_coordinators || [];
      announced.hidden = pending.length === 0;
      replace(announced,
        h('h3', { text: t('sync.announced.title') }),
        h('p', { class: 'callout warning', text: t('sync.announced.text') }),
        h('ul', { class: 'plain-list' }, ...pending.map((p, i) => h('li', { class: 'announced', id: `sync-announced-${i}` },
          h('span', { dir: 'auto', text: t('sync.announced.item', { date: formatDateTime(p.seen_at), devices: devices(p.devices) }) }),
          h('code', { class: 'recipient', dir: 'ltr', text: p.recipient }),
          h('div', { class: 'actions' },
            h('button', { type: 'button', id: `sync-announced-confirm-${i}`, class: 'button secondary', text: t('sync.announced.confirm'),
              on: { click: () => decide(p.recipient, true) } }),
            h('button', { type: 'button', id: `sync-announced-refuse-${i}`, class: 'button secondary', text: t('sync.announced.refuse'),
              on: { click: () => decide(p.recipient, false) } }))))));
      // Whom this vault came to trust, or stopped trusting, newest first.
      const recent = (status.changes || []).slice(-10).reverse();
      changes.hidden = recent.length === 0;
      const role = (r) => (r ? t(`sync.changes.role.${r}`) : '');
      replace(changes,
        h('h3', { text: t('sync.changes.title') }),
        h('ul', { class: 'plain-list' }, ...recent.map((c, i) => {
          const key = ['coordinator_announced', 'coordinator_added', 'coordinator_removed', 'coordinator_unsigned'].includes(c.what);
          return h('li', { id: `sync-change-${i}`, data: { what: c.what } },
            h('span', { dir: 'auto', text: t(`sync.changes.${c.what}`, { date: formatDateTime(c.at), role: role(c.role) }) }),
            ' ',
            key ? h('code', { class: 'recipient', dir: 'ltr', text: c.who }) : h('strong', { dir: 'auto', text: c.who }),
            c.signed_at ? h('span', { class: 'muted signed-by', dir: 'auto',
              text: ' ' + (c.by
                ? t('sync.changes.signed_by', { by: c.by, date: formatDateTime(c.signed_at) })
                : t('sync.changes.signed', { date: formatDateTime(c.signed_at) })) }) : null);
        })));
    }

    const el = h('section', { class: 'card', id: 'sync-readers-card', attrs: { 'aria-labelledby': 'sync-readers-title' } },
      h('h2', { id: 'sync-readers-title', text: t('sync.readers.title') }),
      h('p', { class: 'field-hint', text: t('sync.readers.hint') }),
      list, announced, changes, error);
    return { el, update: fill };
  }

  // Travel mode: remove chosen cases (the hub must hold them) before a border, and
  // bring them back after.
  function travelCard() {
    const list = h('ul', { id: 'travel-cases', class: 'check-list' });
    const error = h('p', { id: 'travel-error', class: 'form-error', hidden: true, tabIndex: -1, attrs: { role: 'alert' } });
    const result = h('p', { id: 'travel-result', class: 'muted', hidden: true, attrs: { role: 'status' } });
    const remove = h('button', { type: 'button', id: 'travel-remove', class: 'button secondary', text: t('travel.remove') });
    const removeAll = h('button', { type: 'button', id: 'travel-remove-all', class: 'button secondary', text: t('travel.remove_all') });
    const restore = h('button', { type: 'button', id: 'travel-restore', class: 'button secondary', text: t('travel.restore') });
    const buttons = [remove, removeAll, restore];

    async function fill() {
      const cases = await api.listRecords({ kind: 'case' });
      replace(list, ...cases.map((c) => {
        const box = h('input', { type: 'checkbox', id: `travel-case-${c.record_id}`, value: c.record_id });
        return h('li', { class: 'check' }, box,
          h('label', { for: box.id, dir: 'auto', text: c.title || t('value.untitled') }));
      }));
      if (!cases.length) list.append(h('li', { class: 'muted', text: t('travel.none') }));
    }

    async function act(work) {
      error.hidden = true;
      result.hidden = true;
      buttons.forEach((b) => { b.disabled = true; });
      try {
        result.textContent = await work();
        result.hidden = false;
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
        error.focus();
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
        await fill();
        await app.sync.refresh();
      }
    }

    async function removeCases(ids) {
      const n = ids ? ids.length : list.querySelectorAll('input').length;
      if (!n) {
        error.textContent = t('travel.choose');
        error.hidden = false;
        return;
      }
      const ok = await confirmDialog(t('travel.confirm', { n: formatNumber(n) }), {
        title: t('travel.title'), confirmLabel: t('travel.remove.confirm'), danger: true,
        details: [t('travel.confirm.detail')],
      });
      if (!ok) return;
      await act(async () => {
        const r = await api.travelRemove(ids);
        return t('travel.removed', { cases: formatNumber(r.cases), records: formatNumber(r.records), files: formatNumber(r.files) });
      });
    }

    remove.addEventListener('click', () => {
      const ids = [...list.querySelectorAll('input:checked')].map((i) => i.value);
      removeCases(ids.length ? ids : []);
    });
    removeAll.addEventListener('click', () => removeCases(null));
    restore.addEventListener('click', () => act(async () => {
      const r = await api.travelRestore();
      return t('travel.restored', { versions: formatNumber(r.pulled), files: formatNumber(r.blobs_down) });
    }));
    fill().catch(() => {});

    const el = h('section', { class: 'card', id: 'travel', attrs: { 'aria-labelledby': 'travel-title' } },
      h('h2', { id: 'travel-title', text: t('travel.title') }),
      h('p', { class: 'field-hint', text: t('travel.hint') }),
      list,
      h('div', { class: 'actions' }, ...buttons),
      result, error);
    return { el };
  }

  draw();

  return {
    el: root,
    isDirty: () => Boolean(view?.isDirty?.()),
    /** The header got a new status (a sync ran, settings changed). */
    syncChanged(next) {
      if (!next) return;
      const wasEnrolled = status.enrolled;
      status = next;
      if (next.enrolled !== wasEnrolled) draw();
      else view?.update?.();
    },
    destroy() {
      view?.destroy?.();
      view = null;
    },
  };
}

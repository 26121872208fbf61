// The app: which screen is shown, the header, locking, and the in-memory state.
//
// How-to for the next developer:
// - A screen is a module in js/screens/ exporting render(app, params), which returns
//   (or resolves to) {el, isDirty?, destroy?, focus?}. Register it in SCREENS below and
//   go there with app.navigate(name, params).
// - isDirty() makes navigation ask before unsaved changes are dropped; locking never
//   asks: it drops everything at once. A screen with draft() (the case and quick entry
//   screens) hands its unsaved changes to the lock first: the backend keeps them sealed
//   in the vault, and after the next unlock the app offers them back (restore or
//   discard); the screen gets them as params.draft.
// - State lives in this module and in the screens' closures, never in web storage, so
//   locking (header button, Ctrl+L / Cmd+L, auto-lock, the session locking or the
//   machine going to sleep, or the backend saying "locked") clears it by tearing the
//   screen down.

import * as api from './api.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';
import { h, replace } from './dom.js';
import { close as closeDialog, confirmDialog } from './dialog.js';
import { errorText } from './fields.js';
import { indicator } from './sync.js';
import { loadSchema } from './records.js';

import * as createScreen from './screens/create.js';
import * as unlockScreen from './screens/unlock.js';
import * as casesScreen from './screens/cases.js';
import * as caseScreen from './screens/case.js';
import * as historyScreen from './screens/history.js';
import * as quickScreen from './screens/quick.js';
import * as settingsScreen from './screens/settings.js';
import * as evidenceScreen from './screens/evidence.js';
import * as syncScreen from './screens/sync.js';
import * as resolveScreen from './screens/resolve.js';
import * as patternsScreen from './screens/patterns.js';
import * as guideScreen from './screens/guide.js';

const SCREENS = {
  create: createScreen,
  unlock: unlockScreen,
  cases: casesScreen,
  case: caseScreen,
  history: historyScreen,
  quick: quickScreen,
  settings: settingsScreen,
  evidence: evidenceScreen,
  sync: syncScreen,
  resolve: resolveScreen,
  patterns: patternsScreen,
  guide: guideScreen,
};

/** Screens shown while the vault is locked (the guide holds no record); every other one needs it unlocked. */
const LOCKED_SCREENS = new Set(['create', 'unlock', 'guide']);

const DEFAULT_SETTINGS = { language: 'en', autoLockMinutes: 5, wipeAfterFailures: null };

const state = {
  vault: { exists: false, unlocked: false },
  settings: { ...DEFAULT_SETTINGS },
  route: null, // {name, params}
  screen: null, // what the current screen's render() returned
  navigation: 0, // bumps on every navigation, so a slow render cannot land late
  vocab: new Map(), // `${name}:${lang}` → Promise<terms>
  lastActivity: Date.now(),
  closing: false, // a close request is being answered
  sync: null, // the last sync status from the backend (null while locked)
  pendingDraft: null, // a draft taken back from the vault, while the user decides
};

const main = () => document.getElementById('main');
const header = () => document.getElementById('app-header');

/** What every screen gets: navigation, messages, settings, vocabularies, lock. */
export const app = {
  navigate,
  notify,
  lock,
  confirm: confirmDialog,
  vocabulary,
  setLanguage,
  saveSettings,
  lockShortcut,
  /** The sync status as last read, and a way to read it again (the header shows it). */
  sync: {
    get status() {
      return state.sync;
    },
    refresh: refreshSync,
  },
  get settings() {
    return { ...state.settings };
  },
  get route() {
    return state.route;
  },
  /**
   * Marks the vault unlocked (after create or unlock), opens the case list (or `next`),
   * then offers back any unsaved changes kept at the last lock.
   */
  async unlocked(next = { name: 'cases', params: {} }) {
    state.vault = { exists: true, unlocked: true };
    state.lastActivity = Date.now();
    renderHeader();
    refreshSync();
    await navigate(next.name, next.params || {}, { force: true });
    await offerDraft();
  },
  wiped,
};

// Navigation

/**
 * Shows a screen. Asks first when the current screen has unsaved changes (unless
 * force). → true when the screen changed.
 */
async function navigate(name, params = {}, { force = false } = {}) {
  const module = SCREENS[name];
  if (!module) throw new Error(`no screen ${name}`);
  if (!LOCKED_SCREENS.has(name) && !state.vault.unlocked) {
    return navigate(state.vault.exists ? 'unlock' : 'create', {}, { force: true });
  }
  if (!force && state.screen?.isDirty?.()) {
    const leave = await confirmDialog(t('confirm.leave'), {
      title: t('confirm.leave.title'),
      confirmLabel: t('action.discard'),
      cancelLabel: t('action.keep_editing'),
      danger: true,
    });
    if (!leave) return false;
  }
  const token = ++state.navigation;
  teardown();
  state.route = { name, params };
  renderHeader();
  const holder = main();
  holder.setAttribute('aria-busy', 'true');
  let screen;
  try {
    screen = await module.render(app, params);
  } catch (e) {
    screen = { el: failure(e) };
  }
  if (token !== state.navigation) {
    screen?.destroy?.();
    return false;
  }
  state.screen = screen;
  replace(holder, screen.el);
  holder.removeAttribute('aria-busy');
  const target = screen.focus || screen.el.querySelector('h1');
  if (target) {
    if (!target.hasAttribute('tabindex') && !/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName)) {
      target.tabIndex = -1;
    }
    target.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
  return true;
}

/** Destroys the current screen and empties the page (its data goes with it). */
function teardown() {
  try {
    state.screen?.destroy?.();
  } finally {
    state.screen = null;
    main()?.replaceChildren();
  }
}

function failure(e) {
  return h('section', { class: 'screen narrow', id: 'screen-error' },
    h('h1', { text: t('error.title') }),
    h('p', { id: 'fatal-error', class: 'form-error', attrs: { role: 'alert' }, text: errorText(e) }),
    h('button', { type: 'button', id: 'error-retry', class: 'button secondary', text: t('action.retry'),
      on: { click: () => boot() } }));
}

// Messages

let toastTimer = null;

/** Shows a short message in the status line (kind: info or error). */
function notify(text, kind = 'info') {
  const el = document.getElementById('status-message');
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
    el.textContent = '';
  }, kind === 'error' ? 8000 : 4000);
}

function clearNotice() {
  clearTimeout(toastTimer);
  const el = document.getElementById('status-message');
  if (el) {
    el.hidden = true;
    el.textContent = '';
  }
}

// Locking

/**
 * Locks now: unsaved changes are taken from the screen, the page is emptied (nothing
 * decrypted stays on screen or in memory), then the backend keeps the changes sealed in
 * the vault and drops its key. reason: manual, shortcut, auto, suspend, session,
 * backend (already locked: nothing can be kept).
 */
async function lock(reason = 'manual') {
  if (!state.vault.unlocked && reason !== 'backend') return;
  let draft = null;
  if (reason !== 'backend') {
    try {
      draft = state.screen?.draft?.() || null;
    } catch {
      draft = null;
    }
    draft = draft || state.pendingDraft;
  }
  state.pendingDraft = null;
  closeDialog(false);
  clearNotice();
  state.navigation++;
  teardown();
  state.vault.unlocked = false;
  state.sync = null;
  state.vocab.clear();
  renderHeader();
  for (const module of Object.values(SCREENS)) module.reset?.();
  let error = null;
  if (reason !== 'backend') {
    try {
      await api.lockVault(draft ? JSON.stringify(draft) : null);
    } catch (e) {
      error = e;
    }
  }
  draft = null;
  await navigate('unlock', { notice: reason, error }, { force: true });
}

// Drafts: unsaved changes kept across a lock

/** What a draft was about, in a few words for the question. */
function draftSubject(draft) {
  if (draft.screen === 'quick') return t('draft.what.quick');
  // The title isolated (FSI … PDI), so a Latin title reads right inside Arabic text.
  if (draft.caseId && draft.title) return t('draft.what.case', { title: `\u2068${draft.title}\u2069` });
  return t('draft.what.new_case');
}

/**
 * After an unlock: unsaved changes kept at the last lock are taken back from the vault
 * and offered. Restore opens the screen with them (still unsaved); discard drops them.
 * A lock while the question is open keeps them again.
 */
async function offerDraft() {
  let draft = null;
  try {
    const text = await api.takeDraft();
    draft = text ? JSON.parse(text) : null;
  } catch {
    draft = null;
  }
  if (!draft || !state.vault.unlocked || !['case', 'quick'].includes(draft.screen)) return;
  state.pendingDraft = draft;
  const restore = await confirmDialog(t('draft.offer', { what: draftSubject(draft) }), {
    title: t('draft.title'),
    confirmLabel: t('draft.restore'),
    cancelLabel: t('draft.discard'),
    purpose: 'draft',
    keepOnEscape: true,
  });
  // Locked while asking: the lock kept the draft again.
  if (!state.vault.unlocked || state.pendingDraft !== draft) return;
  state.pendingDraft = null;
  if (!restore) {
    notify(t('draft.discarded'));
    return;
  }
  const params = draft.screen === 'case' ? { id: draft.caseId || undefined, draft } : { draft };
  if (await navigate(draft.screen, params, { force: true })) notify(t('draft.restored'));
}

// Wiping

/**
 * After a wipe (panic wipe, or too many failed unlocks): everything goes from the page
 * and the first-run screen says what happened. result: {keysDestroyedMs, totalMs} or
 * {afterFailures}.
 */
async function wiped(result) {
  closeDialog(false);
  clearNotice();
  state.navigation++;
  teardown();
  state.vault = { exists: false, unlocked: false };
  state.pendingDraft = null;
  state.sync = null;
  state.vocab.clear();
  for (const module of Object.values(SCREENS)) module.reset?.();
  renderHeader();
  await navigate('create', { wiped: result }, { force: true });
}

function isMac() {
  const platform = navigator.userAgentData?.platform || navigator.platform || navigator.userAgent;
  return /mac|iphone|ipad/i.test(platform);
}

/** The lock shortcut as shown to the user. */
function lockShortcut() {
  return isMac() ? '⌘L' : 'Ctrl+L';
}

function onKeydown(e) {
  // e.code: the physical L key, so the shortcut also works with an Arabic or Persian layout.
  const isL = e.code === 'KeyL' || (e.key && e.key.toLowerCase() === 'l');
  if (isL && !e.altKey && !e.shiftKey && (e.ctrlKey || (isMac() && e.metaKey))) {
    e.preventDefault();
    if (state.vault.unlocked) lock('shortcut');
  }
}

function onActivity() {
  const now = Date.now();
  state.lastActivity = now;
  // The backend locks by itself when it hears nothing for the idle minutes (a hung
  // page cannot lock): tell it, at most every 5 seconds.
  if (state.vault.unlocked && !(now - (state.reportedActivity || 0) < 5_000)) {
    state.reportedActivity = now;
    api.userActive().catch(() => {});
  }
}

function checkIdle() {
  const minutes = Number(state.settings.autoLockMinutes);
  if (!state.vault.unlocked || !(minutes > 0)) return;
  if (Date.now() - state.lastActivity >= minutes * 60_000) lock('auto');
}

// Header

function renderHeader() {
  const el = header();
  if (!el) return;
  const SECTION_OF = { case: 'cases', history: 'cases', evidence: 'cases', resolve: 'cases', patterns: 'cases',
    sync: 'sync' };
  const current = SECTION_OF[state.route?.name] || state.route?.name;
  const navButton = (id, name, label, extra = {}) => h('button', {
    type: 'button', id, class: ['nav-button', extra.class],
    attrs: { 'aria-current': current === name ? 'page' : null },
    text: label,
    on: { click: () => navigate(name, {}) },
  });
  const brand = h('div', { class: 'brand' },
    h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }),
    h('span', { id: 'app-name', class: 'brand-name', text: t('app.name') }),
    h('span', { class: 'brand-tagline', text: t('app.tagline') }));

  if (state.vault.unlocked) {
    replace(el, brand,
      h('nav', { id: 'main-nav', attrs: { 'aria-label': t('nav.label') } },
        syncIndicator(current === 'sync'),
        navButton('nav-cases', 'cases', t('nav.cases')),
        navButton('quick-entry', 'quick', t('nav.quick'), { class: 'quick' }),
        navButton('nav-settings', 'settings', t('nav.settings')),
        guideButton(),
        h('button', {
          type: 'button', id: 'lock-button', class: 'nav-button lock',
          attrs: { title: t('nav.lock.title', { shortcut: lockShortcut() }), 'aria-keyshortcuts': isMac() ? 'Meta+L' : 'Control+L' },
          text: t('nav.lock'),
          on: { click: () => lock('manual') },
        })));
  } else {
    const select = h('select', { id: 'language-locked', name: 'language',
      on: { change: (e) => setLanguage(e.target.value) } },
    i18n.LANGUAGES.map((l) => i18n.languageOption(l.code)));
    replace(el, brand,
      h('div', { class: 'locked-tools' },
        h('label', { for: 'language-locked', text: t('settings.language') }), select,
        guideButton()));
  }
}

/** The header's Guide button: opens the user guide, with the way back to this screen. */
function guideButton() {
  const here = state.route;
  return h('button', {
    type: 'button', id: 'nav-guide', class: 'nav-button',
    attrs: { 'aria-current': here?.name === 'guide' ? 'page' : null },
    text: t('nav.guide'),
    on: {
      click: () => {
        if (here?.name !== 'guide') navigate('guide', { back: here });
      },
    },
  });
}

// Sync status

/** The header's sync indicator: how sync stands, in a word or three; opens the Sync screen. */
function syncIndicator(current) {
  const button = h('button', {
    type: 'button', id: 'sync-indicator', class: 'nav-button sync-indicator',
    attrs: { 'aria-current': current ? 'page' : null },
    on: { click: () => navigate('sync', {}) },
  }, h('span', { class: 'sync-dot', attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'sync-text' }));
  drawIndicator(button);
  return button;
}

function drawIndicator(button = document.getElementById('sync-indicator')) {
  if (!button) return;
  const info = indicator(state.sync);
  button.hidden = !info;
  if (!info) return;
  button.dataset.state = info.state;
  button.title = info.title || '';
  button.querySelector('.sync-text').textContent = info.text;
}

let syncAsked = 0; // reads of the status asked for
let syncShown = 0; // the newest read shown (an older answer that comes late is dropped)

/** Reads the sync status again; the header and the current screen show it. */
async function refreshSync() {
  if (!state.vault.unlocked) return null;
  const asked = ++syncAsked;
  let status;
  try {
    status = await api.syncStatus();
  } catch {
    return null;
  }
  if (!state.vault.unlocked || asked < syncShown) return state.sync;
  syncShown = asked;
  state.sync = status;
  drawIndicator();
  state.screen?.syncChanged?.(status);
  return status;
}

// Settings and vocabularies

/** Switches the language at once: strings, lang/dir, header, current screen. */
async function setLanguage(code) {
  await i18n.setLanguage(code);
  // A message on screen is in the old language: dropped, not left half-translated.
  clearNotice();
  state.settings.language = i18n.lang();
  state.vocab.clear();
  renderHeader();
  try {
    await api.setSettings({ ...state.settings });
  } catch (e) {
    // The language is already switched for this session; say why it may not stick.
    if (state.vault.unlocked) notify(errorText(e), 'error');
  }
  if (state.route) {
    const { name, params } = state.route;
    await navigate(name, params, { force: true });
  }
}

/** Saves settings (partial) through the backend and keeps them in memory. */
async function saveSettings(partial) {
  const next = { ...state.settings, ...partial };
  await api.setSettings(next);
  state.settings = next;
  state.lastActivity = Date.now();
}

/** A vocabulary's terms in the UI language, each with its depth: [{code, label, parent, depth}]. */
function vocabulary(name) {
  const key = `${name}:${i18n.lang()}`;
  if (!state.vocab.has(key)) {
    const p = api.vocabulary(name, i18n.lang()).then((terms) => {
      const byCode = new Map(terms.map((term) => [term.code, term]));
      const depth = (term) => {
        let d = 0;
        for (let p2 = term.parent; p2 && byCode.has(p2) && d < 5; p2 = byCode.get(p2).parent) d++;
        return d;
      };
      return terms.map((term) => ({ ...term, depth: depth(term) }));
    });
    p.catch(() => state.vocab.delete(key));
    state.vocab.set(key, p);
  }
  return state.vocab.get(key);
}

// Start

async function boot() {
  let settings = null;
  try {
    settings = await api.getSettings();
  } catch {
    settings = null;
  }
  state.settings = {
    ...DEFAULT_SETTINGS,
    ...(settings || {}),
    language: settings?.language || i18n.systemLanguage(),
  };
  try {
    await i18n.setLanguage(state.settings.language);
  } catch (e) {
    document.getElementById('main').textContent = 'The interface text could not be loaded.';
    throw e;
  }
  state.settings.language = i18n.lang();
  try {
    await loadSchema(api.schema);
    state.vault = await api.vaultStatus();
  } catch (e) {
    state.vault = { exists: false, unlocked: false };
    renderHeader();
    state.screen = { el: failure(e) };
    replace(main(), state.screen.el);
    return;
  }
  renderHeader();
  if (state.vault.unlocked) refreshSync();
  if (!state.vault.exists) await navigate('create', {}, { force: true });
  else if (state.vault.unlocked) await navigate('cases', {}, { force: true });
  else await navigate('unlock', {}, { force: true });
}

/**
 * The window's close button: the shell asks here first. Unsaved changes → the same
 * question as leaving a screen; otherwise (or once the user agrees) the app closes.
 */
async function closeRequested() {
  if (state.closing) return;
  state.closing = true;
  try {
    if (state.vault.unlocked && state.screen?.isDirty?.()) {
      const leave = await confirmDialog(t('confirm.close'), {
        title: t('confirm.close.title'),
        confirmLabel: t('action.discard_close'),
        cancelLabel: t('action.keep_editing'),
        danger: true,
      });
      if (!leave) return;
    }
    teardown();
    await api.quitApp();
  } catch (e) {
    notify(errorText(e), 'error');
  } finally {
    state.closing = false;
  }
}
window.custosCloseRequested = closeRequested;

api.whenLocked(() => {
  if (state.vault.unlocked) lock('backend');
});
// The desktop asks for a lock (the session locked, the machine is about to sleep).
api.onLockRequest(({ reason, locked }) => {
  if (!state.vault.unlocked) return;
  if (locked) lock('backend');
  else if (reason === 'idle') lock('auto');
  else lock(['suspend', 'session'].includes(reason) ? reason : 'manual');
});
// The backend says when a sync starts or ends; the relative time ("2 minutes ago") is
// redrawn every half minute, and the status read again every few minutes.
api.onSyncChange(() => refreshSync());
setInterval(() => drawIndicator(), 30_000);
setInterval(() => refreshSync(), 180_000);
document.addEventListener('keydown', onKeydown, true);
for (const event of ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart']) {
  document.addEventListener(event, onActivity, { capture: true, passive: true });
}
setInterval(checkIdle, 15_000);

boot();

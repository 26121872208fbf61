// Strings, language and direction, dates and numbers.
//
// Every visible string comes from ui/locales/<lang>.json (flat key → string maps).
// Formatting goes through Intl for the chosen language. Nothing here is ever stored:
// the chosen language is kept by the backend's settings, the strings in memory.

/**
 * The languages the UI ships, in menu order: the code of its locale file, its name in
 * itself, whether it is written right to left, and whether a native speaker has reviewed
 * the translation (docs/translating.md says how to review one and who did). The same
 * list as crates/model/src/languages.rs, which the backend reads; a test
 * (src-tauri/tests/ui_static.rs) fails when the two disagree. One language a line.
 */
export const LANGUAGES = Object.freeze([
  { code: 'en', native: 'English', rtl: false, reviewed: true },
  { code: 'fr', native: 'Français', rtl: false, reviewed: false },
  { code: 'es', native: 'Español', rtl: false, reviewed: false },
  { code: 'ar', native: 'العربية', rtl: true, reviewed: false },
  { code: 'fa', native: 'فارسی', rtl: true, reviewed: false },
  { code: 'ru', native: 'Русский', rtl: false, reviewed: false },
  { code: 'uk', native: 'Українська', rtl: false, reviewed: false },
  { code: 'tr', native: 'Türkçe', rtl: false, reviewed: false },
  { code: 'my', native: 'မြန်မာ', rtl: false, reviewed: false },
  { code: 'zh-Hans', native: '简体中文', rtl: false, reviewed: false },
  { code: 'pt', native: 'Português', rtl: false, reviewed: false },
].map((l) => Object.freeze(l)));

const CODES = LANGUAGES.map((l) => l.code);
const RTL = new Set(LANGUAGES.filter((l) => l.rtl).map((l) => l.code));
const FALLBACK = 'en';

/**
 * Every date is Gregorian, whatever the language: the records, the date fields and the
 * submissions are Gregorian, and Persian's own default (the Solar Hijri calendar) next to
 * them would mislead. The language keeps its digits and month names (fa: Persian digits).
 */
const CALENDAR = 'gregory';

const loaded = new Map(); // lang → strings
let current = FALLBACK;

/** The current language code. */
export function lang() {
  return current;
}

/** True when the current language is written right to left. */
export function isRtl() {
  return RTL.has(current);
}

/** The entry of LANGUAGES for a code, or undefined. */
export function language(code) {
  return LANGUAGES.find((l) => l.code === code);
}

/** True when a native speaker has reviewed the translation of code. */
export function isReviewed(code) {
  return Boolean(language(code)?.reviewed);
}

/**
 * A language's name for a language menu, in the current language: its name in itself,
 * marked when no native speaker has reviewed the translation.
 */
export function languageLabel(code) {
  const name = t(`lang.${code}`);
  return isReviewed(code) ? name : t('lang.not_reviewed', { language: name });
}

/**
 * The <option> of a language menu for code (selected when it is the current language):
 * lang is its code, dir its own direction (the name is written in it).
 */
export function languageOption(code) {
  const option = document.createElement('option');
  option.value = code;
  option.textContent = languageLabel(code);
  option.lang = code;
  option.dir = RTL.has(code) ? 'rtl' : 'ltr';
  option.selected = code === current;
  return option;
}

/**
 * The app's language for a BCP 47 tag, or null: fr-CA → fr, pt-BR → pt; zh, zh-CN,
 * zh-SG and zh-Hans-… → zh-Hans (zh-TW, zh-HK and zh-Hant: null, there is no
 * traditional Chinese translation). Same mapping as languages::from_tag in Rust.
 */
export function languageOfTag(tag) {
  const parts = String(tag || '').trim().replace(/_/g, '-').toLowerCase().split('-');
  const [base, ...rest] = parts;
  if (base === 'zh') {
    const traditional = rest.some((p) => ['hant', 'tw', 'hk', 'mo'].includes(p));
    const simplified = rest.length === 0 || ['hans', 'cn', 'sg'].includes(rest[0]);
    return simplified && !traditional ? 'zh-Hans' : null;
  }
  return CODES.find((c) => c.toLowerCase() === base) || null;
}

/** Picks a supported language from the system's preferences (first run only). */
export function systemLanguage() {
  for (const tag of navigator.languages || [navigator.language || FALLBACK]) {
    const code = languageOfTag(tag);
    if (code) return code;
  }
  return FALLBACK;
}

/** Reads a locale file from the app's own origin (the CSP allows 'self' in connect-src). */
async function readLocale(code) {
  const url = new URL(`../locales/${code}.json`, import.meta.url);
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`cannot read ${url.pathname}: ${response.status}`);
  return response.json();
}

async function ensure(code) {
  if (!loaded.has(code)) loaded.set(code, await readLocale(code));
  return loaded.get(code);
}

/**
 * Switches the UI language: loads its strings, sets <html lang> and dir, and
 * translates the static [data-i18n] nodes of index.html. Screens re-render themselves.
 */
export async function setLanguage(code) {
  const wanted = CODES.includes(code) ? code : FALLBACK;
  await ensure(FALLBACK);
  try {
    await ensure(wanted);
    current = wanted;
  } catch {
    current = FALLBACK;
  }
  const root = document.documentElement;
  root.lang = current;
  root.dir = isRtl() ? 'rtl' : 'ltr';
  translateStatic(document);
  return current;
}

/** Fills every [data-i18n] element (text) and [data-i18n-aria-label] (attribute). */
export function translateStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}

/** True when the key exists (in the current language or the fallback). */
export function has(key) {
  return Boolean(loaded.get(current)?.[key] ?? loaded.get(FALLBACK)?.[key]);
}

function lookup(key, params, wrap) {
  let s = loaded.get(current)?.[key] ?? loaded.get(FALLBACK)?.[key] ?? key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? wrap(String(params[name])) : m));
  }
  return s;
}

/**
 * The string for a key in the current language, with {name} placeholders filled.
 * Falls back to English, then to the key itself (so a missing string is visible).
 * Each filled-in value with letters is bidi-isolated (FSI … PDI), so an English title
 * inside an Arabic sentence keeps its punctuation in place; numbers are left as they are.
 */
export function t(key, params) {
  return lookup(key, params, (v) => (/\p{L}/u.test(v) ? `\u2068${v}\u2069` : v));
}

/** Like t(), without the bidi isolation: for text that is stored in a record. */
export function tPlain(key, params) {
  return lookup(key, params, (v) => v);
}

/** The current language as an Intl locale: its own digits, the Gregorian calendar. */
function intlLocale() {
  return `${current}-u-ca-${CALENDAR}`;
}

/** A number in the current language's digits and separators. */
export function formatNumber(n) {
  return new Intl.NumberFormat(current).format(n);
}

/** An RFC 3339 timestamp as a date and time, in local time. */
export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/**
 * How long ago an RFC 3339 timestamp was ("2 minutes ago", "yesterday"), or ''.
 * style: 'long', or 'short' ("2 min. ago") where space is tight.
 */
export function formatRelative(iso, style = 'long', now = Date.now()) {
  if (!iso) return '';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return '';
  const seconds = Math.round((then - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto', style });
  const abs = Math.abs(seconds);
  if (abs < 45) return t('time.just_now');
  if (abs < 45 * 60) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

/**
 * A calendar date ("YYYY-MM-DD") in the current language. With a precision
 * (day, month, year, approximate) only what is known is shown.
 */
export function formatDate(date, precision = 'day') {
  if (!date) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return String(date);
  // Noon UTC, formatted in UTC: the day never shifts with the time zone.
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12));
  const options = { timeZone: 'UTC' };
  if (precision === 'year') options.year = 'numeric';
  else if (precision === 'month') Object.assign(options, { year: 'numeric', month: 'long' });
  else options.dateStyle = 'medium';
  const text = new Intl.DateTimeFormat(intlLocale(), options).format(d);
  return precision === 'approximate' ? t('date.approximate', { date: text }) : text;
}

/** Compares two strings the way the current language sorts them. */
export function compare(a, b) {
  return collator().compare(a || '', b || '');
}

let collatorCache = null;
function collator() {
  if (!collatorCache || collatorCache.lang !== current) {
    collatorCache = { lang: current, c: new Intl.Collator(current, { sensitivity: 'base', numeric: true }) };
  }
  return collatorCache.c;
}

/** Arabic-script letters and digits written differently but read alike, as one. */
const LETTER_FOLDS = new Map([
  ['\u06CC', '\u064A'], ['\u06D0', '\u064A'], ['\u06D2', '\u064A'], ['\u0649', '\u064A'], // yeh
  ['\u06A9', '\u0643'], ['\u06AA', '\u0643'], // kaf
  ['\u06C1', '\u0647'], ['\u06D5', '\u0647'], ['\u0629', '\u0647'], // heh, ta marbuta
  ['\u0671', '\u0627'], // alef wasla
]);

/**
 * Lower-cased, accent-free text for searching ("Année" matches "annee"), folded like the
 * vault's search (crates/search `fold`): Arabic short vowels, tatweel, the Persian
 * zero-width non-joiner and direction marks dropped; Persian yeh and kaf read as the
 * Arabic letters; Persian and Arabic-Indic digits as ASCII digits.
 */
export function fold(s) {
  return String(s || '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f\u064b-\u065f\u0670\u0640\u200c-\u200f]/g, '')
    .replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06CC\u06D0\u06D2\u0649\u06A9\u06AA\u06C1\u06D5\u0629\u0671]/g, (c) => LETTER_FOLDS.get(c))
    .toLocaleLowerCase();
}

// How the sync status reads on screen: the header's indicator and the Sync screen share
// these. The status comes from the backend (sync_status); nothing here is stored.

import { t, has, formatRelative } from './i18n.js';

/** True when the last sync attempt failed (a warning after a success is not a failure). */
export function failed(status) {
  if (!status?.last_error) return false;
  if (!status.last_success) return true;
  return new Date(status.last_attempt || 0) > new Date(status.last_success);
}

/** The header's indicator: {state, text, title}; state is one of off, running, paused,
 * failed, synced, never. null while there is no status (locked). */
export function indicator(status) {
  if (!status) return null;
  if (!status.enrolled) return { state: 'off', text: t('sync.indicator.off'), title: t('sync.indicator.off.title') };
  if (status.running) return { state: 'running', text: t('sync.indicator.running'), title: t('sync.indicator.open') };
  if (status.paused) return { state: 'paused', text: t('sync.indicator.paused'), title: t('sync.indicator.open') };
  if (failed(status)) return { state: 'failed', text: t('sync.indicator.failed'), title: errorLine(status) };
  if (status.last_success) {
    return { state: 'synced', text: t('sync.indicator.synced', { when: formatRelative(status.last_success, 'short') }),
      title: t('sync.indicator.open') };
  }
  return { state: 'never', text: t('sync.indicator.never'), title: t('sync.indicator.open') };
}

/** The last error in the user's language when its kind is known, else in the core's words. */
export function errorLine(status) {
  if (!status?.last_error) return '';
  const key = `error.${status.last_error_kind}`;
  return status.last_error_kind && has(key) ? t(key) : status.last_error;
}

/** A route as words: 'direct' or 'socks5:HOST:PORT'. */
export function routeText(route) {
  const r = String(route || 'direct');
  if (r.startsWith('socks5:')) return t('sync.route.socks5.value', { proxy: r.slice('socks5:'.length) });
  return t('sync.route.direct');
}

/** True for HOST:PORT with a port number (IPv6 in brackets allowed). */
export function isProxy(text) {
  const m = /^(.+):(\d{1,5})$/.exec(String(text || '').trim());
  return Boolean(m && m[1] && !/\s/.test(m[1]) && Number(m[2]) > 0 && Number(m[2]) < 65536);
}

// What the page tells the person: which screen shows, the status line, the banner, the final notice, and the
// server's error codes (docs/protocol.md) in words.

import { language, t } from '../lib/i18n.js';
import { log } from './log.js';

export const MESSAGES = Object.freeze({
  expired: t('error.expired'),
  invalid: t('error.invalid'),
  unreachable: t('error.unreachable'),
  lost: t('error.lost'),
  oldBrowser: t('error.oldBrowser'),
});

// The server's own words (English) where they say more than ours (when, why), in an English page; ours otherwise.
const serverWords = (message, key, params) => (language === 'en' && message ? message : t(key, params));

const $ = (id) => document.getElementById(id);

/** Shows one of the page's screens: loading, prejoin, lobby, meeting, notice. */
export function showScreen(name) {
  $('app').dataset.screen = name;
}

export function setStatus(text) {
  $('meeting-status').textContent = text;
  log(`status: ${text}`);
}

/** The banner above the grid; '' hides it. */
export function showBanner(text) {
  const el = $('banner');
  el.textContent = text;
  el.hidden = !text;
  if (text) log(`banner: ${text}`);
}

/** The final screen: the meeting is over for this page (ended, left, refused, lost). */
export function showNotice(title, text, rejoin) {
  $('notice-title').textContent = title;
  $('notice-text').textContent = text;
  $('rejoin-button').hidden = !rejoin;
  showScreen('notice');
  $('notice-title').focus();   // the control that had the focus is gone with its screen
}

/** The peer connection's state on the status line. */
export function mediaStatusText(state) {
  const key = {
    new: 'status.connectingMedia', connecting: 'status.connectingMedia', connected: 'status.connected',
    disconnected: 'status.mediaInterrupted', failed: 'status.mediaFailed',
  }[state];
  return key ? t(key) : (state === 'closed' ? '' : state);
}

/** An `error` message's code in words; `joined` tells whether we were in the meeting when it came. */
export function errorText(code, message, joined) {
  if (code === 'token-expired') return MESSAGES.expired;
  if (code.startsWith('token-')) return MESSAGES.invalid;
  if (code === 'unsupported-version') return t('error.outdated');
  if (code === 'removed') return joined ? t('error.removed') : serverWords(message, 'error.removedBefore');
  if (code === 'replaced') return t('error.replaced');
  if (code === 'role-changed') return serverWords(message, 'error.roleChanged');
  // These say when or why, in words meant for the person (the server's are English: other pages say it in general).
  const general = {
    'meeting-not-open': 'error.notOpen', 'link-revoked': 'error.linkRevoked', 'meeting-cancelled': 'error.cancelled',
    'room-closed': 'error.roomClosed', 'access-check-failed': 'error.accessCheck',
  }[code];
  if (general) return serverWords(message, general);
  if (code === 'lobby-denied') return t('error.lobbyDenied');
  if (code === 'room-locked') return serverWords(message, 'error.roomLocked');
  if (code === 'lobby-full') return serverWords(message, 'error.lobbyFull');
  if (code === 'role-not-allowed') return t('error.viewerOnly');
  return serverWords(message, 'error.server', { code });
}

/** Whether an error code ends this link for good: a scheduled meeting that is not open yet may be joined later. */
export function isFinalError(code) {
  return code.startsWith('token-') || ['removed', 'replaced', 'link-revoked', 'meeting-cancelled', 'room-closed'].includes(code);
}

// What the page tells the person: which screen shows, the status line, the banner, the final notice, and the
// server's error codes (docs/protocol.md) in words.

import { log } from './log.js';

export const MESSAGES = Object.freeze({
  expired: 'This link has expired. Ask the organiser for a new one.',
  invalid: 'This link is not valid.',
  unreachable: 'Cannot reach the server.',
  lost: 'The connection to the server was interrupted.',
  oldBrowser: 'This browser cannot take part in video meetings here: use an up-to-date browser.',
});

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
  return {
    new: 'Connecting media…', connecting: 'Connecting media…', connected: 'Connected',
    disconnected: 'Media interrupted…', failed: 'Media connection failed', closed: '',
  }[state] || state;
}

/** An `error` message's code in words; `joined` tells whether we were in the meeting when it came. */
export function errorText(code, message, joined) {
  if (code === 'token-expired') return MESSAGES.expired;
  if (code.startsWith('token-')) return MESSAGES.invalid;
  if (code === 'unsupported-version') return 'This page is out of date: reload it and try again.';
  if (code === 'removed') return joined ? 'The host removed you from the meeting.' : (message || 'A host removed you from this meeting.');
  if (code === 'replaced') return 'You joined this meeting from another window.';
  if (code === 'role-changed') return message || 'The organiser changed your role. Join again to continue.';
  // These say when or why, in words meant for the person.
  if (['meeting-not-open', 'link-revoked', 'meeting-cancelled', 'room-closed', 'access-check-failed'].includes(code)) return message;
  if (code === 'lobby-denied') return 'A host did not let you in.';
  if (code === 'room-locked') return message || 'A host has locked this meeting: nobody new can join until a host unlocks it.';
  if (code === 'lobby-full') return message || 'Too many people are waiting to be let in; try again in a few minutes.';
  if (code === 'role-not-allowed') return 'This link lets you watch only: others will not see or hear you.';
  return message || `The server reported a problem (${code}).`;
}

/** Whether an error code ends this link for good: a scheduled meeting that is not open yet may be joined later. */
export function isFinalError(code) {
  return code.startsWith('token-') || ['removed', 'replaced', 'link-revoked', 'meeting-cancelled', 'room-closed'].includes(code);
}

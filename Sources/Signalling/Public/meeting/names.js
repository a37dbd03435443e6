// How people are named on the page. The name in a participant's token is its name; a name it typed itself is
// shown next to it, marked, and never in its place (docs/meetings.md).

import { t } from '../lib/i18n.js';

/** The name to show: the token's name, else the identity. */
export function displayName(info) {
  return info.name || info.identity || t('common.guest');
}

/** The name a participant typed, when it differs from the one in its token; '' when there is none. */
export function chosenLabel(info) {
  return info && info.chosenName ? t('common.selfChosen', { name: info.chosenName }) : '';
}

/** One or two letters for the avatar of a tile without video. */
export function initials(name) {
  const words = (name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

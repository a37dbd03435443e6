// What the meeting page's address asks for, and the page's timings. Read once, when the page loads.
//
// URL: /m/{room}?t=TOKEN[&autojoin=1][&name=NAME][&quality=low]
//   autojoin=1   skip the pre-join screen and use the default devices (tests, room systems)
//   name=NAME    a name of one's own: others see the token's name (else its identity), with this one next to it
//                marked as self-chosen
//   quality=low  capture 320x180 at 15 fps, one encoding (tests running many browsers on one machine)

import { CAMERA_VIDEO, SMALL_VIDEO } from '../lib/media.js';

const params = new URLSearchParams(location.search);

/** The page's query (the token is taken out of it, and out of the address bar, by lib/token.js). */
export const query = params;
export const autojoin = params.get('autojoin') === '1';
export const chosenName = params.get('name') || '';
/** The room named by the path /m/{room}. */
export const pathRoom = decodeURIComponent((location.pathname.match(/^\/m\/([^/?#]+)/) || [])[1] || '');
/** The camera is sent as simulcast except with quality=low (320x180 is too small for layers). */
export const lowQuality = params.get('quality') === 'low';
export const video = lowQuality ? SMALL_VIDEO : CAMERA_VIDEO;

/** A tile's size goes to the server at most this often (per tile), after it stops changing. */
export const VIDEO_SIZE_DEBOUNCE_MS = 300;
export const MAX_VIDEO_SIZE = 16384;
export const PING_INTERVAL_MS = 10000;
export const QUALITY_INTERVAL_MS = 2000;
export const GATHERING_TIMEOUT_MS = 3000;
export const ANSWER_TIMEOUT_MS = 15000;
/** The server keeps a dropped participant's place for 30 s (--resume-grace); try to come back within that. */
export const RESUME_WINDOW_MS = 25000;
/** Media not connected this long (at the start or after an interruption): the page explains (connection-help.js). */
export const HELP_AFTER_MS = 10000;
/** The connection stayed `disconnected` this long: restart ICE. */
export const RESTART_AFTER_DISCONNECTED_MS = 4000;
/** An ICE restart (or the first connection) that has not connected after this long is tried again. */
export const RESTART_RETRY_MS = 15000;

// Sabha demo client: publish a camera over WHIP, watch a publisher over WHEP. Plain browser JavaScript as ES
// modules, no build step, no third-party code: everything talks only to this server. This file reads the
// address and wires the page; demo/publisher.js and demo/viewer.js are its two panels, demo/whip-client.js the
// HTTP side, and lib/ what it shares with the meeting page.
//
// URL: /demo.html?room=ROOM&t=TOKEN[&publish=1][&watch=IDENTITY]
//   publish=1       start publishing at once (tests, kiosks)
//   watch=IDENTITY  start watching that publisher at once
//
// window.sabha is for tests and debugging: `pcs` lists every RTCPeerConnection this page made (for getStats()),
// `events` is the human-readable log (newest last), `publisher` and `viewers` the sessions.

import { createEventLog } from './lib/event-log.js';
import { decodeTokenClaims, hasExpired, takeToken } from './lib/token.js';
import { Publisher } from './demo/publisher.js';
import { Viewers } from './demo/viewer.js';
import { WhipClient } from './demo/whip-client.js';

const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);
const room = params.get('room') || '';
const token = takeToken(params, `sabha-token:demo:${room}`);
const { events, log } = createEventLog('sabha', 200);
const pcs = [];

function statusLine(id) {
  return (text, kind) => {
    const el = $(id);
    el.textContent = text;
    el.className = 'status' + (kind ? ' ' + kind : '');
    log(`${id}: ${text}`);
  };
}

const client = new WhipClient({ token, pcs, log });
const publisher = new Publisher({ client, room, setStatus: statusLine('publish-status'), log });
const viewers = new Viewers({ client, room, setStatus: statusLine('watch-status') });

window.sabha = {
  room, pcs, events,
  get publisher() { return publisher.session; },
  get viewers() { return viewers.sessions; },
};

/** "you are NAME (IDENTITY) as ROLE": the token's name and identity as written, in whatever script. */
function whoText(claims) {
  const identity = claims.identity || claims.sub || '';
  const name = claims.name || '';
  const you = name && identity && name !== identity ? `${name} (${identity})` : (name || identity || 'unknown');
  return `Room ${room} — you are ${you}${claims.role ? ` as ${claims.role}` : ''}.`;
}

function init() {
  $('publish-start').addEventListener('click', () => publisher.start());
  $('publish-stop').addEventListener('click', () => publisher.stop());
  $('watch-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    viewers.watch($('watch-identity').value);
  });
  window.addEventListener('pagehide', () => {
    // Best effort: let the server free our sessions at once instead of waiting for consent expiry.
    for (const s of [publisher.session, ...viewers.sessions.values()]) {
      if (s && s.location) client.end(s.location, { keepalive: true });
    }
  });

  if (!room || !token) {
    const el = $('link-error');
    el.textContent = 'This link is incomplete: it needs a room and a token (…/demo.html?room=ROOM&t=TOKEN). Ask the meeting organiser for your personal link.';
    el.hidden = false;
    $('who').textContent = '';
    $('publish-start').disabled = true;
    $('watch-start').disabled = true;
    return;
  }

  const claims = decodeTokenClaims(token) || {};
  let who = whoText(claims);
  if (hasExpired(claims)) {
    who += ' Your link has expired; ask for a new one.';
    $('who').className = 'error';
  }
  $('who').textContent = who;
  if (claims.role === 'viewer') $('publish-start').disabled = true;

  if (!('RTCPeerConnection' in window) || !navigator.mediaDevices) {
    statusLine('publish-status')('This browser cannot do WebRTC here (an up-to-date browser over https or localhost is needed).', 'error');
    return;
  }

  if (params.get('publish') === '1') publisher.start();
  const watch = params.get('watch');
  if (watch) {
    $('watch-identity').value = watch;
    viewers.watch(watch);
  }
}

init();

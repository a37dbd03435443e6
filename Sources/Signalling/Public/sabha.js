// Sabha demo client: publish a camera over WHIP, watch a publisher over WHEP.
// Plain browser JavaScript, no build step, no third-party code: everything talks only to this server.
//
// URL: /demo.html?room=ROOM&t=TOKEN[&publish=1][&watch=IDENTITY]
//   publish=1       start publishing at once (tests, kiosks)
//   watch=IDENTITY  start watching that publisher at once
//
// window.sabha.pcs lists every RTCPeerConnection this page made, so a test can call getStats() on them.
(() => {
  'use strict';

  const params = new URLSearchParams(location.search);
  const room = params.get('room') || '';
  const token = takeToken(params);

  // The token leaves the address bar as soon as it is read (history, screenshots, copied links); this tab keeps it.
  function takeToken(query) {
    const key = `sabha-token:demo:${query.get('room') || ''}`;
    const fromLink = query.get('t');
    let kept = null;
    try {
      if (fromLink) sessionStorage.setItem(key, fromLink);
      kept = sessionStorage.getItem(key);
    } catch (_) { /* storage off: the token lives in this page only */ }
    if (fromLink) {
      const rest = new URLSearchParams(query);
      rest.delete('t');
      history.replaceState(history.state, '', `${location.pathname}?${rest.toString()}${location.hash}`);
    }
    return fromLink || kept || '';
  }

  const sabha = {
    room,
    pcs: [],
    publisher: null,          // { pc, stream, location }
    viewers: new Map(),       // identity -> { pc, location, tile }
    events: [],               // human-readable log, newest last (also handy in test failure output)
  };
  window.sabha = sabha;

  const $ = (id) => document.getElementById(id);

  function log(message) {
    sabha.events.push(`${new Date().toISOString()} ${message}`);
    if (sabha.events.length > 200) sabha.events.shift();
    console.log(`[sabha] ${message}`);
  }

  function setStatus(id, text, kind) {
    const el = $(id);
    el.textContent = text;
    el.className = 'status' + (kind ? ' ' + kind : '');
    log(`${id}: ${text}`);
  }

  // --- token (shown to the person only; the server is the one that checks it) ---

  function decodeTokenClaims(jwt) {
    try {
      const part = jwt.split('.')[1];
      const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
      return JSON.parse(atob(b64));
    } catch (_) {
      return null;
    }
  }

  // --- errors: turn problem+json (RFC 9457) bodies into a sentence a person can act on ---

  async function describeFailure(resp) {
    let detail = '';
    const type = resp.headers.get('Content-Type') || '';
    try {
      if (type.includes('json')) {
        const problem = await resp.json();
        detail = problem.detail || problem.title || '';
      } else {
        detail = (await resp.text()).trim().slice(0, 300);
      }
    } catch (_) { /* body unreadable: fall back to the status below */ }
    if (!detail) {
      detail = {
        401: 'the link\'s token was not accepted',
        403: 'this link does not allow that',
        404: 'not found (has the publisher left?)',
        409: 'already in use',
        503: 'the server is busy, try again shortly',
      }[resp.status] || resp.statusText || 'request failed';
    }
    return `${detail} (HTTP ${resp.status})`;
  }

  function mediaErrorText(err) {
    switch (err && err.name) {
      case 'NotAllowedError': return 'camera/microphone permission was denied';
      case 'NotFoundError': return 'no camera or microphone found';
      case 'NotReadableError': return 'the camera is in use by another program';
      default: return (err && err.message) || String(err);
    }
  }

  // --- WHIP/WHEP plumbing (no trickle: we send one offer with all our candidates) ---

  function newPeerConnection() {
    // No STUN/TURN: the server is ICE-lite with a host candidate; we only ever talk to it.
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    sabha.pcs.push(pc);
    return pc;
  }

  function gatheringComplete(pc, timeoutMs) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        pc.removeEventListener('icegatheringstatechange', check);
        clearTimeout(timer);
        resolve();
      };
      const check = () => { if (pc.iceGatheringState === 'complete') done(); };
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  async function negotiate(pc, url) {
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, 2000);
    let resp;
    try {
      resp = await fetch(url, {
        method: 'POST',
        headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
    } catch (err) {
      throw new Error(`cannot reach the server: ${err.message}`);
    }
    if (resp.status !== 201) throw new Error(await describeFailure(resp));
    const where = resp.headers.get('Location');
    if (!where) throw new Error('the server sent no session location');
    const answer = await resp.text();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return new URL(where, location.href).href;
  }

  async function endSession(sessionURL) {
    if (!sessionURL) return;
    try {
      await fetch(sessionURL, { method: 'DELETE', headers: { 'Authorization': `Bearer ${token}` } });
    } catch (err) {
      log(`DELETE ${sessionURL} failed: ${err.message}`);
    }
  }

  function connectionText(state) {
    return {
      new: 'starting…', connecting: 'connecting…', connected: 'connected',
      disconnected: 'connection interrupted…', failed: 'connection failed', closed: 'ended',
    }[state] || state;
  }

  // --- publish ---

  // The camera as simulcast (simulcast.js), or one encoding where the browser refuses it.
  function addSimulcastTransceiver(pc, track, stream) {
    return window.SabhaSimulcast.addCameraTransceiver(pc, track, stream, (m) => console.warn(m));
  }

  async function startPublishing() {
    if (sabha.publisher) return;
    $('publish-start').disabled = true;
    setStatus('publish-status', 'Asking for camera and microphone…');
    let stream;
    try {
      // 1280x720: Chromium sends all three simulcast layers only for input of at least 960x540.
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
    } catch (err) {
      setStatus('publish-status', `Could not start the camera: ${mediaErrorText(err)}.`, 'error');
      $('publish-start').disabled = false;
      return;
    }
    $('self-video').srcObject = stream;
    $('self-tile').hidden = false;

    const pc = newPeerConnection();
    const entry = { pc, stream, location: null };
    sabha.publisher = entry;
    for (const track of stream.getTracks()) {
      if (track.kind === 'video') addSimulcastTransceiver(pc, track, stream);
      else pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    }
    pc.addEventListener('connectionstatechange', () => {
      if (sabha.publisher !== entry) return;
      const state = pc.connectionState;
      setStatus('publish-status', `Publishing: ${connectionText(state)}`, state === 'connected' ? 'ok' : (state === 'failed' || state === 'closed') ? 'error' : '');
    });

    setStatus('publish-status', 'Connecting to the server…');
    try {
      entry.location = await negotiate(pc, `/whip/${encodeURIComponent(room)}`);
      $('publish-stop').disabled = false;
      setStatus('publish-status', `Publishing: ${connectionText(pc.connectionState)}`);
    } catch (err) {
      setStatus('publish-status', `Could not publish: ${err.message}`, 'error');
      stopPublishing(false);
    }
  }

  async function stopPublishing(announce = true) {
    const entry = sabha.publisher;
    if (!entry) return;
    sabha.publisher = null;
    $('publish-stop').disabled = true;
    await endSession(entry.location);
    entry.pc.close();
    entry.stream.getTracks().forEach((t) => t.stop());
    $('self-video').srcObject = null;
    $('self-tile').hidden = true;
    $('publish-start').disabled = false;
    if (announce) setStatus('publish-status', 'Stopped publishing.');
  }

  // --- watch ---

  function makeTile(identity) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    tile.dataset.identity = identity;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;     // autoplay policies: start muted, the person can unmute with controls
    video.controls = true;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = identity;
    const state = document.createElement('span');
    state.className = 'tile-status';
    state.textContent = 'connecting…';
    const stop = document.createElement('button');
    stop.type = 'button';
    stop.className = 'secondary';
    stop.textContent = 'Stop';
    stop.addEventListener('click', () => stopWatching(identity));
    tile.append(video, label, state, stop);
    $('tiles').append(tile);
    return { tile, video, state };
  }

  async function startWatching(identity) {
    identity = identity.trim();
    if (!identity) return;
    if (sabha.viewers.has(identity)) {
      setStatus('watch-status', `Already watching ${identity}.`);
      return;
    }
    const pc = newPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const ui = makeTile(identity);
    const entry = { pc, location: null, ui };
    sabha.viewers.set(identity, entry);
    const stream = new MediaStream();
    ui.video.srcObject = stream;
    pc.addEventListener('track', (ev) => {
      stream.addTrack(ev.track);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (sabha.viewers.get(identity) !== entry) return;
      const state = pc.connectionState;
      ui.state.textContent = connectionText(state);
      if (state === 'connected') {
        setStatus('watch-status', `Watching ${identity}.`, 'ok');
      } else if (state === 'failed' || state === 'closed') {
        setStatus('watch-status', `${identity}: ${connectionText(state)} (the publisher may have left).`, 'error');
      }
    });

    setStatus('watch-status', `Connecting to ${identity}…`);
    try {
      entry.location = await negotiate(pc, `/whep/${encodeURIComponent(room)}/${encodeURIComponent(identity)}`);
    } catch (err) {
      setStatus('watch-status', `Could not watch ${identity}: ${err.message}`, 'error');
      sabha.viewers.delete(identity);
      pc.close();
      ui.tile.remove();
    }
  }

  async function stopWatching(identity) {
    const entry = sabha.viewers.get(identity);
    if (!entry) return;
    sabha.viewers.delete(identity);
    await endSession(entry.location);
    entry.pc.close();
    entry.ui.tile.remove();
    setStatus('watch-status', `Stopped watching ${identity}.`);
  }

  // --- page setup ---

  function init() {
    $('publish-start').addEventListener('click', () => startPublishing());
    $('publish-stop').addEventListener('click', () => stopPublishing());
    $('watch-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      startWatching($('watch-identity').value);
    });
    window.addEventListener('pagehide', () => {
      // Best effort: let the server free our sessions at once instead of waiting for consent expiry.
      const all = [sabha.publisher, ...sabha.viewers.values()].filter((e) => e && e.location);
      for (const e of all) {
        fetch(e.location, { method: 'DELETE', headers: { 'Authorization': `Bearer ${token}` }, keepalive: true });
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
    const identity = claims.identity || claims.sub || claims.name || 'unknown';
    const role = claims.role ? ` as ${claims.role}` : '';
    let who = `Room ${room} — you are ${identity}${role}.`;
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) {
      who += ' Your link has expired; ask for a new one.';
      $('who').className = 'error';
    }
    $('who').textContent = who;
    if (claims.role === 'viewer') $('publish-start').disabled = true;

    if (!('RTCPeerConnection' in window) || !navigator.mediaDevices) {
      setStatus('publish-status', 'This browser cannot do WebRTC here (an up-to-date browser over https or localhost is needed).', 'error');
      return;
    }

    if (params.get('publish') === '1') startPublishing();
    const watch = params.get('watch');
    if (watch) {
      $('watch-identity').value = watch;
      startWatching(watch);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();

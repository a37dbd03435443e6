// Sabha meeting client: one WebSocket for signalling (docs/protocol.md, version 1) and one RTCPeerConnection
// that carries our camera and microphone out and every other participant's tracks in.
// Plain browser JavaScript, no build step, no third-party code: everything talks only to this server.
//
// URL: /m/{room}?t=TOKEN[&autojoin=1][&name=NAME][&quality=low]
//   autojoin=1   skip the pre-join screen and use the default devices (tests, room systems)
//   name=NAME    a name of one's own: others see the token's name (else its identity), with this one next to it
//                marked as self-chosen
// The token (t=) leaves the address bar as soon as it is read (history.replaceState); sessionStorage keeps it for
// this tab, so a reload still joins.
//   quality=low  capture 320x180 at 15 fps (tests running many browsers on one machine)
//
// The camera is sent as simulcast (rids q/h/f at 1/4, 1/2 and full size; the server answers a=simulcast:recv;
// not with quality=low)
// and each remote video tile reports its size (`video-size`, debounced) so the server forwards a fitting layer.
//
// window.sabhaMeeting is for tests and debugging:
//   pc              the RTCPeerConnection (null before joining)
//   events          human-readable log, newest last
//   participants()  the other participants: [{id, name, identity, role}]
//   me()            our own {id, name, identity, role} once joined
//   stats()         {perParticipant: {id: {framesDecoded, audioPackets}}, tiles, state}
//   layers          server track id -> {spatial, temporal}, from the server's `layers` messages (shown nowhere)
//   videoSizes      server track id -> {width, height}, the last `video-size` we sent
//   activeSpeaker   participant id of the latest `active-speaker`, or null
(() => {
  'use strict';

  const params = new URLSearchParams(location.search);
  const token = takeToken(params);
  const autojoin = params.get('autojoin') === '1';
  const pathRoom = decodeURIComponent((location.pathname.match(/^\/m\/([^/?#]+)/) || [])[1] || '');
  const claims = decodeTokenClaims(token);
  const isViewer = !!claims && claims.role === 'viewer';

  const LOW_QUALITY = params.get('quality') === 'low';
  const VIDEO = LOW_QUALITY
    ? { width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 15 } }
    : { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24 } };
  // A tile's size goes to the server at most this often (per tile), after it stops changing.
  const VIDEO_SIZE_DEBOUNCE_MS = 300;
  const MAX_VIDEO_SIZE = 16384;
  const PING_INTERVAL_MS = 10000;
  const QUALITY_INTERVAL_MS = 2000;
  const GATHERING_TIMEOUT_MS = 3000;
  const ANSWER_TIMEOUT_MS = 15000;
  // The server keeps a dropped participant's place for 30 s (--resume-grace); try to come back within that.
  const RESUME_WINDOW_MS = 25000;

  const MESSAGES = {
    expired: 'This link has expired. Ask the organiser for a new one.',
    invalid: 'This link is not valid.',
    unreachable: 'Cannot reach the server.',
    blocked: 'Camera or microphone blocked: allow them in the browser\'s site settings.',
  };

  const state = {
    local: null,                 // our MediaStream (camera and/or microphone), or null
    name: '',
    ws: null,
    pc: null,
    me: null,                    // {id, identity, name, role} from `joined`
    room: pathRoom,
    participants: new Map(),     // participant id -> {info, ui, video: MediaStreamTrack|null, audio: MediaStreamTrack|null}
    tracks: new Map(),           // server track id -> {id, participant, kind, source, muted}
    trackOwner: new Map(),       // MediaStreamTrack.id of a receiver -> participant id (set in ontrack)
    receive: [],                 // the latest `renegotiate.receive`
    removed: [],                 // hosts only: [{identity, name}] kept out of the room until let back in
    offering: false,             // an offer is in flight
    reofferWanted: false,        // a renegotiate arrived while it was
    answerWaiter: null,          // {resolve, reject} for the offer in flight
    micMuted: false,
    camMuted: false,
    pingTimer: null,
    pingId: 0,
    finished: false,             // a final screen is showing; socket closes are expected
    screen: null,                // {stream, transceiver} while we share our screen
    resume: null,                // secret from `joined`, to resume after the socket drops
    reconnect: null,             // {since, attempt, timer} while trying to resume
  };

  const api = {
    pc: null,
    events: [],
    participants: () => [...state.participants.values()].map(({ info }) => ({
      id: info.id, name: info.name, identity: info.identity, role: info.role, chosenName: info.chosenName || null,
    })),
    me: () => state.me && { ...state.me },
    stats,
    layers: {},
    videoSizes: {},
    activeSpeaker: null,
    // Drops the WebSocket as a network loss would (no leave); the page then resumes. For tests and support.
    dropSocket: () => { if (state.ws) state.ws.close(4000, 'dropped on request'); },
  };
  window.sabhaMeeting = api;

  const $ = (id) => document.getElementById(id);

  function log(message) {
    api.events.push(`${new Date().toISOString()} ${message}`);
    if (api.events.length > 300) api.events.shift();
    console.log(`[meeting] ${message}`);
  }

  // --- the token: out of the address bar as soon as it is read ---

  // The token is the person's key to the meeting: it must not stay in the address bar (history, screenshots, a
  // link copied from there) nor go out in a Referer. It is kept for this tab only (sessionStorage), so a reload or
  // "Join again" still works.
  function takeToken(query) {
    const key = `sabha-token:${location.pathname}`;
    const fromLink = query.get('t');
    let kept = null;
    try {
      if (fromLink) sessionStorage.setItem(key, fromLink);
      kept = sessionStorage.getItem(key);
    } catch (_) { /* storage off: the token lives in this page only */ }
    if (fromLink) {
      const rest = new URLSearchParams(query);
      rest.delete('t');
      const search = rest.toString();
      history.replaceState(history.state, '', location.pathname + (search ? `?${search}` : '') + location.hash);
    }
    return fromLink || kept || '';
  }

  // --- token claims (shown to the person only; the server is the one that checks the token) ---

  function decodeTokenClaims(jwt) {
    try {
      const part = jwt.split('.')[1];
      const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (_) {
      return null;
    }
  }

  // --- icons (inline SVG, so nothing is fetched from elsewhere) ---

  const ICON_PATHS = {
    mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9h-2z',
    micOff: 'M19 11h-2c0 .7-.2 1.4-.4 2l1.5 1.5c.6-1 .9-2.2.9-3.5zM15 11.2V5a3 3 0 0 0-5.9-.8zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.5 2.6l1.6 1.6A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1c.9-.1 1.8-.4 2.6-.9l4.1 4.1 1.3-1.3z',
    cam: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z',
    camOff: 'M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.8L21 17.2zM3.3 2 2 3.3 4.7 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.2 0 .4-.1.6-.2l3.2 3.2 1.3-1.3z',
    people: 'M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0-1 .1c1.2.8 2 2 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z',
  };

  function icon(name) {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.classList.add('svg-icon');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', ICON_PATHS[name]);
    path.setAttribute('fill', 'currentColor');
    svg.append(path);
    return svg;
  }

  function setIcon(holder, name) {
    holder.replaceChildren(icon(name));
  }

  function initials(name) {
    const words = (name || '?').trim().split(/\s+/).filter(Boolean);
    const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
    return letters.toUpperCase();
  }

  // --- screens ---

  function showScreen(name) {
    $('app').dataset.screen = name;
  }

  function setStatus(text) {
    $('meeting-status').textContent = text;
    log(`status: ${text}`);
  }

  function showBanner(text) {
    const el = $('banner');
    el.textContent = text;
    el.hidden = !text;
    if (text) log(`banner: ${text}`);
  }

  // A final screen: the meeting is over for this page (ended, left, refused, lost).
  function finish(title, text, { rejoin = true } = {}) {
    if (state.finished) return;
    state.finished = true;
    log(`finish: ${title} ${text}`);
    teardown();
    $('notice-title').textContent = title;
    $('notice-text').textContent = text;
    $('rejoin-button').hidden = !rejoin;
    showScreen('notice');
  }

  function teardown() {
    stopPing();
    if (state.screen) state.screen.stream.getTracks().forEach((t) => t.stop());
    if (state.answerWaiter) {
      state.answerWaiter.reject(new Error('the meeting ended'));
      state.answerWaiter = null;
    }
    if (state.pc) {
      state.pc.close();
    }
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      try { ws.close(1000); } catch (_) { /* already closing */ }
    }
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    for (const id of [...state.participants.keys()]) removeParticipant(id);
    document.querySelectorAll('video, audio').forEach((el) => { el.srcObject = null; });
  }

  // --- pre-join: preview and devices ---

  function mediaErrorText(err) {
    switch (err && err.name) {
      case 'NotAllowedError':
      case 'SecurityError': return MESSAGES.blocked;
      case 'NotFoundError':
      case 'OverconstrainedError': return 'No camera or microphone was found. You can still join to watch and listen.';
      case 'NotReadableError': return 'The camera or microphone is in use by another program.';
      default: return `The camera and microphone could not be started (${(err && err.message) || err}).`;
    }
  }

  // Asks for camera and microphone; falls back to whichever one works. Returns a MediaStream or null.
  async function acquireMedia(cameraId, micId) {
    if (isViewer) return null;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw Object.assign(new Error('this browser cannot use a camera here (https or localhost is needed)'), { name: 'NotSupportedError' });
    }
    const audio = micId ? { deviceId: { exact: micId } } : true;
    const video = cameraId ? { ...VIDEO, deviceId: { exact: cameraId } } : VIDEO;
    try {
      return await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (err) {
      if (err.name === 'NotAllowedError' || err.name === 'SecurityError') throw err;
      log(`getUserMedia(audio+video) failed: ${err.name}; trying each alone`);
      for (const only of [{ audio }, { video }]) {
        try { return await navigator.mediaDevices.getUserMedia(only); } catch (_) { /* try the next */ }
      }
      throw err;
    }
  }

  async function fillDeviceLists() {
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (_) { return; }
    const fill = (select, kind, current) => {
      const found = devices.filter((d) => d.kind === kind);
      select.replaceChildren(...found.map((d, i) => {
        const opt = document.createElement('option');
        opt.value = d.deviceId;
        opt.textContent = d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`;
        opt.selected = d.deviceId === current;
        return opt;
      }));
      select.disabled = found.length === 0;
    };
    const cur = (kind) => {
      const t = state.local && state.local.getTracks().find((tr) => tr.kind === kind);
      return t ? t.getSettings().deviceId : '';
    };
    fill($('camera-select'), 'videoinput', cur('video'));
    fill($('mic-select'), 'audioinput', cur('audio'));
  }

  async function startPreview(cameraId, micId) {
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    state.local = null;
    const errorEl = $('prejoin-media-error');
    errorEl.hidden = true;
    try {
      state.local = await acquireMedia(cameraId, micId);
    } catch (err) {
      log(`getUserMedia failed: ${err.name} ${err.message}`);
      errorEl.textContent = mediaErrorText(err);
      errorEl.hidden = false;
    }
    const hasVideo = !!(state.local && state.local.getVideoTracks().length);
    $('preview-video').srcObject = hasVideo ? state.local : null;
    $('preview-avatar').hidden = hasVideo;
    await fillDeviceLists();
  }

  function setupPrejoin() {
    $('prejoin-room').textContent = state.room || 'the meeting';
    const nameInput = $('name-input');
    nameInput.value = state.name;
    const linkName = claims && (claims.name || claims.sub);
    if (linkName) {
      $('name-note').textContent = `Others see you as “${linkName}”, the name in your link. A different name typed here is shown next to it, marked as self-chosen.`;
    }
    const update = () => { $('preview-avatar').querySelector('span').textContent = initials(nameInput.value); };
    nameInput.addEventListener('input', update);
    update();
    if (isViewer) {
      $('camera-field').hidden = true;
      $('mic-field').hidden = true;
      $('preview-tile').hidden = true;
      $('prejoin-note').textContent = 'You are joining as a viewer: you will see and hear the meeting, but others will not see or hear you.';
    } else {
      const onChange = () => startPreview($('camera-select').value, $('mic-select').value);
      $('camera-select').addEventListener('change', onChange);
      $('mic-select').addEventListener('change', onChange);
      startPreview('', '');
    }
    if (claims && typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) {
      $('prejoin-note').textContent = MESSAGES.expired;
      $('prejoin-note').className = 'error';
    }
    $('prejoin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.name = nameInput.value.trim() || state.name;
      join();
    });
    showScreen('prejoin');
    nameInput.focus();
  }

  // --- joining ---

  function join() {
    $('preview-video').srcObject = null;
    $('room-name').textContent = state.room;
    addSelfTile();
    updateControls();
    showScreen('meeting');
    setStatus('Connecting…');
    openSocket();
  }

  function openSocket() {
    const url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/ws';
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      log(`WebSocket failed: ${err.message}`);
      finish('Cannot join', MESSAGES.unreachable);
      return;
    }
    state.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      log('socket open');
      const join = { type: 'join', version: 1, token, name: state.name };
      if (pathRoom) join.room = pathRoom;
      if (state.reconnect && state.resume) join.resume = state.resume;
      send(join);
    });
    ws.addEventListener('message', (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_) {
        log(`ignored a frame that is not JSON: ${String(ev.data).slice(0, 80)}`);
        return;
      }
      if (!msg || typeof msg.type !== 'string') return;
      if (msg.type !== 'pong') log(`recv ${msg.type}`);
      try {
        handleMessage(msg);
      } catch (err) {
        log(`error handling ${msg.type}: ${err.stack || err}`);
      }
    });
    ws.addEventListener('close', (ev) => {
      log(`socket closed (code ${ev.code}${ev.reason ? ', ' + ev.reason : ''})`);
      if (state.ws !== ws) return;
      state.ws = null;
      onSocketClosed(opened);
    });
  }

  // The socket closed without us leaving: resume within the server's grace period, else give up.
  function onSocketClosed(wasOpen) {
    if (state.finished) return;
    if (state.resume && (wasOpen || state.reconnect)) {
      scheduleReconnect();
      return;
    }
    if (!wasOpen) {
      finish('Cannot join', MESSAGES.unreachable);
    } else {
      finish('Connection lost', 'The connection to the server was interrupted.');
    }
  }

  function scheduleReconnect() {
    stopPing();
    if (state.answerWaiter) {
      state.answerWaiter.reject(new Error('connection lost'));
      state.answerWaiter = null;
    }
    if (!state.reconnect) state.reconnect = { since: Date.now(), attempt: 0, timer: null };
    const r = state.reconnect;
    if (Date.now() - r.since > RESUME_WINDOW_MS) {
      state.reconnect = null;
      finish('Connection lost', 'The connection to the server was interrupted.');
      return;
    }
    showBanner('Connection lost. Reconnecting…');
    setStatus('Reconnecting…');
    const delay = Math.min(4000, 500 * 2 ** r.attempt++);
    log(`reconnecting in ${delay} ms`);
    r.timer = setTimeout(() => { if (!state.finished) openSocket(); }, delay);
  }

  function send(msg) {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    if (msg.type !== 'ping') log(`send ${msg.type}`);
    return true;
  }

  function startPing() {
    stopPing();
    state.pingTimer = setInterval(() => send({ type: 'ping', id: ++state.pingId }), PING_INTERVAL_MS);
    state.qualityTimer = setInterval(updateQuality, QUALITY_INTERVAL_MS);
  }

  function stopPing() {
    if (state.pingTimer) clearInterval(state.pingTimer);
    if (state.qualityTimer) clearInterval(state.qualityTimer);
    state.pingTimer = null;
    state.qualityTimer = null;
  }

  // Connection-quality hint from our own peer connection: loss on what we receive (since the last look)
  // and the round-trip time of the selected ICE pair.
  async function updateQuality() {
    const pc = state.pc;
    if (!pc || pc.connectionState !== 'connected') return;
    let received = 0, lost = 0, rtt = null;
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type === 'inbound-rtp') { received += r.packetsReceived || 0; lost += r.packetsLost || 0; }
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && r.currentRoundTripTime !== undefined) {
        rtt = r.currentRoundTripTime;
      }
    });
    const last = state.qualityLast || { received: 0, lost: 0 };
    state.qualityLast = { received, lost };
    const dReceived = received - last.received;
    const dLost = Math.max(0, lost - last.lost);
    const loss = dReceived + dLost > 0 ? dLost / (dReceived + dLost) : 0;
    let quality = 'good';
    if (loss > 0.05 || (rtt !== null && rtt > 0.4)) quality = 'poor';
    else if (loss > 0.02 || (rtt !== null && rtt > 0.2)) quality = 'fair';
    const el = $('quality');
    el.hidden = false;
    el.dataset.quality = quality;
    el.textContent = { good: 'Good connection', fair: 'Unstable connection', poor: 'Poor connection' }[quality];
    el.title = `Loss ${(loss * 100).toFixed(1)}%` + (rtt !== null ? `, round trip ${Math.round(rtt * 1000)} ms` : '');
  }

  function handleMessage(msg) {
    switch (msg.type) {
      case 'joined': return onJoined(msg);
      case 'answer': return onAnswer(msg);
      case 'renegotiate':
        state.receive = Array.isArray(msg.receive) ? msg.receive : [];
        return requestOffer();
      case 'participant-joined': return addParticipant(msg.participant);
      case 'removed-list':
        state.removed = Array.isArray(msg.removed) ? msg.removed : [];
        return renderPeople();
      case 'participant-left': return removeParticipant(msg.participant);
      case 'track-published':
        if (msg.track && msg.track.id) state.tracks.set(msg.track.id, { ...msg.track });
        return refreshParticipant(msg.track && msg.track.participant);
      case 'track-unpublished': {
        const t = state.tracks.get(msg.track);
        state.tracks.delete(msg.track);
        if (t && t.source === 'screen') {
          const owner = state.participants.get(t.participant);
          if (owner) attachScreen(owner, null);
        }
        return t && refreshParticipant(t.participant);
      }
      case 'muted': {
        const t = state.tracks.get(msg.track);
        if (!t) return undefined;
        t.muted = !!msg.muted;
        return refreshParticipant(t.participant);
      }
      case 'mute-request':
        if (msg.kind === 'audio' || msg.kind === 'video') {
          setMuted(msg.kind, true);
          const by = state.participants.get(msg.by);
          showBanner(`${by ? displayName(by.info) : 'The host'} turned off your ${msg.kind === 'audio' ? 'microphone' : 'camera'}.`);
        }
        return undefined;
      case 'layers':
        if (typeof msg.track === 'string') api.layers[msg.track] = { spatial: msg.spatial, temporal: msg.temporal };
        return undefined;
      case 'active-speaker':
        api.activeSpeaker = msg.participant || null;
        document.querySelectorAll('#grid .tile.speaking').forEach((t) => t.classList.remove('speaking'));
        if (msg.participant) {
          const tile = document.querySelector(`#grid .tile[data-participant="${CSS.escape(msg.participant)}"]`);
          if (tile) tile.classList.add('speaking');
        }
        return undefined;
      case 'meeting-ended':
        return finish('The meeting has ended.', 'Thank you for joining.', { rejoin: false });
      case 'error': return onError(msg);
      case 'pong': return undefined;
      default:
        log(`ignored message type ${msg.type}`);
        return undefined;
    }
  }

  function errorText(code, message) {
    if (code === 'token-expired') return MESSAGES.expired;
    if (code.startsWith('token-')) return MESSAGES.invalid;
    if (code === 'unsupported-version') return 'This page is out of date: reload it and try again.';
    if (code === 'removed') return state.me ? 'The host removed you from the meeting.' : (message || 'A host removed you from this meeting.');
    if (code === 'replaced') return 'You joined this meeting from another window.';
    if (code === 'media-closed') return 'The media connection was lost.';
    if (code === 'role-changed') return message || 'The organiser changed your role. Join again to continue.';
    // These say when or why, in words meant for the person.
    if (['meeting-not-open', 'link-revoked', 'meeting-cancelled', 'room-closed', 'access-check-failed'].includes(code)) return message;
    if (code === 'role-not-allowed') return 'This link lets you watch only: others will not see or hear you.';
    return message || `The server reported a problem (${code}).`;
  }

  function onError(msg) {
    const code = String(msg.code || 'error');
    log(`error ${code}: ${msg.message || ''}${msg.fatal ? ' (fatal)' : ''}`);
    if ((code === 'sdp-invalid') && state.answerWaiter) {
      state.answerWaiter.reject(new Error(`the server refused our offer: ${msg.message || code}`));
      state.answerWaiter = null;
    }
    if (msg.fatal || code.startsWith('token-')) {
      // A scheduled meeting that is not open yet may be joined later; a withdrawn link or a cancelled meeting never.
      const final = code.startsWith('token-') || ['removed', 'replaced', 'link-revoked', 'meeting-cancelled', 'room-closed'].includes(code);
      finish(state.me ? 'Disconnected' : 'Cannot join', errorText(code, msg.message), { rejoin: !final });
    } else {
      showBanner(errorText(code, msg.message));
    }
  }

  function onJoined(msg) {
    if (msg.resume) state.resume = msg.resume;
    const resuming = !!state.reconnect;
    if (resuming) {
      state.reconnect = null;
      showBanner('');
    }
    if (msg.resumed && state.pc) {
      // Same participant, same peer connection (media never stopped): bring the room view up to date.
      log('resumed');
      state.me = msg.you || state.me;
      const present = new Set((msg.participants || []).map((p) => p.id));
      for (const id of [...state.participants.keys()]) if (!present.has(id)) removeParticipant(id);
      for (const p of msg.participants || []) if (!state.participants.has(p.id)) addParticipant(p);
      for (const t of msg.tracks || []) state.tracks.set(t.id, { ...t });
      for (const id of state.participants.keys()) refreshParticipant(id);
      setStatus(state.pc.connectionState === 'connected' ? 'Connected' : 'Connecting media…');
      startPing();
      return;
    }
    if (resuming && state.pc) {
      // The server let us go meanwhile: start media afresh as a new participant.
      log('resume refused; joining afresh');
      state.pc.close();
      state.pc = null;
      for (const id of [...state.participants.keys()]) removeParticipant(id);
      state.tracks.clear();
      state.trackOwner.clear();
    }
    state.me = msg.you || null;
    state.removed = Array.isArray(msg.removed) ? msg.removed : [];
    if (msg.room) {
      state.room = msg.room;
      $('room-name').textContent = msg.room;
    }
    if (state.me) refreshSelf();
    updateControls();
    for (const p of msg.participants || []) addParticipant(p);
    for (const t of msg.tracks || []) state.tracks.set(t.id, { ...t });
    for (const id of state.participants.keys()) refreshParticipant(id);
    // Receivers for the tracks already there: the server's first answer can then carry them.
    state.receive = (msg.tracks || []).map((t) => ({ track: t.id, participant: t.participant, kind: t.kind }));
    setStatus('Connecting media…');
    startPing();
    createPeerConnection();
    requestOffer();
  }

  // --- media negotiation: only we offer, one offer in flight at a time ---

  function createPeerConnection() {
    // No STUN/TURN: the server is ICE-lite on the same network, and takes no trickled candidates.
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    state.pc = pc;
    api.pc = pc;
    if (state.local) {
      for (const track of state.local.getTracks()) {
        // quality=low (320x180) is too small for layers: Chromium would send one, at a quarter of the size.
        if (track.kind === 'video' && !LOW_QUALITY) addCameraTransceiver(pc, track, state.local);
        else pc.addTransceiver(track, { direction: 'sendonly', streams: [state.local] });
      }
    }
    pc.addEventListener('track', onTrack);
    pc.addEventListener('connectionstatechange', () => {
      const s = pc.connectionState;
      log(`pc ${s}`);
      if (state.pc !== pc) return;
      setStatus({ new: 'Connecting media…', connecting: 'Connecting media…', connected: 'Connected',
        disconnected: 'Media interrupted…', failed: 'Media connection failed', closed: '' }[s] || s);
      if (s === 'failed') showBanner('The media connection failed: others may not see or hear you.');
      if (s === 'connected') showBanner('');
    });
  }

  // The camera as simulcast (simulcast.js), or one encoding where the browser refuses it.
  function addCameraTransceiver(pc, track, stream) {
    return window.SabhaSimulcast.addCameraTransceiver(pc, track, stream, log);
  }

  async function requestOffer() {
    if (!state.pc) return;
    if (state.offering) {
      state.reofferWanted = true;
      return;
    }
    state.offering = true;
    try {
      do {
        state.reofferWanted = false;
        await offerOnce(state.pc);
      } while (state.reofferWanted && state.pc && !state.finished);
    } catch (err) {
      log(`negotiation failed: ${err.message}`);
      if (!state.finished) showBanner(`Could not set up media: ${err.message}`);
    } finally {
      state.offering = false;
    }
  }

  function ensureReceivers(pc) {
    for (const kind of ['audio', 'video']) {
      const need = state.receive.filter((r) => r.kind === kind).length;
      const have = pc.getTransceivers().filter((t) => t.direction === 'recvonly' && t.receiver.track.kind === kind).length;
      for (let i = have; i < need; i++) pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  async function offerOnce(pc) {
    ensureReceivers(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, GATHERING_TIMEOUT_MS);
    let answer;
    try {
      answer = await exchange(pc.localDescription.sdp);
    } catch (err) {
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
      }
      throw err;
    }
    state.midTracks = tracksByMid(answer);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    // The server keeps mute state per published track: repeat ours in case a track was published after we muted.
    if (state.micMuted) send({ type: 'mute', kind: 'audio', muted: true });
    if (state.camMuted) send({ type: 'mute', kind: 'video', muted: true });
  }

  // mid -> server track id, from the answer's a=msid lines (remote MediaStreamTrack ids are random, not the msid's).
  function tracksByMid(sdp) {
    const map = new Map();
    let mid = null;
    for (const line of sdp.split(/\r?\n/)) {
      if (line.startsWith('m=')) mid = null;
      else if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
      else if (line.startsWith('a=msid:') && mid !== null) map.set(mid, line.slice(7).trim().split(/\s+/)[1]);
    }
    return map;
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

  // Sends the offer; resolves with the answer's SDP.
  function exchange(sdp) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (state.answerWaiter === waiter) state.answerWaiter = null;
        reject(new Error('the server did not answer'));
      }, ANSWER_TIMEOUT_MS);
      const waiter = {
        resolve: (answer) => { clearTimeout(timer); resolve(answer); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      state.answerWaiter = waiter;
      const sources = {};
      if (state.screen && state.screen.transceiver.mid) sources[state.screen.transceiver.mid] = 'screen';
      if (!send({ type: 'offer', sdp, sources })) {
        state.answerWaiter = null;
        waiter.reject(new Error('not connected'));
      }
    });
  }

  function onAnswer(msg) {
    const waiter = state.answerWaiter;
    state.answerWaiter = null;
    if (!waiter) {
      log('ignored an answer with no offer in flight');
      return;
    }
    if (typeof msg.sdp !== 'string') {
      waiter.reject(new Error('the answer has no SDP'));
      return;
    }
    waiter.resolve(msg.sdp);
  }

  function onTrack(ev) {
    const stream = ev.streams[0];
    const track = ev.track;
    if (!stream) {
      log(`track ${track.kind} without a stream: ignored`);
      return;
    }
    const pid = stream.id;
    log(`ontrack ${track.kind} from ${pid}`);
    state.trackOwner.set(track.id, pid);
    // A receiver is reused when its previous sender left: let go of it wherever it was shown.
    for (const [id, p] of state.participants) {
      if (id !== pid && p[track.kind] === track) attachTrack(p, track.kind, null);
    }
    let p = state.participants.get(pid);
    if (!p) p = addParticipant({ id: pid, identity: '', name: '', role: 'participant' });
    const serverTrack = ev.transceiver && state.midTracks ? state.midTracks.get(ev.transceiver.mid) : undefined;
    const announced = serverTrack && state.tracks.get(serverTrack);
    if (track.kind === 'video' && announced && announced.source === 'screen') {
      attachScreen(p, track);
      return;
    }
    if (p.screen === track) attachScreen(p, null);
    attachTrack(p, track.kind, track);
  }

  // A participant's screen share: a tile of its own next to their camera tile.
  function attachScreen(p, track) {
    p.screen = track;
    if (!track) {
      if (p.screenUi) {
        unobserveVideo(p.screenUi.video);
        p.screenUi.video.srcObject = null;
        p.screenUi.tile.remove();
        p.screenUi = null;
        layoutGrid();
      }
      return;
    }
    if (!p.screenUi) {
      p.screenUi = makeTile(`${p.info.id}:screen`);
      p.screenUi.tile.classList.add('screen');
      p.screenUi.micBadge.hidden = true;
      p.screenUi.avatar.hidden = true;
    }
    p.screenUi.name.textContent = `${displayName(p.info)} (screen)`;
    p.screenUi.video.srcObject = new MediaStream([track]);
    p.screenUi.video.play().catch(() => {});
    scheduleVideoSize(p.screenUi.video);
  }

  async function toggleScreenShare() {
    if (state.screen) return stopScreenShare();
    if (!state.pc || !navigator.mediaDevices.getDisplayMedia) return undefined;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      log(`screen share refused: ${err.name}`);
      if (err.name !== 'NotAllowedError') showBanner(`Cannot share the screen: ${err.message}`);
      return undefined;
    }
    const track = stream.getVideoTracks()[0];
    const transceiver = state.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    state.screen = { stream, transceiver };
    track.addEventListener('ended', () => stopScreenShare());
    updateControls();
    return requestOffer();
  }

  function stopScreenShare() {
    const share = state.screen;
    if (!share) return undefined;
    state.screen = null;
    share.stream.getTracks().forEach((t) => t.stop());
    share.transceiver.sender.replaceTrack(null).catch(() => {});
    share.transceiver.direction = 'inactive';
    updateControls();
    return requestOffer();
  }

  function attachTrack(p, kind, track) {
    p[kind] = track;
    const el = kind === 'video' ? p.ui.video : p.ui.audio;
    el.srcObject = track ? new MediaStream([track]) : null;
    if (track && kind === 'video') scheduleVideoSize(el);
    if (track) {
      el.play().catch((err) => {
        log(`${kind} playback blocked: ${err.name}`);
        if (kind === 'audio') $('sound-button').hidden = false;
      });
    }
    refreshParticipant(p.info.id);
  }

  // --- tile sizes: tell the server how large each remote video is shown (`video-size`) ---

  const sizeObserver = typeof ResizeObserver === 'function'
    ? new ResizeObserver((entries) => { for (const entry of entries) scheduleVideoSize(entry.target); })
    : null;
  const sizeTimers = new Map();  // <video> -> debounce timer
  const sentSizes = new Map();   // server track id -> "WxH" last sent

  function observeVideo(el) {
    if (sizeObserver) sizeObserver.observe(el);
  }

  function unobserveVideo(el) {
    if (sizeObserver) sizeObserver.unobserve(el);
    clearTimeout(sizeTimers.get(el));
    sizeTimers.delete(el);
  }

  function scheduleVideoSize(el) {
    clearTimeout(sizeTimers.get(el));
    sizeTimers.set(el, setTimeout(() => {
      sizeTimers.delete(el);
      reportVideoSize(el);
    }, VIDEO_SIZE_DEBOUNCE_MS));
  }

  // The server's id of the track a <video> shows: its receiver's mid, through the answer's a=msid.
  function serverTrackOf(el) {
    const track = el.srcObject && el.srcObject.getVideoTracks()[0];
    if (!track || !state.pc || !state.midTracks) return null;
    const transceiver = state.pc.getTransceivers().find((t) => t.receiver && t.receiver.track === track);
    return (transceiver && transceiver.mid && state.midTracks.get(transceiver.mid)) || null;
  }

  function reportVideoSize(el) {
    const track = serverTrackOf(el);
    if (!track) return;
    const shown = el.isConnected && el.offsetParent !== null;
    const clamp = (n) => Math.min(MAX_VIDEO_SIZE, Math.max(0, Math.round(n)));
    const width = shown ? clamp(el.clientWidth) : 0;
    const height = shown && width > 0 ? clamp(el.clientHeight) : 0;
    const key = `${width}x${height}`;
    if (sentSizes.get(track) === key) return;
    if (send({ type: 'video-size', track, width: height > 0 ? width : 0, height })) {
      sentSizes.set(track, key);
      api.videoSizes[track] = { width: height > 0 ? width : 0, height };
    }
  }

  // --- participants and tiles ---

  // Viewers get no tile (they send nothing); they are listed under People only.
  function makeTile(id, { self = false, shown = true } = {}) {
    const tile = document.createElement('div');
    tile.className = 'tile' + (self ? ' self' : ' remote');
    tile.dataset.participant = id;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound goes through the <audio> element
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    avatar.append(document.createElement('span'));
    const label = document.createElement('div');
    label.className = 'label';
    const micBadge = document.createElement('span');
    micBadge.className = 'badge mic-off';
    micBadge.title = 'Microphone off';
    micBadge.append(icon('micOff'));
    const name = document.createElement('span');
    name.className = 'name';
    const chosen = document.createElement('span');
    chosen.className = 'chosen';
    chosen.hidden = true;
    label.append(micBadge, name, chosen);
    tile.append(video, avatar, label);
    const audio = document.createElement('audio');
    audio.autoplay = true;
    if (!self) {
      tile.append(audio);
      observeVideo(video);
    }
    if (shown) {
      $('grid').append(tile);
      layoutGrid();
    }
    return { tile, video, audio, avatar, micBadge, name, chosen };
  }

  function addParticipant(info) {
    if (!info || !info.id || (state.me && info.id === state.me.id)) return null;
    const existing = state.participants.get(info.id);
    if (existing) {
      existing.info = { ...existing.info, ...info };
      refreshParticipant(info.id);
      return existing;
    }
    const p = { info: { ...info }, ui: makeTile(info.id, { shown: info.role !== 'viewer' }), video: null, audio: null };
    state.participants.set(info.id, p);
    refreshParticipant(info.id);
    return p;
  }

  function removeParticipant(id) {
    const p = state.participants.get(id);
    if (!p) return;
    state.participants.delete(id);
    unobserveVideo(p.ui.video);
    p.ui.video.srcObject = null;
    p.ui.audio.srcObject = null;
    p.ui.tile.remove();
    if (p.screenUi) p.screenUi.tile.remove();
    for (const [trackId, owner] of state.trackOwner) if (owner === id) state.trackOwner.delete(trackId);
    for (const [trackId, t] of state.tracks) if (t.participant === id) state.tracks.delete(trackId);
    layoutGrid();
    renderPeople();
  }

  // What others see of a participant, from the server's track list.
  function publishedState(id, kind) {
    let published = false;
    for (const t of state.tracks.values()) {
      if (t.participant !== id || t.kind !== kind || t.source === 'screen') continue;
      if (!t.muted) return 'on';
      published = true;
    }
    return published ? 'muted' : 'none';
  }

  function displayName(info) {
    return info.name || info.identity || 'Guest';
  }

  // The name a participant typed, when it differs from the one in its token: shown marked, never as its name.
  function chosenLabel(info) {
    return info && info.chosenName ? `“${info.chosenName}” (self-chosen)` : '';
  }

  function refreshParticipant(id) {
    const p = state.participants.get(id);
    if (!p) return;
    const name = displayName(p.info);
    const audio = publishedState(id, 'audio');
    const video = publishedState(id, 'video');
    p.ui.name.textContent = name;
    p.ui.chosen.textContent = chosenLabel(p.info);
    p.ui.chosen.hidden = !p.info.chosenName;
    p.ui.avatar.querySelector('span').textContent = initials(name);
    p.ui.micBadge.hidden = audio === 'on';
    p.ui.avatar.hidden = video === 'on' && !!p.video;
    p.ui.tile.title = p.info.identity || name;
    renderPeople();
  }

  let selfUI = null;

  function addSelfTile() {
    if (isViewer || selfUI) return;
    selfUI = makeTile('self', { self: true });
    selfUI.video.srcObject = state.local;
    refreshSelf();
  }

  function refreshSelf() {
    if (!selfUI) return;
    const name = (state.me && state.me.name) || state.name;
    const hasAudio = !!(state.local && state.local.getAudioTracks().length);
    const hasVideo = !!(state.local && state.local.getVideoTracks().length);
    selfUI.name.textContent = `${name} (you)`;
    selfUI.chosen.textContent = chosenLabel(state.me);
    selfUI.chosen.hidden = !(state.me && state.me.chosenName);
    selfUI.avatar.querySelector('span').textContent = initials(name);
    selfUI.micBadge.hidden = hasAudio && !state.micMuted;
    selfUI.avatar.hidden = hasVideo && !state.camMuted;
    renderPeople();
  }

  // Chooses the column count that gives the biggest 16:9 tiles that all fit the stage (phones included);
  // below a minimum size the grid scrolls instead.
  function layoutGrid() {
    const grid = $('grid');
    const n = grid.children.length;
    const gap = 8;
    const width = grid.clientWidth - 2 * gap;
    const height = grid.clientHeight - 2 * gap;
    let best = { cols: 1, tileWidth: 0 };
    for (let cols = 1; cols <= Math.max(1, n); cols++) {
      const rows = Math.ceil(n / cols);
      const tileWidth = Math.min((width - (cols - 1) * gap) / cols, ((height - (rows - 1) * gap) / rows) * 16 / 9);
      if (tileWidth > best.tileWidth) best = { cols, tileWidth };
    }
    const minWidth = Math.min(width, 160);
    if (best.tileWidth < minWidth) {
      const cols = Math.max(1, Math.floor((width + gap) / (minWidth + gap)));
      best = { cols, tileWidth: (width - (cols - 1) * gap) / cols };
    }
    grid.dataset.count = String(n);
    grid.style.setProperty('--cols', String(best.cols));
    grid.style.setProperty('--tile-width', `${Math.max(0, Math.floor(best.tileWidth))}px`);
  }

  function renderPeople() {
    const rows = [];
    const isHost = !!state.me && state.me.role === 'host';
    const row = (name, identity, audio, video, id, chosen) => {
      const li = document.createElement('li');
      const who = document.createElement('div');
      who.className = 'who';
      const n = document.createElement('span');
      n.className = 'name';
      n.textContent = name;
      who.append(n);
      if (chosen) {
        const c = document.createElement('span');
        c.className = 'chosen';
        c.textContent = chosen;
        who.append(c);
      }
      if (identity && identity !== name) {
        const i = document.createElement('span');
        i.className = 'identity';
        i.textContent = identity;
        who.append(i);
      }
      const icons = document.createElement('span');
      icons.className = 'media';
      const a = icon(audio === 'on' ? 'mic' : 'micOff');
      a.classList.toggle('off', audio !== 'on');
      const v = icon(video === 'on' ? 'cam' : 'camOff');
      v.classList.toggle('off', video !== 'on');
      icons.append(a, v);
      li.append(who, icons);
      if (isHost && id) {
        const actions = document.createElement('span');
        actions.className = 'host-actions';
        const action = (text, title, msg) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'small';
          b.textContent = text;
          b.title = title;
          b.addEventListener('click', () => send(msg));
          return b;
        };
        if (audio === 'on') actions.append(action('Mute', `Mute ${name}`, { type: 'mute-participant', participant: id, kind: 'audio' }));
        actions.append(action('Remove', `Remove ${name} from the meeting`, { type: 'remove', participant: id }));
        li.append(actions);
      }
      return li;
    };
    if (state.me || selfUI) {
      const name = (state.me && state.me.name) || state.name;
      const hasAudio = !!(state.local && state.local.getAudioTracks().length);
      const hasVideo = !!(state.local && state.local.getVideoTracks().length);
      rows.push(row(`${name} (you)`, state.me && state.me.identity,
        hasAudio && !state.micMuted ? 'on' : 'muted', hasVideo && !state.camMuted ? 'on' : 'muted', undefined, chosenLabel(state.me)));
    }
    for (const p of state.participants.values()) {
      rows.push(row(displayName(p.info), p.info.identity, publishedState(p.info.id, 'audio'), publishedState(p.info.id, 'video'), p.info.id,
        chosenLabel(p.info)));
    }
    const count = rows.length;
    if (isHost) {
      // People a host removed stay out until a host lets them back in.
      for (const person of state.removed) {
        const li = document.createElement('li');
        li.className = 'removed';
        const who = document.createElement('div');
        who.className = 'who';
        const n = document.createElement('span');
        n.className = 'name';
        n.textContent = `${person.name || person.identity} (removed)`;
        who.append(n);
        if (person.identity && person.identity !== person.name) {
          const i = document.createElement('span');
          i.className = 'identity';
          i.textContent = person.identity;
          who.append(i);
        }
        const back = document.createElement('button');
        back.type = 'button';
        back.className = 'small readmit';
        back.textContent = 'Let back in';
        back.title = `Let ${person.name || person.identity} join again`;
        back.addEventListener('click', () => send({ type: 'readmit', identity: person.identity }));
        li.append(who, back);
        rows.push(li);
      }
    }
    $('people-list').replaceChildren(...rows);
    $('people-count').textContent = String(count);
  }

  // --- controls ---

  function updateControls() {
    const hasAudio = !!(state.local && state.local.getAudioTracks().length);
    const hasVideo = !!(state.local && state.local.getVideoTracks().length);
    const mic = $('mic-button');
    mic.disabled = !hasAudio;
    mic.setAttribute('aria-pressed', String(state.micMuted));
    setIcon(mic.querySelector('.icon'), state.micMuted || !hasAudio ? 'micOff' : 'mic');
    mic.querySelector('.text').textContent = state.micMuted ? 'Unmute' : 'Mute';
    mic.title = state.micMuted ? 'Unmute microphone' : 'Mute microphone';
    const cam = $('camera-button');
    cam.disabled = !hasVideo;
    cam.setAttribute('aria-pressed', String(state.camMuted));
    setIcon(cam.querySelector('.icon'), state.camMuted || !hasVideo ? 'camOff' : 'cam');
    cam.querySelector('.text').textContent = state.camMuted ? 'Start video' : 'Stop video';
    cam.title = state.camMuted ? 'Turn camera on' : 'Turn camera off';
    mic.hidden = cam.hidden = isViewer;
    const share = $('share-button');
    share.hidden = isViewer || !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    share.setAttribute('aria-pressed', String(!!state.screen));
    share.querySelector('.text').textContent = state.screen ? 'Stop sharing' : 'Share screen';
    $('end-button').hidden = !(state.me && state.me.role === 'host');
    setIcon($('people-button').querySelector('.icon'), 'people');
  }

  function setMuted(kind, muted) {
    if (!state.local) return;
    const tracks = kind === 'audio' ? state.local.getAudioTracks() : state.local.getVideoTracks();
    if (!tracks.length) return;
    tracks.forEach((t) => { t.enabled = !muted; });
    if (kind === 'audio') state.micMuted = muted; else state.camMuted = muted;
    send({ type: 'mute', kind, muted });
    updateControls();
    refreshSelf();
  }

  function togglePeople(open) {
    const panel = $('people');
    panel.hidden = !open;
    $('people-button').setAttribute('aria-pressed', String(open));
    layoutGrid();
  }

  function leave() {
    log('leaving');
    send({ type: 'leave' });
    finish('You left the meeting.', '');
  }

  // --- stats for tests and debugging ---

  async function stats() {
    const perParticipant = {};
    for (const id of state.participants.keys()) perParticipant[id] = { framesDecoded: 0, audioPackets: 0 };
    const pc = state.pc;
    if (pc && pc.connectionState !== 'closed') {
      const byMid = new Map();
      for (const t of pc.getTransceivers()) {
        if (t.mid !== null) byMid.set(t.mid, state.trackOwner.get(t.receiver.track.id));
      }
      const report = await pc.getStats();
      report.forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        const owner = state.trackOwner.get(r.trackIdentifier) || byMid.get(r.mid);
        const entry = owner && perParticipant[owner];
        if (!entry) return;
        if (r.kind === 'video') entry.framesDecoded += r.framesDecoded || 0;
        if (r.kind === 'audio') entry.audioPackets += r.packetsReceived || 0;
      });
    }
    return {
      perParticipant,
      tiles: document.querySelectorAll('#grid .tile.remote').length,
      state: pc ? pc.connectionState : 'new',
    };
  }

  // --- page setup ---

  function init() {
    $('leave-button').addEventListener('click', leave);
    $('end-button').addEventListener('click', () => {
      if (window.confirm('End the meeting for everyone?')) send({ type: 'end-meeting' });
    });
    $('mic-button').addEventListener('click', () => setMuted('audio', !state.micMuted));
    $('camera-button').addEventListener('click', () => setMuted('video', !state.camMuted));
    $('people-button').addEventListener('click', () => togglePeople($('people').hidden));
    $('share-button').addEventListener('click', () => { toggleScreenShare(); });
    $('sound-button').addEventListener('click', () => {
      document.querySelectorAll('#grid audio').forEach((a) => a.play().catch(() => {}));
      $('sound-button').hidden = true;
    });
    $('rejoin-button').addEventListener('click', () => location.reload());  // the token stays in sessionStorage
    new ResizeObserver(layoutGrid).observe($('grid'));
    window.addEventListener('pagehide', () => {
      if (!state.finished) send({ type: 'leave' });
    });
    togglePeople(window.innerWidth >= 1000);

    state.name = params.get('name') || (claims && (claims.name || claims.sub)) || '';
    if (!token || !claims) {
      finish('Cannot join', MESSAGES.invalid, { rejoin: false });
      return;
    }
    if (!('RTCPeerConnection' in window) || !('WebSocket' in window)) {
      finish('Cannot join', 'This browser cannot take part in video meetings here: use an up-to-date browser.', { rejoin: false });
      return;
    }
    if (!state.name) state.name = 'Guest';
    if (autojoin) {
      let problem = '';
      acquireMedia('', '')
        .catch((err) => {
          log(`getUserMedia failed: ${err.name} ${err.message}`);
          problem = mediaErrorText(err);
          return null;
        })
        .then((stream) => {
          state.local = stream;
          join();
          if (problem) showBanner(problem);
        });
    } else {
      setupPrejoin();
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();

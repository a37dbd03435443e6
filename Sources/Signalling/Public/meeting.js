// Sabha meeting client: one WebSocket for signalling (docs/protocol.md, version 1) and one RTCPeerConnection that
// carries our camera and microphone out and every other participant's tracks in. Plain browser JavaScript as ES
// modules, no build step, no third-party code: everything talks only to this server. Options in the address:
// meeting/options.js. The camera goes out as simulcast (lib/simulcast.js) and each remote tile reports its size
// (meeting/video-size.js) so the server forwards a fitting layer.
//
// This file builds the page's parts and wires them together; each part owns its own state:
//   lib/token.js, lib/webrtc.js, lib/simulcast.js, lib/media.js, lib/event-log.js   shared with the demo page
//   meeting/options.js        the address's options and the page's timings
//   meeting/socket.js         the WebSocket: join, pings, resume after a drop
//   meeting/negotiation.js    the peer connection: offers, answers, which server track each receiver carries
//   meeting/messages.js       each server message mapped onto the parts
//   meeting/roster.js         who is in the room and what they publish (data)
//   meeting/participants.js   keeps roster, tiles and People list in step
//   meeting/tiles.js          the grid of tiles, its pages and speaker view; meeting/video-size.js their sizes for
//                             the server (a tile off the page is 0×0: the server pauses it); meeting/pager.js the
//                             view switch and page buttons
//   meeting/people.js, meeting/host-actions.js   the People panel and a host's buttons in it
//   meeting/local-media.js    our camera and microphone, muted or not; meeting/prejoin.js the screen before joining
//   meeting/controls.js, meeting/screen-share.js, meeting/quality.js   the bars
//   meeting/status.js         screens, status line, banner, error codes in words
//   meeting/media-recovery.js ICE restarts until media connects; meeting/connection-help.js what to tell the IT
//   meeting/data-mode.js      low-data mode (lowest video layer, or audio only), remembered on this device
//   meeting/page-visibility.js  the camera pauses while the page is hidden (phones)
//   meeting/lobby.js          the waiting screen before a host lets us in; the hosts' Waiting list with Admit/Deny
//   meeting/room-controls.js  lock, who may share a screen, mute everyone (hosts' buttons; everyone sees the effect)
//   meeting/hands.js          raised hands: the button, the queue in People, the badge on tiles
//   meeting/chat.js           the chat panel, its unread count, and for hosts the download
//   meeting/debug-api.js      window.sabhaMeeting for tests

import { formatNumber, t, translatePage } from './lib/i18n.js';
import { decodeTokenClaims, takeToken, tokenName } from './lib/token.js';
import { ConnectionHelp } from './meeting/connection-help.js';
import { Chat } from './meeting/chat.js';
import { Controls } from './meeting/controls.js';
import { DataMode } from './meeting/data-mode.js';
import { exposeDebugAPI } from './meeting/debug-api.js';
import { Hands } from './meeting/hands.js';
import { Lobby, WaitingList } from './meeting/lobby.js';
import { LocalMedia, deviceProblemText } from './meeting/local-media.js';
import { log } from './meeting/log.js';
import { MediaRecovery } from './meeting/media-recovery.js';
import { messageHandler } from './meeting/messages.js';
import { Negotiation } from './meeting/negotiation.js';
import * as options from './meeting/options.js';
import { pauseCameraWhileHidden } from './meeting/page-visibility.js';
import { Pager } from './meeting/pager.js';
import { Participants } from './meeting/participants.js';
import { showPrejoin } from './meeting/prejoin.js';
import { QualityHint } from './meeting/quality.js';
import { RecordingsPanel } from './meeting/recordings.js';
import { RoomControls } from './meeting/room-controls.js';
import { Roster } from './meeting/roster.js';
import { ScreenShare } from './meeting/screen-share.js';
import { SignalSocket } from './meeting/socket.js';
import { MESSAGES, mediaStatusText, setStatus, showBanner, showNotice, showScreen } from './meeting/status.js';
import { Grid } from './meeting/tiles.js';
import { VideoSizeReporter } from './meeting/video-size.js';

const $ = (id) => document.getElementById(id);

translatePage();   // the page's own words (data-i18n in meeting.html) in its language (lib/i18n.js, lang/*.js)

const token = takeToken(options.query, `sabha-token:${location.pathname}`);
const claims = decodeTokenClaims(token);

/**
 * Who we are in this meeting: the name we join with, `me` from `joined`, the room, the TURN servers `joined` named
 * (for the connection help), and whether the page is done.
 */
const session = { name: '', me: null, room: options.pathRoom, iceServers: [], finished: false };
const local = new LocalMedia({ video: options.video, viewer: !!claims && claims.role === 'viewer' });
const roster = new Roster();

const socket = new SignalSocket({
  joinMessage: () => {
    const join = { type: 'join', version: 1, token, name: session.name };
    if (options.pathRoom) join.room = options.pathRoom;
    return join;
  },
  onMessage: (msg) => onMessage(msg),
  onInterrupted: () => {
    quality.stop();
    negotiation.cancel(new Error('connection lost'));
  },
  onReconnecting: () => {
    showBanner(t(socket.restartExpected ? 'status.serverRestarting' : 'status.connectionLost'));
    setStatus(t('status.reconnecting'));
  },
  onLost: (wasOpen) => (wasOpen ? finish(t('notice.connectionLost'), MESSAGES.lost) : finish(t('notice.cannotJoin'), MESSAGES.unreachable)),
});
const send = (msg) => socket.send(msg);

const negotiation = new Negotiation({
  local,
  simulcast: !options.lowQuality,
  send,
  sources: () => screenShare.sources(),
  onTrack: (ev) => participants.received(ev),
  onState: (state) => {
    recovery.changed(state);
    mediaStatus(state);
    if (state === 'failed') showBanner(t('status.mediaRetrying'));
    if (state === 'connected') showBanner('');
  },
  onFailure: (err) => { if (!session.finished && !err.quiet) showBanner(t('status.mediaSetupFailed', { reason: err.message })); },
  onStart: (pc) => recovery.watch(pc),
});
const recovery = new MediaRecovery({
  negotiation, help: new ConnectionHelp({ iceServers: () => session.iceServers }),
  onHelp: () => mediaStatus(negotiation.pc ? negotiation.pc.connectionState : 'new'),
});
const mediaStatus = (state) => setStatus(recovery.help.shown ? t('status.noMediaYet') : mediaStatusText(state));
const dataMode = new DataMode({
  send,
  onChange: (mode) => {
    participants.receivingVideo = mode !== 'off';
    participants.refreshAll();
  },
});
const screenShare = new ScreenShare({ negotiation, onChange: () => controls.update(), onError: showBanner });
const api = exposeDebugAPI({ session, roster, negotiation, socket });
const sizes = new VideoSizeReporter({ serverTrackOf: (track) => negotiation.serverTrackOf(track), send, sent: api.videoSizes });
const grid = new Grid({
  element: $('grid'), sizes, onAudioBlocked: () => controls.offerSound(), onPaged: (state) => pager.draw(state),
});
const pager = new Pager({ grid });
const hands = new Hands({ session, roster, send, grid: $('grid'), onChange: () => participants.renderPeople() });
const participants = new Participants({
  session, local, roster, grid, serverTrackOfMid: (mid) => negotiation.serverTrackOfMid(mid), send,
  handPosition: (id) => hands.position(id),
});
const roomControls = new RoomControls({ session, send, onChange: () => controls.update() });
const controls = new Controls({
  local, screenShare, session, send,
  onSelfChanged: () => participants.refreshSelf(),
  onLayout: () => grid.layout(),
  onLeave: leave,
  mayShare: () => roomControls.mayShare,
  onShareRefused: showBanner,
});
const lobby = new Lobby({ onLeave: leave });
const waiting = new WaitingList({
  send,
  isHost: () => !!session.me && session.me.role === 'host',
  onChange: (count) => {
    const badge = $('people-badge');
    badge.hidden = count === 0;
    badge.textContent = formatNumber(count);
    $('people-button').setAttribute('aria-label', count ? t('meeting.peopleWaiting', { count: formatNumber(count) }) : t('meeting.people'));
  },
});
const chat = new Chat({ session, send, token, room: () => session.room, onLayout: () => grid.layout() });
const recordings = new RecordingsPanel({ session, token });
const quality = new QualityHint({ peerConnection: () => negotiation.pc, element: $('quality') });
participants.receivingVideo = dataMode.mode !== 'off';
Object.defineProperties(api, {
  iceRestarts: { get: () => recovery.total },
  helpShown: { get: () => recovery.help.shown },
  dataMode: { get: () => dataMode.mode },
  view: { get: () => grid.view },
  page: { get: () => grid.page },
  pages: { get: () => grid.pages },
  shownParticipants: { value: () => grid.shownParticipants() },
});
api.controls = () => ({
  lobby: { waiting: lobby.waiting, reason: lobby.reason },
  room: { ...roomControls.state },
  waiting: waiting.entries.map((w) => w.participant.id),
  hands: hands.queue.map((h) => h.participant),
  chat: chat.messages.map((m) => ({ id: m.id, from: m.from, name: m.name, text: m.text })),
  unread: chat.unread,
  recordings: recordings.entries.map((r) => ({ id: r.id, state: r.composition ? r.composition.state : null })),
});
const onMessage = messageHandler({
  session, socket, negotiation, participants, roster, grid, controls, quality, dataMode, api, finish, renewMedia,
  lobby, waiting, roomControls, hands, chat, screenShare, recordings,
});

function join() {
  $('room-name').textContent = session.room;
  if (!local.viewer) {
    grid.addSelf(local.stream);
    participants.refreshSelf();
  }
  controls.update();
  showScreen('meeting');
  $('room-name').focus();   // the Join button is gone: keyboard and screen reader continue at the meeting's heading
  setStatus(t('status.connecting'));
  socket.open();
}

function leave() {
  log('leaving');
  send({ type: 'leave' });
  finish(t('notice.left'), '');
}

/** The server closed our media transport (an outage outlasted its ICE consent): same place, a new peer connection. */
function renewMedia(reason) {
  log(`the server closed our media transport (${reason}): starting a new peer connection`);
  screenShare.dropped();
  negotiation.cancel(Object.assign(new Error('the media transport was closed'), { quiet: true }));
  negotiation.close({ forget: true });
  participants.clearReceived();
  negotiation.start(session.iceServers);   // the TURN relays of `joined`, for a Negotiation that takes them
  negotiation.requestOffer();
}

/** The final screen: the meeting is over for this page (ended, left, refused, lost). */
function finish(title, text, { rejoin = true } = {}) {
  if (session.finished) return;
  session.finished = true;
  log(`finish: ${title} ${text}`);
  quality.stop();
  recovery.stop();
  screenShare.end();
  negotiation.cancel(new Error('the meeting ended'));
  negotiation.close();
  socket.close();
  local.stop();
  participants.removeAll();
  document.querySelectorAll('video, audio').forEach((el) => { el.srcObject = null; });
  showNotice(title, text, rejoin);
}

function init() {
  controls.wire();
  pager.wire();
  dataMode.wire();
  lobby.wire();
  roomControls.wire();
  hands.wire();
  chat.wire();
  pauseCameraWhileHidden({ local, send, onChange: () => participants.refreshSelf() });
  $('rejoin-button').addEventListener('click', () => location.reload());  // the token stays in sessionStorage
  new ResizeObserver(() => grid.layout()).observe($('grid'));
  window.addEventListener('pagehide', () => {
    if (!session.finished) send({ type: 'leave' });
  });

  session.name = options.chosenName || tokenName(claims);
  if (!token || !claims) {
    finish(t('notice.cannotJoin'), MESSAGES.invalid, { rejoin: false });
    return;
  }
  if (!('RTCPeerConnection' in window) || !('WebSocket' in window)) {
    finish(t('notice.cannotJoin'), MESSAGES.oldBrowser, { rejoin: false });
    return;
  }
  if (!session.name) session.name = t('common.guest');
  if (options.autojoin) {
    local.acquire().then(() => '', (err) => {
      log(`getUserMedia failed: ${err.name} ${err.message}`);
      return deviceProblemText(err);
    }).then((problem) => {
      join();
      if (problem) showBanner(problem);
    });
  } else {
    showPrejoin({ local, claims, room: session.room, name: session.name, token, onJoin: (name) => { session.name = name; join(); } });
  }
}

init();

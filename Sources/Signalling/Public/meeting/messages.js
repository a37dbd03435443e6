// What the page does with each server message (docs/protocol.md): the one place that maps the protocol onto the
// page's parts. Every part it touches is passed in; it keeps no state of its own.

import { formatNumber, language, t } from '../lib/i18n.js';
import { useIceServers } from '../lib/webrtc.js';
import { announce } from './announcer.js';
import { log } from './log.js';
import { displayName } from './names.js';
import { errorText, isFinalError, setStatus, showBanner } from './status.js';

/**
 * Returns the handler for the socket's messages. `parts`: {session, socket, negotiation, participants, roster,
 * grid, controls, quality, dataMode, api, finish(title, text, options), renewMedia(reason), and the meeting
 * controls: lobby, waiting, roomControls, hands, chat, screenShare}.
 */
export function messageHandler(parts) {
  const { session, negotiation, participants, roster, grid, controls, api, finish } = parts;
  const { lobby, waiting, roomControls, hands, chat, screenShare } = parts;
  return (msg) => {
    switch (msg.type) {
      case 'joined': return joined(parts, msg);
      case 'recording': return showRecording(parts, msg);
      case 'redirect':
        // Another node of the cluster holds the meeting: the socket connects there when this one closes.
        parts.socket.redirect(msg.url);
        return;
      case 'server-shutdown':
        // The meeting goes on until the server closes it; then the socket rejoins once the server is back.
        parts.socket.restarting(msg.retryAfter);
        showBanner(t('status.serverRestarting'));
        return log(`server shutting down; back in about ${msg.retryAfter} s`);
      case 'lobby':
        // Kept waiting: no media until `joined`.
        session.me = msg.you || session.me;
        return lobby.wait(msg, session.room);
      case 'lobby-waiting': return waiting.add(msg.participant);
      case 'lobby-left': return waiting.remove(msg.participant);
      case 'host-lists':
        roster.setRemoved(msg.removed);
        waiting.set(msg.waiting);
        return participants.renderPeople();
      case 'room-controls': return roomControls.set(msg.controls);
      case 'participant-updated': return participantUpdated(msg.participant);
      case 'hands': return handsChanged(msg.hands);
      case 'chat': return chatReceived(msg);
      case 'answer': return negotiation.answered(msg);
      case 'renegotiate':
        negotiation.receive = Array.isArray(msg.receive) ? msg.receive : [];
        return negotiation.requestOffer();
      case 'participant-joined': return participantJoined(msg.participant);
      case 'removed-list':
        roster.setRemoved(msg.removed);
        return participants.renderPeople();
      case 'invited':
        roster.setInvited(msg.invited);
        return participants.renderPeople();
      case 'participant-left':
        hands.forget(msg.participant);
        return participantLeft(msg.participant);
      case 'track-published': return participants.trackPublished(msg.track);
      case 'track-unpublished': return participants.trackUnpublished(msg.track);
      case 'muted': return participants.trackMuted(msg.track, msg.muted);
      case 'mute-request':
        if (msg.kind === 'audio' || msg.kind === 'video') {
          controls.setMuted(msg.kind, true);
          const by = roster.participants.get(msg.by);
          showBanner(t(msg.kind === 'audio' ? 'meeting.micTurnedOff' : 'meeting.cameraTurnedOff', { name: by ? displayName(by) : t('meeting.theHost') }));
        }
        return undefined;
      case 'layers':
        if (typeof msg.track === 'string') api.layers[msg.track] = { spatial: msg.spatial, temporal: msg.temporal };
        return undefined;
      case 'active-speaker':
        api.activeSpeaker = msg.participant || null;
        return grid.setSpeaking(msg.participant);
      case 'transport-closed': return parts.renewMedia(String(msg.reason || ''));
      case 'meeting-ended':
        return finish(t('notice.ended'), t('notice.thanks'), { rejoin: false });
      case 'error': return error(msg);
      case 'pong': return undefined;
      default:
        log(`ignored message type ${msg.type}`);
        return undefined;
    }
  };

  // Screen readers hear who came and went (announcer.js); the grid and the People list show it.
  function participantJoined(info) {
    const isNew = info && info.id && !roster.participants.has(info.id) && !(session.me && info.id === session.me.id);
    participants.add(info);
    if (isNew) announce(t('announce.joined', { name: displayName(roster.participants.get(info.id) || info) }));
  }

  // Screen-reader users hear who raised a hand and what others write (the live region of announcer.js).
  function handsChanged(list) {
    const before = new Set(hands.queue.map((h) => h.participant));
    hands.set(list);
    for (const h of hands.queue) {
      if (before.has(h.participant) || (session.me && h.participant === session.me.id)) continue;
      const info = roster.participants.get(h.participant);
      if (info) announce(t('announce.hand', { name: displayName(info) }));
    }
  }

  function chatReceived(msg) {
    const fresh = !chat.messages.some((m) => m.id === msg.id);
    chat.received(msg);
    if (fresh && !(session.me && msg.from === session.me.id)) {
      const text = String(msg.text || '');
      announce(t('announce.chat', { name: String(msg.name || ''), text: text.length > 140 ? `${text.slice(0, 140)}…` : text }));
    }
  }

  function participantLeft(id) {
    const info = roster.participants.get(id);
    participants.remove(id);
    if (info) announce(t('announce.left', { name: displayName(info) }));
  }

  function error(msg) {
    const code = String(msg.code || 'error');
    log(`error ${code}: ${msg.message || ''}${msg.fatal ? ' (fatal)' : ''}`);
    if (code.startsWith('chat-') || (code === 'not-admitted' && !lobby.waiting)) return chat.error(code, msg.message);
    if (code === 'screen-share-not-allowed') {
      screenShare.stop();
      return showBanner((language === 'en' && msg.message) || t('error.shareNotAllowed'));
    }
    if (code === 'sdp-invalid') negotiation.cancel(new Error(`the server refused our offer: ${msg.message || code}`));
    const text = errorText(code, msg.message, !!session.me);
    if (msg.fatal || code.startsWith('token-')) {
      const title = t(code === 'lobby-denied' ? 'notice.notLetIn' : code === 'room-locked' ? 'notice.locked'
        : session.me && !lobby.waiting ? 'notice.disconnected' : 'notice.cannotJoin');
      finish(title, text, { rejoin: !isFinalError(code) });
    } else {
      showBanner(text);
    }
  }

  // A participant's role or names changed (made co-host): ourselves, or someone in the room.
  function participantUpdated(info) {
    if (!info || !info.id) return;
    if (session.me && info.id === session.me.id) {
      const becameHost = info.role === 'host' && session.me.role !== 'host';
      session.me = { ...session.me, ...info };
      if (becameHost) showBanner(t('meeting.nowHost'));
      controls.update();
      roomControls.render();
      chat.render();
      hands.render();
      waiting.render();
      participants.refreshSelf();
      participants.renderPeople();
      return;
    }
    participants.add(info);
    hands.render();
  }
}

// Everyone in a recorded meeting sees that it is recorded (and a screen reader hears it: role=status).
// When it stops, hosts see it among the room's recordings (being prepared, then to download); when the server's
// disk stopped it, everyone is told why.
function showRecording({ roomControls, recordings }, { active, reason }) {
  roomControls.setRecording(active);
  if (reason === 'disk-nearly-full') {
    const text = t('status.recordingDiskFull');
    showBanner(text);
    announce(text);
    setTimeout(() => { if (document.getElementById('banner').textContent === text) showBanner(''); }, 20000);
  } else {
    announce(t(active ? 'announce.recordingStarted' : 'announce.recordingStopped'));
  }
  if (!active) recordings.refresh();
}

// `joined`: the first answer to our join, or to a resume after the socket dropped.
function joined(parts, msg) {
  parts.roomControls.setRecording(!!msg.recording);
  setTimeout(() => parts.recordings.refresh(), 0);  // once `session.me` (our role) is set
  if (parts.lobby.admitted()) showBanner('');   // let in from the lobby: the meeting screen is back
  joinedRoom(parts, msg);
  meetingControls(parts, msg);
}

function joinedRoom({ session, socket, negotiation, participants, roster, controls, quality, dataMode }, msg) {
  const resuming = socket.joined(msg.resume);
  if (resuming) showBanner('');
  quality.start();
  if (Array.isArray(msg.iceServers)) session.iceServers = msg.iceServers;
  dataMode.announce({ joined: true });
  if (msg.resumed && negotiation.pc) {
    // Same participant, same peer connection (media never stopped): bring the room view up to date.
    log('resumed');
    useIceServers(negotiation.pc, msg.iceServers);
    session.me = msg.you || session.me;
    participants.sync(msg.participants || []);
    roster.setTracks(msg.tracks);
    participants.refreshAll();
    setStatus(t(negotiation.pc.connectionState === 'connected' ? 'status.connected' : 'status.connectingMedia'));
    return;
  }
  if (resuming && negotiation.pc) {
    // The server let us go meanwhile: start media afresh as a new participant.
    log('resume refused; joining afresh');
    negotiation.close({ forget: true });
    participants.removeAll();
    roster.clearMedia();
  }
  session.me = msg.you || null;
  roster.setRemoved(msg.removed);
  roster.setInvited(msg.invited);
  if (msg.room) {
    session.room = msg.room;
    document.getElementById('room-name').textContent = msg.room;
  }
  if (session.me) participants.refreshSelf();
  controls.update();
  for (const p of msg.participants || []) participants.add(p);
  roster.setTracks(msg.tracks);
  participants.refreshAll();
  // Receivers for the tracks already there: the server's first answer can then carry them.
  negotiation.receive = (msg.tracks || []).map((t) => ({ track: t.id, participant: t.participant, kind: t.kind }));
  const others = roster.participants.size;
  const here = others === 0 ? t('announce.nobody') : t(others === 1 ? 'announce.oneOther' : 'announce.others', { count: formatNumber(others) });
  announce(t('announce.youJoined', { here }));
  setStatus(t('status.connectingMedia'));
  negotiation.start(msg.iceServers);
  negotiation.requestOffer();
}

// The meeting controls in `joined` (first join or resume): the room's controls, the hands, the chat history and,
// for hosts, who waits in the lobby.
function meetingControls({ session, roomControls, hands, chat, waiting, participants }, msg) {
  const isHost = !!session.me && session.me.role === 'host';
  if (msg.controls) roomControls.set(msg.controls);
  else roomControls.render();
  if (Array.isArray(msg.chat)) chat.setHistory(msg.chat);
  else chat.render();
  waiting.set(isHost ? msg.waiting : []);
  hands.set(msg.hands);
  participants.renderPeople();
}

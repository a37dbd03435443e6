// What the page does with each server message (docs/protocol.md): the one place that maps the protocol onto the
// page's parts. Every part it touches is passed in; it keeps no state of its own.

import { useIceServers } from '../lib/webrtc.js';
import { announce } from './announcer.js';
import { log } from './log.js';
import { displayName } from './names.js';
import { errorText, isFinalError, setStatus, showBanner } from './status.js';

/**
 * Returns the handler for the socket's messages. `parts`: {session, socket, negotiation, participants, roster,
 * grid, controls, quality, dataMode, api, finish(title, text, options), renewMedia(reason)}.
 */
export function messageHandler(parts) {
  const { session, negotiation, participants, roster, grid, controls, api, finish } = parts;
  return (msg) => {
    switch (msg.type) {
      case 'joined': return joined(parts, msg);
      case 'answer': return negotiation.answered(msg);
      case 'renegotiate':
        negotiation.receive = Array.isArray(msg.receive) ? msg.receive : [];
        return negotiation.requestOffer();
      case 'participant-joined': return participantJoined(msg.participant);
      case 'removed-list':
        roster.setRemoved(msg.removed);
        return participants.renderPeople();
      case 'participant-left': return participantLeft(msg.participant);
      case 'track-published': return participants.trackPublished(msg.track);
      case 'track-unpublished': return participants.trackUnpublished(msg.track);
      case 'muted': return participants.trackMuted(msg.track, msg.muted);
      case 'mute-request':
        if (msg.kind === 'audio' || msg.kind === 'video') {
          controls.setMuted(msg.kind, true);
          const by = roster.participants.get(msg.by);
          showBanner(`${by ? displayName(by) : 'The host'} turned off your ${msg.kind === 'audio' ? 'microphone' : 'camera'}.`);
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
        return finish('The meeting has ended.', 'Thank you for joining.', { rejoin: false });
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
    if (isNew) announce(`${displayName(roster.participants.get(info.id) || info)} joined`);
  }

  function participantLeft(id) {
    const info = roster.participants.get(id);
    participants.remove(id);
    if (info) announce(`${displayName(info)} left`);
  }

  function error(msg) {
    const code = String(msg.code || 'error');
    log(`error ${code}: ${msg.message || ''}${msg.fatal ? ' (fatal)' : ''}`);
    if (code === 'sdp-invalid') negotiation.cancel(new Error(`the server refused our offer: ${msg.message || code}`));
    const text = errorText(code, msg.message, !!session.me);
    if (msg.fatal || code.startsWith('token-')) {
      finish(session.me ? 'Disconnected' : 'Cannot join', text, { rejoin: !isFinalError(code) });
    } else {
      showBanner(text);
    }
  }
}

// `joined`: the first answer to our join, or to a resume after the socket dropped.
function joined({ session, socket, negotiation, participants, roster, controls, quality, dataMode }, msg) {
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
    setStatus(negotiation.pc.connectionState === 'connected' ? 'Connected' : 'Connecting media…');
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
  const here = others === 0 ? 'Nobody else is here yet.' : `${others} ${others === 1 ? 'other person is' : 'others are'} here.`;
  announce(`You joined the meeting. ${here}`);
  setStatus('Connecting media…');
  negotiation.start(msg.iceServers);
  negotiation.requestOffer();
}

// window.sabhaMeeting, for tests and debugging (the e2e tests read it; nothing on the page uses it):
//   pc              the RTCPeerConnection (null before joining)
//   events          human-readable log, newest last
//   participants()  the other participants: [{id, name, identity, role, chosenName}]
//   me()            our own {id, name, identity, role, chosenName} once joined
//   stats()         {perParticipant: {id: {framesDecoded, audioPackets, videoBytes, audioBytes}}, tiles, state}
//   layers          server track id -> {spatial, temporal}, from the server's `layers` messages (shown nowhere)
//   videoSizes      server track id -> {width, height}, the last `video-size` we sent
//   activeSpeaker   participant id of the latest `active-speaker`, or null
//   dropSocket()    drops the WebSocket as a network loss would (no leave); the page then resumes
//   iceRestarts     ICE restarts since the page loaded; helpShown: whether the connection help shows
//   dataMode        the low-data mode in use: 'auto', 'low' or 'off' (audio only)
//   controls()      the meeting controls as the page holds them: {lobby: {waiting, reason}, room: {locked,
//                   screenShareAllowed}, waiting: [participant ids, in order], hands: [participant ids, in order],
//                   chat: [{id, from, name, text}], unread}
//   view, page, pages  the grid's view ('grid' or 'speaker'), the page shown (from 0) and how many there are
//   shownParticipants()  ids of the participants whose camera tile is on the page shown

import { events } from './log.js';

/** Builds the object over the page's parts (read only through them) and puts it on window. */
export function exposeDebugAPI({ session, roster, negotiation, socket }) {
  const api = {
    get pc() { return negotiation.pc; },
    events,
    participants: () => [...roster.participants.values()].map((info) => ({
      id: info.id, name: info.name, identity: info.identity, role: info.role, chosenName: info.chosenName || null,
    })),
    me: () => session.me && { ...session.me },
    stats: () => stats(roster, negotiation.pc),
    layers: {},
    videoSizes: {},
    activeSpeaker: null,
    dropSocket: () => socket.drop(),
  };
  window.sabhaMeeting = api;
  return api;
}

// Frames decoded and audio packets received per participant, from the peer connection's inbound-rtp stats.
async function stats(roster, pc) {
  const perParticipant = {};
  for (const id of roster.participants.keys()) perParticipant[id] = { framesDecoded: 0, audioPackets: 0, videoBytes: 0, audioBytes: 0 };
  if (pc && pc.connectionState !== 'closed') {
    const byMid = new Map();
    for (const t of pc.getTransceivers()) {
      if (t.mid !== null) byMid.set(t.mid, roster.trackOwner.get(t.receiver.track.id));
    }
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      const owner = roster.trackOwner.get(r.trackIdentifier) || byMid.get(r.mid);
      const entry = owner && perParticipant[owner];
      if (!entry) return;
      if (r.kind === 'video') {
        entry.framesDecoded += r.framesDecoded || 0;
        entry.videoBytes += r.bytesReceived || 0;
      }
      if (r.kind === 'audio') {
        entry.audioPackets += r.packetsReceived || 0;
        entry.audioBytes += r.bytesReceived || 0;
      }
    });
  }
  return {
    perParticipant,
    tiles: document.querySelectorAll('#grid .tile.remote').length,
    state: pc ? pc.connectionState : 'new',
  };
}

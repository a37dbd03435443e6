// WebRTC helpers both pages use. The server is ICE-lite with host candidates only and takes no trickled
// candidates, so a page needs no STUN server and sends one offer with all its candidates in it. Where the network lets
// no media through to the server, the server names a TURN relay (`joined.iceServers`, docs/protocol.md): its relay
// candidates go in the same offer.

import { addCameraTransceiver } from './simulcast.js';

/**
 * A peer connection for talking to this server only, everything bundled on one transport: no STUN, and TURN only
 * when the server hands out `iceServers` (RTCIceServer dictionaries with short-lived credentials).
 */
export function newPeerConnection(iceServers = []) {
  return new RTCPeerConnection({ iceServers: Array.isArray(iceServers) ? iceServers : [], bundlePolicy: 'max-bundle' });
}

/**
 * Gives an existing peer connection the fresh credentials of a later `joined` (a resume), so that an ICE restart
 * after the first ones expired can still allocate on the relay. A browser that refuses keeps the old ones.
 */
export function useIceServers(pc, iceServers) {
  if (!Array.isArray(iceServers) || iceServers.length === 0) return;
  try {
    pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
  } catch (_) { /* the old credentials stay; only a later ICE restart would have needed the new ones */ }
}

/** Resolves once ICE gathering is complete, or after `timeoutMs` (what has been gathered by then goes out). */
export function gatheringComplete(pc, timeoutMs) {
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

/**
 * Sends every track of `stream` on its own sendonly transceiver; the camera as simulcast when `simulcast` is set
 * (simulcast.js), else as one encoding. `log` hears what the browser refused.
 */
export function addLocalTracks(pc, stream, { simulcast, log }) {
  for (const track of stream.getTracks()) {
    if (track.kind === 'video' && simulcast) addCameraTransceiver(pc, track, stream, log);
    else pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  }
}

/** The peer connection's state in words for a status line. */
export function connectionText(state) {
  return {
    new: 'starting…', connecting: 'connecting…', connected: 'connected',
    disconnected: 'connection interrupted…', failed: 'connection failed', closed: 'ended',
  }[state] || state;
}

// Media negotiation over the signalling socket: one RTCPeerConnection carries our tracks out and everyone
// else's in. Only we offer, one offer in flight at a time; a `renegotiate` during an offer asks for one more
// afterwards. The one owner of the peer connection and of what the server's answer says about it.

import { addLocalTracks, gatheringComplete, newPeerConnection } from '../lib/webrtc.js';
import { log } from './log.js';
import { ANSWER_TIMEOUT_MS, GATHERING_TIMEOUT_MS } from './options.js';

export class Negotiation {
  /** The RTCPeerConnection, or null before joining (and after a refused resume, until the next). */
  pc = null;
  /** The receivers the server wants us to have: the latest `renegotiate.receive` [{track, participant, kind}]. */
  receive = [];
  #midTracks = new Map();   // mid -> server track id, from the latest answer
  #offering = false;        // an offer is in flight
  #reofferWanted = false;   // a renegotiate arrived while it was
  #answerWaiter = null;     // {resolve, reject} for the offer in flight

  /**
   * `local`: our LocalMedia; `simulcast`: send the camera as layers; `send(msg)`: the signalling socket's send;
   * `sources()`: {mid: 'screen'} for the offer; `onTrack(ev)`, `onState(connectionState)`: the peer connection's
   * events; `onFailure(err)`: a negotiation that could not finish; `onStart(pc)`: a new peer connection.
   */
  constructor({ local, simulcast, send, sources, onTrack, onState, onFailure, onStart }) {
    Object.assign(this, { local, simulcast, send, sources, onTrack, onState, onFailure, onStart });
  }

  /** Creates the peer connection with our own tracks on it; `iceServers`: the TURN relay from `joined`, if any. */
  start(iceServers = []) {
    const pc = newPeerConnection(iceServers);
    this.pc = pc;
    if (this.local.stream) addLocalTracks(pc, this.local.stream, { simulcast: this.simulcast, log });
    pc.addEventListener('track', (ev) => this.onTrack(ev));
    pc.addEventListener('connectionstatechange', () => {
      log(`pc ${pc.connectionState}`);
      if (this.pc === pc) this.onState(pc.connectionState);
    });
    this.onStart(pc);
  }

  /**
   * Restarts ICE on the same peer connection (after a failure or a network change): the next offer carries new
   * ICE credentials, the server answers with new ones of its own, and DTLS, tracks and receivers stay as they are.
   */
  restartIce() {
    if (!this.pc || this.pc.signalingState === 'closed') return;
    this.pc.restartIce();
    this.requestOffer();
  }

  /** Offers now, or once the offer in flight is answered. */
  async requestOffer() {
    if (!this.pc) return;
    if (this.#offering) {
      this.#reofferWanted = true;
      return;
    }
    this.#offering = true;
    try {
      do {
        this.#reofferWanted = false;
        await this.#offerOnce(this.pc);
      } while (this.#reofferWanted && this.pc && this.pc.signalingState !== 'closed');
    } catch (err) {
      log(`negotiation failed: ${err.message}`);
      this.onFailure(err);
    } finally {
      this.#offering = false;
    }
    // Asked for during a failed offer, or for a peer connection that replaced the one offering: offer again.
    if (this.#reofferWanted && this.pc && this.pc.signalingState !== 'closed') await this.requestOffer();
  }

  /** The server's `answer` to our offer. */
  answered(msg) {
    const waiter = this.#answerWaiter;
    this.#answerWaiter = null;
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

  /** Gives up the offer in flight, if any, with `err`. */
  cancel(err) {
    const waiter = this.#answerWaiter;
    this.#answerWaiter = null;
    if (waiter) waiter.reject(err);
  }

  /** Closes the peer connection; `forget` drops it too, so that `start` makes a new one. */
  close({ forget = false } = {}) {
    if (this.pc) this.pc.close();
    if (forget) {
      this.pc = null;
      this.#midTracks = new Map();
    }
  }

  /** The server's id of the track a receiver got, through the answer's a=msid; null when unknown. */
  serverTrackOf(track) {
    if (!track || !this.pc) return null;
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver && t.receiver.track === track);
    return (transceiver && transceiver.mid && this.#midTracks.get(transceiver.mid)) || null;
  }

  /** The server's id of the track of a transceiver, by its mid. */
  serverTrackOfMid(mid) {
    return this.#midTracks.get(mid);
  }

  #ensureReceivers(pc) {
    for (const kind of ['audio', 'video']) {
      const need = this.receive.filter((r) => r.kind === kind).length;
      const have = pc.getTransceivers().filter((t) => t.direction === 'recvonly' && t.receiver.track.kind === kind).length;
      for (let i = have; i < need; i++) pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  async #offerOnce(pc) {
    this.#ensureReceivers(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, GATHERING_TIMEOUT_MS);
    let answer;
    try {
      answer = await this.#exchange(pc.localDescription.sdp);
    } catch (err) {
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
      }
      throw err;
    }
    this.#midTracks = tracksByMid(answer);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    // The server keeps mute state per published track: repeat ours in case a track was published after we muted.
    if (this.local.micMuted) this.send({ type: 'mute', kind: 'audio', muted: true });
    if (this.local.cameraOff) this.send({ type: 'mute', kind: 'video', muted: true });
  }

  // Sends the offer; resolves with the answer's SDP.
  #exchange(sdp) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#answerWaiter === waiter) this.#answerWaiter = null;
        reject(new Error('the server did not answer'));
      }, ANSWER_TIMEOUT_MS);
      const waiter = {
        resolve: (answer) => { clearTimeout(timer); resolve(answer); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      this.#answerWaiter = waiter;
      if (!this.send({ type: 'offer', sdp, sources: this.sources() })) {
        this.#answerWaiter = null;
        waiter.reject(new Error('not connected'));
      }
    });
  }
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

// The demo page's Watch panel: one tile per publisher watched over WHEP (/whep/{room}/{identity}).

import { connectionText } from '../lib/webrtc.js';

export class Viewers {
  /** identity -> {pc, location, ui} */
  sessions = new Map();

  /** `client`: WhipClient; `room`: whose publishers; `setStatus(text, kind)`: the panel's status line. */
  constructor({ client, room, setStatus }) {
    Object.assign(this, { client, room, setStatus });
  }

  async watch(identity) {
    identity = identity.trim();
    if (!identity) return;
    if (this.sessions.has(identity)) {
      this.setStatus(`Already watching ${identity}.`);
      return;
    }
    const url = `/whep/${encodeURIComponent(this.room)}/${encodeURIComponent(identity)}`;
    const pc = await this.client.newPeerConnection(url);
    if (this.sessions.has(identity)) {  // a second click while we asked for the relays
      pc.close();
      return;
    }
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const ui = this.#makeTile(identity);
    const session = { pc, location: null, ui };
    this.sessions.set(identity, session);
    const stream = new MediaStream();
    ui.video.srcObject = stream;
    pc.addEventListener('track', (ev) => stream.addTrack(ev.track));
    pc.addEventListener('connectionstatechange', () => {
      if (this.sessions.get(identity) !== session) return;
      const state = pc.connectionState;
      ui.state.textContent = connectionText(state);
      if (state === 'connected') {
        this.setStatus(`Watching ${identity}.`, 'ok');
      } else if (state === 'failed' || state === 'closed') {
        this.setStatus(`${identity}: ${connectionText(state)} (the publisher may have left).`, 'error');
      }
    });

    this.setStatus(`Connecting to ${identity}…`);
    try {
      session.location = await this.client.negotiate(pc, url);
    } catch (err) {
      this.setStatus(`Could not watch ${identity}: ${err.message}`, 'error');
      this.sessions.delete(identity);
      pc.close();
      ui.tile.remove();
    }
  }

  async stop(identity) {
    const session = this.sessions.get(identity);
    if (!session) return;
    this.sessions.delete(identity);
    await this.client.end(session.location);
    session.pc.close();
    session.ui.tile.remove();
    this.setStatus(`Stopped watching ${identity}.`);
  }

  #makeTile(identity) {
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
    stop.addEventListener('click', () => this.stop(identity));
    tile.append(video, label, state, stop);
    document.getElementById('tiles').append(tile);
    return { tile, video, state };
  }
}

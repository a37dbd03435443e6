// The demo page's Publish panel: our camera and microphone out over WHIP, the camera as simulcast.

import { acquireMedia, mediaErrorText } from '../lib/media.js';
import { addLocalTracks, connectionText } from '../lib/webrtc.js';

const $ = (id) => document.getElementById(id);

export class Publisher {
  /** The publishing session: {pc, stream, location}, or null. */
  session = null;

  /** `client`: WhipClient; `room`: where to publish; `setStatus(text, kind)`: the panel's status line. */
  constructor({ client, room, setStatus, log }) {
    Object.assign(this, { client, room, setStatus, log });
  }

  async start() {
    if (this.session) return;
    $('publish-start').disabled = true;
    this.setStatus('Asking for camera and microphone…');
    let stream;
    try {
      stream = await acquireMedia({ log: this.log });
    } catch (err) {
      this.setStatus(mediaErrorText(err), 'error');
      $('publish-start').disabled = false;
      return;
    }
    $('self-video').srcObject = stream;
    $('self-tile').hidden = false;

    const url = `/whip/${encodeURIComponent(this.room)}`;
    const pc = await this.client.newPeerConnection(url);
    const session = { pc, stream, location: null };
    this.session = session;
    addLocalTracks(pc, stream, { simulcast: true, log: (m) => console.warn(m) });
    pc.addEventListener('connectionstatechange', () => {
      if (this.session !== session) return;
      const state = pc.connectionState;
      this.setStatus(`Publishing: ${connectionText(state)}`, state === 'connected' ? 'ok' : (state === 'failed' || state === 'closed') ? 'error' : '');
    });

    this.setStatus('Connecting to the server…');
    try {
      session.location = await this.client.negotiate(pc, url);
      $('publish-stop').disabled = false;
      this.setStatus(`Publishing: ${connectionText(pc.connectionState)}`);
    } catch (err) {
      this.setStatus(`Could not publish: ${err.message}`, 'error');
      this.stop(false);
    }
  }

  async stop(announce = true) {
    const session = this.session;
    if (!session) return;
    this.session = null;
    $('publish-stop').disabled = true;
    await this.client.end(session.location);
    session.pc.close();
    session.stream.getTracks().forEach((t) => t.stop());
    $('self-video').srcObject = null;
    $('self-tile').hidden = true;
    $('publish-start').disabled = false;
    if (announce) this.setStatus('Stopped publishing.');
  }
}

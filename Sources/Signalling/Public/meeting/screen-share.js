// Sharing our screen: one more sendonly video transceiver on the peer connection, marked `screen` in the offer's
// `sources` so others show it in a tile of its own. The one owner of the share's stream and transceiver.

import { t } from '../lib/i18n.js';
import { log } from './log.js';

export class ScreenShare {
  #share = null;   // {stream, transceiver} while we share

  /** `negotiation`: the Negotiation; `onChange()`: sharing started or stopped; `onError(text)`: tell the person. */
  constructor({ negotiation, onChange, onError }) {
    Object.assign(this, { negotiation, onChange, onError });
  }

  get active() { return !!this.#share; }

  static get supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  }

  /** The offer's `sources`: which of our transceivers carries the screen. */
  sources() {
    const share = this.#share;
    return share && share.transceiver.mid ? { [share.transceiver.mid]: 'screen' } : {};
  }

  async toggle() {
    if (this.#share) return this.stop();
    const pc = this.negotiation.pc;
    if (!pc || !ScreenShare.supported) return undefined;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      log(`screen share refused: ${err.name}`);
      if (err.name !== 'NotAllowedError') this.onError(t('meeting.shareFailed', { reason: err.message }));
      return undefined;
    }
    const track = stream.getVideoTracks()[0];
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    this.#share = { stream, transceiver };
    track.addEventListener('ended', () => this.stop());
    this.onChange();
    return this.negotiation.requestOffer();
  }

  /** Stops sharing and tells the server (a new offer with the transceiver inactive). */
  stop() {
    const share = this.#share;
    if (!share) return undefined;
    this.#share = null;
    share.stream.getTracks().forEach((t) => t.stop());
    share.transceiver.sender.replaceTrack(null).catch(() => {});
    share.transceiver.direction = 'inactive';
    this.onChange();
    return this.negotiation.requestOffer();
  }

  /** The peer connection that carried the share is gone (the server closed our transport): stops the capture. */
  dropped() {
    this.end();
    this.#share = null;
    this.onChange();
  }

  /** The page is finished: stops the capture, nothing more. */
  end() {
    if (this.#share) this.#share.stream.getTracks().forEach((t) => t.stop());
  }
}

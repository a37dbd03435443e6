// The connection-quality hint in the top bar, from our own peer connection: loss on what we receive (since the
// last look) and the round-trip time of the selected ICE pair.

import { formatNumber, locale, t } from '../lib/i18n.js';
import { QUALITY_INTERVAL_MS } from './options.js';

const percent = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export class QualityHint {
  #timer = null;
  #last = { received: 0, lost: 0 };

  /** `peerConnection()`: the current RTCPeerConnection or null; `element`: the hint's element. */
  constructor({ peerConnection, element }) {
    this.peerConnection = peerConnection;
    this.element = element;
  }

  start() {
    this.stop();
    this.#timer = setInterval(() => this.#update(), QUALITY_INTERVAL_MS);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  async #update() {
    const pc = this.peerConnection();
    if (!pc || pc.connectionState !== 'connected') return;
    let received = 0, lost = 0, rtt = null;
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type === 'inbound-rtp') { received += r.packetsReceived || 0; lost += r.packetsLost || 0; }
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && r.currentRoundTripTime !== undefined) {
        rtt = r.currentRoundTripTime;
      }
    });
    const last = this.#last;
    this.#last = { received, lost };
    const dReceived = received - last.received;
    const dLost = Math.max(0, lost - last.lost);
    const loss = dReceived + dLost > 0 ? dLost / (dReceived + dLost) : 0;
    let quality = 'good';
    if (loss > 0.05 || (rtt !== null && rtt > 0.4)) quality = 'poor';
    else if (loss > 0.02 || (rtt !== null && rtt > 0.2)) quality = 'fair';
    const el = this.element;
    el.hidden = false;
    el.dataset.quality = quality;
    el.textContent = t(`quality.${quality}`);
    el.title = rtt !== null
      ? t('quality.lossRtt', { loss: percent.format(loss * 100), ms: formatNumber(Math.round(rtt * 1000)) })
      : t('quality.loss', { loss: percent.format(loss * 100) });
  }
}

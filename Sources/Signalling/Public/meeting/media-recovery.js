// Keeps the media connection going on hard networks, never giving up while the person is in the meeting:
//   - media not connected within 10 s (at the start, or after an interruption): the page says so in plain words,
//     with what the office IT has to allow (connection-help.js), until it connects;
//   - the connection `failed`, or stayed `disconnected` for a few seconds, or a restart did not connect in time:
//     ICE restarts on the same peer connection (new credentials in a new offer; DTLS, tracks and receivers stay).
// A peer connection with nothing to connect (a viewer alone in the room: no m-lines) is not waited for. A new peer
// connection that replaces one that was not connected (the server closed its transport) continues the same wait.
// The meeting itself (our place, the others' view of us) rides on the WebSocket and does not depend on any of it.

import { log } from './log.js';
import { HELP_AFTER_MS, RESTART_AFTER_DISCONNECTED_MS, RESTART_RETRY_MS } from './options.js';

const TICK_MS = 1000;

export class MediaRecovery {
  #pc = null;
  #ticker = null;
  #since = 0;           // when media began to be expected and not connected; 0 while connected (or nothing to connect)
  #lastAttempt = 0;     // when the peer connection started, or ICE last restarted
  #disconnectedAt = 0;  // when the connection became `disconnected`; 0 otherwise
  /** ICE restarts since the connection was last connected. */
  attempts = 0;
  /** ICE restarts since the page loaded (window.sabhaMeeting.iceRestarts). */
  total = 0;

  /** `negotiation`: Negotiation (its pc, restartIce()); `help`: ConnectionHelp; `onHelp(shown)`: for the status line. */
  constructor({ negotiation, help, onHelp }) {
    Object.assign(this, { negotiation, help, onHelp });
  }

  /** A new peer connection starts. */
  watch(pc) {
    this.#pc = pc;
    this.#lastAttempt = Date.now();
    this.#disconnectedAt = 0;
    if (!this.#ticker) this.#ticker = setInterval(() => this.#tick(), TICK_MS);
  }

  /** The watched peer connection's connectionState changed. */
  changed(state) {
    if (!this.#pc || this.#pc !== this.negotiation.pc) return;
    if (state === 'connected') {
      if (this.attempts) log(`media connected again after ${this.attempts} ICE restart(s)`);
      this.attempts = 0;
      this.#since = 0;
      this.#disconnectedAt = 0;
      this.#setHelp(false);
    } else if (state === 'disconnected') {
      if (!this.#disconnectedAt) this.#disconnectedAt = Date.now();
    } else if (state === 'failed') {
      // A restart's own new checks may fail at once: give each restart a moment before the next.
      if (Date.now() - this.#lastAttempt > 3000) this.#restart('failed');
    }
  }

  /** No more watching: the page is finished. */
  stop() {
    clearInterval(this.#ticker);
    this.#ticker = null;
    this.#pc = null;
    this.#since = 0;
    this.#setHelp(false);
  }

  #tick() {
    const pc = this.#pc;
    if (!pc || pc !== this.negotiation.pc || pc.signalingState === 'closed' || pc.connectionState === 'connected') return;
    const now = Date.now();
    if (!pc.getTransceivers().some((t) => t.mid !== null)) {
      // Nothing to connect yet (no m-line has been offered).
      this.#since = 0;
      this.#lastAttempt = now;
      return;
    }
    if (!this.#since) this.#since = now;
    if (now - this.#since >= HELP_AFTER_MS) this.#setHelp(true);
    if (this.#disconnectedAt && now - this.#disconnectedAt >= RESTART_AFTER_DISCONNECTED_MS) {
      this.#restart('disconnected');
    } else if (now - this.#lastAttempt >= RESTART_RETRY_MS) {
      this.#restart('not connected in time');
    }
  }

  #restart(why) {
    const pc = this.#pc;
    if (!pc || pc !== this.negotiation.pc || pc.signalingState === 'closed' || pc.connectionState === 'connected') return;
    this.attempts += 1;
    this.total += 1;
    this.#lastAttempt = Date.now();
    this.#disconnectedAt = 0;
    log(`ICE restart ${this.attempts} (${why}; state ${pc.connectionState})`);
    this.negotiation.restartIce();
    if (this.help.shown) this.help.show(pc, this.attempts);   // the answer may have come since: its ports
  }

  #setHelp(shown) {
    if (shown === this.help.shown) return;
    if (shown) {
      log('media not connected: showing the connection help');
      this.help.show(this.#pc, this.attempts);
    } else {
      this.help.hide();
    }
    this.onHelp(shown);
  }
}

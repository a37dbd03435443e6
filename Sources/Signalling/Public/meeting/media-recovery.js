// Keeps the media connection going on hard networks, never giving up while the person is in the meeting:
//   - media not connected within 10 s (at the start, or after an interruption): the page says so in plain words,
//     with what the office IT has to allow (connection-help.js), until it connects;
//   - the connection `failed`, or stayed `disconnected` for a few seconds, or a restart did not connect in time:
//     ICE restarts on the same peer connection (new credentials in a new offer; DTLS, tracks and receivers stay).
// The meeting itself (our place, the others' view of us) rides on the WebSocket and does not depend on any of it.

import { log } from './log.js';
import { HELP_AFTER_MS, RESTART_AFTER_DISCONNECTED_MS, RESTART_RETRY_MS } from './options.js';

export class MediaRecovery {
  #pc = null;
  #helpTimer = null;
  #restartTimer = null;
  #lastRestart = 0;
  /** ICE restarts since the connection was last connected. */
  attempts = 0;
  /** ICE restarts since the page loaded (window.sabhaMeeting.iceRestarts). */
  total = 0;

  /** `negotiation`: Negotiation (its pc, restartIce()); `help`: ConnectionHelp; `onHelp(shown)`: for the status line. */
  constructor({ negotiation, help, onHelp }) {
    Object.assign(this, { negotiation, help, onHelp });
  }

  /**
   * A new peer connection starts: it has HELP_AFTER_MS to connect before the page explains. One that replaces a
   * peer connection that was not connected (the server closed its transport) continues its wait, so the explanation
   * comes on time however often that happens.
   */
  watch(pc) {
    clearTimeout(this.#restartTimer);
    this.#pc = pc;
    this.#armHelp();
    this.#armRestart(RESTART_RETRY_MS);
  }

  /** The watched peer connection's connectionState changed. */
  changed(state) {
    if (!this.#pc || this.#pc !== this.negotiation.pc) return;
    if (state === 'connected') {
      if (this.attempts) log(`media connected again after ${this.attempts} ICE restart(s)`);
      this.attempts = 0;
      this.#clearTimers();
      this.#setHelp(false);
    } else if (state === 'closed') {
      this.stop();
    } else if (state === 'failed') {
      this.#armHelp();
      // A restart's own new checks may fail at once: give each restart a moment before the next.
      if (Date.now() - this.#lastRestart > 3000) this.#restart('failed');
    } else if (state === 'disconnected') {
      this.#armHelp();
      this.#armRestart(RESTART_AFTER_DISCONNECTED_MS);
    }
  }

  /** No more watching (the page is finished, or a new peer connection comes). */
  stop() {
    this.#clearTimers();
    this.#pc = null;
    this.#setHelp(false);
  }

  #connected() {
    return !!this.#pc && this.#pc.connectionState === 'connected';
  }

  #armHelp() {
    if (this.#helpTimer || this.help.shown) return;
    this.#helpTimer = setTimeout(() => {
      this.#helpTimer = null;
      if (this.#pc && !this.#connected()) this.#setHelp(true);
    }, HELP_AFTER_MS);
  }

  #armRestart(ms) {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => this.#restart('not connected in time'), ms);
  }

  #restart(why) {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    const pc = this.#pc;
    if (!pc || pc !== this.negotiation.pc || pc.signalingState === 'closed' || this.#connected()) return;
    this.attempts += 1;
    this.total += 1;
    this.#lastRestart = Date.now();
    log(`ICE restart ${this.attempts} (${why}; state ${pc.connectionState})`);
    this.negotiation.restartIce();
    if (this.help.shown) this.help.update(this.attempts);
    this.#armRestart(RESTART_RETRY_MS);
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

  #clearTimers() {
    clearTimeout(this.#helpTimer);
    clearTimeout(this.#restartTimer);
    this.#helpTimer = null;
    this.#restartTimer = null;
  }
}

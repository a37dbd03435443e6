// The signalling WebSocket (docs/protocol.md, version 1): joins, hands each server message on, keeps the
// connection alive with pings, and when it drops without us leaving, resumes within the server's grace period
// with the `resume` secret from `joined`. The one owner of the socket, its timers and the resume state.

import { log } from './log.js';
import { PING_INTERVAL_MS, RESUME_WINDOW_MS } from './options.js';

export class SignalSocket {
  #ws = null;
  #finished = false;
  #resume = null;        // secret from `joined`, to resume after the socket drops
  #reconnect = null;     // {since, attempt, timer} while trying to resume
  #restartUntil = 0;     // after `server-shutdown`: keep trying to rejoin until then (ms since the epoch)
  #pingTimer = null;
  #pingId = 0;
  #redirectTo = null;    // after `redirect`: the node holding the meeting, connected to when this socket closes
  #redirects = 0;        // redirects followed since the last `joined` (a loop between nodes stops at 5)
  #url = null;           // the node we were sent to; null: this page's own server

  /**
   * `joinMessage()`: the `join` to send on each (re)connect. `onMessage(msg)`: each server message.
   * `onInterrupted()`: the socket dropped and we will try to resume (anything waiting on it should give up).
   * `onReconnecting()`: a resume attempt is scheduled. `onLost(wasOpen)`: the socket is gone for good.
   */
  constructor({ joinMessage, onMessage, onInterrupted, onReconnecting, onLost }) {
    Object.assign(this, { joinMessage, onMessage, onInterrupted, onReconnecting, onLost });
  }

  /** Whether the server said it is restarting and we are (or will be) trying to rejoin it. */
  get restartExpected() { return Date.now() < this.#restartUntil; }

  /** Whether the current connection is a resume attempt (until `joined` answers it). */
  get reconnecting() { return !!this.#reconnect; }

  open() {
    const url = this.#url || (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/ws';
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      log(`WebSocket failed: ${err.message}`);
      this.onLost(false);
      return;
    }
    this.#ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      log('socket open');
      const join = this.joinMessage();
      if (this.#reconnect && this.#resume) join.resume = this.#resume;
      this.send(join);
    });
    ws.addEventListener('message', (ev) => this.#receive(ev.data));
    ws.addEventListener('close', (ev) => {
      log(`socket closed (code ${ev.code}${ev.reason ? ', ' + ev.reason : ''})`);
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#redirectTo) {
        // Sent to the node holding the meeting: the same join goes there at once.
        this.#url = this.#redirectTo;
        this.#redirectTo = null;
        this.open();
        return;
      }
      // A lost node is not asked again: a resume goes through this page's own server (a load balancer in a
      // cluster), which sends us on to whichever node holds the meeting now.
      this.#url = null;
      this.#closed(opened);
    });
  }

  /** Sends one message; false when the socket is not open. */
  send(msg) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    if (msg.type !== 'ping') log(`send ${msg.type}`);
    return true;
  }

  /**
   * `joined` arrived: keeps its resume secret and starts pinging. Returns whether it answered a resume attempt.
   */
  joined(resumeSecret) {
    if (resumeSecret) this.#resume = resumeSecret;
    const resuming = !!this.#reconnect;
    this.#reconnect = null;
    this.#restartUntil = 0;
    this.#redirects = 0;
    this.#startPing();
    return resuming;
  }

  /**
   * `server-shutdown`: the server is going away and expects to be back in about `retryAfter` s. When the socket
   * closes, the page keeps trying to rejoin until a minute past that (a resume, which a restarted server answers
   * by letting us join afresh), even if it never joined (its join was refused while the server drained).
   */
  restarting(retryAfter) {
    const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 3600) : 30;
    this.#restartUntil = Date.now() + (seconds + 60) * 1000;
  }

  /**
   * `redirect`: in a cluster another node holds this meeting. The server closes this socket; the same join is
   * then sent to `url` (a ws: or wss: URL; anything else, or a sixth redirect in a row, is refused).
   */
  redirect(url) {
    let target;
    try { target = new URL(url); } catch (_) { target = null; }
    if (!target || !['ws:', 'wss:'].includes(target.protocol) || this.#redirects >= 5) {
      log(`redirect refused: ${String(url).slice(0, 120)}`);
      return false;
    }
    this.#redirects += 1;
    this.#redirectTo = target.href;
    log(`meeting held by ${target.host}; connecting there`);
    return true;
  }

  /** Closes for good (the page is finished); no resume follows. */
  close() {
    this.#finished = true;
    this.#stopPing();
    if (this.#reconnect) clearTimeout(this.#reconnect.timer);
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      try { ws.close(1000); } catch (_) { /* already closing */ }
    }
  }

  /** Drops the socket as a network loss would (no leave); the page then resumes. For tests and support. */
  drop() {
    if (this.#ws) this.#ws.close(4000, 'dropped on request');
  }

  #receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (_) {
      log(`ignored a frame that is not JSON: ${String(data).slice(0, 80)}`);
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type !== 'pong') log(`recv ${msg.type}`);
    try {
      this.onMessage(msg);
    } catch (err) {
      log(`error handling ${msg.type}: ${err.stack || err}`);
    }
  }

  // The socket closed without us leaving: resume within the server's grace period, else give up.
  #closed(wasOpen) {
    if (this.#finished) return;
    const restarting = Date.now() < this.#restartUntil;
    if ((this.#resume && (wasOpen || this.#reconnect)) || restarting) {
      this.#scheduleReconnect();
      return;
    }
    this.onLost(wasOpen);
  }

  #scheduleReconnect() {
    this.#stopPing();
    this.onInterrupted();
    if (!this.#reconnect) this.#reconnect = { since: Date.now(), attempt: 0, timer: null };
    const r = this.#reconnect;
    if (Date.now() - r.since > RESUME_WINDOW_MS && Date.now() >= this.#restartUntil) {
      this.#reconnect = null;
      this.onLost(true);
      return;
    }
    this.onReconnecting();
    const delay = Math.min(4000, 500 * 2 ** Math.min(r.attempt++, 4));
    log(`reconnecting in ${delay} ms`);
    r.timer = setTimeout(() => { if (!this.#finished) this.open(); }, delay);
  }

  #startPing() {
    this.#stopPing();
    this.#pingTimer = setInterval(() => this.send({ type: 'ping', id: ++this.#pingId }), PING_INTERVAL_MS);
  }

  #stopPing() {
    clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }
}

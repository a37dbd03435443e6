// Tells the server how large each remote video is shown (`video-size`, docs/protocol.md), so that it forwards a
// layer that fits: watched with a ResizeObserver, debounced per tile, and sent only when it changed. A hidden tile
// (on another page of the grid) is 0×0, and the server then sends none of its video until it shows again.

import { MAX_VIDEO_SIZE, VIDEO_SIZE_DEBOUNCE_MS } from './options.js';

export class VideoSizeReporter {
  #observer = typeof ResizeObserver === 'function'
    ? new ResizeObserver((entries) => { for (const entry of entries) this.schedule(entry.target); })
    : null;
  #timers = new Map();   // <video> -> debounce timer
  #sent = new Map();     // server track id -> "WxH" last sent

  /**
   * `serverTrackOf(track)`: the server's id for a received track, or null; `send(msg)`: the socket's send;
   * `sent`: an object that mirrors the last size sent per server track id (window.sabhaMeeting.videoSizes).
   */
  constructor({ serverTrackOf, send, sent }) {
    Object.assign(this, { serverTrackOf, send, sentSizes: sent });
  }

  observe(el) {
    if (this.#observer) this.#observer.observe(el);
  }

  unobserve(el) {
    if (this.#observer) this.#observer.unobserve(el);
    clearTimeout(this.#timers.get(el));
    this.#timers.delete(el);
  }

  /** Reports the size of `el` once it has stopped changing for a moment. */
  schedule(el) {
    clearTimeout(this.#timers.get(el));
    this.#timers.set(el, setTimeout(() => {
      this.#timers.delete(el);
      this.#report(el);
    }, VIDEO_SIZE_DEBOUNCE_MS));
  }

  #report(el) {
    const track = this.serverTrackOf(el.srcObject && el.srcObject.getVideoTracks()[0]);
    if (!track) return;
    const shown = el.isConnected && el.offsetParent !== null;
    const clamp = (n) => Math.min(MAX_VIDEO_SIZE, Math.max(0, Math.round(n)));
    const width = shown ? clamp(el.clientWidth) : 0;
    const height = shown && width > 0 ? clamp(el.clientHeight) : 0;
    const key = `${width}x${height}`;
    if (this.#sent.get(track) === key) return;
    if (this.send({ type: 'video-size', track, width: height > 0 ? width : 0, height })) {
      this.#sent.set(track, key);
      this.sentSizes[track] = { width: height > 0 ? width : 0, height };
    }
  }
}

// WHIP (RFC 9725) and WHEP over fetch: one POST with the whole offer (no trickle), `201 Created` with the answer
// and the session's Location, DELETE to end. Failures become a sentence from the server's problem document
// (RFC 9457), so the person reads what the server said.

import { gatheringComplete, newPeerConnection } from '../lib/webrtc.js';

const GATHERING_TIMEOUT_MS = 2000;

export class WhipClient {
  /** `token`: the Bearer token for every request; `pcs`: gets each peer connection made (for tests). */
  constructor({ token, pcs, log }) {
    Object.assign(this, { token, pcs, log });
  }

  /**
   * A peer connection for `url` (/whip/… or /whep/…). First asks the endpoint (OPTIONS with our token) for the TURN
   * relays it offers (RFC 9725 section 4.4 `Link` headers), so that where the network lets no media through directly
   * the offer carries relay candidates. No relay offered, or no answer: none used.
   */
  async newPeerConnection(url) {
    const pc = newPeerConnection(await this.#iceServers(url));
    this.pcs.push(pc);
    return pc;
  }

  async #iceServers(url) {
    try {
      const resp = await fetch(url, { method: 'OPTIONS', headers: { 'Authorization': `Bearer ${this.token}` } });
      return iceServersFromLinks(resp.headers.get('Link'));
    } catch (err) {
      this.log(`no TURN relay list from ${url}: ${err.message}`);
      return [];
    }
  }

  /** Offers `pc` to `url` (/whip/… or /whep/…) and applies the answer; resolves with the session's URL. */
  async negotiate(pc, url) {
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, GATHERING_TIMEOUT_MS);
    let resp;
    try {
      resp = await fetch(url, {
        method: 'POST',
        headers: { 'Authorization': `Bearer ${this.token}`, 'Content-Type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
    } catch (err) {
      throw new Error(`cannot reach the server: ${err.message}`);
    }
    if (resp.status !== 201) throw new Error(await describeFailure(resp));
    const where = resp.headers.get('Location');
    if (!where) throw new Error('the server sent no session location');
    const answer = await resp.text();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return new URL(where, location.href).href;
  }

  /** Ends a session (DELETE); a failure is only logged. `keepalive` lets it outlive the page. */
  async end(sessionURL, { keepalive = false } = {}) {
    if (!sessionURL) return;
    try {
      await fetch(sessionURL, { method: 'DELETE', headers: { 'Authorization': `Bearer ${this.token}` }, keepalive });
    } catch (err) {
      this.log(`DELETE ${sessionURL} failed: ${err.message}`);
    }
  }
}

/**
 * RTCIceServer dictionaries from `Link: <turns:…>; rel="ice-server"; username="…"; credential="…"` values (one header,
 * or several joined with commas as `Headers.get` gives them); other links are skipped.
 */
export function iceServersFromLinks(header) {
  const servers = [];
  for (const value of (header || '').split(/,\s*(?=<)/)) {
    const link = /^\s*<([^>]*)>(.*)$/.exec(value);
    if (!link) continue;
    const params = {};
    for (const p of link[2].matchAll(/;\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g)) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    }
    if (params.rel !== 'ice-server') continue;
    const server = { urls: link[1] };
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    servers.push(server);
  }
  return servers;
}

/** A sentence about a refused request: the problem's detail or title, else what the status usually means. */
async function describeFailure(resp) {
  let detail = '';
  const type = resp.headers.get('Content-Type') || '';
  try {
    if (type.includes('json')) {
      const problem = await resp.json();
      detail = problem.detail || problem.title || '';
    } else {
      detail = (await resp.text()).trim().slice(0, 300);
    }
  } catch (_) { /* body unreadable: fall back to the status below */ }
  if (!detail) {
    detail = {
      401: 'the link\'s token was not accepted',
      403: 'this link does not allow that',
      404: 'not found (has the publisher left?)',
      409: 'already in use',
      503: 'the server is busy, try again shortly',
    }[resp.status] || resp.statusText || 'request failed';
  }
  return `${detail} (HTTP ${resp.status})`;
}

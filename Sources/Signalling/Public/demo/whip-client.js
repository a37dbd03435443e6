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

  newPeerConnection() {
    const pc = newPeerConnection();
    this.pcs.push(pc);
    return pc;
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

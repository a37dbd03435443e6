// What the page says when audio and video do not get through (the page and the WebSocket work, the media does
// not): in plain words for the person, and exactly what their office IT has to allow. The addresses and ports
// come from the server's own answer (its ICE candidates: UDP, and TCP on the same port numbers) and from the TURN
// servers it gave in `joined`, so the text is right for this server, whatever it is configured with.

import { formatNumber, t } from '../lib/i18n.js';

const $ = (id) => document.getElementById(id);

/**
 * The media addresses in an SDP answer: [{protocol: 'udp'|'tcp', address, port}] from its a=candidate lines
 * (RFC 8839: foundation component transport priority address port typ ...), each once.
 */
export function mediaAddresses(sdp) {
  const seen = new Map();
  for (const line of String(sdp || '').split(/\r?\n/)) {
    if (!line.startsWith('a=candidate:')) continue;
    const f = line.slice('a=candidate:'.length).trim().split(/\s+/);
    if (f.length < 8 || f[6] !== 'typ') continue;
    const protocol = f[2].toLowerCase();
    const port = Number(f[5]);
    if ((protocol !== 'udp' && protocol !== 'tcp') || !Number.isInteger(port)) continue;
    seen.set(`${protocol} ${f[4]} ${port}`, { protocol, address: f[4], port });
  }
  return [...seen.values()];
}

/** TURN servers from `joined.iceServers` (RTCIceServer shapes): [{protocol: 'udp'|'tcp'|'tls', host, port}]. */
export function turnAddresses(iceServers) {
  const out = [];
  for (const server of Array.isArray(iceServers) ? iceServers : []) {
    for (const url of [].concat((server && server.urls) || [])) {
      const m = /^(turns?):([^?]+?)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(String(url));
      if (!m) continue;
      const tls = m[1].toLowerCase() === 'turns';
      out.push({ protocol: tls ? 'tls' : (m[4] || 'udp').toLowerCase(), host: m[2], port: Number(m[3] || (tls ? 5349 : 3478)) });
    }
  }
  return out;
}

// "port 40000" or "ports 40000 and 40001" or "ports 40000, 40001 and 40002" (port numbers as written, no grouping).
function portList(ports) {
  const sorted = [...new Set(ports)].sort((a, b) => a - b).map(String);
  const list = sorted.length > 1 ? t('help.listEnd', { list: sorted.slice(0, -1).join(', '), last: sorted[sorted.length - 1] }) : sorted[0] || '';
  return t(sorted.length > 1 ? 'help.ports' : 'help.port', { list });
}

/** The lines for the office IT: what has to be allowed, outgoing from this computer or phone. */
export function networkNeeds({ sdp, iceServers }) {
  const media = mediaAddresses(sdp);
  const lines = [];
  const hosts = [...new Set(media.map((m) => m.address))];
  for (const host of hosts) {
    const udp = media.filter((m) => m.address === host && m.protocol === 'udp').map((m) => m.port);
    const tcp = media.filter((m) => m.address === host && m.protocol === 'tcp').map((m) => m.port);
    if (udp.length) lines.push(t('help.udp', { host, ports: portList(udp) }));
    // Sabha's ICE-TCP listens on the same port numbers as its UDP (docs/protocol.md).
    const tcpPorts = tcp.length ? tcp : udp;
    if (tcpPorts.length) lines.push(t('help.tcp', { host, ports: portList(tcpPorts) }));
  }
  if (!hosts.length) lines.push(t('help.unknownPort', { host: location.hostname }));
  for (const turn of turnAddresses(iceServers)) {
    const how = turn.protocol === 'tls' ? t('help.turnTls') : `${turn.protocol.toUpperCase()} (TURN)`;
    lines.push(t('help.turn', { how, host: turn.host, port: turn.port }));
  }
  return lines;
}

export class ConnectionHelp {
  /** `iceServers()`: the TURN servers the server gave in `joined` (or none). */
  constructor({ iceServers }) {
    this.iceServers = iceServers;
  }

  get shown() { return !$('connection-help').hidden; }

  /** Shows the explanation for the peer connection `pc` (its answer names the server's media ports). */
  show(pc, attempts) {
    const sdp = pc && pc.remoteDescription ? pc.remoteDescription.sdp : '';
    const list = $('connection-help-needs');
    list.replaceChildren(...networkNeeds({ sdp, iceServers: this.iceServers() }).map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }));
    this.update(attempts);
    $('connection-help').hidden = false;
  }

  /** How many times we have tried again, under the explanation. */
  update(attempts) {
    $('connection-help-tries').textContent = attempts > 0
      ? t(attempts === 1 ? 'help.triesOne' : 'help.triesMany', { count: formatNumber(attempts) })
      : t('help.trying');
  }

  hide() {
    $('connection-help').hidden = true;
  }
}

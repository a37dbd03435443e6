"""Cascading with browsers (docs/cluster.md, "Cascading"): headless Chromium publishes its fake camera as simulcast
(the demo page, WHIP) to node A of a two-node cluster, and two headless Chromium WHEP viewers watch it through node B
with `?cascade=1`, so B serves them through one relay from A. A relay carries every simulcast layer as it came; B
chooses each viewer's layer from its own bandwidth estimate: the unlimited viewer decodes the top layer, the viewer
whose link is limited to 300 kbit/s the low one.

Topology (made and removed by the test; k chosen per run)::

    the test's own namespace T                                   namespace V
      PostgreSQL 127.0.0.1 (e2ekit/postgres.py)                    Chromium "shaped" (WHEP, ?cascade=1 on node B)
      node A, node B: sabha serve on 10.79.k.1 (own ports)
      Chromium "publisher" (demo page, WHIP to A, simulcast q/h/f)
      Chromium "free" (WHEP, ?cascade=1 on node B)
      veth <t_if> 10.79.k.1/24  <==========================>  veth <v_if> 10.79.k.2/24
      tc tbf 300kbit burst 10kb latency 100ms on <t_if> egress: everything T sends to V

The relay between A and B and every other media path stay inside T; only B's media to the shaped viewer crosses
the shaped link. Each Chromium runs with its chromedriver in a child process (e2ekit/browser_child.py) printing
getStats() samples (e2ekit/nsbrowser.py); a viewer's page (node B's /healthz, for its origin) runs the WHEP exchange
itself (browser_child.py --script) so that it can ask for `?cascade=1`, and keeps the answer for the test.

Seen while writing it (2 CPUs, debug build): the limited viewer starts on the top layer and reaches the low one
2.5-4.5 s after its answer; in some runs the unlimited viewer on B leaves the top layer for the middle one about a
second after the two join and is back 3-6 s later (not seen when it watched on A instead). So the test waits for
both to be on their layers at the same time before asserting that they stay there.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from urllib.parse import quote

import pytest

from e2ekit.cascade import peer_of, relays, viewers_by_node
from e2ekit.cluster import cluster_nodes, cluster_view, create_room, link_token, log_sources  # noqa: F401 (fixture)
from e2ekit.cluster_netns import sdp_candidates
from e2ekit.netns import _end_process_group, _next_index, _run, create_or_skip, end_namespaces, unavailable_reason
from e2ekit.nsbrowser import NsBrowser, brief, delta, longest_stall, main_inbound
from e2ekit.postgres import database_url, postgres_cluster  # noqa: F401 (fixtures)
from test_simulcast_chromium import Timeline, layer_of, require_three_layers, sleep_watching, wait_publishing

pytestmark = pytest.mark.server

ADMIN_KEY = "cascade-chromium-admin-0123456789abcdef"
PUBLISHER = "speaker"
LIMIT = "300kbit"


# ------------------------------------------------------------------------------------------- the viewer's link


class ViewerLink:
    """A namespace V joined to the test's own namespace T by a veth pair: t_if (t_addr, in T) <-> v_if (v_addr, in V).
    popen(None, cmd) runs cmd in T, popen(v, cmd) in V (what e2ekit/nsbrowser.py NsBrowser asks of a topology)."""

    def __init__(self) -> None:
        n = _next_index()
        pid = os.getpid()
        self.k = 10 + (pid * 13 + n * 5) % 240
        self.v = f"sabha-cv-{pid}x{n}-V"
        short = f"{pid % 100000}x{n}"
        self.t_if, self.v_if = f"cv{short}t", f"cv{short}v"
        self.log: list[str] = []
        self._made: list[str] = []
        self._procs: list[subprocess.Popen] = []

    @property
    def t_addr(self) -> str:
        return f"10.79.{self.k}.1"

    @property
    def v_addr(self) -> str:
        return f"10.79.{self.k}.2"

    def sh(self, *cmd: str, ns: str | None = None, check: bool = True) -> str:
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        out = _run(full, check=check)
        self.log.append(f"$ {' '.join(full)}" + (f"\n{out.stdout.strip()}" if out.stdout.strip() else ""))
        return out.stdout

    def create(self) -> "ViewerLink":
        try:
            self.sh("ip", "netns", "add", self.v)
            self._made.append(self.v)
            self.sh("ip", "link", "set", "lo", "up", ns=self.v)
            self.sh("ip", "link", "add", self.t_if, "type", "veth", "peer", "name", self.v_if)
            self.sh("ip", "link", "set", self.v_if, "netns", self.v)
            for ns, dev, addr in ((None, self.t_if, self.t_addr), (self.v, self.v_if, self.v_addr)):
                # No IPv6 (no link-local address changing under a starting Chromium), only our addresses.
                self.sh("sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=ns, check=False)
                self.sh("ip", "addr", "add", f"{addr}/24", "dev", dev, ns=ns)
                self.sh("ip", "link", "set", dev, "up", ns=ns)
            deadline = time.monotonic() + 10
            while True:   # bounded: both ends up with carrier
                states = [self.sh(*(["ip", "-n", ns] if ns else ["ip"]), "-o", "link", "show", "dev", dev, check=False)
                          for ns, dev in ((None, self.t_if), (self.v, self.v_if))]
                if all("LOWER_UP" in st and "state UP" in st for st in states):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the viewer's veth link did not come up within 10 s: {states}")
                time.sleep(0.1)
        except BaseException:
            self.destroy()
            raise
        return self

    def destroy(self) -> None:
        """Ends our child processes and everything left in V, deletes V (and with it the veth pair). Safe twice."""
        for proc in self._procs:
            _end_process_group(proc)
        end_namespaces(self._made)
        if _run(["ip", "link", "show", "dev", self.t_if], check=False).returncode == 0:
            _run(["ip", "link", "del", self.t_if], check=False)

    def popen(self, ns: str | None, cmd: list[str], **kwargs) -> subprocess.Popen:
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        proc = subprocess.Popen(full, start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def shape(self, rate: str) -> None:
        """tbf on T's end: limits what T sends to V (burst over one packet, see shared/notes/test-network.md)."""
        self.sh("tc", "qdisc", "add", "dev", self.t_if, "root", "tbf", "rate", rate, "burst", "10kb", "latency", "100ms")

    def tc_text(self) -> str:
        return " ".join(self.sh("tc", "-s", "qdisc", "show", "dev", self.t_if, check=False).split())


@pytest.fixture
def viewer_link(request):
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    link = ViewerLink()
    create_or_skip(link)
    log_sources(request).append(("viewer link commands", lambda: "\n".join(link.log)))
    try:
        yield link
    finally:
        link.destroy()


# ------------------------------------------------------------------------------------------- page scripts

# The demo page (publish=1) publishes by itself; this lets browser_child.py's samples read its peer connection.
PUBLISHER_SHIM_JS = """
const done = arguments[arguments.length - 1];
window.sabhaMeeting = {
  get pc() { return (window.sabha && window.sabha.pcs[0]) || null; },
  get events() { return (window.sabha && window.sabha.events) || []; },
  me: () => (window.sabha && window.sabha.publisher && window.sabha.publisher.location ? { id: 'speaker' } : null),
};
done({ sabha: !!window.sabha });
"""

# A WHEP viewer (RFC 9725): one POST of the whole offer (no redirect followed), the answer applied; the video shown in
# a <video> element so that it is decoded. Returns {status, location, answer, body}.
WHEP_VIEWER_JS = """
const done = arguments[arguments.length - 1];
const url = %s, token = %s;
(async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const events = [];
  let answered = false;
  window.sabhaMeeting = { pc, events, me: () => (answered ? { id: 'whep-viewer' } : null) };
  pc.addEventListener('connectionstatechange', () => events.push('connection ' + pc.connectionState));
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.autoplay = true; video.muted = true; video.playsInline = true;
  const stream = new MediaStream();
  video.srcObject = stream;
  document.documentElement.append(video);
  pc.addEventListener('track', (ev) => stream.addTrack(ev.track));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {   // the whole offer, at most 2 s of gathering
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, 2000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
  const resp = await fetch(url, {
    method: 'POST', redirect: 'manual',
    headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp,
  });
  const text = await resp.text();
  const out = { status: resp.status, type: resp.type, location: resp.headers.get('Location'), answer: '', body: '' };
  if (resp.status !== 201) { out.body = text.slice(0, 500); return out; }
  out.answer = text;
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  answered = true;
  return out;
})().then(done, (e) => done({ error: String(e) }));
"""


def whep_viewer_js(url: str, token: str) -> str:
    return WHEP_VIEWER_JS % (json.dumps(url), json.dumps(token))


# ------------------------------------------------------------------------------------------- the test


def wait_view(node, check, timeout: float, what: str) -> dict:
    """Polls GET /api/cluster on `node` until check(view) is true (bounded); returns that view."""
    deadline = time.monotonic() + timeout
    view: dict = {}
    while time.monotonic() < deadline:
        view = cluster_view(node)
        if check(view):
            return view
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; /api/cluster on {node.base_url}: "
                         f"nodes {view.get('nodes')}, relays {view.get('relays')}")


@pytest.mark.timeout(120)
def test_chromium_viewers_on_an_edge_node_get_their_own_layers_of_a_relayed_simulcast(
        request, viewer_link, cluster_nodes, database_url, tmp_path, capsys):
    link = viewer_link
    tl = Timeline(request)
    a, b = cluster_nodes(database_url, 2, "--admin-key", ADMIN_KEY, host=link.t_addr)
    room = "cascade-chromium"
    create_room(a, room)
    pub_token = link_token(a, room, PUBLISHER)
    free_token = link_token(a, room, "free", "viewer")
    shaped_token = link_token(a, room, "shaped", "viewer")
    whep = f"{b.base_url}/whep/{room}/{PUBLISHER}?cascade=1"
    link.shape(LIMIT)
    tl.note(f"nodes A {a.base_url} (media {a.udp_port}), B {b.base_url} (media {b.udp_port}); tbf {LIMIT} on "
            f"{link.t_if} (T -> V)")

    browsers: list[NsBrowser] = []

    def browser(ns: str | None, name: str, url: str, script: str, insecure_origin: str | None = None) -> NsBrowser:
        nb = NsBrowser(link, ns, name, url, tmp_path, insecure_origin=insecure_origin, lifetime=110, script=script)
        browsers.append(nb)
        log_sources(request).append((f"browser {name} (in {'V' if ns else 'T'})", nb.log_text))
        return nb

    try:
        pub = browser(None, "publisher", f"{a.base_url}/demo.html?room={room}&t={quote(pub_token)}&publish=1",
                      PUBLISHER_SHIM_JS, insecure_origin=a.base_url)
        wait_publishing(pub, 30)
        widths = require_three_layers(pub, 15, tl)
        tl.note(f"publisher sends simulcast to node A: widths {widths}")

        free = browser(None, "free", f"{b.base_url}/healthz", whep_viewer_js(whep, free_token))
        shaped = browser(link.v, "shaped", f"{b.base_url}/healthz", whep_viewer_js(whep, shaped_token))
        answers, answered = {}, []
        for v in (free, shaped):
            line = v.script_sample(20)
            got = line["script"]
            answered.append(line["t"])
            assert got.get("status") == 201, f"{v.name}'s WHEP POST {whep}: {got}"
            answers[v.name] = got
            cands = sdp_candidates(got["answer"])
            assert cands and {(addr, port) for addr, port, _ in cands} == {(b.host, b.udp_port)}, \
                f"{v.name}: the answer's candidates are {cands}, expected only node B's media address " \
                f"{b.host}:{b.udp_port} (node A's is {a.udp_port})"
        joined_at = max(answered)
        tl.note(f"both viewers answered by node B (Location {answers['free'].get('location')}, "
                f"{answers['shaped'].get('location')})")

        # Node B picks per viewer from the relayed layers: the top one for the unlimited viewer...
        top = free.wait(lambda s: layer_of(s, pub) == "top" and main_inbound(s).get("framesDecoded", 0) > 0 and s, 20,
                        "the unlimited viewer to decode the top layer")
        tl.note(f"free viewer on the top layer {top['t'] - joined_at:.1f}s after the answers: {brief(top)}", top["t"])
        # ...the low one for the viewer limited to 300 kbit/s.
        low = shaped.wait(lambda s: layer_of(s, pub) == "low" and main_inbound(s).get("framesDecoded", 0) > 0 and s,
                          20, f"the viewer limited to {LIMIT} to decode the low layer")
        tl.note(f"shaped viewer on the low layer {low['t'] - joined_at:.1f}s after the answers: {brief(low)}", low["t"])

        # Each on its own layer at the same time (the unlimited one may have left the top layer meanwhile and be on
        # its way back: see the report below), then both keep decoding that layer for 5 s.
        deadline = time.monotonic() + 20
        while not (layer_of(free.latest(), pub) == "top" and layer_of(shaped.latest(), pub) == "low"):
            assert time.monotonic() < deadline, \
                f"20 s without the unlimited viewer on the top layer while the limited one is on the low layer at the " \
                f"same time: free {brief(free.latest())}; shaped {brief(shaped.latest())}"
            sleep_watching(0.25, pub, free, shaped)
        hold_from = time.time()
        for v, since in ((free, answered[0]), (shaped, answered[1])):
            path = []   # the frame widths it decoded until now, each with when it first showed
            for s in v.since(since):
                w = main_inbound(s).get("frameWidth")
                if w and (not path or path[-1][1] != w):
                    path.append((round(s["t"] - since, 1), w))
            tl.note(f"{v.name} viewer's widths until the hold (s after its answer, width): {path}")
        sleep_watching(5, pub, free, shaped)
        for v, want in ((free, "top"), (shaped, "low")):
            hold = v.since(hold_from)
            layers = sorted({str(layer_of(s, pub)) for s in hold})
            frames = delta(hold, "framesDecoded")
            tl.note(f"{v.name} over 5 s: layers {layers}, +{frames} frames, longest stall {longest_stall(hold):.2f}s")
            # Generous on a shared 2-core machine (a debug build; a stall of up to 3.4 s was seen once): the point is
            # that each keeps decoding its own layer, not a frame rate.
            assert frames >= 10, f"{v.name} decoded only {frames} frames in 5 s: {brief(v.latest())}"
            off = [(round(s["t"] - tl.t0, 1), layer_of(s, pub), main_inbound(s).get("frameWidth")) for s in hold
                   if layer_of(s, pub) != want]
            assert hold and len(off) <= len(hold) // 5, \
                f"{v.name} was off {want} in {len(off)} of {len(hold)} samples of the 5 s hold ({layers}); off it " \
                f"(time, layer, width): {off[:10]}; now {brief(v.latest())}"
        tl.note(f"tc: {link.tc_text()}")

        # The cluster's view: one relay out of A, to B; B has it in, with both viewers; the heartbeats count them on B.
        view_a = wait_view(a, lambda v: [peer_of(r, "out") for r in relays(v, "out", room, PUBLISHER)] == [b.base_url]
                           and viewers_by_node(v) == {a.base_url: 0, b.base_url: 2}, 10,
                           "node A to show one relay out to node B, and 0 viewers on A and 2 on B")
        assert relays(view_a, "in") == [], f"node A (holding the room) has relays in: {view_a['relays']}"
        view_b = wait_view(b, lambda v: [(peer_of(r, "in"), r.get("viewers")) for r in relays(v, "in", room, PUBLISHER)]
                           == [(a.base_url, 2)], 10, "node B to show one relay in from node A with 2 viewers")
        assert relays(view_b, "out") == [], f"node B has relays out: {view_b['relays']}"
        assert f"viewer served through a relay from {a.base_url}" in b.log_text(), \
            f"node B's log does not say 'viewer served through a relay from {a.base_url}'"
        assert "relay opened" in a.log_text(), "node A's log does not say 'relay opened'"
        tl.note(f"A relays out {relays(view_a, 'out')}; B relays in {relays(view_b, 'in')}")
    finally:
        for nb in browsers:
            nb.stop()
            # Every getStats() sample, for a look after a failure.
            (tmp_path / f"samples-{nb.name}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in nb.snapshot()))

    with capsys.disabled():
        print("\n[cascade, chromium] " + "\n[cascade, chromium] ".join(tl.lines))
    for n in (a, b):
        assert n.alive(), f"node {n.base_url} died"

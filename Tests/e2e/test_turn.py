"""TURN over TLS for networks that let nothing through but TCP to port 443 (issue 15): Sabha hands each participant and
each WHIP/WHEP session short-lived TURN REST credentials for coturn, and headless Chromium whose media can reach
Sabha only through coturn's TLS port joins a meeting through the relay and decodes.

The "network" is nftables in the test's (loopback-only) namespace, e2ekit/turn.py MediaFirewall: UDP to Sabha's
media port only from coturn's relay ports, no TCP to it, no plain TURN (UDP/TCP) to coturn; coturn's TLS port 443 is
open. Chromium verifies coturn's certificate, so the test makes a CA and a HOME whose NSS database trusts it.
Also here: the same through the WHIP/WHEP demo page (relays asked for with OPTIONS) and with aiortc clients that
retry through the relay named in the 201's Link headers, the negative case without --turn-url, and the options.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from aiortc import RTCConfiguration, RTCIceServer

from e2ekit.browser import SELECTED_PAIR_JS, chromium, console_log, page_stats
from e2ekit.meeting import MeetingSocket
from e2ekit.peers import Publisher, Viewer, delete_session, wait_connected
from e2ekit.server import free_tcp_port
from e2ekit.turn import CertificateAuthority, Coturn, MediaFirewall, unavailable_reason
from e2ekit.wait import wait_for
from test_meeting_chromium import join, meeting_state, wait_receiving

pytestmark = [pytest.mark.server, pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")]

SECRET = "e2e-relay-secret-4f1c"
TLS_PORT = 443           # the test's own namespace: the port a locked-down network leaves open
RELAY_PORTS = (31000, 31049)
SENDONLY = (Path(__file__).resolve().parents[1] / "Fixtures" / "sdp" / "chromium156-sendonly-offer.sdp").read_bytes()

def expected_password(username: str) -> str:
    """The TURN REST password (draft-uberti-behave-turn-rest-00) computed here, independently of Sabha."""
    return base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture
def relay(tmp_path, request):
    """coturn on 127.0.0.1 (TLS on 443, plain TURN on a free port) with a certificate from a test CA; .ca.home is a
    HOME whose NSS database trusts that CA."""
    low, _ = RELAY_PORTS
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    # The firewall tells relayed datagrams by their source port: no browser socket may get one of those ports.
    assert RELAY_PORTS[1] < ephemeral_low, f"relay ports {RELAY_PORTS} overlap the ephemeral range from {ephemeral_low}"
    ca = CertificateAuthority(tmp_path / "pki").make()
    coturn = Coturn(tmp_path / "coturn", secret=SECRET, ca=ca, tls_port=TLS_PORT, plain_port=free_tcp_port(), relay_ports=RELAY_PORTS)
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    request.node._log_sources.append(("coturn log", coturn.log_text))
    coturn.start()
    yield coturn
    coturn.stop()


@pytest.fixture
def firewall(request):
    """firewall(server, relay) -> MediaFirewall installed for this server's media port; removed after the test, also
    when it fails."""
    installed: list[MediaFirewall] = []

    def install(server, relay: Coturn) -> MediaFirewall:
        fw = MediaFirewall(media_port=server.udp_port, relay_ports=RELAY_PORTS, plain_turn_port=relay.plain_port, tls_port=TLS_PORT)
        installed.append(fw)
        request.node._log_sources.append(("nft rules and counters", fw.rules))
        return fw.install()

    yield install
    for fw in installed:
        fw.remove()


@pytest.fixture
def trusting_browsers(tmp_path, request, relay):
    """Like `browsers`, but each Chromium runs with HOME = the test CA's home, so it trusts coturn's certificate."""
    drivers = []

    def make(name: str):
        d = chromium(str(tmp_path / f"chromedriver-{name}.log"), env={**os.environ, "HOME": str(relay.ca.home)})
        drivers.append(d)
        request.node._log_sources.append((f"browser console ({name})", lambda: console_log(d)))
        return d

    yield make
    for d in drivers:
        d.quit()


def check_ice_servers(joined: dict, participant: str, ttl: float, urls: list[str]) -> None:
    """joined.iceServers is one RTCIceServer for the relay, with credentials for this participant that coturn accepts."""
    servers = joined.get("iceServers")
    assert isinstance(servers, list) and len(servers) == 1, joined
    server = servers[0]
    assert server["urls"] == urls, server
    expiry, _, who = server["username"].partition(":")
    assert who == participant, server                      # the participant id: no person's name at the relay
    assert abs(int(expiry) - (time.time() + ttl)) < 60, server
    assert server["credential"] == expected_password(server["username"]), server


@pytest.mark.timeout(180)
def test_chromium_allowed_only_tls_to_the_relay_joins_through_turn_and_decodes(start_server, relay, firewall, trusting_browsers,
                                                                               tmp_path):
    urls = [f"turns:127.0.0.1:{TLS_PORT}?transport=tcp", f"turn:127.0.0.1:{relay.plain_port}"]
    secret_file = tmp_path / "turn.secret"
    secret_file.write_text(SECRET + "\n")
    server = start_server("--turn-url", urls[0], "--turn-url", urls[1], "--turn-secret-file", str(secret_file), "--turn-ttl", "30m")
    log = server.log_text()
    assert "TURN relay offered to clients" in log and urls[0] in log, log[-2000:]
    assert SECRET not in log
    fw = firewall(server, relay)

    # The meeting protocol: joined carries the relay and this participant's credentials.
    ws = MeetingSocket(server.base_url)
    try:
        joined = ws.join(server.token("turn-room", "probe", "viewer"))
        check_ice_servers(joined, joined["you"]["id"], 1800, urls)
        ws.send({"type": "leave"})
    finally:
        ws.close()

    # WHIP: one Link header per URL (RFC 9725 section 4.4), credentials for the session.
    resp = requests.post(f"{server.base_url}/whip/turn-whip", data=SENDONLY, timeout=10, headers={
        "Content-Type": "application/sdp", "Authorization": f"Bearer {server.token('turn-whip', 'encoder', 'publisher')}"})
    assert resp.status_code == 201, resp.text
    links = resp.raw.headers.getlist("Link")
    session = resp.headers["Location"].rsplit("/", 1)[1]
    assert [link.split(">")[0] + ">" for link in links] == [f"<{u}>" for u in urls], links
    for link in links:
        params = dict(p.strip().split("=", 1) for p in link.split(";")[1:])
        assert params["rel"] == '"ice-server"' and params["credential-type"] == '"password"', link
        username = params["username"].strip('"')
        assert username.endswith(":" + session), link
        assert params["credential"].strip('"') == expected_password(username), link
    assert "Link" in resp.headers["Access-Control-Expose-Headers"]
    requests.delete(server.base_url + resp.headers["Location"], timeout=10,
                    headers={"Authorization": f"Bearer {server.token('turn-whip', 'encoder', 'publisher')}"})

    # Two Chromiums behind the firewall meet: each decodes the other, through the relay.
    asha_driver, asha = join(trusting_browsers, server, "turn-room", "asha", "Asha")
    ravi_driver, ravi = join(trusting_browsers, server, "turn-room", "ravi", "Ravi")
    wait_receiving(asha_driver, "Asha", {"Ravi": ravi}, 60)
    wait_receiving(ravi_driver, "Ravi", {"Asha": asha}, 60)

    for name, driver in (("Asha", asha_driver), ("Ravi", ravi_driver)):
        selected = wait_for(lambda d=driver: (s := d.execute_async_script(SELECTED_PAIR_JS)) and s.get("local") and s, 10,
                            f"{name}'s selected candidate pair")
        assert selected["state"] == "connected", selected
        assert selected["local"]["type"] == "relay", selected
        assert selected["local"]["relayProtocol"] == "tls", selected
        assert selected["local"]["url"].startswith(f"turns:127.0.0.1:{TLS_PORT}"), selected
        assert (selected["remote"]["address"], selected["remote"]["port"]) == ("127.0.0.1", server.udp_port), selected

    counters = fw.counters()
    assert counters["media-via-relay"] > 100, counters     # media reached Sabha, from coturn's relay ports only
    assert counters["turn-tls"] > 100, counters
    assert counters["plain-turn"] > 0, counters            # Chromium tried plain TURN too, and the network refused it
    # coturn checked the credentials Sabha made for each participant (its log names the username of each allocation).
    coturn_log = relay.log_text()
    for pid in (asha, ravi):
        assert f":{pid}>" in coturn_log, f"no allocation for {pid} in the coturn log"
    assert meeting_state(asha_driver)["state"] == "connected"


@pytest.mark.timeout(120)
def test_without_turn_the_same_network_lets_no_media_through(start_server, relay, firewall, trusting_browsers):
    server = start_server()
    assert "TURN relay offered" not in server.log_text()
    fw = firewall(server, relay)

    ws = MeetingSocket(server.base_url)
    try:
        joined = ws.join(server.token("no-turn", "probe", "viewer"))
        assert joined.get("iceServers") == [], joined
        ws.send({"type": "leave"})
    finally:
        ws.close()

    asha_driver, _ = join(trusting_browsers, server, "no-turn", "asha", "Asha")
    wait_for(lambda: fw.counters()["media-udp-direct"] > 0, 15, "Chromium's connectivity checks to reach the firewall")
    # Long enough for a loopback connection to have come up many times over (through the relay it takes about a second).
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        state = meeting_state(asha_driver)
        assert state["state"] != "connected", state
        time.sleep(0.5)
    assert fw.counters()["media-via-relay"] == 0


# The demo page's peer connections (window.sabha.pcs): each one's selected pair's local candidate.
DEMO_SELECTED_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const out = [];
  for (const pc of (window.sabha && window.sabha.pcs) || []) {
    const report = await pc.getStats();
    let transport = null;
    report.forEach((r) => { if (r.type === 'transport') transport = r; });
    const pair = transport && transport.selectedCandidatePairId && report.get(transport.selectedCandidatePairId);
    const local = pair && report.get(pair.localCandidateId);
    out.push({ state: pc.connectionState, type: local ? local.candidateType : null, relayProtocol: local ? local.relayProtocol : null });
  }
  return out;
})().then(done, (e) => done([{ error: String(e) }]));
"""


@pytest.mark.timeout(150)
def test_the_whip_whep_demo_page_behind_the_firewall_publishes_and_watches_through_the_relay(start_server, relay, firewall,
                                                                                          trusting_browsers):
    """The demo page asks each endpoint (OPTIONS with its token) for the relays before it builds a peer connection."""
    url = f"turns:127.0.0.1:{TLS_PORT}?transport=tcp"
    server = start_server("--turn-url", url, env={"SABHA_TURN_SECRET": SECRET})
    fw = firewall(server, relay)
    room = "turn-demo"
    pub, view = server.token(room, "alice", "publisher"), server.token(room, "bob", "viewer")

    # OPTIONS: with a valid token the relays and fresh credentials; without (a CORS preflight), none.
    options = requests.options(f"{server.base_url}/whip/{room}", headers={"Authorization": f"Bearer {pub}"}, timeout=10)
    assert options.status_code == 204
    links = options.raw.headers.getlist("Link")
    assert len(links) == 1 and links[0].startswith(f"<{url}>; rel=\"ice-server\"; username=\""), links
    username = links[0].split('username="')[1].split('"')[0]
    assert username.split(":")[1].startswith("o-") and f'credential="{expected_password(username)}"' in links[0], links
    assert requests.options(f"{server.base_url}/whip/{room}", timeout=10).raw.headers.getlist("Link") == []
    wrong_room = server.token("elsewhere", "alice", "publisher")
    assert requests.options(f"{server.base_url}/whip/{room}", headers={"Authorization": f"Bearer {wrong_room}"},
                            timeout=10).raw.headers.getlist("Link") == []

    publisher = trusting_browsers("demo-publisher")
    publisher.get(f"{server.base_url}/demo.html?room={room}&t={quote(pub)}&publish=1")
    wait_for(lambda: "connected" in publisher.find_element("id", "publish-status").text, 30, "the publisher page to say it is connected")
    viewer = trusting_browsers("demo-viewer")
    viewer.get(f"{server.base_url}/demo.html?room={room}&t={quote(view)}&watch=alice")
    wait_for(lambda: (st := page_stats(viewer)) and st.get("frames", 0) >= 30 and st, 40, "the viewer's framesDecoded to reach 30")
    for name, driver in (("publisher", publisher), ("viewer", viewer)):
        pcs = driver.execute_async_script(DEMO_SELECTED_JS)
        assert pcs and all(p.get("type") == "relay" and p.get("relayProtocol") == "tls" for p in pcs), (name, pcs)
    assert fw.counters()["media-via-relay"] > 100


def ice_servers_from_links(links: list[str]) -> list[RTCIceServer]:
    """RFC 9725 section 4.4 `Link: <url>; rel="ice-server"; username=...; credential=...` values as aiortc servers."""
    servers = []
    for link in links:
        url, _, rest = link.partition(">")
        params = {k.strip(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in rest.split(";")[1:])}
        if params.get("rel") == "ice-server":
            servers.append(RTCIceServer(urls=url.lstrip("<"), username=params["username"], credential=params["credential"]))
    return servers


def selected_local_candidate_type(pc) -> str:
    """aiortc/aioice: the type of the nominated pair's local candidate ('host', 'relay', ...)."""
    conn = pc.getTransceivers()[0].sender.transport.transport._connection
    pair = conn._nominated.get(1)
    assert pair is not None, "no nominated ICE pair"
    return pair.local_candidate.type


@pytest.mark.timeout(120)
def test_whip_and_whep_clients_retry_through_the_relay_named_in_the_link_headers(start_server, relay, firewall, monkeypatch):
    """The second attempt docs/http-api.md describes: aiortc's direct WHIP attempt fails behind the firewall, and a new
    peer connection configured from the 201's Link headers publishes through the relay; a WHEP viewer does the same
    and decodes. aiortc (aioice) verifies the relay's certificate with Python's default context: SSL_CERT_FILE
    names the test CA."""
    server = start_server("--turn-url", f"turns:127.0.0.1:{TLS_PORT}?transport=tcp", env={"SABHA_TURN_SECRET": SECRET})
    fw = firewall(server, relay)
    monkeypatch.setenv("SSL_CERT_FILE", str(relay.ca.directory / "ca.pem"))
    room = "turn-aiortc"
    pub_token, view_token = server.token(room, "alice", "publisher"), server.token(room, "bob", "viewer")

    async def call():
        direct = Publisher()
        try:
            first = await direct.publish(f"{server.base_url}/whip/{room}", pub_token)
            with pytest.raises(AssertionError):
                await wait_connected(direct.pc, timeout=6)
        finally:
            await direct.close()
        assert await asyncio.to_thread(delete_session, first.location, pub_token) == 200
        servers = ice_servers_from_links(first.links)
        assert [s.urls for s in servers] == [f"turns:127.0.0.1:{TLS_PORT}?transport=tcp"], first.links

        publisher = Publisher(RTCConfiguration(iceServers=servers))
        viewer = None
        try:
            await publisher.publish(f"{server.base_url}/whip/{room}", pub_token)
            await wait_connected(publisher.pc, timeout=20)
            assert selected_local_candidate_type(publisher.pc) == "relay"

            # The viewer takes its relay from its own first 201, then watches through it.
            probe = Viewer()
            try:
                seen = await probe.watch(f"{server.base_url}/whep/{room}/alice", view_token)
            finally:
                await probe.close()
            assert await asyncio.to_thread(delete_session, seen.location, view_token) == 200
            viewer = Viewer(RTCConfiguration(iceServers=ice_servers_from_links(seen.links)))
            await viewer.watch(f"{server.base_url}/whep/{room}/alice", view_token)
            await wait_connected(viewer.pc, timeout=20)
            assert selected_local_candidate_type(viewer.pc) == "relay"
            await viewer.wait_video_frames(30, timeout=30)
        finally:
            if viewer:
                await viewer.close()
            await publisher.close()

    asyncio.run(asyncio.wait_for(call(), 100))
    counters = fw.counters()
    assert counters["media-udp-direct"] > 0, counters      # the direct attempt was tried, and refused
    assert counters["media-via-relay"] > 100, counters


@pytest.mark.timeout(60)
def test_turn_options_are_checked_before_anything_starts(sabha_bin, tmp_path):
    def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(sabha_bin), "serve", "--http", "127.0.0.1:0", "--rtc", "127.0.0.1:0", "--data-dir",
                               str(tmp_path / "data"), *args], capture_output=True, text=True, timeout=20,
                              env={"PATH": "/usr/bin:/bin", **(env or {})})

    cases = [
        (["--turn-url", "turns:turn.example.gov.in:443?transport=tcp"], None, "needs coturn's static-auth-secret"),
        (["--turn-secret", "x"], None, "no --turn-url"),
        ([], {"SABHA_TURN_SECRET": "x"}, "no --turn-url"),
        (["--turn-url", "stun:turn.example.gov.in:3478", "--turn-secret", "x"], None, "must start with turn: or turns:"),
        (["--turn-url", "turns:h:443?transport=udp"], {"SABHA_TURN_SECRET": "x"}, "needs ?transport=tcp"),
        (["--turn-url", "turn:h:3478", "--turn-secret-file", str(tmp_path / "missing")], None, "cannot read"),
        (["--turn-url", "turn:h:3478", "--turn-ttl", "10s"], {"SABHA_TURN_SECRET": "x"}, "at least 60s"),
    ]
    for args, env, message in cases:
        out = serve(*args, env=env)
        assert out.returncode != 0, (args, out.stdout)
        assert message in out.stderr, (args, out.stderr)
        assert "Sabha is running" not in out.stdout

"""The meeting page on a network that blocks media (issue 15 item 3): it says so in plain words with what the office
IT has to allow, keeps trying, and after an outage restarts ICE without losing the meeting.

Blocking is nftables (e2ekit/netblock.py): UDP and TCP to the media port number are dropped where the browser
runs, while the page and its WebSocket (the HTTP port) keep working, as behind an office firewall.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
import requests

from e2ekit.netblock import MediaBlock
from e2ekit.nsbrowser import NsBrowser, brief, main_inbound
from e2ekit.server import SabhaServer
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

HELP_JS = """
const m = window.sabhaMeeting;
const help = document.getElementById('connection-help');
return { joined: !!(m && m.me()), state: m && m.pc ? m.pc.connectionState : null, restarts: m ? m.iceRestarts : 0,
         shown: !!help && !help.hidden && help.offsetParent !== null, text: help ? help.innerText : '',
         status: document.getElementById('meeting-status').textContent };
"""


@pytest.mark.timeout(120)
def test_a_browser_whose_network_blocks_media_is_told_what_to_allow_within_15_seconds(server, browsers, screenshot):
    port = server.udp_port
    assert port != server.http_port, "the test needs the page's port to stay open"
    with MediaBlock(port) as block:
        page = browsers("asha")
        token = server.token("e2e-blocked", "asha", "participant", name="Asha")
        page.get(f"{server.base_url}/m/e2e-blocked?t={quote(token)}&autojoin=1&quality=low")
        wait_for(lambda: page.execute_script(HELP_JS)["joined"], 20, "the page to join over its WebSocket")
        joined_at = time.monotonic()
        shown = wait_for(lambda: (h := page.execute_script(HELP_JS))["shown"] and h, 15,
                         "the explanation that media is blocked")
        took = time.monotonic() - joined_at
        assert shown["state"] != "connected", shown
        text = shown["text"]
        # Plain words for the person, and the exact openings for their IT: UDP, and TCP on the same port number.
        assert "not getting through" in text and "keeps trying" in text, text
        assert re.search(rf"UDP to 127\.0\.0\.1, port {port}\b", text), text
        assert re.search(rf"TCP to 127\.0\.0\.1, port {port}\b", text), text
        assert "still trying" in shown["status"].lower(), shown["status"]
        assert block.dropped() > 0, block.log
        print(f"explanation after {took:.1f}s:\n{text}")
        screenshot(page, "meeting-connection-help")

        # It keeps trying: ICE restarts go on while blocked.
        wait_for(lambda: page.execute_script(HELP_JS)["restarts"] >= 1, 20, "an ICE restart while blocked")

    # The firewall opens: media connects by itself, and the explanation goes.
    wait_for(lambda: (h := page.execute_script(HELP_JS))["state"] == "connected" and not h["shown"] and h, 40,
             "media to connect once the network lets it through")


@pytest.mark.timeout(60)
def test_a_viewer_alone_in_the_room_is_not_told_that_media_is_blocked(server, browsers):
    """Nothing to receive and nothing to send: no m-line, no media connection to wait for, nothing to explain."""
    page = browsers("guest")
    token = server.token("e2e-alone", "guest", "viewer", name="Guest")
    page.get(f"{server.base_url}/m/e2e-alone?t={quote(token)}&autojoin=1")
    wait_for(lambda: page.execute_script(HELP_JS)["joined"], 20, "the viewer to join")
    time.sleep(13)
    h = page.execute_script(HELP_JS)
    assert not h["shown"] and h["restarts"] == 0, h


# ------------------------------------------------------------------------------------------ ICE restart, two namespaces


@pytest.fixture
def meeting_in_two_namespaces(request, topo, sabha_bin, tmp_path):
    """Factory: (consent_timeout) -> (server in S, ravi in V behind the firewall to come, asha in S), both on the
    meeting page and decoding each other's video. Everything is stopped and every nft rule removed afterwards."""
    started: list = []
    blocks: list[MediaBlock] = []

    def start(consent_timeout: int):
        def status(url: str) -> int:
            return topo.call_in(topo.s, lambda: requests.get(url, timeout=1).status_code, timeout=5)

        srv = SabhaServer(binary=sabha_bin, data_dir=tmp_path / "data", log_path=tmp_path / "sabha.log", host=topo.s_addr,
                          prefix=["ip", "netns", "exec", topo.s], http_status=status,
                          extra_args=["--consent-timeout", str(consent_timeout)])
        request.node._log_sources.append(("sabha serve log (in S)", srv.log_text))
        started.append(srv)
        srv.start()
        room = "e2e-hard-network"
        origin = f"http://{topo.s_addr}:{srv.http_port}"

        def browser(ns: str, name: str) -> NsBrowser:
            token = srv.token(room, name, "participant")
            url = f"{srv.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low&name={quote(name)}"
            b = NsBrowser(topo, ns, name, url, tmp_path, insecure_origin=origin, lifetime=280)
            started.append(b)
            request.node._log_sources.append((f"browser {name}", b.log_text))
            return b

        ravi = browser(topo.v, "ravi")
        asha = browser(topo.s, "asha")
        ravi.wait(lambda s: s.get("joined") and frames(s) >= 30 and s, 60, "Ravi to join and decode Asha")
        asha.wait(lambda s: s.get("joined") and frames(s) >= 30 and s, 60, "Asha to decode Ravi")

        def block() -> MediaBlock:
            b = MediaBlock(srv.udp_port, ns=topo.v).start()
            blocks.append(b)
            request.node._log_sources.append(("nft", lambda: "\n".join(b.log)))
            return b

        return srv, ravi, asha, block

    try:
        yield start
    finally:
        for b in blocks:
            b.stop()
        for thing in reversed(started):
            thing.stop()


def frames(sample: dict, ssrc=None) -> int:
    """Video frames decoded over all inbound streams (from the stream `ssrc` only, when given)."""
    return sum(r.get("framesDecoded", 0) for r in sample.get("inbound") or [] if ssrc is None or r.get("ssrc") == ssrc)


def decoding_again(b: NsBrowser, timeout: float, what: str, ssrc=None) -> dict:
    """Waits until b is connected and has decoded 30 more frames than now (from the stream `ssrc`, when given)."""
    start = frames(b.latest(), ssrc)
    return b.wait(lambda s: s.get("state") == "connected" and frames(s, ssrc) >= start + 30 and s, timeout, what)


@pytest.mark.timeout(240)
def test_after_an_outage_the_page_restarts_ice_on_the_same_transport_and_keeps_its_place(meeting_in_two_namespaces):
    """Ravi's connection drops; his page restarts ICE while still blocked (each restart also renews the server's
    consent period, so the transport waits); once the network is back, the same transport carries on: DTLS, his
    tracks, and Asha's consumer of his video (the same SSRC at Asha's end)."""
    server, ravi, asha, block = meeting_in_two_namespaces(30)
    ravi_id = ravi.latest()["me"]["id"]
    asha_ssrc = main_inbound(asha.latest()).get("ssrc")

    outage = block()
    t0 = time.monotonic()
    ravi.wait(lambda s: s.get("state") != "connected" and s, 20, "Ravi's connection to notice the outage")
    noticed = time.monotonic() - t0
    ravi.wait(lambda s: s.get("iceRestarts", 0) >= 1 and s, 20, "an ICE restart during the outage")
    restarted = time.monotonic() - t0
    time.sleep(4)   # the restart's own checks are dropped too
    outage.stop()
    back = decoding_again(ravi, 40, "Ravi to decode Asha again after the ICE restart")
    decoding_again(asha, 40, "Asha to decode Ravi again, from the same consumer", ssrc=asha_ssrc)
    assert back["me"]["id"] == ravi_id, back["me"]
    log = server.log_text()
    assert "ICE restarted" in log, log[-3000:]
    assert "stays in the meeting" not in log, "the transport was replaced, not restarted"
    assert "participant left" not in log, log[-3000:]
    print(f"outage noticed after {noticed:.1f}s, ICE restarted after {restarted:.1f}s, "
          f"decoding again {time.monotonic() - t0:.1f}s after the outage began ({back['iceRestarts']} restart(s))")


@pytest.mark.timeout(240)
def test_when_the_server_closes_the_transport_the_page_starts_a_new_one_and_keeps_its_place(meeting_in_two_namespaces):
    """With a consent timeout (5 s) shorter than the page's first restart (≈ 9 s), the server closes Ravi's transport
    during the outage: Ravi stays in the meeting (same id, no participant-left), his page makes a new peer
    connection, explains while blocked, and once the network is back Asha receives him again (new tracks)."""
    server, ravi, asha, block = meeting_in_two_namespaces(5)
    ravi_id = ravi.latest()["me"]["id"]

    outage = block()
    t0 = time.monotonic()
    wait_for(lambda: "stays in the meeting" in server.log_text(), 30,
             "the server to close Ravi's transport and keep him in the meeting")
    ravi.wait(lambda s: s.get("helpShown") and s, 25, "Ravi's page to explain while media is blocked")
    outage.stop()
    again = decoding_again(ravi, 60, "Ravi to decode Asha again on a new transport")
    decoding_again(asha, 60, "Asha to decode Ravi again")
    assert again["me"]["id"] == ravi_id, again["me"]
    assert not again.get("helpShown"), brief(again)
    log = server.log_text()
    assert "participant left" not in log, log[-3000:]
    assert log.count("transport connected") >= 3, log[-3000:]   # Asha's, Ravi's first and Ravi's new one
    print(f"connected again {time.monotonic() - t0:.1f}s after the outage began")

"""The test environment itself, without the server: if these pass and a server test fails, the server is at fault.

- the namespace has only loopback,
- aiortc talks to aiortc over loopback (the same peers the server tests use),
- the hand-made STUN packets are what an independent STUN implementation (aioice) accepts or rejects,
- a raw socket can forge a UDP source address and port that a socket then sees,
- headless Chromium in the namespace gets the fake camera, runs WebRTC over loopback, and runs the demo page.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aioice import stun
from aiortc import RTCPeerConnection

from e2ekit import packets
from e2ekit.browser import chromium, console_log, page_stats, wait_for
from e2ekit.metrics import Metrics
from e2ekit.peers import MovingPatternTrack, SineTrack, rtc_configuration, wait_connected

pytestmark = pytest.mark.harness


def test_namespace_has_only_loopback_and_it_is_up():
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = fcntl.ioctl(s, 0x8913, struct.pack("256s", b"lo"))  # SIOCGIFFLAGS
    assert struct.unpack_from("H", ifreq, 16)[0] & 0x1, "lo is down"


def test_aiortc_peers_exchange_audio_and_video_over_loopback():
    async def call():
        sender = RTCPeerConnection(rtc_configuration())
        receiver = RTCPeerConnection(rtc_configuration())
        counts = {"video": 0, "audio": 0}
        tasks = []

        async def consume(track):
            while True:
                await track.recv()
                counts[track.kind] += 1

        @receiver.on("track")
        def on_track(track):
            tasks.append(asyncio.ensure_future(consume(track)))

        sender.addTransceiver(SineTrack(), direction="sendonly")
        sender.addTransceiver(MovingPatternTrack(), direction="sendonly")
        try:
            await sender.setLocalDescription(await sender.createOffer())
            offer = sender.localDescription
            candidates = [l for l in offer.sdp.splitlines() if l.startswith("a=candidate")]
            assert candidates and all(" 127.0.0.1 " in c for c in candidates), candidates
            await receiver.setRemoteDescription(offer)
            await receiver.setLocalDescription(await receiver.createAnswer())
            await sender.setRemoteDescription(receiver.localDescription)
            await wait_connected(sender)
            deadline = time.monotonic() + 30
            while counts["video"] < 100 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert counts["video"] >= 100, counts
            assert counts["audio"] > 0, counts
        finally:
            for t in tasks:
                t.cancel()
            await sender.close()
            await receiver.close()

    asyncio.run(asyncio.wait_for(call(), 60))


def test_stun_builder_matches_an_independent_stun_parser():
    key = b"server-password-0123456789"
    good = packets.stun_binding_request("srvufrag:cliufrag", key)
    msg = stun.parse_message(good)  # checks length and FINGERPRINT, raises ValueError otherwise
    assert msg.attributes["USERNAME"] == "srvufrag:cliufrag"
    assert msg.check_message_integrity(key)
    bad = stun.parse_message(packets.stun_binding_request("srvufrag:cliufrag", None))
    assert bad.attributes["USERNAME"] == "srvufrag:cliufrag"  # well-formed, correct FINGERPRINT ...
    assert not bad.check_message_integrity(key)  # ... but the integrity is wrong
    with pytest.raises(ValueError):
        stun.parse_message(packets.truncated_stun())


def test_raw_socket_forges_the_source_of_a_udp_datagram():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as target, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as victim:
        target.bind(("127.0.0.1", 0))
        victim.bind(("127.0.0.1", 0))  # the 5-tuple we impersonate; it never sends anything itself
        target.settimeout(2)
        payload = packets.srtp_with_bad_tag(ssrc=0x1234ABCD, seq=4242, timestamp=90000)
        packets.spoofed_udp(victim.getsockname(), target.getsockname(), payload)
        data, source = target.recvfrom(2048)
        assert data == payload
        assert source == victim.getsockname()


def test_metrics_parser_reads_labels_and_missing_samples():
    text = """# HELP sabha_transports Open transports.
# TYPE sabha_transports gauge
sabha_transports 3
sabha_dropped_packets_total{reason="malformed"} 7
sabha_dropped_packets_total{reason="srtpAuthFailed"} 2
sabha_transports_connected_total{srtp_profile="SRTP_AEAD_AES_128_GCM"} 1
"""
    m = Metrics.parse(text)
    assert m.value("sabha_transports") == 3
    assert m.dropped("malformed") == 7
    assert m.dropped("stunBadIntegrity") == 0
    assert m.total("sabha_dropped_packets_total") == 9
    assert m.value("sabha_transports_connected_total", srtp_profile="SRTP_AEAD_AES_128_GCM") == 1
    with pytest.raises(ValueError):
        Metrics.parse("this is not prometheus")


# --- Chromium ---------------------------------------------------------------------------------------------

LOOPBACK_CALL_PAGE = """<!doctype html><title>loopback</title><video id=v autoplay muted playsinline></video><script>
window.result = {frames: 0, error: null};
(async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
    const a = new RTCPeerConnection({iceServers: []}), b = new RTCPeerConnection({iceServers: []});
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    b.ontrack = (e) => { document.getElementById('v').srcObject = e.streams[0]; };
    stream.getTracks().forEach((t) => a.addTrack(t, stream));
    await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
    window.sabha = {pcs: [b]};
  } catch (e) { window.result.error = String(e); }
})();
</script>"""


class _PageHandler(SimpleHTTPRequestHandler):
    """Serves a folder; answers WHIP/WHEP POSTs with the problem+json an expired token gets."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "token expired"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def static_site(tmp_path, repo_root):
    site = tmp_path / "site"
    site.mkdir()
    shutil.copytree(repo_root / "Sources/Signalling/Public", site, dirs_exist_ok=True)  # pages and their modules
    (site / "loopback.html").write_text(LOOPBACK_CALL_PAGE)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_PageHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def browser(tmp_path):
    driver = chromium(str(tmp_path / "chromedriver.log"))
    yield driver
    driver.quit()


def test_chromium_in_the_namespace_decodes_its_fake_camera_over_loopback_webrtc(static_site, browser):
    browser.get(f"{static_site}/loopback.html")
    stats = wait_for(lambda: (s := page_stats(browser)) and s.get("frames", 0) >= 30 and s, 30,
                     "framesDecoded >= 30 in a loopback call inside Chromium")
    assert browser.execute_script("return window.result.error") is None
    assert stats["width"] > 0


def test_demo_page_starts_the_fake_camera_and_shows_the_servers_problem_detail(static_site, browser):
    browser.get(f"{static_site}/demo.html?room=r1&t=a.eyJpZGVudGl0eSI6ImFsaWNlIiwicm9sZSI6InB1Ymxpc2hlciJ9.s&publish=1")
    status = wait_for(lambda: "token expired" in (t := browser.find_element("id", "publish-status").text) and t, 20,
                      "the publish status to show the problem detail")
    assert "HTTP 401" in status
    who = browser.find_element("id", "who").text
    assert "alice" in who and "r1" in who
    # getUserMedia gave the fake camera (the page only goes on to the server after it did).
    events = browser.execute_script("return window.sabha.events")
    assert any("Connecting to the server" in e for e in events), events
    # The failed session is cleaned up: its peer connection is closed and publishing can be retried.
    assert browser.execute_script("return window.sabha.pcs.map(p => p.connectionState)") == ["closed"]
    assert browser.find_element("id", "publish-start").is_enabled(), console_log(browser)


def test_demo_page_explains_a_link_without_room_or_token(static_site, browser):
    browser.get(f"{static_site}/demo.html")
    text = wait_for(lambda: browser.find_element("id", "link-error").text, 10, "the link error")
    assert "needs a room and a token" in text
    assert not browser.find_element("id", "publish-start").is_enabled()


# --- the test peers themselves, through a stand-in WHIP/WHEP endpoint ----------------------------------------
#
# Until the server runs, an aiortc answerer behind a few lines of HTTP plays its part, so the Publisher and Viewer
# classes the server tests use (non-trickle POST, Location, answer parsing, frame counting, the 5-tuple and RTP
# sequence numbers the hostile-datagram test forges) are proven here. It checks the peers, not the server.


def test_publisher_and_viewer_classes_work_through_a_whip_whep_stand_in():
    from aiortc.contrib.media import MediaRelay

    from e2ekit.peers import Publisher, Viewer

    async def scenario():
        loop = asyncio.get_running_loop()
        relay = MediaRelay()
        state = {"tracks": [], "pcs": []}

        async def answer(path: str, offer: str) -> str:
            pc = RTCPeerConnection(rtc_configuration())
            state["pcs"].append(pc)
            if path.startswith("/whip/"):
                pc.on("track", lambda t: state["tracks"].append(t))
            else:
                for t in state["tracks"]:
                    pc.addTrack(relay.subscribe(t))
            from aiortc import RTCSessionDescription

            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            return pc.localDescription.sdp

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                offer = self.rfile.read(int(self.headers["Content-Length"])).decode()
                assert self.headers["Authorization"] == "Bearer tok"
                sdp = asyncio.run_coroutine_threadsafe(answer(self.path, offer), loop).result(10).encode()
                self.send_response(201)
                self.send_header("Location", f"{self.path}/s{len(state['pcs'])}")
                self.send_header("Content-Type", "application/sdp")
                self.send_header("Content-Length", str(len(sdp)))
                self.end_headers()
                self.wfile.write(sdp)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        publisher, viewer = Publisher(), Viewer()
        try:
            pub = await publisher.publish(f"{base}/whip/r", "tok")
            assert pub.location == f"{base}/whip/r/s1"
            await wait_connected(publisher.pc)
            view = await viewer.watch(f"{base}/whep/r/alice", "tok")
            assert view.server_ufrag and view.client_ufrag and view.server_ufrag != view.client_ufrag
            await wait_connected(viewer.pc)
            await viewer.wait_video_frames(100, timeout=30)
            assert viewer.counts.audio_frames > 0
            assert viewer.counts.last_video_size == (320, 240)

            # What the hostile-datagram test forges is the real thing: the answerer's view of our address,
            # and our video SSRC with a recent sequence number.
            answerer_ice = state["pcs"][0].getTransceivers()[0].receiver.transport.transport._connection
            remote = answerer_ice._nominated[1].remote_candidate
            assert publisher.local_address() == (remote.host, remote.port)
            assert publisher.video_ssrc() in publisher.last_rtp
        finally:
            await viewer.close()
            await publisher.close()
            for pc in state["pcs"]:
                await pc.close()
            httpd.shutdown()
            httpd.server_close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_demo_page_publishes_and_watches_between_two_chromiums_through_a_stand_in(repo_root, tmp_path):
    from e2ekit.standin import StandIn

    standin = StandIn(repo_root / "Sources/Signalling/Public")
    publisher = chromium(str(tmp_path / "pub.log"))
    viewer = chromium(str(tmp_path / "view.log"))
    try:
        publisher.get(f"{standin.base_url}/demo.html?room=r&t=x.eyJzdWIiOiJhbGljZSJ9.y&publish=1")
        wait_for(lambda: "connected" in publisher.find_element("id", "publish-status").text, 30,
                 "the publisher page to connect")
        wait_for(lambda: len(standin.tracks) == 2, 10, "audio and video tracks at the stand-in")
        viewer.get(f"{standin.base_url}/demo.html?room=r&t=x.eyJzdWIiOiJib2IifQ.y&watch=alice")
        stats = wait_for(lambda: (s := page_stats(viewer)) and s.get("frames", 0) >= 30 and s, 40,
                         "framesDecoded >= 30 on the viewer page")
        assert stats["width"] > 0 and stats["cipher"], stats
        assert "Watching alice" in viewer.find_element("id", "watch-status").text
        wait_for(lambda: viewer.execute_script(
            "const v = document.querySelector('#tiles video'); return v && v.videoWidth > 0 && v.currentTime > 0.5"),
            10, "the viewer tile to play")
        viewer.save_screenshot(str(tmp_path / "viewer.png"))
        # Stop buttons DELETE the sessions.
        viewer.find_element("css selector", "#tiles .tile button").click()
        publisher.find_element("id", "publish-stop").click()
        wait_for(lambda: not standin.sessions, 10, "both sessions deleted")
    finally:
        print(console_log(viewer))
        publisher.quit()
        viewer.quit()
        standin.close()

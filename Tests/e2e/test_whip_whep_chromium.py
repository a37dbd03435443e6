"""Headless Chromium publishes its fake camera from the demo page; another Chromium watches it."""

from __future__ import annotations


from urllib.parse import quote

import pytest

from e2ekit.browser import page_stats
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server


@pytest.mark.timeout(120)
def test_chromium_watches_a_chromium_publisher_through_the_demo_page(server, metrics, browsers, screenshot):
    room = "e2e-chromium"
    pub = server.token(room, "alice", "publisher")
    view = server.token(room, "bob", "viewer")

    publisher = browsers("publisher")
    publisher.get(f"{server.base_url}/demo.html?room={room}&t={quote(pub)}&publish=1")
    wait_for(lambda: "connected" in publisher.find_element("id", "publish-status").text, 30,
             "the publisher page to say it is connected")
    wait_for(lambda: metrics(server.base_url).value("sabha_producers") >= 2, 10, "two producers (audio, video)")

    viewer = browsers("viewer")
    viewer.get(f"{server.base_url}/demo.html?room={room}&t={quote(view)}&watch=alice")
    first = wait_for(lambda: (s := page_stats(viewer)) and s.get("frames", 0) >= 30 and s, 40,
                     "the viewer's framesDecoded to reach 30")
    later = wait_for(lambda: (s := page_stats(viewer)) and s["frames"] >= first["frames"] + 60 and s, 20,
                     "framesDecoded to keep rising")
    assert later["width"] > 0
    assert later["cipher"], later  # SRTP in use on the viewer's transport
    # The server's sender reports reach the browser for both streams (what it needs for lip sync).
    reports = wait_for(lambda: (s := page_stats(viewer)["senderReports"]) and s.get("audio", 0) >= 1 and s.get("video", 0) >= 1 and s,
                       10, "the viewer to take sender reports for audio and video")
    assert reports["video"] >= 1 and reports["audio"] >= 1, reports
    assert "Watching alice" in viewer.find_element("id", "watch-status").text

    # The screenshot in docs/ is refreshed only on request (SABHA_UPDATE_SCREENSHOTS=1), so test runs leave the tree clean.
    # Let the tile show a moving picture before the screenshot.
    wait_for(lambda: viewer.execute_script(
        "const v = document.querySelector('#tiles video'); return v && v.videoWidth > 0 && v.currentTime > 0.5"),
        10, "the viewer tile to play")
    screenshot(viewer, "whep-viewer")

    m = metrics(server.base_url)
    assert m.value("sabha_transports") == 2
    assert m.value("sabha_consumers") == 2

    # Stop buttons end both sessions on the server.
    viewer.find_element("css selector", "#tiles .tile button").click()
    publisher.find_element("id", "publish-stop").click()
    wait_for(lambda: metrics(server.base_url).value("sabha_transports") == 0, 10, "both transports gone after Stop")


@pytest.mark.timeout(150)
def test_chromium_viewers_spread_over_two_media_workers_both_decode(start_server, metrics, browsers):
    """`--workers 2`: WHEP viewers are placed round-robin, so one of two viewers sits on the other worker than
    the publisher and gets the media through the cross-worker pipe; both must decode it."""
    server = start_server("--workers", "2")
    room = "e2e-two-workers"
    publisher = browsers("publisher")
    publisher.get(f"{server.base_url}/demo.html?room={room}&t={quote(server.token(room, 'alice', 'publisher'))}&publish=1")
    wait_for(lambda: "connected" in publisher.find_element("id", "publish-status").text, 30,
             "the publisher page to say it is connected")

    viewers = []
    for name in ("bob", "carol"):
        viewer = browsers(name)
        viewer.get(f"{server.base_url}/demo.html?room={room}&t={quote(server.token(room, name, 'viewer'))}&watch=alice")
        viewers.append(viewer)
    for name, viewer in zip(("bob", "carol"), viewers):
        first = wait_for(lambda: (s := page_stats(viewer)) and s.get("frames", 0) >= 30 and s, 40,
                         f"{name}'s framesDecoded to reach 30")
        wait_for(lambda: (s := page_stats(viewer)) and s["frames"] >= first["frames"] + 60 and s, 20,
                 f"{name}'s framesDecoded to keep rising")
        wait_for(lambda: (s := page_stats(viewer)["senderReports"]) and s.get("audio", 0) >= 1 and s.get("video", 0) >= 1, 10,
                 f"{name} to take sender reports for audio and video")

    m = metrics(server.base_url)
    assert m.value("sabha_rtp_piped_total") > 0, "one viewer is on the other worker: packets must cross the pipe"
    assert m.value("sabha_consumers") == 4
    assert m.value("sabha_dropped_packets_total", reason="pipeFull") == 0


@pytest.mark.timeout(120)
def test_the_demo_page_shows_names_in_indian_scripts_as_written_and_watches_by_such_an_identity(server, browsers):
    """A token's payload is UTF-8 JSON. The demo page decoded it with atob alone (one character per byte), so a
    Devanagari or Odia name came out as mojibake; it now shows name and identity as written, and a publisher whose
    identity is in Odia is watched by that identity (percent-encoded in the WHEP path)."""
    room = "e2e-unicode"
    identity, name = "ଅନିତା", "अनीता पटनायक"  # Odia identity, Devanagari display name
    publisher = browsers("publisher")
    publisher.get(f"{server.base_url}/demo.html?room={room}&t={quote(server.token(room, identity, 'publisher', name=name))}&publish=1")
    wait_for(lambda: "connected" in publisher.find_element("id", "publish-status").text, 30,
             "the publisher page to say it is connected")
    assert publisher.find_element("id", "who").text == f"Room {room} — you are {name} ({identity}) as publisher."

    viewer = browsers("viewer")
    viewer.get(f"{server.base_url}/demo.html?room={room}&t={quote(server.token(room, 'ravi', 'viewer', name='ରବି'))}"
               f"&watch={quote(identity)}")
    assert viewer.find_element("id", "who").text == f"Room {room} — you are ରବି (ravi) as viewer."
    wait_for(lambda: (s := page_stats(viewer)) and s.get("frames", 0) >= 30 and s, 40, "the viewer's framesDecoded to reach 30")
    assert viewer.find_element("id", "watch-status").text == f"Watching {identity}."
    assert viewer.find_element("css selector", "#tiles .tile .label").text == identity

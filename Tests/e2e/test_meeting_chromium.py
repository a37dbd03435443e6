"""Four headless Chromiums meet on the meeting page (/m/{room}, WebSocket protocol v1): everyone sees and hears everyone."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

# window.sabhaMeeting, as the meeting page exposes it for tests: own id, the others, and per-participant inbound stats.
MEETING_STATE_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const m = window.sabhaMeeting;
  if (!m) return { ready: false };
  const s = await m.stats();
  return { ready: true, me: m.me(), participants: m.participants(), ...s,
           screen: document.getElementById('app').dataset.screen, events: m.events.slice(-30) };
})().then(done, (e) => done({ error: String(e) }));
"""

# The moving-picture check for the screenshot: every remote tile plays video.
TILES_PLAYING_JS = """
const videos = [...document.querySelectorAll('#grid .tile.remote video')];
return videos.length > 0 && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0.5);
"""


def meeting_state(driver) -> dict:
    return driver.execute_async_script(MEETING_STATE_JS)


def join(browsers, server, room: str, identity: str, name: str, role: str = "publisher"):
    """Opens the meeting page with autojoin and small fake video; returns (driver, own participant id)."""
    token = server.token(room, identity, role, name=name)
    driver = browsers(identity)
    driver.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low&name={quote(name)}")
    joined = wait_for(lambda: (s := meeting_state(driver)).get("me") and s, 30, f"{identity} to be joined")
    assert joined["screen"] == "meeting", joined
    assert joined["me"]["name"] == name, joined["me"]
    return driver, joined["me"]["id"]


def wait_receiving(driver, who: str, senders: dict[str, str], timeout: float) -> None:
    """Waits until `driver` decodes video frames and receives audio packets from every sender, and both keep rising."""

    def counts():
        s = meeting_state(driver)
        per = s.get("perParticipant", {})
        return {pid: per.get(pid, {"framesDecoded": 0, "audioPackets": 0}) for pid in senders.values()}, s

    def all_flowing():
        c, s = counts()
        if all(v["framesDecoded"] > 0 and v["audioPackets"] > 0 for v in c.values()):
            return c
        return None

    first = wait_for(all_flowing, timeout,
                     f"{who} to decode video and receive audio from {sorted(senders)} (ids {senders})")

    def rising():
        c, _ = counts()
        ok = all(c[p]["framesDecoded"] >= first[p]["framesDecoded"] + 10
                 and c[p]["audioPackets"] >= first[p]["audioPackets"] + 25 for p in senders.values())
        return ok and c

    wait_for(rising, 30, f"{who}'s framesDecoded and audio packetsReceived from {sorted(senders)} to keep rising")


@pytest.mark.timeout(180)
def test_four_chromiums_meet_and_one_leaves(server, browsers, screenshot):
    room = "e2e-meeting"
    people = {}  # name -> (driver, participant id)
    for identity, name in (("asha", "Asha"), ("ravi", "Ravi Kumar"), ("meena", "Meena")):
        people[name] = join(browsers, server, room, identity, name)

    ids = {name: pid for name, (_, pid) in people.items()}
    assert len(set(ids.values())) == 3, ids

    # Everyone decodes the other two's video and receives their audio.
    for name, (driver, _) in people.items():
        wait_receiving(driver, name, {n: p for n, p in ids.items() if n != name}, 60)
        s = meeting_state(driver)
        assert s["tiles"] == 2, s
        assert s["state"] == "connected", s
        assert sorted(p["name"] for p in s["participants"]) == sorted(n for n in ids if n != name)

    # The three-person grid, as Asha sees it (refreshed in docs/ only on request, so test runs leave the tree clean).
    asha = people["Asha"][0]
    wait_for(lambda: asha.execute_script(TILES_PLAYING_JS), 15, "Asha's remote tiles to play")
    screenshot(asha, "meeting-grid")

    # A fourth joins late: it gets all three, and all three get it.
    people["Dev"] = join(browsers, server, room, "dev", "Dev")
    ids["Dev"] = people["Dev"][1]
    wait_receiving(people["Dev"][0], "Dev", {n: p for n, p in ids.items() if n != "Dev"}, 60)
    for name in ("Asha", "Ravi Kumar", "Meena"):
        wait_receiving(people[name][0], name, {"Dev": ids["Dev"]}, 60)
        assert meeting_state(people[name][0])["tiles"] == 3

    # Meena mutes her microphone: the others' tiles for her show the muted icon.
    meena_driver, meena = people["Meena"]
    meena_driver.find_element("id", "mic-button").click()
    assert meena_driver.execute_script("return window.sabhaMeeting.pc.getSenders().find((s) => s.track && s.track.kind === 'audio').track.enabled") is False
    badge_shown_js = f"const b = document.querySelector('#grid .tile[data-participant=\"{meena}\"] .badge.mic-off'); return !!b && !b.hidden"
    for name in ("Asha", "Dev"):
        wait_for(lambda d=people[name][0]: d.execute_script(badge_shown_js), 5, f"{name} to see Meena muted")

    # Ravi leaves with the Leave button: the others' tiles for him are gone within 2 s.
    ravi_driver, ravi = people.pop("Ravi Kumar")
    ravi_driver.find_element("id", "leave-button").click()
    left_at = time.monotonic()
    tile_gone_js = f"return document.querySelector('#grid .tile[data-participant=\"{ravi}\"]') === null"
    for name, (driver, _) in people.items():
        remaining = max(0.0, 2.0 - (time.monotonic() - left_at))
        wait_for(lambda d=driver: d.execute_script(tile_gone_js), remaining, f"{name}'s tile for Ravi to go", interval=0.05)
    assert time.monotonic() - left_at <= 2.5
    assert "You left the meeting." in ravi_driver.find_element("id", "notice-title").text

    for name, (driver, _) in people.items():
        s = meeting_state(driver)
        assert s["tiles"] == 2, s
        assert ravi not in {p["id"] for p in s["participants"]}, s
        assert not any("error handling" in e for e in s["events"]), s["events"]


@pytest.mark.timeout(120)
def test_a_viewer_watches_without_a_camera_and_gets_no_tile(server, browsers):
    room = "e2e-meeting-viewer"
    asha_driver, asha = join(browsers, server, room, "asha", "Asha")

    token = server.token(room, "guest", "viewer", name="Guest")
    viewer = browsers("viewer")
    viewer.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&name=Guest")
    joined = wait_for(lambda: (s := meeting_state(viewer)).get("me") and s, 30, "the viewer to be joined")
    assert joined["me"]["role"] == "viewer", joined["me"]
    wait_receiving(viewer, "the viewer", {"Asha": asha}, 60)
    assert viewer.execute_script("return document.querySelectorAll('#grid .tile.self').length") == 0
    assert viewer.execute_script("return window.sabhaMeeting.pc.getSenders().filter((s) => s.track).length") == 0
    assert viewer.find_element("id", "mic-button").is_displayed() is False

    # Asha lists the viewer under People but gives it no tile.
    s = wait_for(lambda: (s := meeting_state(asha_driver)) and s["participants"] and s, 10, "Asha to see the viewer")
    assert [p["name"] for p in s["participants"]] == ["Guest"], s
    assert s["tiles"] == 0, s


@pytest.mark.timeout(150)
def test_a_dropped_websocket_resumes_and_the_others_keep_decoding(server, browsers, metrics):
    room = "e2e-meeting-resume"
    asha_driver, asha = join(browsers, server, room, "asha", "Asha")
    ravi_driver, ravi = join(browsers, server, room, "ravi", "Ravi")
    wait_receiving(asha_driver, "Asha", {"Ravi": ravi}, 60)
    wait_receiving(ravi_driver, "Ravi", {"Asha": asha}, 60)

    # Ravi's WebSocket drops (as on a network change); his page resumes within the grace period.
    ravi_driver.execute_script("window.sabhaMeeting.dropSocket()")
    wait_for(lambda: any("resumed" in e for e in meeting_state(ravi_driver)["events"]), 20, "Ravi's page to resume")
    s = meeting_state(ravi_driver)
    assert s["me"]["id"] == ravi and s["screen"] == "meeting", s
    # The others keep decoding him afterwards and never saw him leave.
    wait_receiving(asha_driver, "Asha", {"Ravi": ravi}, 30)
    wait_receiving(ravi_driver, "Ravi", {"Asha": asha}, 30)
    a = meeting_state(asha_driver)
    assert a["tiles"] == 1 and not any("participant-left" in e for e in a["events"]), a["events"]
    # On loopback the connection-quality hint says the connection is good.
    wait_for(lambda: asha_driver.execute_script("return document.getElementById('quality').dataset.quality") == "good", 10,
             "the connection-quality hint")
    assert metrics(server.base_url).value("sabha_meeting_participants") == 2


@pytest.mark.timeout(150)
def test_a_host_ends_the_meeting_and_everyone_sees_it_ended(server, browsers, metrics):
    room = "e2e-meeting-end"
    host_driver, host = join(browsers, server, room, "asha", "Asha", role="host")
    ravi_driver, ravi = join(browsers, server, room, "ravi", "Ravi")
    wait_receiving(ravi_driver, "Ravi", {"Asha": host}, 60)
    assert ravi_driver.find_element("id", "end-button").is_displayed() is False, "only hosts see End for all"

    host_driver.find_element("id", "end-button").click()
    host_driver.switch_to.alert.accept()
    for driver in (host_driver, ravi_driver):
        wait_for(lambda d=driver: "The meeting has ended." in d.find_element("id", "notice-title").text, 10,
                 "the page to say the meeting has ended")
    wait_for(lambda: metrics(server.base_url).value("sabha_transports") == 0, 10, "all media transports freed")
    m = metrics(server.base_url)
    assert m.value("sabha_producers") == 0 and m.value("sabha_consumers") == 0 and m.value("sabha_meeting_participants") == 0


@pytest.mark.timeout(120)
def test_an_administrator_creates_a_room_and_a_join_link_on_the_landing_page(server, browsers):
    admin = browsers("admin")
    admin.get(f"{server.base_url}/")
    admin.find_element("id", "admin-key").send_keys("wrong-key-wrong-key")
    admin.find_element("id", "admin-unlock").click()
    wait_for(lambda: "not accepted" in admin.find_element("id", "admin-error").text, 10, "a wrong key to be refused")

    key = (server.data_dir / "admin.key").read_text().strip()
    field = admin.find_element("id", "admin-key")
    field.clear()
    field.send_keys(key)
    admin.find_element("id", "admin-unlock").click()
    wait_for(lambda: admin.find_element("id", "admin").is_displayed(), 10, "the admin console to open")
    admin.find_element("id", "room-name").send_keys("district-review")
    admin.find_element("id", "room-title").send_keys("District review")
    admin.find_element("id", "room-create").click()
    wait_for(lambda: admin.find_elements("css selector", '#rooms li[data-room="district-review"]'), 10, "the new room in the list")
    admin.find_element("id", "link-identity").send_keys("ravi@dept.example")
    admin.find_element("id", "link-name").send_keys("Ravi")
    admin.find_element("id", "link-make").click()
    url = wait_for(lambda: (f := admin.find_elements("css selector", '#links li[data-identity="ravi@dept.example"] .link-url'))
                   and f[0].get_attribute("value"), 10, "the join link")
    assert "/m/district-review?t=" in url, url

    guest = browsers("guest")
    guest.get(url + "&autojoin=1&quality=low")
    joined = wait_for(lambda: (s := meeting_state(guest)).get("me") and s, 30, "the link to join the meeting")
    assert joined["me"]["name"] == "Ravi" and joined["me"]["identity"] == "ravi@dept.example", joined["me"]
    assert joined["screen"] == "meeting"


@pytest.mark.timeout(120)
def test_a_screen_share_gets_its_own_tile_next_to_the_camera(server, browsers):
    import asyncio
    import threading

    from aiortc import RTCPeerConnection, RTCSessionDescription

    from e2ekit.meeting import MeetingSocket
    from e2ekit.peers import MovingPatternTrack, rtc_configuration

    room = "e2e-meeting-screen"
    stop = threading.Event()
    ready = threading.Event()
    alice_id: list[str] = []

    def alice_shares() -> None:
        async def run():
            ws = MeetingSocket(server.base_url)
            alice_id.append(ws.join(server.token(room, "alice", "host", name="Alice"))["you"]["id"])
            pc = RTCPeerConnection(rtc_configuration())
            pc.addTransceiver(MovingPatternTrack(), direction="sendonly")
            pc.addTransceiver(MovingPatternTrack(width=640, height=360, fps=10), direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            mids = [t.mid for t in pc.getTransceivers()]
            ws.send({"type": "offer", "sdp": pc.localDescription.sdp, "sources": {mids[1]: "screen"}})
            answer = await asyncio.to_thread(ws.next_type, "answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)
            ws.close()
            await pc.close()

        asyncio.run(run())

    thread = threading.Thread(target=alice_shares, daemon=True)
    thread.start()
    try:
        assert ready.wait(30), "aiortc Alice published camera and screen"
        bob, _ = join(browsers, server, room, "bob", "Bob")
        screen_tile = f'#grid .tile.screen[data-participant="{alice_id[0]}:screen"]'
        playing_js = f"const v = document.querySelector('{screen_tile} video'); return !!v && v.videoWidth === 640 && v.currentTime > 0.5"
        wait_for(lambda: bob.execute_script(playing_js), 40, "Bob to play Alice's screen share in its own tile")
        label = bob.execute_script(f"return document.querySelector('{screen_tile} .name').textContent")
        assert label == "Alice (screen)", label
        camera_js = f"const v = document.querySelector('#grid .tile.remote[data-participant=\"{alice_id[0]}\"] video'); return !!v && v.videoWidth === 320"
        wait_for(lambda: bob.execute_script(camera_js), 20, "Alice's camera in her own tile")
    finally:
        stop.set()
        thread.join(15)


@pytest.mark.timeout(120)
def test_chromium_shares_its_screen_and_stops(server, browsers):
    room = "e2e-meeting-share"
    asha, _ = join(browsers, server, room, "asha", "Asha")
    # Only hosts share a screen unless a host lets everyone (test_meeting_controls_chromium.py covers that switch).
    bob, bob_id = join(browsers, server, room, "bob", "Bob", role="host")
    wait_receiving(asha, "Asha", {"Bob": bob_id}, 60)

    bob.find_element("id", "share-button").click()   # the fake capture picker chooses the whole (virtual) screen
    screen_tile = f'#grid .tile.screen[data-participant="{bob_id}:screen"]'
    playing_js = f"const v = document.querySelector('{screen_tile} video'); return !!v && v.videoWidth > 0 && v.currentTime > 0.5"
    wait_for(lambda: asha.execute_script(playing_js), 30, "Asha to play Bob's screen share")
    assert asha.execute_script(f"return document.querySelector('{screen_tile} .name').textContent") == "Bob (screen)"
    assert bob.execute_script("return document.getElementById('share-button').getAttribute('aria-pressed')") == "true"

    bob.find_element("id", "share-button").click()   # stop sharing
    wait_for(lambda: asha.execute_script(f"return document.querySelector('{screen_tile}') === null"), 10,
             "Bob's screen tile to go when he stops sharing")
    wait_receiving(asha, "Asha", {"Bob": bob_id}, 20)    # his camera carries on


@pytest.mark.timeout(60)
def test_an_expired_link_says_so_in_words(server, browsers):
    token = server.token("e2e-expired", "asha", "participant", ttl="1s")
    time.sleep(2.2)
    page = browsers("asha")
    page.get(f"{server.base_url}/m/e2e-expired?t={quote(token)}&autojoin=1&quality=low")
    wait_for(lambda: "expired" in page.find_element("tag name", "body").text.lower(), 20, "the page to say the link has expired")


SIMULCAST_STATE_JS = """
const m = window.sabhaMeeting;
if (!m || !m.pc || !m.pc.remoteDescription) return null;
const video = m.pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'video');
return {
  rids: video ? video.sender.getParameters().encodings.map((e) => e.rid || '') : [],
  answer: m.pc.remoteDescription.sdp,
  videoSizes: m.videoSizes,
};
"""


@pytest.mark.timeout(120)
def test_the_camera_goes_out_as_three_simulcast_layers_and_remote_tiles_report_their_size(server, browsers):
    """Full quality (1280x720 fake camera): the page offers rids q/h/f, Chromium takes our simulcast answer,
    and the viewer's ResizeObserver sends video-size for the tile it shows. (Which layer arrives is the worker's part.)"""
    room = "e2e-simulcast"
    drivers = {}
    for identity in ("asha", "bela"):
        driver = browsers(identity)
        driver.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, identity, 'publisher'))}&autojoin=1&name={identity}")
        drivers[identity] = driver
    asha = wait_for(lambda: (s := drivers["asha"].execute_script(SIMULCAST_STATE_JS)) and s["rids"] and s, 30,
                    "asha's offer to be answered")
    assert asha["rids"] == ["q", "h", "f"], asha["rids"]
    assert "a=simulcast:recv q;h;f\r\n" in asha["answer"], asha["answer"]
    for rid in "qhf":
        assert f"a=rid:{rid} recv\r\n" in asha["answer"]
    assert "rtx/90000" in asha["answer"] and "transport-cc" in asha["answer"]
    sizes = wait_for(lambda: (s := drivers["bela"].execute_script(SIMULCAST_STATE_JS)) and s["videoSizes"]
                     and any(v["height"] > 0 for v in s["videoSizes"].values()) and s["videoSizes"], 30,
                     "bela to report the size of asha's tile")
    assert all(0 <= v["width"] <= 16384 and 0 <= v["height"] <= 16384 for v in sizes.values()), sizes


@pytest.mark.timeout(150)
def test_a_host_mutes_and_removes_from_the_people_list_and_lets_the_person_back_in(server, browsers):
    room = "e2e-meeting-host-actions"
    host, _ = join(browsers, server, room, "asha", "Asha", role="host")
    ravi, ravi_id = join(browsers, server, room, "ravi", "Ravi")
    wait_receiving(host, "Asha", {"Ravi": ravi_id}, 60)
    if not host.find_element("id", "people").is_displayed():
        host.find_element("id", "people-button").click()
    assert not ravi.find_elements("css selector", "#people-list .host-actions"), "only hosts get the buttons"

    # Mute: Ravi's page turns his microphone off and says who did it.
    wait_for(lambda: host.find_elements("css selector", '#people-list button[title="Mute Ravi"]'), 10, "the host's Mute button")
    host.find_element("css selector", '#people-list button[title="Mute Ravi"]').click()
    wait_for(lambda: ravi.find_element("id", "mic-button").get_attribute("aria-pressed") == "true", 10, "Ravi muted")
    assert "Asha turned off your microphone." in ravi.find_element("id", "banner").text

    # Remove: Ravi's page ends with no way back; the host sees him listed as removed.
    host.find_element("css selector", '#people-list button[title="Remove Ravi from the meeting"]').click()
    wait_for(lambda: "The host removed you from the meeting." in ravi.find_element("id", "notice-text").text, 10, "Ravi removed")
    assert not ravi.find_element("id", "rejoin-button").is_displayed()
    back = wait_for(lambda: host.find_elements("css selector", "#people-list li.removed button.readmit"), 10, "Ravi listed as removed")
    assert "Ravi (removed)" in host.find_element("css selector", "#people-list li.removed").text
    assert host.execute_script("return document.querySelectorAll('#grid .tile.remote').length") == 0

    # Let back in: the list empties and his link joins again.
    back[0].click()
    wait_for(lambda: not host.find_elements("css selector", "#people-list li.removed"), 10, "the removed row to go")
    again, _ = join(browsers, server, room, "ravi", "Ravi")
    wait_receiving(host, "Asha", {"Ravi": meeting_state(again)["me"]["id"]}, 60)

"""The meeting page on a phone (issue 15 item 5), in Chromium's mobile emulation (390x844 and 844x390, 3 device
pixels per CSS pixel, touch): grid and controls fit without scrolling, in thumb reach, in portrait and landscape;
the camera pauses while the page is hidden; low-data mode lowers what the phone receives to the lowest simulcast
layer, or to no video, remembered on the device; and sound starts with a tap when autoplay is refused.

Screenshots go to docs/img/meeting-phone-{portrait,landscape}.png when SABHA_UPDATE_SCREENSHOTS=1 (else to the
test's temporary directory, so a test run leaves the tree clean).
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from e2ekit.browser import PHONE_LANDSCAPE, PHONE_PORTRAIT
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

# Where every visible control, tile and the page itself sit in the viewport.
LAYOUT_JS = """
const vw = window.innerWidth, vh = window.innerHeight;
const box = (el) => { const r = el.getBoundingClientRect();
  return { id: el.id || el.dataset.participant || el.className, left: r.left, top: r.top, right: r.right, bottom: r.bottom,
           width: r.width, height: r.height }; };
const shown = (el) => el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden';
const grid = document.getElementById('grid');
return {
  vw, vh,
  buttons: [...document.querySelectorAll('#meeting footer.controls > button')].filter(shown).map(box),
  tiles: [...grid.querySelectorAll('.tile')].filter(shown).map(box),
  pageScrolls: document.scrollingElement.scrollHeight > vh + 1 || document.scrollingElement.scrollWidth > vw + 1,
  gridScrolls: grid.scrollHeight > grid.clientHeight + 1,
  playsinline: [...document.querySelectorAll('video')].map((v) => v.hasAttribute('playsinline')),
};
"""

# The phone's received video: frames decoded, bytes, and the largest frame width of a stream that is moving.
INBOUND_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const m = window.sabhaMeeting;
  const out = { joined: !!(m && m.me()), me: m && m.me(), frames: 0, bytes: 0, widths: {}, dataMode: m && m.dataMode };
  if (m && m.pc) (await m.pc.getStats()).forEach((r) => {
    if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
    out.frames += r.framesDecoded || 0;
    out.bytes += r.bytesReceived || 0;
    out.widths[r.ssrc] = { width: r.frameWidth || 0, frames: r.framesDecoded || 0 };
  });
  return out;
})().then(done, (e) => done({ error: String(e) }));
"""

SET_HIDDEN_JS = """
const hidden = arguments[0];
Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
document.dispatchEvent(new Event('visibilitychange'));
const sender = window.sabhaMeeting.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
return sender.track.enabled;
"""


def inbound(driver) -> dict:
    return driver.execute_async_script(INBOUND_JS)


def moving_width(driver, seconds: float = 2.0) -> tuple[int, dict]:
    """The frame width of the received stream whose framesDecoded rose over `seconds` (0 when none did)."""
    a = inbound(driver)
    time.sleep(seconds)
    b = inbound(driver)
    moving = [w["width"] for ssrc, w in b["widths"].items() if w["frames"] > a["widths"].get(ssrc, {}).get("frames", 0)]
    return max(moving, default=0), b


def check_layout(driver, orientation: str) -> dict:
    """Controls and tiles all inside the viewport, nothing scrolls, buttons big enough for a thumb and where it is."""
    lay = driver.execute_script(LAYOUT_JS)
    vw, vh = lay["vw"], lay["vh"]
    assert (vw, vh) == ((390, 844) if orientation == "portrait" else (844, 390)), lay
    assert not lay["pageScrolls"] and not lay["gridScrolls"], f"{orientation}: something scrolls: {lay}"
    names = {b["id"] for b in lay["buttons"]}
    assert {"mic-button", "camera-button", "data-button", "people-button", "leave-button"} <= names, lay["buttons"]
    for b in lay["buttons"] + lay["tiles"]:
        assert b["left"] >= 0 and b["top"] >= 0 and b["right"] <= vw + 0.5 and b["bottom"] <= vh + 0.5, f"{orientation}: cut off: {b}"
    for b in lay["buttons"]:
        assert b["width"] >= 44 and b["height"] >= 44, f"{orientation}: too small for a thumb: {b}"
        if orientation == "portrait":
            assert b["top"] >= vh * 0.85, f"portrait: control not along the bottom edge: {b}"
        else:
            assert b["left"] >= vw * 0.85, f"landscape: control not along the right edge: {b}"
    assert len(lay["tiles"]) == 2, f"{orientation}: the grid should show the phone and Asha: {lay['tiles']}"
    assert all(t["width"] >= 160 for t in lay["tiles"]), lay["tiles"]
    assert lay["playsinline"] and all(lay["playsinline"]), lay["playsinline"]
    return lay


def choose_data_mode(driver, mode: str) -> None:
    driver.find_element("id", "data-button").click()
    driver.find_element("css selector", f'#data-menu input[value="{mode}"]').click()
    wait_for(lambda: driver.execute_script("return window.sabhaMeeting.dataMode") == mode, 5, f"data mode {mode}")
    assert driver.find_element("id", "data-menu").is_displayed() is False


@pytest.mark.timeout(300)
def test_a_phone_joins_in_portrait_and_landscape_pauses_its_camera_while_hidden_and_saves_data(
        server, browsers, screenshot):
    room = "e2e-phone"
    # Asha on a desktop, full camera: three simulcast layers (320, 640 and 1280 pixels wide).
    asha = browsers("asha")
    asha.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'asha', 'participant', name='Asha'))}&autojoin=1")
    wait_for(lambda: asha.execute_script("return !!(window.sabhaMeeting && window.sabhaMeeting.me())"), 30, "Asha to join")

    # Ravi on a phone.
    phone = browsers("phone", phone=PHONE_PORTRAIT)
    token = server.token(room, "ravi", "participant", name="Ravi")
    phone.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low")
    first = wait_for(lambda: (s := inbound(phone)).get("frames", 0) > 30 and s, 60, "the phone to decode Asha's video")
    ravi = first["me"]["id"]

    # Portrait: the grid and its controls fit, the controls along the bottom edge.
    wait_for(lambda: phone.execute_script(
        "return [...document.querySelectorAll('#grid .tile.remote video')].every((v) => v.videoWidth > 0)"), 15,
        "Asha's tile to play on the phone")
    check_layout(phone, "portrait")
    screenshot(phone, "meeting-phone-portrait")

    # Landscape (the phone turned): the controls move to the right edge, still all in reach.
    phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE_LANDSCAPE["width"], "height": PHONE_LANDSCAPE["height"], "deviceScaleFactor": 3, "mobile": True,
        "screenOrientation": {"type": "landscapePrimary", "angle": 90}})
    wait_for(lambda: phone.execute_script("return window.innerWidth") == 844, 5, "the landscape viewport")
    time.sleep(1)   # the grid lays itself out again on resize
    check_layout(phone, "landscape")
    screenshot(phone, "meeting-phone-landscape")

    # The page hidden (another app in front): the camera sends nothing and Asha sees it off; shown, it comes back.
    avatar_shown = ("const a = document.querySelector('#grid .tile[data-participant=\"%s\"] .avatar');"
                    "return !!a && !a.hidden") % ravi
    wait_for(lambda: not asha.execute_script(avatar_shown), 20, "Asha to see Ravi's camera")
    assert phone.execute_script(SET_HIDDEN_JS, True) is False
    wait_for(lambda: asha.execute_script(avatar_shown), 10, "Asha to see Ravi's camera off while his page is hidden")
    assert phone.execute_script(SET_HIDDEN_JS, False) is True
    wait_for(lambda: not asha.execute_script(avatar_shown), 10, "Asha to see Ravi's camera again")

    # Low data, "Low video": the phone receives Asha's lowest simulcast layer (320 pixels wide), whatever its tile.
    full = wait_for(lambda: (w := moving_width(phone)[0]) > 320 and w, 40,
                    "the phone to receive a layer above the lowest before saving data")
    choose_data_mode(phone, "low")
    low = wait_for(lambda: 0 < (w := moving_width(phone)[0]) <= 320 and w, 30, "the phone to receive only the lowest layer")
    print(f"phone receives {full} px wide, then {low} px in low-data mode")

    # "Audio only": no video arrives at all.
    choose_data_mode(phone, "off")
    wait_for(lambda: moving_width(phone)[0] == 0, 20, "the phone's video to stop")
    a = inbound(phone)
    time.sleep(3)
    b = inbound(phone)
    assert b["frames"] == a["frames"] and b["bytes"] - a["bytes"] < 2000, (a, b)
    assert phone.execute_script("return localStorage.getItem('sabha-receive-video')") == "off"

    # Remembered on the device: the page loaded again joins audio-only at once.
    phone.refresh()
    wait_for(lambda: (s := inbound(phone)).get("joined") and s.get("dataMode") == "off", 30, "the phone to join again")
    assert phone.find_element("id", "data-button").get_attribute("data-mode") == "off"
    time.sleep(8)
    again = inbound(phone)
    assert again["frames"] == 0, again


@pytest.mark.timeout(150)
def test_a_phone_that_refuses_to_autoplay_sound_offers_tap_to_turn_on_sound(server, browsers):
    """A phone that only watches (no camera or microphone of its own in use, so nothing exempts it from the
    autoplay policy) and, like real phones, plays sound only after a tap."""
    room = "e2e-phone-sound"
    asha = browsers("asha")
    asha.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'asha', 'participant', name='Asha'))}"
             "&autojoin=1&quality=low")
    wait_for(lambda: asha.execute_script("return !!(window.sabhaMeeting && window.sabhaMeeting.me())"), 30, "Asha to join")

    phone = browsers("phone", phone=PHONE_PORTRAIT, extra_flags=["--autoplay-policy=document-user-activation-required"])
    phone.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'ravi', 'viewer', name='Ravi'))}&autojoin=1")
    wait_for(lambda: inbound(phone).get("frames", 0) > 10, 60, "the phone to decode Asha's video")
    playing_js = ("const a = [...document.querySelectorAll('#grid audio')].filter((a) => a.srcObject);"
                  "return a.length > 0 && a.every((x) => !x.paused)")
    assert not phone.execute_script(playing_js), "the browser played sound without a tap: nothing to test"
    sound = wait_for(lambda: (b := phone.find_element("id", "sound-button")).is_displayed() and b, 20, "the sound button")
    assert "Tap to turn on sound" in sound.text
    lay = phone.execute_script("const r = document.getElementById('sound-button').getBoundingClientRect();"
                               "return {w: r.width, h: r.height, bottom: r.bottom, vh: innerHeight}")
    assert lay["h"] >= 44 and lay["bottom"] <= lay["vh"], lay
    sound.click()
    wait_for(lambda: phone.execute_script(playing_js), 10, "the phone's audio to play after the tap")
    assert not phone.find_element("id", "sound-button").is_displayed()

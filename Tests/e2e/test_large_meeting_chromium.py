"""A 16-person meeting in Chromium: the page shows a page of at most 9 tiles and receives video only for those.

The other 15 participants are the load generator's meeting mode (tools/loadgen: each publishes Opus and three-layer
simulcast VP8 and receives everyone over /ws, as the web client does). They report every video they receive as
hidden (`--tile 0x0`), so the server pauses those for them and two cores carry the meeting: each receives only audio.

Chromium's inbound-rtp stats, per participant (window.sabhaMeeting.stats()), must show video bytes rising for the
tiles on its page only, the others flat once the server has paused them; the next page moves which tracks flow; the
speaker view receives the large tile and its strip only; audio from all fifteen arrives throughout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
LOADGEN = Path(os.environ.get("SABHA_LOADGEN", REPO / "tools" / "loadgen" / ".build" / "release" / "sabha-loadgen"))
OTHERS = 15

# The page's state and per-participant inbound bytes, as window.sabhaMeeting exposes them for tests.
STATE_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const m = window.sabhaMeeting;
  if (!m || !m.me()) return { ready: false };
  const s = await m.stats();
  const visible = [...document.querySelectorAll('#grid .tile')].filter((t) => !t.hidden && t.offsetParent !== null);
  return { ready: true, me: m.me(), participants: m.participants().length, view: m.view, page: m.page, pages: m.pages,
           shown: m.shownParticipants(), visibleTiles: visible.length, featured: visible.filter((t) => t.classList.contains('featured')).length,
           state: s.state, per: s.perParticipant, videoSizes: m.videoSizes };
})().then(done, (e) => done({ error: String(e) }));
"""


def state(driver) -> dict:
    return driver.execute_async_script(STATE_JS)


def participants_in_meeting(server) -> int:
    text = requests.get(f"{server.base_url}/metrics", timeout=5).text
    m = re.search(r"^sabha_meeting_participants\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def flows(driver, seconds: float = 2.5) -> tuple[dict, dict]:
    """Video and audio bytes each participant's tracks brought over `seconds`, and the state at the end."""
    a = state(driver)
    time.sleep(seconds)
    b = state(driver)
    delta = {pid: {kind: b["per"][pid][kind] - a["per"].get(pid, {}).get(kind, 0) for kind in ("videoBytes", "audioBytes")}
             for pid in b["per"]}
    return delta, b


def wait_video_only_for_shown(driver, what: str, timeout: float = 30) -> dict:
    """Waits until video bytes rise for every shown participant and for no other, and audio rises for everyone."""
    last = {}

    def settled():
        delta, s = flows(driver)
        last.update(delta=delta, state=s)
        shown = set(s["shown"])
        if not shown or len(delta) != OTHERS:
            return None
        video_ok = all((d["videoBytes"] > 0) == (pid in shown) for pid, d in delta.items())
        audio_ok = all(d["audioBytes"] > 0 for d in delta.values())
        return (video_ok and audio_ok) and s

    try:
        return wait_for(settled, timeout, f"{what}: video only for the shown tiles and audio from all")
    except AssertionError as e:
        raise AssertionError(f"{e}; the last bytes per participant over 2.5 s: {last}") from None


@pytest.mark.timeout(180)
def test_a_16_person_meeting_shows_a_page_of_tiles_and_receives_video_only_for_them(server, browsers, tmp_path, screenshot):
    if not LOADGEN.is_file():
        pytest.skip(f"{LOADGEN} is missing: cd tools/loadgen && SABHA_CORE_ONLY=1 swift build -c release (or SABHA_LOADGEN=...)")
    room = "e2e-large"
    started = time.monotonic()
    log = open(tmp_path / "loadgen.log", "wb")
    loadgen = subprocess.Popen(
        [str(LOADGEN), "--mode", "meeting", "--participants", str(OTHERS), "--server", server.base_url,
         "--data-dir", str(server.data_dir), "--room", room, "--tile", "0x0",
         "--video", "320x180", "--video-kbps", "150", "--fps", "15", "--clip", "2s", "--decrypt-every", "64",
         "--warmup", "0s", "--duration", "150s", "--time-limit", "170s", "--clip-cache", str(tmp_path / "clips")],
        stdout=open(tmp_path / "loadgen.json", "wb"), stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: participants_in_meeting(server) >= OTHERS or loadgen.poll() is not None, 60,
                 "the load generator's 15 participants to join")
        assert loadgen.poll() is None, (tmp_path / "loadgen.log").read_text(errors="replace")[-3000:]

        token = server.token(room, "asha", "participant", name="Asha")
        driver = browsers("asha")
        driver.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low")
        wait_for(lambda: (s := state(driver)).get("ready") and s["participants"] == OTHERS and s["state"] == "connected" and s,
                 45, "Asha to join and see the fifteen others")

        # The grid: 16 tiles, a page of 9 (her own and 8 others) and a second page; video only for those 8.
        first = wait_video_only_for_shown(driver, "page 1")
        assert first["view"] == "grid" and first["pages"] == 2 and first["page"] == 0, first
        assert first["visibleTiles"] <= 9 and len(first["shown"]) == 8, first
        screenshot(driver, "meeting-pages")
        hidden = set(first["per"]) - set(first["shown"])
        assert sum(1 for v in first["videoSizes"].values() if v["width"] == 0 and v["height"] == 0) == len(hidden), first["videoSizes"]

        # The next page, from the keyboard: the other seven flow, the first eight stop.
        nxt = driver.find_element("id", "page-next")
        assert nxt.get_attribute("aria-label") == "Next page of tiles"
        driver.execute_script("arguments[0].focus()", nxt)
        driver.switch_to.active_element.send_keys("\n")
        second = wait_video_only_for_shown(driver, "page 2")
        assert second["page"] == 1 and second["visibleTiles"] <= 9, second
        assert set(second["shown"]) == hidden and not set(second["shown"]) & set(first["shown"]), (first["shown"], second["shown"])
        assert driver.find_element("id", "page-next").get_attribute("disabled") is not None

        # The speaker view: one large tile and a strip of at most five, and video only for those.
        driver.find_element("id", "view-button").click()
        speaker = wait_video_only_for_shown(driver, "speaker view")
        assert speaker["view"] == "speaker" and speaker["featured"] == 1, speaker
        assert speaker["visibleTiles"] <= 6, speaker
        screenshot(driver, "meeting-speaker-view")
        print(f"16-person meeting: {time.monotonic() - started:.0f}s; page 1 {len(first['shown'])} others shown, "
              f"page 2 {len(second['shown'])}, speaker view {len(speaker['shown'])}")
    finally:
        if loadgen.poll() is None:
            loadgen.send_signal(signal.SIGTERM)
            try:
                loadgen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                loadgen.kill()
                loadgen.wait(timeout=5)
        log.close()

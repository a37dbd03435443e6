"""Headless Chromium under selenium, with a fake camera and microphone (flags from shared/notes/test-network.md)."""

from __future__ import annotations

import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from e2ekit.wait import wait_for  # noqa: F401  (re-exported for the browser tests)

CHROMIUM = os.environ.get("SABHA_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMEDRIVER = os.environ.get("SABHA_CHROMEDRIVER", "/usr/bin/chromedriver")

# Sum of framesDecoded over every inbound video stream of every peer connection the demo page made.
FRAMES_DECODED_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const pcs = (window.sabha && window.sabha.pcs) || [];
  let frames = 0, width = 0, cipher = null, states = [];
  const senderReports = {};  // remote-outbound-rtp: the server's RTCP SRs the browser took, by kind
  for (const pc of pcs) {
    states.push(pc.connectionState);
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') { frames += r.framesDecoded || 0; width = r.frameWidth || width; }
      if (r.type === 'transport' && r.srtpCipher) cipher = r.srtpCipher;
      if (r.type === 'remote-outbound-rtp') senderReports[r.kind] = (senderReports[r.kind] || 0) + (r.reportsSent || 0);
    });
  }
  return { frames, width, cipher, states, senderReports, events: (window.sabha && window.sabha.events) || [] };
})().then(done, (e) => done({ error: String(e) }));
"""


# A phone held upright, and sideways (Chromium's mobile emulation: viewport, device pixels, touch).
PHONE_PORTRAIT = {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": True}
PHONE_LANDSCAPE = {"width": 844, "height": 390, "pixelRatio": 3.0, "touch": True}
PHONE_USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/140.0.0.0 Mobile Safari/537.36")


def chromium(log_path: str | None = None, extra_flags: list[str] | tuple[str, ...] = (),
             env: dict[str, str] | None = None, phone: dict | None = None, lang: str = "en-US") -> webdriver.Chrome:
    """`extra_flags` add to (or, for --autoplay-policy, replace) the defaults; `env`: the environment of chromedriver
    and so of Chromium (e.g. a HOME whose NSS database trusts a test CA); `phone` (PHONE_PORTRAIT, ...) emulates a
    phone of those device metrics; `lang`: the browser's language (its UI and navigator.languages, which the pages
    choose their language from): English unless a test asks for another, whatever the machine's locale."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    defaults = [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1100,900",
        "--disable-gpu",
        "--no-first-run",
        "--auto-select-desktop-capture-source=Entire screen",
        f"--lang={lang}",
    ]
    overridden = {f.split("=", 1)[0] for f in extra_flags}
    for flag in [f for f in defaults if f.split("=", 1)[0] not in overridden] + list(extra_flags):
        opts.add_argument(flag)
    if phone:
        opts.add_experimental_option("mobileEmulation", {"deviceMetrics": phone, "userAgent": PHONE_USER_AGENT})
    opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_output=log_path, env=env) if log_path else Service(CHROMEDRIVER, env=env)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_script_timeout(10)
    driver.set_page_load_timeout(20)
    return driver


def page_stats(driver) -> dict:
    return driver.execute_async_script(FRAMES_DECODED_JS)


def console_log(driver) -> str:
    try:
        return "\n".join(f"{e['level']} {e['message']}" for e in driver.get_log("browser"))
    except Exception as exc:  # the log is a debugging aid, never a reason to fail
        return f"(no browser log: {exc})"


# The meeting page's selected candidate pair, both ends, from getStats() (W3C webrtc-stats: transport
# .selectedCandidatePairId, candidate-pair .localCandidateId, local-candidate .candidateType/.relayProtocol/.url).
SELECTED_PAIR_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const pc = window.sabhaMeeting && window.sabhaMeeting.pc;
  if (!pc) return null;
  const report = await pc.getStats();
  let transport = null;
  report.forEach((r) => { if (r.type === 'transport') transport = r; });
  const pair = transport && transport.selectedCandidatePairId && report.get(transport.selectedCandidatePairId);
  if (!pair) return { state: pc.connectionState };
  const end = (c) => c && { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol || null,
                            url: c.url || null, address: c.address, port: c.port, tcpType: c.tcpType || null };
  return { state: pc.connectionState, pair: pair.state, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
           local: end(report.get(pair.localCandidateId)), remote: end(report.get(pair.remoteCandidateId)) };
})().then(done, (e) => done({ error: String(e) }));
"""

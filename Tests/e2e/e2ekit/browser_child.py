"""One headless Chromium on the meeting page, driven from inside a network namespace.

Chromium and chromedriver talk over a local DevTools port, so both must live in the namespace the browser
should see; the test (pytest) stays outside and runs this file there:

    ip netns exec NS python e2ekit/browser_child.py URL --name NAME --log-dir DIR [--insecure-origin ORIGIN]
                                                   [--interval 0.5] [--lifetime 150] [--script FILE]

It opens URL (the meeting page with autojoin) and prints one JSON line per `--interval` seconds to stdout:
    {"t": wall-clock seconds, "name", "joined", "me", "state", "inbound": [...], "outbound": [...], "pair": {...},
     "iceRestarts", "helpShown"}
with the getStats() fields of STATS_JS below (inbound-rtp and outbound-rtp video, the selected candidate pair).
`--script FILE`: JavaScript run once after the page loaded (selenium's execute_async_script: it ends by calling
`arguments[arguments.length - 1]` with its result), before the first sample; its result is printed as
{"t", "name", "script": result}. A page that is not the meeting page can so do its own WebRTC and set
`window.sabhaMeeting = {pc, events, me()}` for the samples (e.g. the WHEP viewers of test_cascade_chromium.py).
Ends by itself after --lifetime seconds, or when stdin closes, or on SIGTERM; quits Chromium on the way out
and appends the browser console to DIR/console-NAME.log every 3 s.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INBOUND_FIELDS = [
    "ssrc", "mid", "trackIdentifier", "frameWidth", "frameHeight", "framesDecoded", "framesReceived", "framesDropped",
    "keyFramesDecoded", "framesPerSecond", "freezeCount", "totalFreezesDuration", "pauseCount", "totalPausesDuration",
    "nackCount", "pliCount", "firCount", "packetsReceived", "packetsLost", "bytesReceived", "jitter",
    "retransmittedPacketsReceived", "retransmittedBytesReceived", "rtxSsrc", "fecPacketsReceived", "decoderImplementation",
]
OUTBOUND_FIELDS = [
    "ssrc", "rid", "mid", "active", "frameWidth", "frameHeight", "framesEncoded", "framesSent", "framesPerSecond",
    "keyFramesEncoded", "nackCount", "pliCount", "firCount", "packetsSent", "bytesSent", "retransmittedPacketsSent",
    "qualityLimitationReason", "scalabilityMode", "targetBitrate", "encoderImplementation",
]

STATS_JS = """
const done = arguments[arguments.length - 1];
const INB = %s, OUTB = %s;
const pick = (r, keys) => { const o = {}; for (const k of keys) if (r[k] !== undefined) o[k] = r[k]; return o; };
(async () => {
  const m = window.sabhaMeeting;
  const out = { joined: false, me: null, state: null, inbound: [], outbound: [], pair: null, events: [] };
  if (!m) return out;
  out.me = m.me();
  out.joined = !!out.me;
  out.events = m.events.slice(-5);
  out.iceRestarts = m.iceRestarts || 0;
  out.helpShown = !!m.helpShown;
  const pc = m.pc;
  if (!pc) return out;
  out.state = pc.connectionState;
  const report = await pc.getStats();
  let pairId = null;
  report.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId; });
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.inbound.push(pick(r, INB));
    if (r.type === 'outbound-rtp' && r.kind === 'video') out.outbound.push(pick(r, OUTB));
    if (r.type === 'candidate-pair' && r.id === pairId) {
      out.pair = pick(r, ['availableOutgoingBitrate', 'availableIncomingBitrate', 'currentRoundTripTime', 'bytesReceived', 'bytesSent']);
    }
  });
  return out;
})().then(done, (e) => done({ error: String(e) }));
""" % (json.dumps(INBOUND_FIELDS), json.dumps(OUTBOUND_FIELDS))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--name", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--insecure-origin", action="append", default=[])
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--lifetime", type=float, default=150.0)
    ap.add_argument("--script", default=None)
    args = ap.parse_args()

    from e2ekit.browser import chromium, console_log

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin() -> None:  # the parent closes our stdin to end us
        try:
            while sys.stdin.buffer.read(1):
                pass
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    log_dir = Path(args.log_dir)
    extra = [f"--unsafely-treat-insecure-origin-as-secure={','.join(args.insecure_origin)}"] if args.insecure_origin else []
    driver = chromium(str(log_dir / f"chromedriver-{args.name}.log"), extra_flags=extra)
    deadline = time.monotonic() + args.lifetime
    console = log_dir / f"console-{args.name}.log"
    console.write_text("")

    def save_console() -> None:  # get_log hands out each entry once: append as we go, so a failing test sees it
        try:
            text = console_log(driver)
            if text:
                with console.open("a") as f:
                    f.write(text + "\n")
        except OSError:
            pass

    last_console = time.monotonic()
    try:
        driver.get(args.url)
        print(json.dumps({"t": time.time(), "name": args.name, "loaded": True}), flush=True)
        if args.script:
            try:
                result = driver.execute_async_script(Path(args.script).read_text())
            except Exception as exc:  # reported to the test, which decides
                result = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
            print(json.dumps({"t": time.time(), "name": args.name, "script": result}), flush=True)
        while not stop.is_set() and time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                sample = driver.execute_async_script(STATS_JS)
            except Exception as exc:  # a slow page: note it and go on
                sample = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            sample["t"] = time.time()
            sample["name"] = args.name
            print(json.dumps(sample), flush=True)
            if time.monotonic() - last_console > 3:
                save_console()
                last_console = time.monotonic()
            stop.wait(max(0.0, args.interval - (time.monotonic() - t0)))
    finally:
        save_console()
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

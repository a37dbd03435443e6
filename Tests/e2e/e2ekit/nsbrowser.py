"""The test's side of a Chromium running in a network namespace (e2ekit/browser_child.py), and what the
simulcast tests read from its getStats() samples: which simulcast layer a viewer decodes, freezes, stalls.

Stats fields relied on (Chromium's getStats(), W3C webrtc-stats names):
  viewer    inbound-rtp (kind video): frameWidth, frameHeight, framesDecoded, freezeCount, totalFreezesDuration,
            nackCount (NACKs the viewer sent), packetsReceived, packetsLost, bytesReceived
  publisher outbound-rtp (kind video), one per simulcast encoding: rid, frameWidth, frameHeight, framesEncoded,
            nackCount (NACKs the publisher received), qualityLimitationReason
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

from e2ekit.netns import Topology

CHILD = Path(__file__).resolve().parent / "browser_child.py"


class NsBrowser:
    """A browser_child.py process inside `ns`; its JSON samples collect in .samples (oldest first)."""

    def __init__(self, topo: Topology, ns: str, name: str, url: str, log_dir: Path, insecure_origin: str | None,
                 lifetime: float = 150.0, interval: float = 0.5, script: str | None = None) -> None:
        self.name = name
        self.log_dir = log_dir
        self.samples: list[dict] = []
        self.lock = threading.Lock()
        self.stderr_path = log_dir / f"browser-child-{name}.log"
        cmd = [sys.executable, str(CHILD), url, "--name", name, "--log-dir", str(log_dir),
               "--interval", str(interval), "--lifetime", str(lifetime)]
        if insecure_origin:
            cmd += ["--insecure-origin", insecure_origin]
        if script:   # run once after the page loaded (browser_child.py --script); its result: script_sample()
            script_path = log_dir / f"script-{name}.js"
            script_path.write_text(script)
            cmd += ["--script", str(script_path)]
        self._stderr = open(self.stderr_path, "ab")
        self.proc = topo.popen(ns, cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line.startswith("{"):
                continue
            try:
                sample = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.samples.append(sample)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.samples)

    def latest(self) -> dict:
        with self.lock:
            return self.samples[-1] if self.samples else {}

    def script_sample(self, timeout: float) -> dict:
        """The line with what the --script returned, {"t", "name", "script": result} (waits for it, bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in self.snapshot():
                if "script" in s:
                    return s
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: no result of its page script within {timeout}s (process "
                             f"{self.proc.poll()}): {self.log_text()[-3000:]}")

    def since(self, t: float) -> list[dict]:
        return [s for s in self.snapshot() if s.get("t", 0) >= t and "inbound" in s]

    def wait(self, predicate, timeout: float, what: str, interval: float = 0.25):
        """Calls predicate(latest sample) until truthy (returned); AssertionError with the last sample otherwise."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name}'s browser process ended ({self.proc.returncode}) while waiting for "
                                     f"{what}: {self.log_text()[-3000:]}")
            s = self.latest()
            if s and "inbound" in s:
                last = s
                got = predicate(s)
                if got:
                    return got
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; last sample of {self.name}: {brief(last)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()   # the child quits Chromium and exits
            except OSError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        # Topology.destroy() ends whatever is left of the process group.
        self._stderr.close()

    def log_text(self) -> str:
        parts = []
        for p in (self.stderr_path, self.log_dir / f"console-{self.name}.log"):
            try:
                parts.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-8000:])
            except OSError:
                pass
        return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------- sample views


def main_inbound(sample: dict) -> dict:
    """The viewer's video inbound-rtp carrying the most packets (one publisher: its video), {} if none yet."""
    inbound = sample.get("inbound") or []
    return max(inbound, key=lambda r: r.get("packetsReceived", 0), default={})


def publisher_layers(sample: dict) -> list[dict]:
    """The publisher's video outbound-rtp stats, one per encoding, smallest frameWidth first."""
    return sorted(sample.get("outbound") or [], key=lambda r: (r.get("frameWidth", 0), str(r.get("rid"))))


def layer_widths(pub_sample: dict) -> list[int]:
    return sorted({r.get("frameWidth", 0) for r in publisher_layers(pub_sample) if r.get("frameWidth")})


def classify(width: int | None, widths: list[int]) -> str | None:
    """'low', 'mid' or 'top': the publisher layer whose width is nearest (log scale) to what the viewer decodes."""
    if not width or not widths:
        return None
    nearest = min(range(len(widths)), key=lambda i: abs(math.log(width / widths[i])))
    if nearest == len(widths) - 1:
        return "top"
    return "low" if nearest == 0 else "mid"


def longest_freeze(samples: list[dict]) -> float:
    """The longest single freeze seen in freezeCount/totalFreezesDuration between consecutive samples.
    A freeze is counted when it ends; when k > 1 freezes end between two samples, all but the first of them
    lie inside that interval, so the first lasted at least (added duration - (k-1) * interval)."""
    worst = 0.0
    prev = None
    for s in samples:
        r = main_inbound(s)
        if not r:
            continue
        if prev is not None:
            dc = r.get("freezeCount", 0) - prev.get("freezeCount", 0)
            dd = r.get("totalFreezesDuration", 0.0) - prev.get("totalFreezesDuration", 0.0)
            if dc == 1:
                worst = max(worst, dd)
            elif dc > 1:
                dt = s["t"] - prev_t
                worst = max(worst, dd - (dc - 1) * dt, dd / dc)
        prev, prev_t = r, s["t"]
    return worst


def longest_stall(samples: list[dict]) -> float:
    """The longest time (s) framesDecoded stood still across samples (catches a freeze that has not ended yet)."""
    worst, since, last = 0.0, None, None
    for s in samples:
        r = main_inbound(s)
        frames = r.get("framesDecoded", 0) if r else 0
        if last is None or frames > last:
            since, last = s["t"], frames
        else:
            worst = max(worst, s["t"] - since)
    return worst


def delta(samples: list[dict], key: str, pick=main_inbound) -> float:
    """The increase of a counter from the first to the last sample."""
    rows = [pick(s) for s in samples if pick(s)]
    if len(rows) < 2:
        return 0
    return rows[-1].get(key, 0) - rows[0].get(key, 0)


def received_kbps(samples: list[dict]) -> float:
    rows = [(s["t"], main_inbound(s)) for s in samples if main_inbound(s)]
    if len(rows) < 2 or rows[-1][0] <= rows[0][0]:
        return 0.0
    return (rows[-1][1].get("bytesReceived", 0) - rows[0][1].get("bytesReceived", 0)) * 8 / 1000 / (rows[-1][0] - rows[0][0])


def brief(sample: dict | None) -> str:
    """One line for messages: connection state, inbound video (size, frames, freezes, NACKs), outbound layers."""
    if not sample:
        return "(no sample)"
    parts = [f"joined={sample.get('joined')} state={sample.get('state')}"]
    if sample.get("error"):
        parts.append(f"error={sample['error']}")
    r = main_inbound(sample)
    if r:
        parts.append(f"in {r.get('frameWidth')}x{r.get('frameHeight')} decoded={r.get('framesDecoded')} "
                     f"freezes={r.get('freezeCount')}/{r.get('totalFreezesDuration')}s nack={r.get('nackCount')} "
                     f"lost={r.get('packetsLost')} rx={r.get('packetsReceived')}")
    for o in publisher_layers(sample):
        parts.append(f"out rid={o.get('rid')} {o.get('frameWidth')}x{o.get('frameHeight')} enc={o.get('framesEncoded')} "
                     f"nack={o.get('nackCount')} limit={o.get('qualityLimitationReason')}")
    if sample.get("events"):
        parts.append(f"events={sample['events'][-3:]}")
    return "; ".join(parts)

"""The work of tools/bench/cascade.sh (run it through that script: it picks the binaries, starts the scratch
PostgreSQL cluster and cleans up).

Two nodes on one PostgreSQL database: A (the origin: the publisher's WHIP goes there, so A holds the room) and B (the
edge). The same fan-out load (tools/loadgen: 1 WHIP publisher, --subscribers WHEP viewers, --duration of measurement)
runs twice, each time in a fresh room:

- local:   the viewers' WHEP requests go to A, which forwards to each of them;
- relayed: they go to B with ?cascade=1 (loadgen --subscriber-server B --whep-query cascade=1): A forwards each of
           the publisher's packets once to B over the relay, and B forwards to the viewers.

The loadgen reports, over its window, the viewers' packet latency (send stamp to kernel receive time) and loss, and
A's and B's CPU time (--server-pid A, --second-server-pid B: B's is its idle cost in the local run). While a run goes,
GET /api/cluster on A and B is read every second (relays out of A, into B), and /metrics before and after (drops);
after the last run, how long the relay takes to go from both nodes' lists (at most 25 s waited).
With --repeats 2 the order is local, relayed, relayed, local (ABBA), so a drift of the machine's load over the run
weighs on both kinds alike.

Prints a markdown table and the ratios relayed/local; --json FILE also writes every figure and the loadgen summaries.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from e2ekit.server import SabhaServer, free_tcp_port  # noqa: E402


def say(text: str) -> None:
    print(f"cascade: {text}", file=sys.stderr, flush=True)


class Nodes:
    """The two nodes; each pid also goes into `pid_file` so the shell's trap can stop one this process could not."""

    def __init__(self, sabha: Path, work: Path, database_url: str) -> None:
        self.sabha, self.work, self.database_url = sabha, work, database_url
        self.started: list[SabhaServer] = []

    def start(self, name: str) -> SabhaServer:
        port = free_tcp_port()
        srv = SabhaServer(binary=self.sabha, data_dir=self.work / name, log_path=self.work / f"{name}.log",
                          extra_args=["--database", self.database_url, "--public-url", f"http://127.0.0.1:{port}"],
                          http_port=port)
        self.started.append(srv)
        try:
            srv.start(ready_timeout=60)
        finally:
            if srv.proc is not None:
                with open(self.work / "pids", "a") as f:
                    f.write(f"{srv.proc.pid}\n")
        return srv

    def stop_all(self) -> dict[str, tuple[float, int | None]]:
        took = {}
        for srv in reversed(self.started):
            t0 = time.monotonic()
            try:
                code = srv.stop()
            except Exception as exc:   # noqa: BLE001 (the shell's trap kills what is left)
                say(f"stopping {srv.data_dir.name}: {exc}")
                code = None
            took[srv.data_dir.name] = (time.monotonic() - t0, code)
        return took


def admin_key(srv: SabhaServer) -> str:
    return (srv.data_dir / "admin.key").read_text().strip()


def get_json(srv: SabhaServer, path: str, key: str) -> dict | None:
    try:
        resp = requests.get(srv.base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=2, allow_redirects=False)
        return resp.json() if resp.status_code == 200 else {"status": resp.status_code, "body": resp.text[:300]}
    except (requests.RequestException, ValueError) as exc:
        return {"error": str(exc)}


def metrics(srv: SabhaServer) -> dict[str, float]:
    """/metrics samples by name and labels as written."""
    try:
        text = requests.get(srv.base_url + "/metrics", timeout=3).text
    except requests.RequestException:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def drops(samples: dict[str, float]) -> dict[str, float]:
    """sabha_dropped_packets_total by reason."""
    prefix = 'sabha_dropped_packets_total{reason="'
    return {k[len(prefix):].split('"')[0]: v for k, v in samples.items() if k.startswith(prefix)}


def grown(before: dict[str, float], after: dict[str, float], prefix: str) -> dict[str, float]:
    return {k: v - before.get(k, 0) for k, v in after.items() if k.startswith(prefix) and v - before.get(k, 0) > 0}


class ClusterWatch(threading.Thread):
    """Reads GET /api/cluster on A and B every second while a run goes: the most relays seen out of A and into B
    (of this run's room), the answers that listed the most viewers on B, and when a drop counter grew."""

    def __init__(self, a: SabhaServer, b: SabhaServer, key: str, room: str) -> None:
        super().__init__(daemon=True)
        self.a, self.b, self.key, self.room = a, b, key, room
        self.stop_event = threading.Event()
        self.max_out = 0
        self.max_in = 0
        self.sample: dict = {}
        self.errors: list[str] = []
        self.started = time.monotonic()
        # Drops by node and reason, read each second: when in the run a counter grew (seconds from the start).
        self.last_drops: dict[str, dict[str, float]] = {"A": drops(metrics(a)), "B": drops(metrics(b))}
        self.drop_times: list[str] = []

    @staticmethod
    def relays(view: dict | None, direction: str, room: str) -> list[dict]:
        listed = ((view or {}).get("relays") or {}).get(direction)
        return [r for r in listed if r.get("room") == room] if isinstance(listed, list) else []

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            va = get_json(self.a, "/api/cluster", self.key)
            vb = get_json(self.b, "/api/cluster", self.key)
            for name, v in (("A", va), ("B", vb)):
                if v is None or "error" in v or "status" in v:
                    if len(self.errors) < 5:
                        self.errors.append(f"GET /api/cluster on {name}: {v}")
            for name, node in (("A", self.a), ("B", self.b)):
                now = drops(metrics(node))
                grew = {k: v - self.last_drops[name].get(k, 0) for k, v in now.items() if v > self.last_drops[name].get(k, 0)}
                if grew and now:
                    self.drop_times.append(f"{name} +{time.monotonic() - self.started:.0f} s: {grew}")
                    self.last_drops[name] = now
            out, into = self.relays(va, "out", self.room), self.relays(vb, "in", self.room)
            self.max_out, self.max_in = max(self.max_out, len(out)), max(self.max_in, len(into))
            viewers = sum(r.get("viewers") or 0 for r in into)
            if (out or into) and viewers >= self.sample.get("viewers", 0):
                self.sample = {"viewers": viewers, "A.relays.out": out, "B.relays.in": into}


def loadgen_run(args, a: SabhaServer, b: SabhaServer, kind: str, room: str, key: str) -> dict:
    cmd = [str(args.loadgen), "--server", a.base_url, "--data-dir", str(a.data_dir), "--room", room,
           "--publishers", "1", "--subscribers", str(args.subscribers), "--duration", f"{args.duration}s",
           "--server-pid", str(a.proc.pid), "--second-server-pid", str(b.proc.pid), *args.clip_args]
    if kind == "relayed":
        cmd += ["--subscriber-server", b.base_url, "--whep-query", "cascade=1"]
    before = (metrics(a), metrics(b))
    watch = ClusterWatch(a, b, key, room)
    watch.start()
    say(f"{kind}: {' '.join(cmd[1:])}")
    stderr_path = args.work / f"loadgen-{room}.stderr"
    t0 = time.monotonic()
    try:
        with open(stderr_path, "wb") as err:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, timeout=args.duration + 30)
    except subprocess.TimeoutExpired:
        out = None
    finally:
        watch.stop_event.set()
        watch.join(timeout=5)
    took = time.monotonic() - t0
    after = (metrics(a), metrics(b))
    tail = stderr_path.read_text(errors="replace").splitlines()[-4:]
    if out is None or out.returncode != 0 or not out.stdout.strip():
        code = "timeout" if out is None else out.returncode
        raise AssertionError(f"{kind} run: the loadgen failed ({code}) after {took:.0f} s:\n  " + "\n  ".join(tail))
    summary = json.loads(out.stdout)
    w, t = summary["window"], summary["totals"]
    delivered = w["packetsReceivedPerSecond"] * w["seconds"]
    result = {
        "kind": kind, "room": room, "loadgenSeconds": round(took, 1),
        "subscribersConnected": summary["setup"]["subscribersConnected"], "failures": summary["setup"]["failures"][:5],
        "latency": t["latency"], "lossPercent": t["lossPercent"], "subscribersSilent": t["subscribersSilent"],
        "authFailures": t["authFailures"], "windowSeconds": w["seconds"],
        "deliveredPerSecond": w["packetsReceivedPerSecond"], "publisherPacketsPerSecond": w["packetsSentPerSecond"],
        "generatorCPUSeconds": w["generatorCPUSeconds"],
        "dropTimes": watch.drop_times, "relaysOutOfA": watch.max_out, "relaysIntoB": watch.max_in, "relaySample": watch.sample, "watchErrors": watch.errors,
        "dropsA": grown(before[0], after[0], "sabha_dropped_packets_total"),
        "dropsB": grown(before[1], after[1], "sabha_dropped_packets_total"),
        # Packets A sent over relays during the whole loadgen run, against all the publisher sent (1.0: each once).
        "relayedByA": after[0].get("sabha_rtp_relayed_total", 0) - before[0].get("sabha_rtp_relayed_total", 0),
        "relayedByB": after[1].get("sabha_rtp_relayed_total", 0) - before[1].get("sabha_rtp_relayed_total", 0),
        "publisherPacketsSent": t["packetsSent"],
        "keyframeWaitMs": summary["subscribers"]["keyframeWaitMs"], "connectMs": summary["setup"]["connectMs"],
        "signallingSeconds": summary["setup"]["signallingSeconds"],
        "summary": summary,
    }
    for node, field in (("A", "serverCPUSeconds"), ("B", "secondServerCPUSeconds")):
        cpu = w.get(field)
        result[f"cpu{node}Seconds"] = cpu
        result[f"cpu{node}PercentOfCore"] = None if cpu is None else 100 * cpu / w["seconds"]
        result[f"cpu{node}MicrosecondsPerDelivered"] = None if cpu is None or delivered <= 0 else cpu * 1e6 / delivered
    lat = t["latency"]
    say(f"{kind}: {result['subscribersConnected']}/{args.subscribers} connected, loss {t['lossPercent']} %, latency p50 "
        f"{lat.get('p50Ms')} p95 {lat.get('p95Ms')} p99 {lat.get('p99Ms')} ms, A {fmt(result['cpuAPercentOfCore'], 1)} % "
        f"B {fmt(result['cpuBPercentOfCore'], 1)} % of a core, relays out of A {watch.max_out}, into B {watch.max_in}")
    return result


def fmt(x, digits: int = 2) -> str:
    return "n/a" if x is None or x != x else f"{x:.{digits}f}"


def mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def ratio(a, b) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def table(runs: list[dict], subscribers: int) -> tuple[str, dict]:
    lines = [f"| run ({subscribers} viewers) | latency p50 / p95 / p99 (ms) | loss | delivered pkt/s | origin A: % of a core | A: CPU-µs per delivered packet | edge B: % of a core | B: CPU-µs per delivered packet | A + B: CPU-µs per delivered packet |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lat = r["latency"]
        both = None if r["cpuAMicrosecondsPerDelivered"] is None or r["cpuBMicrosecondsPerDelivered"] is None \
            else r["cpuAMicrosecondsPerDelivered"] + r["cpuBMicrosecondsPerDelivered"]
        lines.append(f"| {r['kind']} ({r['room']}) | {fmt(lat.get('p50Ms'))} / {fmt(lat.get('p95Ms'))} / {fmt(lat.get('p99Ms'))} "
                     f"| {fmt(r['lossPercent'])} % | {r['deliveredPerSecond']:.0f} | {fmt(r['cpuAPercentOfCore'], 1)} "
                     f"| {fmt(r['cpuAMicrosecondsPerDelivered'])} | {fmt(r['cpuBPercentOfCore'], 1)} "
                     f"| {fmt(r['cpuBMicrosecondsPerDelivered'])} | {fmt(both)} |")
    by = {k: [r for r in runs if r["kind"] == k] for k in ("local", "relayed")}
    avg = {k: {f: mean([r["latency"].get(f) for r in rs]) for f in ("p50Ms", "p95Ms", "p99Ms")} | {
        "cpuA": mean([r["cpuASeconds"] / r["windowSeconds"] if r["cpuASeconds"] is not None else None for r in rs]),
        "cpuB": mean([r["cpuBSeconds"] / r["windowSeconds"] if r["cpuBSeconds"] is not None else None for r in rs]),
        "usA": mean([r["cpuAMicrosecondsPerDelivered"] for r in rs]),
        "usB": mean([r["cpuBMicrosecondsPerDelivered"] for r in rs]),
    } for k, rs in by.items()}
    lo, re_ = avg["local"], avg["relayed"]
    ratios = {
        "latencyP50": ratio(re_["p50Ms"], lo["p50Ms"]), "latencyP95": ratio(re_["p95Ms"], lo["p95Ms"]),
        "latencyP99": ratio(re_["p99Ms"], lo["p99Ms"]),
        "originCPU": ratio(re_["cpuA"], lo["cpuA"]),
        # Everything the cluster spends on the same audience: A + B relayed against A + B local (B idle then).
        "clusterCPU": ratio(None if re_["cpuA"] is None or re_["cpuB"] is None else re_["cpuA"] + re_["cpuB"],
                            None if lo["cpuA"] is None or lo["cpuB"] is None else lo["cpuA"] + lo["cpuB"]),
        "edgeOverLocalOrigin": ratio(re_["cpuB"], lo["cpuA"]),
    }
    lines += ["", "| run | viewers' keyframe wait p50 / max (ms, from the WHEP request) | ICE + DTLS p50 (ms) | signalling, publisher + viewers (s) | packets A relayed / packets the publisher sent |",
              "|---|---|---|---|---|"]
    for r in runs:
        kf, conn = r["keyframeWaitMs"], r["connectMs"]
        relayed = fmt(r["relayedByA"] / r["publisherPacketsSent"]) if r["publisherPacketsSent"] else "n/a"
        lines.append(f"| {r['kind']} ({r['room']}) | {fmt(kf.get('p50'), 0)} / {fmt(kf.get('max'), 0)} | {fmt(conn.get('p50'), 1)} "
                     f"| {fmt(r['signallingSeconds'])} | {relayed} |")
    lines += ["", "| relayed / local | p50 | p95 | p99 | origin A's CPU | A + B CPU | edge B (relayed) / origin A (local) |",
              "|---|---|---|---|---|---|---|",
              f"| ratio | {fmt(ratios['latencyP50'])}× | {fmt(ratios['latencyP95'])}× | {fmt(ratios['latencyP99'])}× "
              f"| {fmt(ratios['originCPU'])}× | {fmt(ratios['clusterCPU'])}× | {fmt(ratios['edgeOverLocalOrigin'])}× |"]
    return "\n".join(lines), {"means": avg, "ratios": ratios}


def log_findings(nodes: list[SabhaServer]) -> tuple[list[str], list[str]]:
    """Each log's lines at warning level and above, and its lines that mention a relay or cascading (at any level):
    the first of each kind (the same line but for the time and the viewer's identity) with a count."""
    found, relay_lines = [], []
    for srv in nodes:
        warnings: dict[str, tuple[str, int]] = {}
        relays: dict[str, tuple[str, int]] = {}
        for line in srv.log_text().splitlines():
            parts = line.split(" ", 2)
            kind = re.sub(r"identity=\S+ ", "", parts[-1])
            if len(parts) == 3 and parts[0][:4].isdigit() and parts[1] in ("warning", "error", "critical"):
                first, n = warnings.get(kind, (line, 0))
                warnings[kind] = (first, n + 1)
            # Not the command line, the outbox relay's lines, nor a room name or path that says "cascade".
            bare = re.sub(r"\S*/tmp/\S*|room=\S+|outbox relay", "", line.lower())
            if not line.startswith("$ ") and re.search(r"relay|cascad", bare):
                first, n = relays.get(kind, (line, 0))
                relays[kind] = (first, n + 1)
        name = srv.data_dir.name
        found += [f"{name}: {first[:300]}" + (f"  (x{n})" if n > 1 else "") for first, n in warnings.values()]
        relay_lines += [f"{name}: {first[:300]}" + (f"  (x{n})" if n > 1 else "") for first, n in relays.values()]
    return found, relay_lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sabha", required=True, type=Path)
    ap.add_argument("--loadgen", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--simulcast", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # `timeout` in the shell: stop the servers on the way out
    args.clip_args = ["--simulcast"] if args.simulcast else []

    # Encode the clip first (cached under /tmp/sabha-loadgen-cache), so that no run pays for it.
    subprocess.run([str(args.loadgen), "--encode-only", *args.clip_args], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=False)

    nodes = Nodes(args.sabha, args.work, args.database_url)
    runs: list[dict] = []
    problems: list[str] = []
    notes: list[str] = []
    order = ["local", "relayed"] if args.repeats == 1 else (["local", "relayed", "relayed", "local"] * args.repeats)[:2 * args.repeats]
    try:
        a = nodes.start("nodeA")
        b = nodes.start("nodeB")
        key = admin_key(a)
        deadline = time.monotonic() + 15
        while True:   # both alive in the cluster view before anything is placed
            view = get_json(a, "/api/cluster", key) or {}
            alive = sorted(n.get("url", n.get("id", "")).rstrip("/") for n in view.get("nodes", []) if n.get("alive"))
            if alive == sorted([a.base_url, b.base_url]):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"GET /api/cluster on A does not list A and B alive: {view}")
            time.sleep(0.2)
        for i, kind in enumerate(order):
            try:
                runs.append(loadgen_run(args, a, b, kind, f"cascade-{kind}-{i}", key))
            except AssertionError as exc:
                problems.append(str(exc))
                say(str(exc))
            time.sleep(2)   # sessions ended; let the nodes settle (heartbeat, relay torn down) before the next run
        # The relay's teardown: once the last viewer has gone, the edge closes it after its idle time (10 s at the
        # time of writing), and the origin stops listing it. Waited for, up to 25 s, when a relayed run came last.
        if any(r["kind"] == "relayed" for r in runs):
            t0 = time.monotonic()
            while True:
                views = {"A": get_json(a, "/api/cluster", key), "B": get_json(b, "/api/cluster", key)}
                listed = {n: ((v or {}).get("relays") or {}) for n, v in views.items()}
                if not any(r.get("out") or r.get("in") for r in listed.values()):
                    notes.append(f"relays gone from GET /api/cluster on A and B {time.monotonic() - t0 + 2:.0f} s after the last run ended")
                    break
                if time.monotonic() - t0 > 25:
                    problems.append(f"relays still listed 27 s after the last run ended: {json.dumps(listed)[:400]}")
                    break
                time.sleep(0.5)
    finally:
        stop_seconds = nodes.stop_all()
    for r in runs:
        if r["kind"] == "relayed" and (r["relaysOutOfA"] == 0 or r["relaysIntoB"] == 0):
            problems.append(f"{r['room']}: GET /api/cluster never showed the relay (out of A: {r['relaysOutOfA']}, "
                            f"into B: {r['relaysIntoB']}): were the viewers relayed? {r['watchErrors'][:2]}")
        if (r["kind"] == "relayed") != (r["relayedByA"] > 0) or r["relayedByB"]:
            problems.append(f"{r['room']}: sabha_rtp_relayed_total grew by {r['relayedByA']:.0f} on A and {r['relayedByB']:.0f} on B")
        if r["subscribersConnected"] < args.subscribers or r["subscribersSilent"] or r["authFailures"]:
            problems.append(f"{r['room']}: {r['subscribersConnected']} connected, {r['subscribersSilent']} silent, "
                            f"{r['authFailures']} auth failures; {r['failures'][:2]}")
        for node in ("A", "B"):
            if r[f"drops{node}"]:
                problems.append(f"{r['room']}: {node} dropped packets: {r[f'drops{node}']}; seen at {r['dropTimes'][:6]} "
                                "(seconds from the loadgen's start, read each second)")
    findings, relay_lines = log_findings(nodes.started)
    if runs:
        text, derived = table(runs, args.subscribers)
        print(text)
    else:
        derived = {}
    print()
    for r in runs:
        if r["kind"] == "relayed" and r["relaySample"]:
            print(f"GET /api/cluster during {r['room']} (most viewers on B): {json.dumps(r['relaySample'])[:400]}")
    print(f"Server log lines at warning level or above: {len(findings)}")
    for line in findings[:40]:
        print(f"  {line}")
    print(f"Log lines about relays or cascading (first {min(len(relay_lines), 30)}):")
    for line in relay_lines:
        print(f"  {line}")
    print("Stopping each node (SIGTERM to exit): " + ", ".join(f"{n} {s:.2f} s (exit {c})" for n, (s, c) in stop_seconds.items()))
    for n in notes:
        print(f"Note: {n}")
    if problems:
        print("PROBLEMS:")
        for p in problems:
            print(f"  {p}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, **derived, "problems": problems, "notes": notes, "logFindings": findings,
                                         "relayLogLines": relay_lines}, indent=2) + "\n")
    return 1 if problems or len(runs) < len(order) else 0


if __name__ == "__main__":
    sys.exit(main())

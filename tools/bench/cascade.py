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

--spread N (spread_main): N nodes A, B, C, D; one loadgen with the publisher on A and --subscribers viewers, first all
on A ("local"), then dealt evenly over the nodes with --subscriber-group (A's as they are, the others' with
cascade=1: "spread"). Per node: its viewers' loss and latency (the loadgen's groups), its CPU over the window
(--server-pid, --second-server-pid, --extra-server-pid), the viewers its heartbeat reported in GET /api/cluster and
its relays; per run: the nodes' CPU together and the packets A relayed against the publisher's.

--meeting (meeting_main): a /ws meeting instead of a broadcast (docs/cluster.md, "A meeting across nodes"): the
loadgen's meeting mode with MEETING_PARTICIPANTS participants (each publishing Opus + simulcast VP8 and receiving
everyone) and --viewers viewers (role viewer: they publish nothing and receive every participant's tracks), every
/ws on A, which holds the room. Each run starts both nodes afresh (A's --max-viewers differs):
- local:   A with --max-viewers 0 (no limit): every viewer's media on A;
- relayed: A with --max-viewers MEETING_LOCAL_VIEWERS: that many viewers' media on A, the others' on B, which
           receives each of the meeting's tracks once over a relay from A.
Per run: the viewers' loss and latency (the loadgen's meeting.viewers) and the participants' own flows, the node each
viewer's answer named (its media port), A's and B's CPU over the window (--server-pid, --second-server-pid), and from
B's GET /api/cluster (read each second) its meetingMedia (the viewers' transports it serves) and relays.in.
"""

from __future__ import annotations

import argparse
import dataclasses
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

    def start(self, name: str, extra: tuple[str, ...] = ()) -> SabhaServer:
        port = free_tcp_port()
        srv = SabhaServer(binary=self.sabha, data_dir=self.work / name, log_path=self.work / f"{name}.log",
                          extra_args=["--database", self.database_url, "--public-url", f"http://127.0.0.1:{port}", *extra],
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
    """Reads GET /api/cluster on every node each second while a run goes: the most relays seen out of A and into
    each other node (of this run's room), the most meeting viewers' transports each other node serves for this room
    (relays.meetingMedia), the most viewers each node's heartbeat reported (A's view of the cluster), the answers
    that listed the most relayed viewers, and when a drop counter grew."""

    def __init__(self, nodes: dict[str, SabhaServer], key: str, room: str) -> None:
        super().__init__(daemon=True)
        self.nodes, self.key, self.room = nodes, key, room
        self.names = list(nodes)   # A first: the node holding the room
        self.by_url = {srv.base_url: name for name, srv in nodes.items()}
        self.stop_event = threading.Event()
        self.max_out = 0
        self.max_in = {name: 0 for name in self.names[1:]}
        self.max_viewers = {name: 0 for name in self.names}       # nodes[].viewers in A's GET /api/cluster
        self.max_relayed_viewers = {name: 0 for name in self.names[1:]}   # relays.in[].viewers on each edge
        self.max_media = {name: 0 for name in self.names[1:]}   # relays.meetingMedia of this room on each edge
        self.sample: dict = {}
        self.errors: list[str] = []
        self.started = time.monotonic()
        # Drops by node and reason, read each second: when in the run a counter grew (seconds from the start).
        self.last_drops: dict[str, dict[str, float]] = {name: drops(metrics(srv)) for name, srv in nodes.items()}
        self.drop_times: list[str] = []

    @property
    def max_in_b(self) -> int:
        return self.max_in.get("B", 0)

    @staticmethod
    def relays(view: dict | None, direction: str, room: str) -> list[dict]:
        listed = ((view or {}).get("relays") or {}).get(direction)
        return [r for r in listed if r.get("room") == room] if isinstance(listed, list) else []

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            views = {name: get_json(srv, "/api/cluster", self.key) for name, srv in self.nodes.items()}
            for name, v in views.items():
                if v is None or "error" in v or "status" in v:
                    if len(self.errors) < 5:
                        self.errors.append(f"GET /api/cluster on {name}: {v}")
            for name, node in self.nodes.items():
                now = drops(metrics(node))
                grew = {k: v - self.last_drops[name].get(k, 0) for k, v in now.items() if v > self.last_drops[name].get(k, 0)}
                if grew and now:
                    self.drop_times.append(f"{name} +{time.monotonic() - self.started:.0f} s: {grew}")
                    self.last_drops[name] = now
            for node in (views[self.names[0]] or {}).get("nodes") or []:
                name = self.by_url.get(str(node.get("url", node.get("id", ""))).rstrip("/"))
                if name:
                    self.max_viewers[name] = max(self.max_viewers[name], int(node.get("viewers") or 0))
            out = self.relays(views[self.names[0]], "out", self.room)
            self.max_out = max(self.max_out, len(out))
            into = {name: self.relays(views[name], "in", self.room) for name in self.names[1:]}
            media = {name: self.relays(views[name], "meetingMedia", self.room) for name in self.names[1:]}
            for name, listed in into.items():
                self.max_in[name] = max(self.max_in[name], len(listed))
                self.max_relayed_viewers[name] = max(self.max_relayed_viewers[name], sum(r.get("viewers") or 0 for r in listed))
                self.max_media[name] = max(self.max_media[name], len(media[name]))
            viewers = sum(r.get("viewers") or 0 for listed in into.values() for r in listed)
            if (out or any(into.values())) and viewers >= self.sample.get("viewers", 0):
                self.sample = {"viewers": viewers, "A.relays.out": out} | {f"{n}.relays.in": listed for n, listed in into.items()} \
                    | {f"{n}.meetingMedia": listed for n, listed in media.items() if listed}


def grew_by(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0) - before.get(name, 0)


def cpu_share(cpu: float | None, seconds: float, delivered: float) -> tuple[float | None, float | None]:
    """CPU seconds over a window as % of a core, and CPU-µs per packet delivered in it (None where unknown)."""
    return (None if cpu is None else 100 * cpu / seconds,
            None if cpu is None or delivered <= 0 else cpu * 1e6 / delivered)


def loadgen_command(args, a: SabhaServer, second: SabhaServer, room: str) -> list[str]:
    """What every run starts from: the loadgen's one publisher on A (--server), --subscribers viewers over --duration,
    the CPU of A (--server-pid) and of a second node (--second-server-pid), the clip."""
    return [str(args.loadgen), "--server", a.base_url, "--data-dir", str(a.data_dir), "--room", room,
            "--publishers", "1", "--subscribers", str(args.subscribers), "--duration", f"{args.duration}s",
            "--server-pid", str(a.proc.pid), "--second-server-pid", str(second.proc.pid), *args.clip_args]


def run_loadgen(args, cmd: list[str], nodes: dict[str, SabhaServer], kind: str, room: str, key: str, ok: tuple[int, ...] = (0,)):
    """Runs the loadgen (`cmd`, its stderr kept in the work directory) while a ClusterWatch reads the nodes, with each
    node's /metrics before and after. Returns (its summary, the watch, seconds it took, metrics before, after);
    AssertionError when it timed out, printed nothing or exited with a status not in `ok` (the meeting mode's 2 is
    a run that did not pass, its summary printed)."""
    before = {name: metrics(srv) for name, srv in nodes.items()}
    watch = ClusterWatch(nodes, key, room)
    watch.start()
    say(f"{kind}: {' '.join(cmd[1:])}")
    stderr_path = args.work / f"loadgen-{room}.stderr"
    t0 = time.monotonic()
    try:
        with open(stderr_path, "wb") as err:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, timeout=args.run_timeout)
    except subprocess.TimeoutExpired:
        out = None
    finally:
        watch.stop_event.set()
        watch.join(timeout=5)
    took = time.monotonic() - t0
    after = {name: metrics(srv) for name, srv in nodes.items()}
    tail = stderr_path.read_text(errors="replace").splitlines()[-4:]
    if out is None or out.returncode not in ok or not out.stdout.strip():
        code = "timeout" if out is None else out.returncode
        raise AssertionError(f"{kind} run: the loadgen failed ({code}) after {took:.0f} s:\n  " + "\n  ".join(tail))
    return json.loads(out.stdout), watch, took, before, after


def summary_fields(summary: dict) -> dict:
    """The loadgen's figures for all its viewers, as a run's result has them."""
    w, t = summary["window"], summary["totals"]
    return {
        "subscribersConnected": summary["setup"]["subscribersConnected"], "failures": summary["setup"]["failures"][:5],
        "latency": t["latency"], "lossPercent": t["lossPercent"], "subscribersSilent": t["subscribersSilent"],
        "authFailures": t["authFailures"], "windowSeconds": w["seconds"], "deliveredPerSecond": w["packetsReceivedPerSecond"],
        "publisherPacketsPerSecond": w["packetsSentPerSecond"], "generatorCPUSeconds": w["generatorCPUSeconds"],
    }


def run_said(args, kind: str, result: dict) -> str:
    """The start of the line said after a run: viewers connected, loss and latency."""
    lat = result["latency"]
    return (f"{kind}: {result['subscribersConnected']}/{args.subscribers} connected, loss {result['lossPercent']} %, latency p50 "
            f"{lat.get('p50Ms')} p95 {lat.get('p95Ms')} p99 {lat.get('p99Ms')} ms")


def loadgen_run(args, a: SabhaServer, b: SabhaServer, kind: str, room: str, key: str) -> dict:
    cmd = loadgen_command(args, a, b, room)
    if kind == "relayed":
        cmd += ["--subscriber-server", b.base_url, "--whep-query", "cascade=1"]
    summary, watch, took, before, after = run_loadgen(args, cmd, {"A": a, "B": b}, kind, room, key)
    w, t = summary["window"], summary["totals"]
    delivered = w["packetsReceivedPerSecond"] * w["seconds"]
    result = {
        "kind": kind, "room": room, "loadgenSeconds": round(took, 1), **summary_fields(summary),
        "dropTimes": watch.drop_times, "relaysOutOfA": watch.max_out, "relaysIntoB": watch.max_in_b, "relaySample": watch.sample, "watchErrors": watch.errors,
        "dropsA": grown(before["A"], after["A"], "sabha_dropped_packets_total"),
        "dropsB": grown(before["B"], after["B"], "sabha_dropped_packets_total"),
        # Packets A sent over relays during the whole loadgen run, against all the publisher sent (1.0: each once).
        "relayedByA": grew_by(before["A"], after["A"], "sabha_rtp_relayed_total"),
        "relayedByB": grew_by(before["B"], after["B"], "sabha_rtp_relayed_total"),
        "publisherPacketsSent": t["packetsSent"],
        "keyframeWaitMs": summary["subscribers"]["keyframeWaitMs"], "connectMs": summary["setup"]["connectMs"],
        "signallingSeconds": summary["setup"]["signallingSeconds"],
        "summary": summary,
    }
    for node, field in (("A", "serverCPUSeconds"), ("B", "secondServerCPUSeconds")):
        cpu = w.get(field)
        result[f"cpu{node}Seconds"] = cpu
        result[f"cpu{node}PercentOfCore"], result[f"cpu{node}MicrosecondsPerDelivered"] = cpu_share(cpu, w["seconds"], delivered)
    say(run_said(args, kind, result) + f", A {fmt(result['cpuAPercentOfCore'], 1)} % "
        f"B {fmt(result['cpuBPercentOfCore'], 1)} % of a core, relays out of A {watch.max_out}, into B {watch.max_in_b}")
    return result


def spread_groups(args, nodes: dict[str, SabhaServer], kind: str) -> list[tuple[str, int, str]]:
    """(node, viewers, --subscriber-group) of a run: "local" puts every viewer on A; "spread" a share on each node,
    A's without a query and the others' with cascade=1 (A takes the remainder of an uneven split)."""
    a = nodes["A"]
    if kind == "local":
        return [("A", args.subscribers, f"{args.subscribers}@{a.base_url}")]
    share = args.subscribers // len(nodes)
    counts = {name: share for name in nodes} | {"A": args.subscribers - share * (len(nodes) - 1)}
    return [(name, counts[name], f"{counts[name]}@{srv.base_url}" + ("" if name == "A" else "?cascade=1")) for name, srv in nodes.items()]


def spread_run(args, nodes: dict[str, SabhaServer], kind: str, room: str, key: str) -> dict:
    """One run of --spread: the loadgen's one publisher on A and its viewers dealt over the nodes (--subscriber-group,
    in turn: A, B, C, A, ...), every node's CPU over the window (--server-pid A, --second-server-pid B,
    --extra-server-pid C...)."""
    a, names = nodes["A"], list(nodes)
    groups = spread_groups(args, nodes, kind)
    cmd = loadgen_command(args, a, nodes["B"], room)
    for name in names[2:]:
        cmd += ["--extra-server-pid", str(nodes[name].proc.pid)]
    for _, _, group in groups:
        cmd += ["--subscriber-group", group]
    summary, watch, took, before, after = run_loadgen(args, cmd, nodes, kind, room, key)
    w, t = summary["window"], summary["totals"]
    cpus = [w.get("serverCPUSeconds"), w.get("secondServerCPUSeconds"), *(w.get("extraServerCPUSeconds") or [])]
    by_group = dict(zip([g[0] for g in groups], summary.get("groups") or []))
    per_node = {}
    for name, cpu in zip(names, cpus):
        g = by_group.get(name)
        delivered = g["packetsReceivedPerSecond"] * w["seconds"] if g else 0
        percent, per_delivered = cpu_share(cpu, w["seconds"], delivered)
        per_node[name] = {
            "viewers": g["subscribers"] if g else 0, "connected": g["connected"] if g else 0,
            "silent": g["silent"] if g else 0, "notSignalled": g["notSignalled"] if g else 0,
            "lossPercent": g["lossPercent"] if g else None, "latency": g["latency"] if g else {},
            "deliveredPerSecond": g["packetsReceivedPerSecond"] if g else 0,
            "keyframeWaitMs": g["keyframeWaitMs"] if g else {}, "authFailures": g["authFailures"] if g else 0,
            "groupFailures": g["failures"] if g else [],
            "cpuSeconds": cpu, "cpuPercentOfCore": percent, "cpuMicrosecondsPerDelivered": per_delivered,
            "clusterViewersMax": watch.max_viewers.get(name), "relayedViewersMax": watch.max_relayed_viewers.get(name),
            "relaysIn": watch.max_in.get(name),
            "drops": grown(before[name], after[name], "sabha_dropped_packets_total"),
            "relayed": grew_by(before[name], after[name], "sabha_rtp_relayed_total"),
        }
    cluster_cpu = None if any(c is None for c in cpus) else sum(cpus)
    cluster_percent, cluster_per_delivered = cpu_share(cluster_cpu, w["seconds"], w["packetsReceivedPerSecond"] * w["seconds"])
    result = {
        "kind": kind, "room": room, "loadgenSeconds": round(took, 1), "nodes": per_node, **summary_fields(summary),
        "clusterCPUSeconds": cluster_cpu, "clusterCPUPercentOfCore": cluster_percent,
        "clusterMicrosecondsPerDelivered": cluster_per_delivered,
        "relaysOutOfA": watch.max_out, "relaySample": watch.sample, "watchErrors": watch.errors, "dropTimes": watch.drop_times,
        # Packets A sent over relays during the whole loadgen run, against all the publisher sent (each relay once: 1.0 each).
        "relayedByA": per_node["A"]["relayed"], "publisherPacketsSent": t["packetsSent"],
        "connectMs": summary["setup"]["connectMs"], "signallingSeconds": summary["setup"]["signallingSeconds"],
        "settleSeconds": summary["setup"]["settleSeconds"], "summary": summary,
    }
    say(run_said(args, kind, result) + "; "
        + ", ".join(f"{n} {fmt(v['cpuPercentOfCore'], 1)} %" for n, v in per_node.items())
        + f" of a core; relays out of A {watch.max_out}; signalling {result['signallingSeconds']} s, loadgen {took:.0f} s")
    return result


def spread_table(runs: list[dict], subscribers: int) -> tuple[str, dict]:
    lines = [f"| run ({subscribers} viewers) | node | viewers connected / asked | loss | latency p50 / p95 / p99 (ms) | delivered pkt/s "
             "| node: % of a core | node: CPU-µs per packet delivered to its viewers | viewers in GET /api/cluster (max) | relays (max) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        for name, n in r["nodes"].items():
            lat = n["latency"] or {}
            relays = f"{r['relaysOutOfA']} out" if name == "A" else f"{n['relaysIn']} in ({n['relayedViewersMax']} viewers)"
            if not n["viewers"]:   # a node without viewers in this run: its idle cost
                lines.append(f"| {r['kind']} ({r['room']}) | {name} | – | – | – | – | {fmt(n['cpuPercentOfCore'], 1)} (idle) | – "
                             f"| {n['clusterViewersMax']} | {relays} |")
                continue
            lines.append(f"| {r['kind']} ({r['room']}) | {name} | {n['connected']} / {n['viewers']} | {fmt(n['lossPercent'])} % "
                         f"| {fmt(lat.get('p50Ms'))} / {fmt(lat.get('p95Ms'))} / {fmt(lat.get('p99Ms'))} | {n['deliveredPerSecond']:.0f} "
                         f"| {fmt(n['cpuPercentOfCore'], 1)} | {fmt(n['cpuMicrosecondsPerDelivered'])} | {n['clusterViewersMax']} | {relays} |")
    lines += ["", "| run | all viewers: loss | latency p50 / p95 / p99 (ms) | delivered pkt/s | nodes together: % of a core "
              "| nodes together: CPU-µs per delivered packet | generator: % of a core | packets A relayed / packets the publisher sent "
              "| keyframe wait p50 / max (ms) by node | signalling (s) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lat = r["latency"]
        relayed = fmt(r["relayedByA"] / r["publisherPacketsSent"]) if r["publisherPacketsSent"] else "n/a"
        kf = ", ".join(f"{n} {fmt(v['keyframeWaitMs'].get('p50'), 0)} / {fmt(v['keyframeWaitMs'].get('max'), 0)}"
                       for n, v in r["nodes"].items() if v["viewers"])
        lines.append(f"| {r['kind']} ({r['room']}) | {fmt(r['lossPercent'])} % | {fmt(lat.get('p50Ms'))} / {fmt(lat.get('p95Ms'))} / "
                     f"{fmt(lat.get('p99Ms'))} | {r['deliveredPerSecond']:.0f} | {fmt(r['clusterCPUPercentOfCore'], 1)} "
                     f"| {fmt(r['clusterMicrosecondsPerDelivered'])} | {fmt(100 * r['generatorCPUSeconds'] / r['windowSeconds'], 1)} "
                     f"| {relayed} | {kf} | {fmt(r['signallingSeconds'])} |")
    by = {k: [r for r in runs if r["kind"] == k] for k in ("local", "spread")}
    def m(rs, f):
        return mean([f(r) for r in rs])
    avg = {k: {
        "cpuA": m(rs, lambda r: r["nodes"]["A"]["cpuSeconds"] / r["windowSeconds"] if r["nodes"]["A"]["cpuSeconds"] is not None else None),
        "cluster": m(rs, lambda r: r["clusterCPUSeconds"] / r["windowSeconds"] if r["clusterCPUSeconds"] is not None else None),
        **{f: m(rs, lambda r, f=f: r["latency"].get(f)) for f in ("p50Ms", "p95Ms", "p99Ms")},
    } for k, rs in by.items()}
    lo, sp = avg["local"], avg["spread"]
    ratios = {"originCPU": ratio(sp["cpuA"], lo["cpuA"]), "clusterCPU": ratio(sp["cluster"], lo["cluster"]),
              "latencyP50": ratio(sp["p50Ms"], lo["p50Ms"]), "latencyP95": ratio(sp["p95Ms"], lo["p95Ms"]),
              "latencyP99": ratio(sp["p99Ms"], lo["p99Ms"])}
    lines += ["", "| spread / local | A's CPU | all nodes' CPU | latency p50 (all viewers) | p95 | p99 |", "|---|---|---|---|---|---|",
              f"| ratio | {fmt(ratios['originCPU'])}× | {fmt(ratios['clusterCPU'])}× | {fmt(ratios['latencyP50'])}× "
              f"| {fmt(ratios['latencyP95'])}× | {fmt(ratios['latencyP99'])}× |"]
    return "\n".join(lines), {"means": avg, "ratios": ratios}


def audience_problems(r: dict, subscribers: int) -> list[str]:
    """Viewers not connected or silent, packets that failed authentication."""
    if r["subscribersConnected"] < subscribers or r["subscribersSilent"] or r["authFailures"]:
        return [f"{r['room']}: {r['subscribersConnected']} connected, {r['subscribersSilent']} silent, "
                f"{r['authFailures']} auth failures; {r['failures'][:2]}"]
    return []


def drop_problems(r: dict, dropped: dict[str, dict[str, float]]) -> list[str]:
    """The nodes (by name) whose drop counters grew during the run."""
    return [f"{r['room']}: {name} dropped packets: {d}; seen at {r['dropTimes'][:6]} "
            "(seconds from the loadgen's start, read each second)" for name, d in dropped.items() if d]


def spread_problems(r: dict, subscribers: int, edges: list[str]) -> list[str]:
    problems = []
    if r["kind"] == "spread":
        for name in edges:
            n = r["nodes"][name]
            if n["relaysIn"] != 1:
                problems.append(f"{r['room']}: GET /api/cluster on {name} listed at most {n['relaysIn']} relays in (1 expected) {r['watchErrors'][:2]}")
        if r["relaysOutOfA"] != len(edges):
            problems.append(f"{r['room']}: GET /api/cluster on A listed at most {r['relaysOutOfA']} relays out ({len(edges)} expected)")
    relayed_elsewhere = {n: v["relayed"] for n, v in r["nodes"].items() if n != "A" and v["relayed"]}
    if (r["kind"] == "spread") != (r["relayedByA"] > 0) or relayed_elsewhere:
        problems.append(f"{r['room']}: sabha_rtp_relayed_total grew by {r['relayedByA']:.0f} on A, {relayed_elsewhere} elsewhere")
    return problems + audience_problems(r, subscribers) + drop_problems(r, {name: n["drops"] for name, n in r["nodes"].items()})


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


def wait_alive(nodes: dict[str, SabhaServer], key: str, joined: str) -> None:
    """Every node alive in A's cluster view before anything is placed (at most 15 s); `joined` goes between the
    nodes' names in the message."""
    a = nodes["A"]
    deadline = time.monotonic() + 15
    while True:
        view = get_json(a, "/api/cluster", key) or {}
        alive = sorted(n.get("url", n.get("id", "")).rstrip("/") for n in view.get("nodes", []) if n.get("alive"))
        if alive == sorted(srv.base_url for srv in nodes.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"GET /api/cluster on A does not list {joined.join(nodes)} alive: {view}")
        time.sleep(0.2)


def wait_relays_gone(nodes: dict[str, SabhaServer], key: str, joined: str, notes: list[str], problems: list[str]) -> None:
    """The relays' teardown after the last run (at most 25 s): A closes its relays when the publisher stops, the
    other nodes end theirs at their next question (or after their idle time, 10 s at the time of writing, once their
    last viewer has gone)."""
    t0 = time.monotonic()
    while True:
        listed = {n: ((get_json(srv, "/api/cluster", key) or {}).get("relays") or {}) for n, srv in nodes.items()}
        if not any(r.get("out") or r.get("in") for r in listed.values()):
            notes.append(f"relays gone from GET /api/cluster on {joined.join(nodes)} {time.monotonic() - t0 + 2:.0f} s after the last run ended")
            return
        if time.monotonic() - t0 > 25:
            problems.append(f"relays still listed 27 s after the last run ended: {json.dumps(listed)[:400]}")
            return
        time.sleep(0.5)


@dataclasses.dataclass
class Measured:
    runs: list[dict]
    problems: list[str]
    notes: list[str]
    stop_seconds: dict[str, tuple[float, int | None]]   # how long each node took to exit on SIGTERM, its exit code
    started: list[SabhaServer]


def measure(args, names: str, order: list[str], run, relayed_last, joined: str) -> Measured:
    """Starts a node for each name (nodeA, nodeB, ...), waits for all of them alive in A's cluster view, then
    `run(nodes, kind, i, key)` for each kind in `order` (a run that fails, AssertionError, is a problem), 2 s apart;
    when `relayed_last(runs)`, waits for the relays to go. The nodes are stopped whatever happened."""
    nodes_ = Nodes(args.sabha, args.work, args.database_url)
    runs: list[dict] = []
    problems: list[str] = []
    notes: list[str] = []
    try:
        nodes = {name: nodes_.start(f"node{name}") for name in names}
        key = admin_key(nodes["A"])
        wait_alive(nodes, key, joined)
        for i, kind in enumerate(order):
            try:
                runs.append(run(nodes, kind, i, key))
            except AssertionError as exc:
                problems.append(str(exc))
                say(str(exc))
            time.sleep(2)   # sessions ended; let the nodes settle (heartbeat, relay torn down) before the next run
        if relayed_last(runs):
            wait_relays_gone(nodes, key, joined, notes, problems)
    finally:
        stop_seconds = nodes_.stop_all()
    return Measured(runs, problems, notes, stop_seconds, nodes_.started)


def report(args, order: list[str], m: Measured, tabulate, relayed_kind: str, sample_about: str, sample_chars: int) -> int:
    """Prints the tables (`tabulate(runs, subscribers)`), what GET /api/cluster listed with the most relayed viewers
    in each run of `relayed_kind`, the nodes' log findings, how they stopped, the notes and problems; writes the --json
    file. Returns the exit status: 1 when a problem was found or a run is missing."""
    runs, problems, notes = m.runs, m.problems, m.notes
    findings, relay_lines = log_findings(m.started)
    # A node that crashed on the way out, or did not exit within SabhaServer.stop's 10 s of SIGTERM (then killed: -9).
    problems += [f"{n} exited with {c} {s:.1f} s after SIGTERM" for n, (s, c) in m.stop_seconds.items() if c != 0]
    derived = {}
    if runs:
        text, derived = tabulate(runs, args.subscribers)
        print(text)
    print()
    for r in runs:
        if r["kind"] == relayed_kind and r["relaySample"]:
            print(f"GET /api/cluster during {r['room']} ({sample_about}): {json.dumps(r['relaySample'])[:sample_chars]}")
    print(f"Server log lines at warning level or above: {len(findings)}")
    for line in findings[:40]:
        print(f"  {line}")
    print(f"Log lines about relays or cascading (first {min(len(relay_lines), 30)}):")
    for line in relay_lines[:30]:
        print(f"  {line}")
    print("Stopping each node (SIGTERM to exit): " + ", ".join(f"{n} {s:.2f} s (exit {c})" for n, (s, c) in m.stop_seconds.items()))
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


def spread_main(args) -> int:
    """--spread N: N nodes; the same broadcast with every viewer on A ("local"), then spread evenly over the nodes,
    A's local and the others' through relays from A ("spread")."""
    names = "ABCD"[:args.spread]
    order = ["local", "spread"]
    m = measure(args, names, order, lambda nodes, kind, i, key: spread_run(args, nodes, kind, f"spread-{kind}-{i}", key),
                lambda runs: bool(runs) and runs[-1]["kind"] == "spread", ", ")
    for r in m.runs:
        m.problems += spread_problems(r, args.subscribers, list(names[1:]))
    return report(args, order, m, spread_table, "spread", "most relayed viewers", 600)


MEETING_PARTICIPANTS = 4      # who publish (and receive each other); the viewers come on top
MEETING_LOCAL_VIEWERS = 1     # A's --max-viewers in the relayed run: the viewers' media beyond it goes to B
MEETING_TILE = "640x360"      # every video shown in a 2 x 2 grid: the middle simulcast layer (docs/protocol.md)


def meeting_command(args, a: SabhaServer, b: SabhaServer, room: str) -> list[str]:
    """The loadgen's meeting on A (every /ws there): MEETING_PARTICIPANTS participants, --viewers viewers,
    --duration of window, A's and B's CPU and dropped packets over it."""
    return [str(args.loadgen), "--mode", "meeting", "--server", a.base_url, "--data-dir", str(a.data_dir), "--room", room,
            "--participants", str(MEETING_PARTICIPANTS), "--viewers", str(args.viewers), "--tile", MEETING_TILE,
            "--duration", f"{args.duration}s", "--time-limit", f"{args.run_timeout - 10}s",
            "--server-pid", str(a.proc.pid), "--second-server-pid", str(b.proc.pid), "--second-server", b.base_url]


def meeting_run(args, nodes: dict[str, SabhaServer], kind: str, room: str, key: str) -> dict:
    """One meeting run on fresh nodes (A's --max-viewers set by meeting_main for `kind`): the loadgen's summary
    boiled down to what the table shows, with B's GET /api/cluster as the ClusterWatch saw it."""
    a, b = nodes["A"], nodes["B"]
    summary, watch, took, before, after = run_loadgen(args, meeting_command(args, a, b, room), nodes, kind, room, key, ok=(0, 2))
    m = summary["meeting"]
    v = m.get("viewers") or {}
    by_port = {str(srv.udp_port): name for name, srv in nodes.items()}
    media_nodes: dict[str, int] = {}
    for port, count in (v.get("mediaPorts") or {}).items():
        media_nodes[by_port.get(port, f"port {port}")] = media_nodes.get(by_port.get(port, f"port {port}"), 0) + count
    seconds = m["seconds"]
    result = {
        "kind": kind, "room": room, "loadgenSeconds": round(took, 1), "passed": summary["passed"],
        "loadgenProblems": summary["problems"][:5], "participantErrors": summary["setup"]["participantErrors"][:5],
        "joinSeconds": summary["setup"]["joinSeconds"], "settleSeconds": summary["setup"]["settleSeconds"],
        "windowSeconds": seconds, "viewers": v, "viewerMediaNodes": media_nodes,
        "participantFlows": {f: m[f] for f in ("flowsExpected", "flowsArrived", "flowsMissing", "lossPercent", "latency",
                                               "packetsReceivedPerSecond", "missing")},
        "generatorCPUSeconds": m["generatorCPUSeconds"], "kernelDrops": [m["kernelDropsAtServerSocket"], m["kernelDropsAtGeneratorSockets"]],
        "clusterViewersMax": watch.max_viewers, "relaysOutOfA": watch.max_out, "relaysIntoB": watch.max_in_b,
        "relayedViewersMaxB": watch.max_relayed_viewers.get("B"), "meetingMediaB": watch.max_media.get("B"),
        "relaySample": meeting_sample(watch.sample), "watchErrors": watch.errors, "dropTimes": watch.drop_times,
        # Drops in the window (the loadgen's), and over the whole loadgen run: joining, and the teardown, where
        # packets from peers a node has just let go are dropped (as in churn, docs/performance.md).
        "windowDropsA": m["serverDrops"], "windowDropsB": m.get("secondServerDrops"),
        "dropsA": grown(before["A"], after["A"], "sabha_dropped_packets_total"),
        "dropsB": grown(before["B"], after["B"], "sabha_dropped_packets_total"),
        "relayedByA": grew_by(before["A"], after["A"], "sabha_rtp_relayed_total"),
        "relayedByB": grew_by(before["B"], after["B"], "sabha_rtp_relayed_total"),
        "summary": summary,
    }
    for node, field in (("A", "serverCPUSeconds"), ("B", "secondServerCPUSeconds")):
        cpu = m.get(field)
        result[f"cpu{node}Seconds"] = cpu
        result[f"cpu{node}PercentOfCore"] = None if cpu is None else 100 * cpu / seconds
    # The node serving (nearly) every viewer's media, and its CPU per viewer and per packet delivered to its viewers.
    served = "A" if kind == "local" else "B"
    count = media_nodes.get(served, 0)
    delivered = (v.get("packetsReceivedPerSecond") or 0) * seconds * count / max(v.get("viewers") or 1, 1)
    cpu = result[f"cpu{served}Seconds"]
    result |= {"servedBy": served, "servedViewers": count,
               "servedPercentPerViewer": None if cpu is None or not count else 100 * cpu / seconds / count,
               "servedMicrosecondsPerDelivered": cpu_share(cpu, seconds, delivered)[1]}
    lat = v.get("latency") or {}
    say(f"{kind}: viewers' media {media_nodes}, {v.get('connected')}/{args.viewers} connected, loss {v.get('lossPercent')} %, "
        f"latency p50 {lat.get('p50Ms')} p99 {lat.get('p99Ms')} ms; participants' flows {m['flowsArrived']}/{m['flowsExpected']}; "
        f"A {fmt(result['cpuAPercentOfCore'], 1)} % B {fmt(result['cpuBPercentOfCore'], 1)} % of a core; relays into B "
        f"{watch.max_in_b}, B's meetingMedia {watch.max_media.get('B')}; loadgen {took:.0f} s")
    return result


def meeting_sample(sample: dict) -> dict:
    """What GET /api/cluster listed with the most relayed viewers, compact: A's relays out (count), B's relays in
    (publisher, track, from, viewers each) and B's meetingMedia (count, the distinct origins and consumer counts, one
    entry in full)."""
    if not sample:
        return {}
    media = sample.get("B.meetingMedia") or []
    return {"A.relays.out": len(sample.get("A.relays.out") or []),
            "B.relays.in": [{k: r.get(k) for k in ("publisher", "track", "from", "viewers")} for r in sample.get("B.relays.in") or []],
            "B.meetingMedia": {"count": len(media), "participants": len({e.get("participant") for e in media}),
                               "origins": sorted({e.get("origin") for e in media}),
                               "consumers": sorted({e.get("consumers") for e in media}), "first": media[0] if media else None}}


def meeting_problems(r: dict, viewers: int) -> list[str]:
    v, room = r["viewers"], r["room"]
    problems = [f"{room}: the loadgen's meeting did not pass: {r['loadgenProblems'][:3]} {r['participantErrors'][:3]}"] if not r["passed"] else []
    if v.get("connected") != viewers or v.get("silent") or v.get("flowsMissing") or v.get("videoFlowsWithoutKeyframe") or v.get("authFailures"):
        problems.append(f"{room}: viewers connected {v.get('connected')}/{viewers}, silent {v.get('silent')}, flows missing "
                        f"{v.get('flowsMissing')} ({(v.get('missing') or [])[:3]}), video flows without a keyframe "
                        f"{v.get('videoFlowsWithoutKeyframe')}, auth failures {v.get('authFailures')}")
    expected = {"A": viewers} if r["kind"] == "local" else {"A": MEETING_LOCAL_VIEWERS, "B": viewers - MEETING_LOCAL_VIEWERS}
    if r["viewerMediaNodes"] != expected:
        problems.append(f"{room}: the viewers' answers named {r['viewerMediaNodes']} (node: viewers), expected {expected}")
    tracks = 2 * MEETING_PARTICIPANTS
    want = (0, 0, 0) if r["kind"] == "local" else (tracks, tracks, viewers - MEETING_LOCAL_VIEWERS)
    seen = (r["relaysOutOfA"], r["relaysIntoB"], r["meetingMediaB"])
    if seen != want:
        problems.append(f"{room}: GET /api/cluster listed at most {seen[0]} relays out of A, {seen[1]} into B and {seen[2]} "
                        f"transports in B's meetingMedia; expected {want} {r['watchErrors'][:2]}")
    if r["participantFlows"]["flowsMissing"]:
        problems.append(f"{room}: participants' flows missing: {r['participantFlows']['missing'][:3]}")
    if (r["kind"] == "relayed") != (r["relayedByA"] > 0) or r["relayedByB"]:
        problems.append(f"{room}: sabha_rtp_relayed_total grew by {r['relayedByA']:.0f} on A and {r['relayedByB']:.0f} on B")
    if r["windowDropsA"] or r["windowDropsB"] is None or r["windowDropsB"]:
        problems.append(f"{room}: dropped packets in the window: A {r['windowDropsA']}, B {r['windowDropsB']}")
    return problems


def meeting_table(runs: list[dict], viewers: int) -> tuple[str, dict]:
    lines = [f"| run ({MEETING_PARTICIPANTS} participants, {viewers} viewers) | viewers' media on | viewers: loss | viewers: latency p50 / p95 / p99 (ms) "
             "| viewers: pkt/s | participants' flows: arrived, loss | origin A: % of a core | B: % of a core | A + B | serving node: % of a core per viewer "
             "| serving node: CPU-µs per packet to its viewers |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        v, p = r["viewers"], r["participantFlows"]
        lat = v.get("latency") or {}
        both = None if r["cpuAPercentOfCore"] is None or r["cpuBPercentOfCore"] is None else r["cpuAPercentOfCore"] + r["cpuBPercentOfCore"]
        on = ", ".join(f"{n} {c}" for n, c in sorted(r["viewerMediaNodes"].items()))
        lines.append(f"| {r['kind']} ({r['room']}) | {on} | {fmt(v.get('lossPercent'))} % | {fmt(lat.get('p50Ms'))} / {fmt(lat.get('p95Ms'))} / "
                     f"{fmt(lat.get('p99Ms'))} | {fmt(v.get('packetsReceivedPerSecond'), 0)} | {p['flowsArrived']}/{p['flowsExpected']}, "
                     f"{fmt(p['lossPercent'])} % | {fmt(r['cpuAPercentOfCore'], 1)} | {fmt(r['cpuBPercentOfCore'], 1)} | {fmt(both, 1)} "
                     f"| {r['servedBy']}: {fmt(r['servedPercentPerViewer'], 3)} | {fmt(r['servedMicrosecondsPerDelivered'])} |")
    by = {k: [r for r in runs if r["kind"] == k] for k in ("local", "relayed")}
    avg = {k: {f: mean([(r["viewers"].get("latency") or {}).get(f) for r in rs]) for f in ("p50Ms", "p95Ms", "p99Ms")} | {
        "cpuA": mean([r["cpuAPercentOfCore"] for r in rs]), "cpuB": mean([r["cpuBPercentOfCore"] for r in rs]),
        "perViewer": mean([r["servedPercentPerViewer"] for r in rs]),
    } for k, rs in by.items()}
    lo, re_ = avg["local"], avg["relayed"]
    moved = viewers - MEETING_LOCAL_VIEWERS

    def minus(x, y):
        return None if x is None or y is None else x - y

    def both(k):
        return None if k["cpuA"] is None or k["cpuB"] is None else k["cpuA"] + k["cpuB"]
    # Marginal: what each moved viewer saved A, and what each cost B beyond its idle cost (B in the local run).
    saved = minus(lo["cpuA"], re_["cpuA"])
    added = minus(re_["cpuB"], lo["cpuB"])
    ratios = {"latencyP50": ratio(re_["p50Ms"], lo["p50Ms"]), "latencyP95": ratio(re_["p95Ms"], lo["p95Ms"]),
              "latencyP99": ratio(re_["p99Ms"], lo["p99Ms"]), "originCPU": ratio(re_["cpuA"], lo["cpuA"]),
              "clusterCPU": ratio(both(re_), both(lo)),
              "perViewer": ratio(re_["perViewer"], lo["perViewer"]),
              "marginal": ratio(added, saved),
              "savedOnAPerMovedViewer": None if saved is None else saved / moved,
              "addedOnBPerMovedViewer": None if added is None else added / moved}
    lines += ["", "| relayed / local | viewers' latency p50 | p95 | p99 | origin A's CPU | A + B CPU | serving node per viewer "
              "| B's CPU added per viewer / A's CPU saved per viewer (% of a core) |", "|---|---|---|---|---|---|---|---|",
              f"| ratio | {fmt(ratios['latencyP50'])}× | {fmt(ratios['latencyP95'])}× | {fmt(ratios['latencyP99'])}× | {fmt(ratios['originCPU'])}× "
              f"| {fmt(ratios['clusterCPU'])}× | {fmt(ratios['perViewer'])}× | {fmt(ratios['marginal'])}× "
              f"({fmt(ratios['addedOnBPerMovedViewer'], 3)} / {fmt(ratios['savedOnAPerMovedViewer'], 3)}) |"]
    lines += ["", "| run | joining (s) | settling (s) | generator: % of a core | viewers in A's /api/cluster (max, by node) | relays out of A / into B (max) "
              "| B's meetingMedia (max) | packets A relayed | kernel drops: servers' sockets / others |", "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['kind']} ({r['room']}) | {fmt(r['joinSeconds'], 1)} | {fmt(r['settleSeconds'], 1)} "
                     f"| {fmt(100 * r['generatorCPUSeconds'] / r['windowSeconds'], 1)} | {', '.join(f'{n} {c}' for n, c in r['clusterViewersMax'].items())} "
                     f"| {r['relaysOutOfA']} / {r['relaysIntoB']} "
                     f"| {r['meetingMediaB']} | {r['relayedByA']:.0f} | {r['kernelDrops'][0]} / {r['kernelDrops'][1]} |")
    return "\n".join(lines), {"means": avg, "ratios": ratios}


def meeting_main(args) -> int:
    """--meeting: the same meeting twice or more (local, relayed; ABBA with --repeats 2), each on two fresh nodes:
    A, holding the room, with --max-viewers 0 (local) or MEETING_LOCAL_VIEWERS (relayed), and B."""
    order = ["local", "relayed"] if args.repeats == 1 else (["local", "relayed", "relayed", "local"] * args.repeats)[:2 * args.repeats]
    runs, problems, notes, stop_seconds, started = [], [], [], {}, []
    for i, kind in enumerate(order):
        limit = "0" if kind == "local" else str(MEETING_LOCAL_VIEWERS)
        nodes_ = Nodes(args.sabha, args.work, args.database_url)
        try:
            nodes = {"A": nodes_.start(f"nodeA-{i}-{kind}", ("--max-viewers", limit)), "B": nodes_.start(f"nodeB-{i}-{kind}")}
            key = admin_key(nodes["A"])
            wait_alive(nodes, key, " and ")
            runs.append(meeting_run(args, nodes, kind, f"meeting-{kind}-{i}", key))
            time.sleep(2)   # everyone left; the edge closes its relays and transports
            if kind == "relayed":
                wait_relays_gone(nodes, key, " and ", notes, problems)
        except AssertionError as exc:
            problems.append(str(exc))
            say(str(exc))
        finally:
            stop_seconds |= nodes_.stop_all()
            started += nodes_.started
    for r in runs:
        problems += meeting_problems(r, args.viewers)
        dropped = {n: {k.split('"')[1]: v for k, v in d.items()} for n, d in (("A", r["dropsA"]), ("B", r["dropsB"])) if d}
        if dropped:
            notes.append(f"{r['room']}: packets dropped over the whole loadgen run: {dropped} (in the window: A {r['windowDropsA']}, "
                         f"B {r['windowDropsB']}), seen at {r['dropTimes'][:4]} (s from the loadgen's start; it took {r['loadgenSeconds']} s)")
    m = Measured(runs, problems, notes, stop_seconds, started)
    return report(args, order, m, lambda rs, _: meeting_table(rs, args.viewers), "relayed",
                  "the most relayed viewers: A's relays out, B's relays in and meetingMedia", 2400)


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
    ap.add_argument("--spread", type=int, default=0, help="nodes (2-4): all viewers on A, then spread over the nodes")
    ap.add_argument("--meeting", action="store_true", help="a /ws meeting's viewers: all on A, then all but a few on B")
    ap.add_argument("--viewers", type=int, default=60, help="--meeting: the meeting's viewers")
    args = ap.parse_args()
    # A loadgen run: signalling (slower with more viewers in a debug build), settling, the window, 2 s of drain,
    # ending the sessions; a meeting's participants and viewers join one after another, then leave and the loadgen
    # waits for the server's idle (at most 30 s).
    args.run_timeout = args.duration + (100 if args.meeting else 60 if args.spread else 30)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # `timeout` in the shell: stop the servers on the way out
    args.clip_args = ["--simulcast"] if args.simulcast else []

    # Encode the clip first (cached under /tmp/sabha-loadgen-cache), so that no run pays for it.
    encode = ["--mode", "meeting"] if args.meeting else args.clip_args
    subprocess.run([str(args.loadgen), "--encode-only", *encode], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=False)

    if args.meeting:
        return meeting_main(args)
    if args.spread:
        return spread_main(args)
    order = ["local", "relayed"] if args.repeats == 1 else (["local", "relayed", "relayed", "local"] * args.repeats)[:2 * args.repeats]
    # The relay's teardown is waited for (up to 25 s) when a relayed run came: once the last viewer has gone, the edge
    # closes it after its idle time, and the origin stops listing it.
    m = measure(args, "AB", order,
                lambda nodes, kind, i, key: loadgen_run(args, nodes["A"], nodes["B"], kind, f"cascade-{kind}-{i}", key),
                lambda runs: any(r["kind"] == "relayed" for r in runs), " and ")
    problems = m.problems
    for r in m.runs:
        if r["kind"] == "relayed" and (r["relaysOutOfA"] == 0 or r["relaysIntoB"] == 0):
            problems.append(f"{r['room']}: GET /api/cluster never showed the relay (out of A: {r['relaysOutOfA']}, "
                            f"into B: {r['relaysIntoB']}): were the viewers relayed? {r['watchErrors'][:2]}")
        if (r["kind"] == "relayed") != (r["relayedByA"] > 0) or r["relayedByB"]:
            problems.append(f"{r['room']}: sabha_rtp_relayed_total grew by {r['relayedByA']:.0f} on A and {r['relayedByB']:.0f} on B")
        problems += audience_problems(r, args.subscribers) + drop_problems(r, {"A": r["dropsA"], "B": r["dropsB"]})
    return report(args, order, m, table, "relayed", "most viewers on B", 400)


if __name__ == "__main__":
    sys.exit(main())

"""The work of tools/bench/cluster-store.sh (run it through that script: it picks the binary, starts the scratch
PostgreSQL cluster and cleans up).

1. Store cost: one `sabha serve` on its SQLite file and one on a PostgreSQL database (and, with --durable-url, one
   more once the scratch cluster's durability is back on); on each, --requests sequential admin calls of each kind
   (POST /api/rooms, GET /api/rooms/{room}, GET /api/audit?limit=50 with 60 entries in the trail) over one keep-alive
   HTTP connection, each timed from sending the request to the end of the answer; and as many GET /healthz (no
   store) for the floor. 10 calls of each kind first, not counted.
2. Join cost in a cluster: nodes A and B on one PostgreSQL database. For --rounds rooms (made and given links
   through A): the first participant joins through A (the direct join, which also takes the room's lease), then a
   second joins through B, which answers `redirect` to A; the client connects to A and sends the same `join`
   (the redirected join, timed from the first connect to `joined`); and, as a control, a third joins through A
   directly into the same running meeting (the redirected and the control join alternate in order from round to
   round). No media: `joined` comes before any offer.

Every phase stops after its count or --limit seconds. Prints the figures as a markdown table; --json FILE also
writes them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from e2ekit.meeting import MeetingSocket  # noqa: E402
from e2ekit.server import SabhaServer, free_tcp_port  # noqa: E402


def say(text: str) -> None:
    print(f"cluster-store: {text}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "median": float("nan"), "p95": float("nan")}
    return {"n": len(values), "median": statistics.median(values), "p95": p95(values), "min": min(values), "max": max(values)}


class Api:
    """The admin API over one keep-alive connection (http.client: less client time per call than requests)."""

    def __init__(self, base_url: str, key: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.key = key
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(self, method: str, path: str, body=None) -> tuple[int, bytes, float]:
        """(status, body, milliseconds from sending the request to the end of the answer)."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.key}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=payload, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                ms = (time.perf_counter() - t0) * 1000
                if resp.getheader("Connection", "").lower() == "close":
                    self.reconnect()
                return resp.status, data, ms
            except (http.client.HTTPException, ConnectionError):
                if attempt == 2:
                    raise
                self.reconnect()   # the server closed an idle keep-alive connection: once more on a new one
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body=None, status: int = 200):
        code, data, _ = self.call(method, path, body)
        assert code == status, f"{method} {path}: {code} {data[:300]!r}"
        return json.loads(data) if data else None

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def close(self) -> None:
        self.conn.close()


class Servers:
    """The servers this run started; each pid also goes into `pid_file` so the shell's trap can stop a server that
    this process could not (killed itself)."""

    def __init__(self, sabha: Path, work: Path, pid_file: Path) -> None:
        self.sabha, self.work, self.pid_file = sabha, work, pid_file
        self.started: list[SabhaServer] = []
        self.stop_seconds: dict[str, tuple[float, int | None]] = {}

    def start(self, name: str, *extra: str, http_port: int = 0) -> SabhaServer:
        srv = SabhaServer(binary=self.sabha, data_dir=self.work / name, log_path=self.work / f"{name}.log",
                          extra_args=list(extra), http_port=http_port)
        self.started.append(srv)
        try:
            srv.start(ready_timeout=60)
        finally:
            if srv.proc is not None:
                with open(self.pid_file, "a") as f:
                    f.write(f"{srv.proc.pid}\n")
        return srv

    def stop(self, srv: SabhaServer) -> None:
        """SIGTERM (SABHA_DRAIN_TIMEOUT=1, as in the e2e kit) and wait; how long that took goes in `stop_seconds`."""
        if srv.proc is None or srv.proc.poll() is not None:
            return
        t0 = time.monotonic()
        code = srv.stop()
        self.stop_seconds[srv.data_dir.name] = (time.monotonic() - t0, code)

    def stop_all(self) -> None:
        for srv in reversed(self.started):
            try:
                self.stop(srv)
            except Exception as exc:   # noqa: BLE001 (the shell's trap kills what is left)
                say(f"stopping {srv.data_dir.name}: {exc}")


def admin_key(srv: SabhaServer) -> str:
    return (srv.data_dir / "admin.key").read_text().strip()


def links(api: Api, room: str, identities: list[str]) -> dict[str, str]:
    made = api.ok("POST", f"/api/rooms/{room}/links", {"participants": [{"identity": i, "role": "participant"} for i in identities]})
    return {link["identity"]: link["token"] for link in made["links"]}


def join_at(base_url: str, token: str, timeout: float = 15) -> tuple[MeetingSocket, dict]:
    ws = MeetingSocket(base_url, timeout=timeout)
    ws.send({"type": "join", "version": 1, "token": token, "name": "b"})
    reply = ws.next(timeout, lambda m: m.get("type") in ("joined", "redirect", "error", "lobby", "server-shutdown"))
    return ws, reply


def leave(ws: MeetingSocket) -> None:
    try:
        ws.send({"type": "leave"})
    except Exception:   # noqa: BLE001
        pass
    ws.close()


# ------------------------------------------------------------------------------------------------------ 1. store

def fill_audit(srv: SabhaServer, api: Api, pairs: int, deadline: float) -> int:
    """`pairs` participants join a room and leave (a `joined` and a `left` event each), so that the audit trail has
    more than 50 entries; returns how many entries GET /api/audit?limit=1000 shows once they are written."""
    api.ok("POST", "/api/rooms", {"name": "audit-fill"}, 201)
    tokens = links(api, "audit-fill", [f"fill-{i}" for i in range(pairs)])
    for token in tokens.values():
        ws, reply = join_at(srv.base_url, token)
        assert reply["type"] == "joined", reply
        leave(ws)
    while True:   # the audit recorder writes in the background
        entries = len(api.ok("GET", "/api/audit?limit=1000"))
        if entries >= 2 * pairs or time.monotonic() > deadline:
            return entries
        time.sleep(0.1)


def store_cost(label: str, srv: SabhaServer, n: int, limit: float) -> dict:
    api = Api(srv.base_url, admin_key(srv))
    try:
        audit_entries = fill_audit(srv, api, 30, time.monotonic() + limit)
        for i in range(10):   # warm-up, not counted: the first calls of each kind pay for lazy set-up
            api.ok("POST", "/api/rooms", {"name": f"warm-{i}"}, 201)
            api.ok("GET", f"/api/rooms/warm-{i}")
            api.ok("GET", "/api/audit?limit=50")
            api.call("GET", "/healthz")
        kinds = {
            "create": lambda i: ("POST", "/api/rooms", {"name": f"bench-{i}", "title": f"Bench {i}"}, 201),
            "get": lambda i: ("GET", f"/api/rooms/bench-{i}", None, 200),
            "audit": lambda i: ("GET", "/api/audit?limit=50", None, 200),
            "healthz": lambda i: ("GET", "/healthz", None, 200),   # no store: the floor of HTTP and this client
        }
        out = {"auditEntries": audit_entries}
        for kind, request in kinds.items():
            times: list[float] = []
            deadline = time.monotonic() + limit
            for i in range(n):
                if time.monotonic() > deadline:
                    say(f"{label} {kind}: stopped at the {limit:.0f} s limit after {i} calls")
                    break
                method, path, body, status = request(i)
                code, data, ms = api.call(method, path, body)
                assert code == status, f"{label}: {method} {path}: {code} {data[:300]!r}"
                if kind == "audit":
                    assert len(json.loads(data)) == 50, f"{label}: the audit call gave {len(json.loads(data))} entries"
                times.append(ms)
            out[kind] = summary(times)
            say(f"{label} {kind}: {len(times)} calls, median {out[kind]['median']:.2f} ms, p95 {out[kind]['p95']:.2f} ms")
        return out
    finally:
        api.close()


# ---------------------------------------------------------------------------------------------------- 2. joins

def ws_base(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme in ("ws", "wss") and parts.path == "/ws", url
    return ("https" if parts.scheme == "wss" else "http") + "://" + parts.netloc


def join_round(a: SabhaServer, b: SabhaServer, api: Api, room: str, control_first: bool) -> dict:
    api.ok("POST", "/api/rooms", {"name": room, "title": room}, 201)
    tokens = links(api, room, ["first", "second", "third"])
    sockets: list[MeetingSocket] = []
    try:
        t0 = time.perf_counter()
        ws, reply = join_at(a.base_url, tokens["first"])
        direct = (time.perf_counter() - t0) * 1000
        sockets.append(ws)
        assert reply["type"] == "joined", f"direct join at A: {reply}"

        def redirected() -> tuple[float, float]:
            t0 = time.perf_counter()
            ws, reply = join_at(b.base_url, tokens["second"])
            at_redirect = (time.perf_counter() - t0) * 1000
            assert reply["type"] == "redirect", f"join at B: {reply} (expected a redirect to A)"
            assert ws_base(reply["url"]) == a.base_url, f"B redirected to {reply['url']}, not A ({a.base_url})"
            ws.close()
            ws, reply = join_at(ws_base(reply["url"]), tokens["second"])
            total = (time.perf_counter() - t0) * 1000
            sockets.append(ws)
            assert reply["type"] == "joined", f"redirected join at A: {reply}"
            return total, at_redirect

        def control() -> float:
            t0 = time.perf_counter()
            ws, reply = join_at(a.base_url, tokens["third"])
            ms = (time.perf_counter() - t0) * 1000
            sockets.append(ws)
            assert reply["type"] == "joined", f"control join at A: {reply}"
            return ms

        if control_first:
            second_direct = control()
            total, at_redirect = redirected()
        else:
            total, at_redirect = redirected()
            second_direct = control()
        return {"direct": direct, "redirected": total, "redirectAnswer": at_redirect, "secondDirect": second_direct}
    finally:
        for ws in sockets:
            leave(ws)


def join_cost(servers: Servers, database_url: str, rounds: int, limit: float) -> dict:
    nodes = []
    for name in ("nodeA", "nodeB"):
        port = free_tcp_port()
        nodes.append(servers.start(name, "--database", database_url, "--public-url", f"http://127.0.0.1:{port}", http_port=port))
    a, b = nodes
    assert admin_key(a) == admin_key(b), "the nodes do not share the admin key"
    api = Api(a.base_url, admin_key(a))
    try:
        cluster = api.ok("GET", "/api/cluster")
        alive = sorted(n["url"] for n in cluster["nodes"] if n.get("alive"))
        assert alive == sorted([a.base_url, b.base_url]), f"GET /api/cluster: {cluster}"
        for i in range(2):   # warm-up, not counted
            join_round(a, b, api, f"warm-join-{i}", bool(i % 2))
        results: list[dict] = []
        deadline = time.monotonic() + limit
        for i in range(rounds):
            if time.monotonic() > deadline:
                say(f"joins: stopped at the {limit:.0f} s limit after {i} rounds")
                break
            results.append(join_round(a, b, api, f"join-{i}", bool(i % 2)))
        out = {k: summary([r[k] for r in results]) for k in ("direct", "redirected", "redirectAnswer", "secondDirect")}
        extra = [r["redirected"] - r["secondDirect"] for r in results]
        out["extraOverSecondDirect"] = summary(extra)
        out["rounds"] = len(results)
        say(f"joins: {len(results)} rounds, direct median {out['direct']['median']:.1f} ms, "
            f"redirected {out['redirected']['median']:.1f} ms, second direct {out['secondDirect']['median']:.1f} ms")
        return out
    finally:
        api.close()


# ------------------------------------------------------------------------------------------------------ the table

def log_findings(servers: Servers) -> list[str]:
    """Each server log's lines at warning level and above (`<time> <level> <label>: …`), the first of each distinct
    text with a count."""
    found: list[str] = []
    for srv in servers.started:
        seen: dict[str, int] = {}
        for line in srv.log_text().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0][:4].isdigit() and parts[1] in ("warning", "error", "critical"):
                text = f"{parts[1]} {parts[2]}"
                seen[text] = seen.get(text, 0) + 1
        for text, count in seen.items():
            found.append(f"{srv.data_dir.name}: {text[:300]}" + (f"  (x{count})" if count > 1 else ""))
    return found


def psql_show(url: str, name: str) -> str:
    out = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-A", "-t", "-d", url, "-c", f"SHOW {name}"],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def fmt(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def table(store: dict, joins: dict, n: int) -> str:
    durable = "durable" in store
    head = "| admin call (sequential, one keep-alive connection) | SQLite median / p95 (ms) | PostgreSQL, scratch settings: median / p95 (ms) | PostgreSQL / SQLite (median, p95) |"
    if durable:
        head += " PostgreSQL, durable: median / p95 (ms) | durable / SQLite (median, p95) |"
    lines = [head, "|---|---|---|---|" + ("---|---|" if durable else "")]
    names = {"create": "`POST /api/rooms`", "get": "`GET /api/rooms/{room}`", "audit": "`GET /api/audit?limit=50`",
             "healthz": "floor: `GET /healthz`, no store"}
    for kind, name in names.items():
        runs = [store["sqlite"][kind], store["postgres"][kind]] + ([store["durable"][kind]] if durable else [])
        s = runs[0]
        counts = {r["n"] for r in runs}
        count = f"{n}" if counts == {n} else " / ".join(str(r["n"]) for r in runs)
        row = f"| {name} ({count} calls) | {fmt(s['median'])} / {fmt(s['p95'])} |"
        for p in runs[1:]:
            row += f" {fmt(p['median'])} / {fmt(p['p95'])} | {p['median'] / s['median']:.2f}× / {p['p95'] / s['p95']:.2f}× |"
        lines.append(row)
    lines += ["", f"| join over /ws, two nodes on one PostgreSQL database ({joins['rounds']} rounds) | median (ms) | p95 (ms) |",
              "|---|---|---|"]
    rows = [("direct: first participant joins through A (A takes the room)", "direct"),
            ("redirected: second participant joins through B, follows the redirect to A (first connect → `joined`)", "redirected"),
            ("  of which: connect to B → `redirect`", "redirectAnswer"),
            ("control: third participant joins through A directly (meeting already running)", "secondDirect"),
            ("redirected − control, same round", "extraOverSecondDirect")]
    for label, key in rows:
        lines.append(f"| {label} | {fmt(joins[key]['median'])} | {fmt(joins[key]['p95'])} |")
    d, r = joins["direct"], joins["redirected"]
    lines.append(f"| redirected − direct (of the medians / of the p95s) | {fmt(r['median'] - d['median'])} | {fmt(r['p95'] - d['p95'])} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sabha", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--store-url", required=True, help="an empty PostgreSQL database for the store phase")
    ap.add_argument("--cluster-url", required=True, help="another empty PostgreSQL database for the two nodes")
    ap.add_argument("--durable-url", help="a third one, for the store phase again once --make-durable has run")
    ap.add_argument("--make-durable", help="a shell command that turns fsync, synchronous_commit and full_page_writes "
                    "back on in the scratch cluster (run between the join phase and --durable-url's store phase)")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # `timeout` in the shell: stop the servers on the way out
    servers = Servers(args.sabha, args.work, args.work / "pids")
    try:
        store = {}
        srv = servers.start("sqlite")
        store["sqlite"] = store_cost("SQLite", srv, args.requests, args.limit)
        servers.stop(srv)
        srv = servers.start("postgres", "--database", args.store_url)
        assert not list(srv.data_dir.glob("*.sqlite*")), "the PostgreSQL server made an SQLite file"
        store["postgres"] = store_cost("PostgreSQL", srv, args.requests, args.limit)
        servers.stop(srv)
        joins = join_cost(servers, args.cluster_url, args.rounds, args.limit)
        for srv in servers.started:
            servers.stop(srv)
        if args.durable_url and args.make_durable:
            subprocess.run(["bash", "-c", args.make_durable], check=True, timeout=60)
            for _ in range(50):   # pg_reload_conf() only signals the postmaster
                settings = {name: psql_show(args.durable_url, name) for name in ("fsync", "synchronous_commit", "full_page_writes")}
                if set(settings.values()) == {"on"}:
                    break
                time.sleep(0.1)
            assert set(settings.values()) == {"on"}, f"durability not on: {settings}"
            say(f"PostgreSQL now {settings}")
            srv = servers.start("postgres-durable", "--database", args.durable_url)
            store["durable"] = store_cost("PostgreSQL durable", srv, args.requests, args.limit)
            servers.stop(srv)
    finally:
        servers.stop_all()
    findings = log_findings(servers)
    print(table(store, joins, args.requests))
    print()
    print(f"Server log lines at warning level or above: {len(findings)}")
    for line in findings[:40]:
        print(f"  {line}")
    print("Stopping each server (SIGTERM to exit): " + ", ".join(
        f"{name} {sec:.2f} s (exit {code})" for name, (sec, code) in servers.stop_seconds.items()))
    if args.json:
        args.json.write_text(json.dumps({"store": store, "joins": joins, "logFindings": findings, "stopSeconds": servers.stop_seconds}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

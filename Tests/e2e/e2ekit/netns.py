"""Two network namespaces joined by a veth pair, with tbf rate limiting and nftables random loss.

Topology (made and removed by the test itself; names and addresses unique per test)::

      namespace S  ("server side")                       namespace V  ("viewer side")
    +------------------------------------+            +---------------------------+
    | lo 127.0.0.1                       |            | lo 127.0.0.1              |
    | sabha serve  --http/--rtc A.1      |            | Chromium viewer (shaped)  |
    | Chromium publisher  -> A.1         |            |   loads http://A.1:PORT   |
    | Chromium viewer (unlimited) -> A.1 |            |                           |
    |            veth <s_if>  A.1/24  ===|============|=== <v_if>  A.2/24 veth     |
    |  tc tbf on <s_if> egress (S->V)    |            |  nft input: udp from A.1  |
    +------------------------------------+            |  (counted, 5% dropped)    |
                                                      +---------------------------+

A = 10.77.<n> with <n> chosen per topology. Only these two addresses and loopback exist: no route
anywhere else. The pytest process itself stays in its own (loopback-only) namespace; everything that
talks to the network runs inside S or V:

- processes: `ip netns exec NS ...` (Topology.command / Topology.popen); a Chromium and its chromedriver
  must share a namespace, so each browser is a child process (e2ekit/browser_child.py);
- short HTTP calls from the test (the server's /healthz): Topology.call_in(ns, fn) runs fn on a fresh
  thread that has joined NS with setns(2) (a network namespace is per thread).

Everything needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) in the initial user namespace: `ip netns add`
bind-mounts under /run/netns. Without it, or without `ip netns`/`tc`, Topology.check() says why to skip.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

CLONE_NEWNET = 0x40000000


def _run(cmd: list[str], timeout: float = 15.0, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return out


def create_or_skip(net) -> None:
    """`net.create()` (a Topology, ClusterNet or any test network with one), skipping the test where namespaces
    cannot be made, e.g. root only in a user namespace (unshare -r): no /run/netns mounts."""
    import pytest

    try:
        net.create()
    except RuntimeError as exc:
        if "netns add" in str(exc):
            pytest.skip(f"cannot create network namespaces here: {exc}")
        raise


def unavailable_reason(need_nft: bool = False) -> str | None:
    """Why this machine cannot build the topology (a skip reason), or None when it can."""
    if os.geteuid() != 0:
        return "needs root: network namespaces (ip netns add), veth and tc"
    for tool in ("ip", "tc") + (("nft",) if need_nft else ()):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian iproute2{' / nftables' if tool == 'nft' else ''})"
    probe = _run(["ip", "netns", "list"], check=False)
    if probe.returncode != 0:
        return f"`ip netns` is unavailable: {probe.stderr.strip()}"
    return None


def end_namespaces(made: list[str]) -> None:
    """Ends every process still inside the namespaces `made` (SIGTERM, then SIGKILL, by pid from `ip netns pids`),
    deletes them, newest first (and with them the veth ends inside), and empties the list."""
    for ns in made:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = _run(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), sig)
                except (ProcessLookupError, ValueError):
                    pass
            if not pids:
                break
            _wait_gone([int(p) for p in pids if p.isdigit()], 3.0)
    for ns in reversed(made):
        _run(["ip", "netns", "del", ns], check=False)
    made.clear()


_counter = 0
_counter_lock = threading.Lock()


def _next_index() -> int:
    global _counter
    with _counter_lock:
        _counter += 1
        return _counter


@dataclass
class Topology:
    """Namespaces S and V, veth s_if (in S, s_addr) <-> v_if (in V, v_addr). Use as a context manager."""

    tag: str = ""
    subnet: int = 0
    s: str = ""
    v: str = ""
    s_if: str = ""
    v_if: str = ""
    log: list[str] = field(default_factory=list)
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = _next_index()
        pid = os.getpid()
        # /run/netns is shared by the whole machine: the names carry our pid; the subnet varies with it so two
        # runs at once (each in its own pytest namespace) never mix, though no route joins them anyway.
        self.tag = self.tag or f"{pid}x{n}"
        self.subnet = self.subnet or (10 + (pid * 7 + n) % 240)
        self.s = self.s or f"sabha-e2e-{self.tag}-S"
        self.v = self.v or f"sabha-e2e-{self.tag}-V"
        # Interface names: at most 15 characters.
        self.s_if = self.s_if or f"ves{self.tag}"[:15]
        self.v_if = self.v_if or f"vev{self.tag}"[:15]

    # ------------------------------------------------------------------ addresses

    @property
    def s_addr(self) -> str:
        return f"10.77.{self.subnet}.1"

    @property
    def v_addr(self) -> str:
        return f"10.77.{self.subnet}.2"

    # ------------------------------------------------------------------ life cycle

    def sh(self, *cmd: str, ns: str | None = None, check: bool = True, timeout: float = 15.0) -> str:
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        out = _run(full, timeout=timeout, check=check)
        self.log.append(f"$ {' '.join(full)}" + (f"\n{out.stdout.strip()}" if out.stdout.strip() else ""))
        return out.stdout

    def create(self) -> "Topology":
        sweep_stale()
        try:
            for ns in (self.s, self.v):
                self.sh("ip", "netns", "add", ns)
                self._made.append(ns)
                self.sh("ip", "link", "set", "lo", "up", ns=ns)
            # Made in our own namespace, then each end moved: nothing is left behind here.
            self.sh("ip", "link", "add", self.s_if, "type", "veth", "peer", "name", self.v_if)
            self.sh("ip", "link", "set", self.s_if, "netns", self.s)
            self.sh("ip", "link", "set", self.v_if, "netns", self.v)
            self.sh("ip", "addr", "add", f"{self.s_addr}/24", "dev", self.s_if, ns=self.s)
            self.sh("ip", "addr", "add", f"{self.v_addr}/24", "dev", self.v_if, ns=self.v)
            self.sh("ip", "link", "set", self.s_if, "up", ns=self.s)
            self.sh("ip", "link", "set", self.v_if, "up", ns=self.v)
            self.wait_reachable()
        except BaseException:
            self.destroy()
            raise
        return self

    def wait_reachable(self, timeout: float = 10.0) -> None:
        """Bounded: both veth ends report carrier (LOWER_UP) and state UP, and no IPv6 address is still tentative
        (duplicate address detection takes a second or two; a Chromium that starts meanwhile sees its link-local
        address change and fails its page loads with ERR_NETWORK_CHANGED)."""
        deadline = time.monotonic() + timeout
        while True:
            states = [_run(["ip", "-n", ns, "-o", "link", "show", "dev", dev], check=False).stdout
                      for ns, dev in ((self.s, self.s_if), (self.v, self.v_if))]
            tentative = [_run(["ip", "-n", ns, "-6", "addr", "show", "tentative"], check=False).stdout.strip()
                         for ns in (self.s, self.v)]
            if all("LOWER_UP" in st and "state UP" in st for st in states) and not any(tentative):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the veth pair did not come up within {timeout}s: {states} {tentative}")
            time.sleep(0.1)

    def destroy(self) -> None:
        """Ends every process still inside our namespaces (by pid, from `ip netns pids`), then deletes them.
        Deleting a namespace destroys the veth pair with it. Safe to call twice, and after a partial create()."""
        for proc in self._procs:
            _end_process_group(proc)
        end_namespaces(self._made)
        # When create() failed before moving the ends, the pair may still sit in our namespace.
        _run(["ip", "link", "del", self.s_if], check=False)

    def __enter__(self) -> "Topology":
        return self.create()

    def __exit__(self, *exc) -> None:
        self.destroy()

    # ------------------------------------------------------------------ running things inside

    def command(self, ns: str, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *cmd]

    def popen(self, ns: str, cmd: list[str], **kwargs) -> subprocess.Popen:
        """Starts cmd inside ns in its own process group (so it and its children can be ended together)."""
        proc = subprocess.Popen(self.command(ns, cmd), start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def call_in(self, ns: str, fn, timeout: float = 30.0):
        """Runs fn() on a new thread that has joined network namespace ns; returns its result (or raises its error)."""
        result: dict = {}

        def body() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns({ns})")
                finally:
                    os.close(fd)
                result["value"] = fn()
            except BaseException as exc:  # handed to the caller
                result["error"] = exc

        t = threading.Thread(target=body, name=f"in-{ns}", daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            raise TimeoutError(f"call in namespace {ns} did not finish within {timeout}s")
        if "error" in result:
            raise result["error"]
        return result.get("value")

    # ------------------------------------------------------------------ shaping (tbf on S's end: media S -> V)

    def shape(self, rate: str = "300kbit", burst: str = "10kb", latency: str = "100ms") -> None:
        self.sh("tc", "qdisc", "add", "dev", self.s_if, "root", "tbf", "rate", rate, "burst", burst, "latency", latency, ns=self.s)

    def unshape(self) -> None:
        self.sh("tc", "qdisc", "del", "dev", self.s_if, "root", ns=self.s)

    def tc_stats(self) -> dict:
        """The root qdisc's counters on S's veth end: {kind, sent_bytes, sent_packets, dropped, overlimits, text}."""
        text = self.sh("tc", "-s", "qdisc", "show", "dev", self.s_if, ns=self.s)
        first = text.strip().splitlines()[0] if text.strip() else ""
        m = re.search(r"Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)", text)
        out = {"kind": first.split()[1] if len(first.split()) > 1 else "", "text": text.strip()}
        if m:
            out |= {"sent_bytes": int(m[1]), "sent_packets": int(m[2]), "dropped": int(m[3]), "overlimits": int(m[4])}
        return out

    # ------------------------------------------------------------------ loss (nftables input hook in V)

    NFT_TABLE = "sabha_e2e_loss"

    def add_loss(self, percent: int, udp_sport: int | None = None) -> None:
        """Drops `percent`% of the UDP datagrams V receives from S (from udp_sport only, when given).
        Two counters: 'seen' (every such datagram) and 'dropped'."""
        match = ["ip", "saddr", self.s_addr, "meta", "l4proto", "udp"]
        if udp_sport is not None:
            match += ["udp", "sport", str(udp_sport)]
        t = self.NFT_TABLE
        self.sh("nft", "add", "table", "inet", t, ns=self.v)
        self.sh("nft", "add", "chain", "inet", t, "in", "{ type filter hook input priority 0 ; policy accept ; }", ns=self.v)
        self.sh("nft", "add", "rule", "inet", t, "in", *match, "counter", "comment", "seen", ns=self.v)
        self.sh("nft", "add", "rule", "inet", t, "in", *match, "numgen", "random", "mod", "100", "lt", str(percent),
                "counter", "drop", "comment", "dropped", ns=self.v)

    def remove_loss(self) -> None:
        self.sh("nft", "delete", "table", "inet", self.NFT_TABLE, ns=self.v, check=False)

    def nft_counters(self) -> dict:
        """{'seen': packets, 'dropped': packets} from the loss table's rule counters."""
        return rule_counters(self.sh("nft", "-j", "list", "table", "inet", self.NFT_TABLE, ns=self.v))


def rule_counters(table_json: str) -> dict[str, int]:
    """Packets per rule comment, from `nft -j list table ...` output."""
    out: dict[str, int] = {}
    for item in json.loads(table_json).get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        for expr in rule.get("expr", []):
            if "counter" in expr:
                out[rule.get("comment", "?")] = expr["counter"]["packets"]
    return out


def sweep_stale() -> None:
    """Deletes namespaces an earlier, killed test run left behind (its pid gone) once nothing runs in them."""
    for line in _run(["ip", "netns", "list"], check=False).stdout.splitlines():
        m = re.match(r"(sabha-e2e-(\d+)x\d+-[SV])\b", line.strip())
        if not m or os.path.exists(f"/proc/{m[2]}"):
            continue
        try:   # and old: a run in another pid namespace has pids we cannot see
            if time.time() - os.stat(f"/run/netns/{m[1]}").st_mtime < 600:
                continue
        except OSError:
            continue
        if not _run(["ip", "netns", "pids", m[1]], check=False).stdout.split():
            _run(["ip", "netns", "del", m[1]], check=False)


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        time.sleep(0.1)


def _end_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(8)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)

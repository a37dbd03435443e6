"""A Sabha cluster in network namespaces on one machine: three `sabha serve` nodes, each in a namespace of its own
(a host of its own), one PostgreSQL for all of them, and the test's participants, all joined by veth links to one
Ethernet segment. The namespaces, links and addresses are made by the test and removed after it.

Topology (A = 10.77.<k>, k chosen per topology; every address is on a veth end the test made)::

      the test's own namespace T (pytest, aiortc participants, PostgreSQL)
        veth <hub_if>  A.1/24      PostgreSQL listens on A.1 (tools/dev/scratch-postgres.sh, SCRATCH_PG_LISTEN)
              |                    participants' ICE host candidates: A.1
      namespace B: bridge br0 (no address; a switch, nothing else runs there)
        |                 |                 |
      namespace N0      namespace N1      namespace N2
      veth A.11/24      veth A.12/24      veth A.13/24
      sabha serve --http A.1x:8080 --rtc A.1x:20000 --public-url http://A.1x:8080 --database postgres://…@A.1:PORT/sabha

The nodes use the same port numbers, as separate machines would. No namespace has a route beyond A.0/24, and T keeps
its loopback-only state otherwise: deleting B and N0..N2 removes every link again (T's veth end goes with its peer).
The participants run in the pytest process itself (T reaches A.0/24 directly): aioice's host-address lookup is
pointed at A.1 while the fixture runs, so their media crosses the hub's link, the bridge and the holding node's link.

Everything needs root in the initial user namespace (`ip netns add` bind-mounts under /run/netns), as e2ekit/netns.py.
Use the fixture by importing it into the test module:
    from e2ekit.cluster_netns import netns_cluster  # noqa: F401 (fixture)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import aioice.ice
import pytest

from e2ekit.cluster import log_sources, stop_nodes
from e2ekit.netns import _next_index, _run, create_or_skip, end_namespaces, unavailable_reason
from e2ekit.postgres import SCRIPT as SCRATCH_POSTGRES
from e2ekit.server import SabhaServer

HTTP_PORT = 8080    # on every node: each is a host of its own
RTC_PORT = 20000

# ------------------------------------------------------------------------------------------------- topology


@dataclass
class ClusterNet:
    """The hub's veth end in T (hub_addr), the bridge namespace B and one namespace per node (node_ns(i),
    node_addr(i)). Use create()/destroy() or as a context manager; destroy() is safe after a partial create()."""

    count: int = 3
    tag: str = ""
    subnet: int = 0
    log: list[str] = field(default_factory=list)
    _made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = _next_index()
        pid = os.getpid()
        self.tag = self.tag or f"{pid}x{n}"
        short = f"{pid % 100000}x{n}"   # interface names: at most 15 characters
        # Not e2ekit/netns.py's 10.77.(10..249): a run of both never shares a namespace anyway, but logs stay clear.
        self.subnet = self.subnet or (10 + (pid * 11 + n * 3) % 240)
        self.bridge_ns = f"sabha-cl-{self.tag}-B"
        self.hub_if = f"cl{short}t"
        self._hub_peer = f"cl{short}h"
        self._node_if = [f"cl{short}n{i}" for i in range(self.count)]
        self._port_if = [f"cl{short}p{i}" for i in range(self.count)]
        assert all(len(name) <= 15 for name in [self.hub_if, self._hub_peer, *self._node_if, *self._port_if])

    # -- addresses

    @property
    def prefix(self) -> str:
        return f"10.77.{self.subnet}"

    @property
    def hub_addr(self) -> str:
        return f"{self.prefix}.1"

    def node_addr(self, i: int) -> str:
        return f"{self.prefix}.{11 + i}"

    def node_ns(self, i: int) -> str:
        return f"sabha-cl-{self.tag}-N{i}"

    def node_if(self, i: int) -> str:
        return self._node_if[i]

    # -- life cycle

    def sh(self, *cmd: str, ns: str | None = None, check: bool = True, timeout: float = 15.0) -> str:
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        out = _run(full, timeout=timeout, check=check)
        self.log.append(f"$ {' '.join(full)}" + (f"\n{out.stdout.strip()}" if out.stdout.strip() else ""))
        return out.stdout

    def _netns(self, name: str) -> None:
        self.sh("ip", "netns", "add", name)
        self._made.append(name)
        self.sh("ip", "link", "set", "lo", "up", ns=name)

    def _no_ipv6(self, dev: str, ns: str | None) -> None:
        """No link-local address, no duplicate address detection: the links carry only what the test sends."""
        self.sh("sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=ns, check=False)

    def create(self) -> "ClusterNet":
        sweep_stale()
        try:
            b = self.bridge_ns
            self._netns(b)
            self.sh("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0", ns=b)
            self._no_ipv6("br0", b)
            self.sh("ip", "link", "set", "br0", "up", ns=b)
            # Every pair is made here in T, then its ends are moved: nothing but the hub's end stays in T.
            links = [(self.hub_if, self._hub_peer, None)] + [(self._node_if[i], self._port_if[i], i) for i in range(self.count)]
            for end, port, i in links:
                self.sh("ip", "link", "add", end, "type", "veth", "peer", "name", port)
                self.sh("ip", "link", "set", port, "netns", b)
                self._no_ipv6(port, b)
                self.sh("ip", "link", "set", port, "master", "br0", ns=b)
                self.sh("ip", "link", "set", port, "up", ns=b)
                if i is None:
                    self._no_ipv6(end, None)
                    self.sh("ip", "addr", "add", f"{self.hub_addr}/24", "dev", end)
                    self.sh("ip", "link", "set", end, "up")
                else:
                    ns = self.node_ns(i)
                    self._netns(ns)
                    self.sh("ip", "link", "set", end, "netns", ns)
                    self._no_ipv6(end, ns)
                    self.sh("ip", "addr", "add", f"{self.node_addr(i)}/24", "dev", end, ns=ns)
                    self.sh("ip", "link", "set", end, "up", ns=ns)
            self.wait_up()
        except BaseException:
            self.destroy()
            raise
        return self

    def wait_up(self, timeout: float = 10.0) -> None:
        """Bounded: every veth end has carrier and is up, and every bridge port forwards."""
        deadline = time.monotonic() + timeout
        ends = [(None, self.hub_if)] + [(self.node_ns(i), self._node_if[i]) for i in range(self.count)]
        while True:
            states = [_run((["ip", "-n", ns] if ns else ["ip"]) + ["-o", "link", "show", "dev", dev], check=False).stdout
                      for ns, dev in ends]
            ports = _run(["ip", "netns", "exec", self.bridge_ns, "bridge", "link", "show"], check=False).stdout
            forwarding = sum(1 for line in ports.splitlines() if "state forwarding" in line)
            if all("LOWER_UP" in st and "state UP" in st for st in states) and forwarding == self.count + 1:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster's links did not come up within {timeout}s: {states} {ports}")
            time.sleep(0.1)

    def destroy(self) -> None:
        """Ends every process still inside our namespaces (SIGTERM, then SIGKILL, by pid from `ip netns pids`),
        deletes the namespaces (and with them every veth pair, the hub's end in T included). Safe to call twice."""
        end_namespaces(self._made)
        for dev in [self.hub_if, *self._node_if]:   # pairs a failed create() left in T
            if _run(["ip", "link", "show", "dev", dev], check=False).returncode == 0:
                _run(["ip", "link", "del", dev], check=False)

    def __enter__(self) -> "ClusterNet":
        return self.create()

    def __exit__(self, *exc) -> None:
        self.destroy()

    # -- what crossed the links

    def link_bytes(self) -> dict[str, tuple[int, int]]:
        """(received, sent) bytes of each veth end: "hub" (T's) and "node0".. (each node's), from `ip -s -j link`."""
        out = {}
        for name, ns, dev in [("hub", None, self.hub_if)] + [(f"node{i}", self.node_ns(i), self._node_if[i]) for i in range(self.count)]:
            text = _run((["ip", "-n", ns] if ns else ["ip"]) + ["-s", "-j", "link", "show", "dev", dev]).stdout
            stats = json.loads(text)[0]["stats64"]
            out[name] = (stats["rx"]["bytes"], stats["tx"]["bytes"])
        return out


def sweep_stale() -> None:
    """Deletes namespaces of this kind that an earlier, killed run left behind (its pid gone, over 10 minutes old)
    once nothing runs in them."""
    for line in _run(["ip", "netns", "list"], check=False).stdout.splitlines():
        m = re.match(r"(sabha-cl-(\d+)x\d+-(?:B|N\d+))\b", line.strip())
        if not m or os.path.exists(f"/proc/{m[2]}"):
            continue
        try:
            if time.time() - os.stat(f"/run/netns/{m[1]}").st_mtime < 600:
                continue
        except OSError:
            continue
        if not _run(["ip", "netns", "pids", m[1]], check=False).stdout.split():
            _run(["ip", "netns", "del", m[1]], check=False)


# ------------------------------------------------------------------------------------------------- PostgreSQL


class HubPostgres:
    """A scratch PostgreSQL 15 cluster (tools/dev/scratch-postgres.sh) in T, listening only on the hub's address."""

    def __init__(self, listen: str) -> None:
        self.listen = listen
        # Directly under /tmp: as root the cluster runs as the postgres user, who cannot enter pytest's tmp_path.
        self.folder = Path(tempfile.mkdtemp(prefix="sabha-pg-netns-", dir="/tmp"))
        self.url = ""

    def _run(self, *args: str, timeout: float = 60) -> str:
        env = {**os.environ, "SCRATCH_PG_LISTEN": self.listen}
        out = subprocess.run(["bash", str(SCRATCH_POSTGRES), args[0], str(self.folder), *args[1:]], capture_output=True,
                             text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError(f"scratch-postgres.sh {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout.strip()

    def start(self) -> str:
        self.url = self._run("start")
        assert self.url.startswith(f"postgres://sabha:sabha@{self.listen}:"), self.url
        return self.url

    def stop(self) -> None:
        try:
            self._run("stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return (self.folder / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""


# ------------------------------------------------------------------------------------------------- the cluster


@dataclass
class NetnsCluster:
    net: ClusterNet
    database_url: str
    nodes: list[SabhaServer]

    def index_of(self, base_url: str) -> int:
        return next(i for i, n in enumerate(self.nodes) if n.base_url == base_url.rstrip("/"))


@pytest.fixture
def netns_cluster(request, sabha_bin, tmp_path):
    """Three `sabha serve` nodes, node i in namespace N<i> at http://A.1<i+1>:8080 (--public-url the same, media on
    A.1<i+1>:20000), on one PostgreSQL at A.1 in T; see the module's docstring. The participants of the test reach
    them from T with host candidates on A.1. Afterwards: nodes stopped, PostgreSQL stopped and deleted, every
    namespace (and every process left in one) removed, aioice's address lookup restored — also when the test failed.
    Skips where namespaces cannot be made (not root in the initial user namespace).

    More options for every node's `sabha serve`, by indirect parametrization:
        @pytest.mark.parametrize("netns_cluster", [{"node_args": ["--max-viewers", "2"]}], indirect=True, ids=["..."])"""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    node_args = list((getattr(request, "param", None) or {}).get("node_args", []))
    net = ClusterNet(count=3)
    create_or_skip(net)
    sources = log_sources(request)
    sources.append(("cluster network commands", lambda: "\n".join(net.log)))
    lookup = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: [net.hub_addr]
    pg: HubPostgres | None = None
    nodes: list[SabhaServer] = []
    try:
        pg = HubPostgres(net.hub_addr)
        sources.append(("postgres log", lambda: pg.log_text()[-8000:]))
        url = pg.start()
        for i in range(net.count):
            addr = net.node_addr(i)
            srv = SabhaServer(binary=sabha_bin, data_dir=tmp_path / f"node{i}", log_path=tmp_path / f"node{i}.log",
                              host=addr, http_port=HTTP_PORT, udp_port=RTC_PORT, prefix=["ip", "netns", "exec", net.node_ns(i)],
                              extra_args=["--database", url, "--public-url", f"http://{addr}:{HTTP_PORT}", *node_args])
            nodes.append(srv)
            sources.append((f"sabha serve log of node {i} (in {net.node_ns(i)}, {addr})", srv.log_text))
            srv.start()
        yield NetnsCluster(net=net, database_url=url, nodes=nodes)
    finally:
        try:
            stop_nodes(nodes)
            if pg is not None:
                pg.stop()
        finally:
            net.destroy()
            aioice.ice.get_host_addresses = lookup


# ------------------------------------------------------------------------------------------------- helpers


def run(coro):
    """asyncio.run with a default executor large enough for every participant's encoders and blocking socket waits
    at once (the default is a handful of threads on a 2-CPU machine)."""
    async def main():
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=48))
        return await coro
    return asyncio.run(main())


def selected_pair(pc) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """((local host, port), (remote host, port)) of the ICE pair aiortc nominated for its (bundled) transport."""
    for t in pc.getTransceivers():
        ice = t.sender.transport.transport if t.sender.transport else None
        conn = getattr(ice, "_connection", None)
        pair = conn._nominated.get(1) if conn is not None else None
        if pair is not None:
            lc, rc = pair.local_candidate, pair.remote_candidate
            return (lc.host, lc.port), (rc.host, rc.port)
    return None


def sdp_candidates(sdp: str) -> list[tuple[str, int, str]]:
    """(address, port, type) of every a=candidate line."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            out.append((parts[4], int(parts[5]), parts[7]))
    return out

"""One server, both address families: media bound to [::] (dual stack) and `--announce-ip 127.0.0.1,::1`. The
answer offers a UDP and a passive TCP candidate for each address; an aiortc publisher that has only ::1 publishes
over IPv6 and an aiortc viewer that has only 127.0.0.1 watches over IPv4, through the same worker port.
A family the socket cannot receive is refused at start with a clear message."""

from __future__ import annotations

import asyncio
import subprocess

import aioice.ice
import pytest

from e2ekit.peers import Publisher, Viewer, wait_connected
from e2ekit.server import free_tcp_port, free_udp_port

pytestmark = pytest.mark.server


def only_address(address: str):
    """Makes aioice gather candidates on `address` alone (the module patches it to 127.0.0.1 for every test)."""
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: [address]


@pytest.mark.timeout(90)
def test_an_ipv6_publisher_and_an_ipv4_viewer_meet_on_one_dual_stack_port(start_server, metrics):
    port = free_udp_port()
    srv = start_server("--rtc", f"[::]:{port}", "--announce-ip", "127.0.0.1, ::1")
    room = "e2e-dual-stack"

    async def call():
        only_address("::1")
        publisher = Publisher()
        only_address("127.0.0.1")
        viewer = Viewer()
        try:
            only_address("::1")
            pub = await publisher.publish(f"{srv.base_url}/whip/{room}", srv.token(room, "alice", "publisher"))
            candidates = [line for line in pub.answer.splitlines() if line.startswith("a=candidate:")]
            assert candidates[:4] == [
                f"a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host",
                f"a=candidate:2 1 udp 2130706175 ::1 {port} typ host",
                f"a=candidate:3 1 tcp 2124414975 127.0.0.1 {port} typ host tcptype passive",
                f"a=candidate:4 1 tcp 2124414719 ::1 {port} typ host tcptype passive",
            ], pub.answer
            await wait_connected(publisher.pc)
            assert publisher.local_address()[0] == "::1"

            only_address("127.0.0.1")
            await viewer.watch(f"{srv.base_url}/whep/{room}/alice", srv.token(room, "bob", "viewer"))
            await wait_connected(viewer.pc)
            await viewer.wait_video_frames(60, timeout=40)
        finally:
            only_address("127.0.0.1")
            await viewer.close()
            await publisher.close()

    asyncio.run(asyncio.wait_for(call(), 80))
    assert metrics(srv.base_url).value("sabha_transports_connected_total", srtp_profile="SRTP_AEAD_AES_128_GCM") >= 2


def test_an_ipv6_address_announced_on_an_ipv4_bind_is_refused_at_start(sabha_bin, tmp_path):
    out = subprocess.run([str(sabha_bin), "serve", "--http", f"127.0.0.1:{free_tcp_port()}", "--rtc", f"127.0.0.1:{free_udp_port()}",
                          "--announce-ip", "::1", "--data-dir", str(tmp_path / "data")],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode != 0
    assert "announced address ::1 is IPv6 but media binds 127.0.0.1 (IPv4)" in out.stderr + out.stdout

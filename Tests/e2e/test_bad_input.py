"""Hostile and broken datagrams on the media port while a WHEP viewer is receiving.

Each kind must be dropped and counted under its reason in /metrics; the server must stay up and the viewer
must keep decoding.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import requests

from e2ekit import packets
from e2ekit.metrics import fetch
from e2ekit.peers import Publisher, Viewer, wait_connected

pytestmark = pytest.mark.server


async def counter_rises(base_url: str, before, reasons: tuple[str, ...], by: int, what: str, timeout: float = 5.0):
    """Waits until the drop counters for `reasons` together rose by at least `by` since `before`."""
    deadline = time.monotonic() + timeout
    while True:
        now = await asyncio.to_thread(fetch, base_url)
        delta = sum(now.dropped(r) - before.dropped(r) for r in reasons)
        if delta >= by:
            return now
        if time.monotonic() > deadline:
            drops = {k[1]: v for k, v in now.samples.items() if k[0] == "sabha_dropped_packets_total"}
            raise AssertionError(f"{what}: {reasons} rose by {delta}, wanted >= {by}; drop counters now {drops}")
        await asyncio.sleep(0.1)


@pytest.mark.timeout(120)
def test_bad_datagrams_are_counted_and_do_not_disturb_a_viewer(server, metrics):
    room = "e2e-hostile"
    pub_token = server.token(room, "alice", "publisher")
    view_token = server.token(room, "bob", "viewer")
    media = server.media_address
    base = server.base_url

    async def scenario():
        publisher, viewer = Publisher(), Viewer()
        try:
            await publisher.publish(f"{base}/whip/{room}", pub_token)
            await wait_connected(publisher.pc)
            view = await viewer.watch(f"{base}/whep/{room}/alice", view_token)
            await wait_connected(viewer.pc)
            await viewer.wait_video_frames(30, timeout=30)

            m = await asyncio.to_thread(fetch, base)

            # 1. Garbage: first bytes in no RFC 7983 range, from an address the server never saw.
            packets.send_from_fresh_socket(media, packets.garbage(5, seed=7))
            m = await counter_rises(base, m, ("malformed", "unknownSource"), 5, "garbage")

            # 2. A STUN header promising more attributes than the datagram holds.
            packets.send_from_fresh_socket(media, [packets.truncated_stun()] * 3)
            m = await counter_rises(base, m, ("malformed",), 3, "truncated STUN")

            # 3. The viewer session's real USERNAME, but a MESSAGE-INTEGRITY made without its password.
            username = f"{view.server_ufrag}:{view.client_ufrag}"
            assert view.server_ufrag and view.client_ufrag, (view.answer, view.offer)
            bad_mi = [packets.stun_binding_request(username, None) for _ in range(3)]
            packets.send_from_fresh_socket(media, bad_mi)
            m = await counter_rises(base, m, ("stunBadIntegrity",), 3, "STUN with a wrong MESSAGE-INTEGRITY")

            # 4. A USERNAME no session has.
            unknown = [packets.stun_binding_request("nosuchufrag:whoever", None) for _ in range(2)]
            packets.send_from_fresh_socket(media, unknown)
            m = await counter_rises(base, m, ("stunUnknownUser",), 2, "STUN for an unknown user")

            # 5. A DTLS ClientHello from an address that never did ICE.
            packets.send_from_fresh_socket(media, [packets.dtls_client_hello_like() for _ in range(3)])
            m = await counter_rises(base, m, ("dtlsUnknownSource",), 3, "DTLS from an unknown source")

            # 6. SRTP with a bad auth tag, forged from the publisher's own 5-tuple (its real SSRC, a current
            #    sequence number), so only the authentication can tell it apart.
            src = publisher.local_address()
            ssrc = publisher.video_ssrc()
            seq = publisher.last_rtp.get(ssrc)
            assert seq is not None, "publisher has sent no video RTP yet"
            for i in range(5):
                pkt = packets.srtp_with_bad_tag(ssrc, seq + 50 + i, timestamp=123456 + i)
                packets.spoofed_udp(src, media, pkt)
            m = await counter_rises(base, m, ("srtpAuthFailed",), 5, "SRTP with a bad auth tag")

            # The server is up, both peers are still connected and the viewer still decodes.
            health = await asyncio.to_thread(requests.get, f"{base}/healthz", timeout=5)
            assert health.status_code == 200
            frames = viewer.counts.video_frames
            await viewer.wait_video_frames(frames + 60, timeout=20)
            assert publisher.pc.connectionState == "connected"
            assert viewer.pc.connectionState == "connected"
            assert m.value("sabha_transports") == 2
        finally:
            await viewer.close()
            await publisher.close()

    asyncio.run(asyncio.wait_for(scenario(), 110))
    assert server.alive(), "sabha serve died"

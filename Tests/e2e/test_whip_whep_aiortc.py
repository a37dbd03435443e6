"""aiortc publishes over WHIP, another aiortc peer watches over WHEP and decodes what the server forwards."""

from __future__ import annotations

import asyncio

import pytest

from e2ekit.peers import Publisher, Viewer, delete_session, wait_connected
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

PROFILES = {
    "gcm": "SRTP_AEAD_AES_128_GCM",
    "cm": "SRTP_AES128_CM_SHA1_80",
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("profile", ["gcm", "cm"])
def test_aiortc_viewer_decodes_what_an_aiortc_publisher_sends(start_server, metrics, profile):
    srv = start_server("--srtp-profiles", profile)
    room = "e2e-aiortc"
    pub_token = srv.token(room, "alice", "publisher")
    view_token = srv.token(room, "bob", "viewer")
    counter = ("sabha_transports_connected_total", PROFILES[profile])
    before = metrics(srv.base_url).value(counter[0], srtp_profile=counter[1])

    async def call():
        publisher, viewer = Publisher(), Viewer()
        try:
            pub = await publisher.publish(f"{srv.base_url}/whip/{room}", pub_token)
            assert pub.location.startswith(f"{srv.base_url}/whip/{room}/"), pub.location
            assert "a=ice-lite" in pub.answer
            assert f"127.0.0.1 {srv.udp_port} typ host" in pub.answer, pub.answer
            await wait_connected(publisher.pc)

            view = await viewer.watch(f"{srv.base_url}/whep/{room}/alice", view_token)
            assert view.location.startswith(f"{srv.base_url}/whep/{room}/"), view.location
            await wait_connected(viewer.pc)
            await viewer.wait_video_frames(100, timeout=40)
            assert viewer.counts.audio_frames > 0, viewer.counts
            assert viewer.counts.last_video_size == (320, 240)

            m = metrics(srv.base_url)
            assert m.value("sabha_transports") == 2
            assert m.value("sabha_producers") == 2      # audio + video
            assert m.value("sabha_consumers") == 2
            assert m.value(counter[0], srtp_profile=counter[1]) >= before + 2, m.samples

            assert await asyncio.to_thread(delete_session, view.location, view_token) in (200, 204)
            assert await asyncio.to_thread(delete_session, pub.location, pub_token) in (200, 204)
        finally:
            await viewer.close()
            await publisher.close()

    asyncio.run(asyncio.wait_for(call(), 80))
    assert srv.alive()
    wait_for(lambda: metrics(srv.base_url).value("sabha_transports") == 0, 10, "sabha_transports back to 0")

"""A publisher that vanishes (SIGKILL: no DELETE, no DTLS close_notify) is noticed by ICE consent freshness
(RFC 7675): its transport goes, its viewers are closed, and nothing is leaked."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2ekit.metrics import fetch
from e2ekit.peers import Viewer, delete_session, wait_connected

pytestmark = pytest.mark.server

CONSENT_TIMEOUT = 30   # the server's default
MARGIN = 15


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"publisher child exited with {proc.returncode}: {proc.stderr.read()}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc.stdout.readline()
    raise AssertionError(f"publisher child said nothing within {timeout}s")


@pytest.mark.timeout(CONSENT_TIMEOUT + MARGIN + 60)
def test_a_killed_publisher_is_expired_and_its_viewer_closed_without_leaks(server, tmp_path):
    room = "e2e-consent"
    pub_token = server.token(room, "alice", "publisher")
    view_token = server.token(room, "bob", "viewer")
    base = server.base_url
    idle = fetch(base)
    idle_buffers = idle.value("sabha_pool_buffers_in_use")
    assert idle.has("sabha_pool_buffers_in_use") and idle.has("sabha_pool_buffers_total"), idle.samples

    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "publisher_child.py"), f"{base}/whip/{room}", pub_token],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    try:
        published = json.loads(read_line(child, 30))

        async def scenario():
            viewer = Viewer()
            try:
                view = await viewer.watch(f"{base}/whep/{room}/alice", view_token)
                await wait_connected(viewer.pc)
                await viewer.wait_video_frames(30, timeout=30)
                m = await asyncio.to_thread(fetch, base)
                assert m.value("sabha_transports") == 2
                assert m.value("sabha_pool_buffers_in_use") >= idle_buffers

                os.kill(child.pid, signal.SIGKILL)
                killed_at = time.monotonic()

                deadline = killed_at + CONSENT_TIMEOUT + MARGIN
                while viewer.pc.connectionState == "connected":
                    assert time.monotonic() < deadline, "viewer still connected after the publisher's consent expired"
                    await asyncio.sleep(0.2)
                closed_after = time.monotonic() - killed_at
                # Not before consent could have expired: something other than consent must not have cut it.
                assert closed_after > 3, f"viewer closed only {closed_after:.1f}s after the kill"

                while True:
                    m = await asyncio.to_thread(fetch, base)
                    if m.value("sabha_transports") == 0 and m.value("sabha_pool_buffers_in_use") == idle_buffers:
                        break
                    assert time.monotonic() < deadline + 5, (
                        f"after {time.monotonic() - killed_at:.0f}s: transports {m.value('sabha_transports')}, "
                        f"buffers in use {m.value('sabha_pool_buffers_in_use')} (idle {idle_buffers})")
                    await asyncio.sleep(0.5)
                assert m.value("sabha_producers") == 0
                assert m.value("sabha_consumers") == 0

                assert await asyncio.to_thread(delete_session, view.location, view_token) == 404
                assert await asyncio.to_thread(delete_session, published["location"], pub_token) == 404
            finally:
                await viewer.close()

        asyncio.run(asyncio.wait_for(scenario(), CONSENT_TIMEOUT + MARGIN + 50))
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)
    assert server.alive()

"""An idle server stays idle: its own CPU time, read from /proc/<pid>/stat (user + system ticks, so it counts CPU and
not wall time, whatever the machine's speed), stays under 2 % of one core over a 10 s window.

Idle means nothing to do right now, in every state a department's server sits in between meetings: scheduled
meetings with outbox items pending (a future retry), sent, failed and superseded while the mail and calendar servers
are down; a running calendar watcher; an empty room; a room with one participant whose connection is up but who
sends nothing. An earlier outbox relay spun a whole core after one `POST /api/meetings` (issue 22)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from e2ekit.groupware import sabha_env
from e2ekit.meeting import MeetingSocket
from e2ekit.peers import rtc_configuration, wait_connected
from e2ekit.wait import wait_for
from test_groupware import ASHA, MEERA, RAVI, api, meeting_body, minute, now, ok, outbox

pytestmark = pytest.mark.server

WINDOW = 10.0          # seconds of wall time measured
LIMIT = 0.02           # of one core
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), fields 14 and 15 of /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_share(server, window: float = WINDOW) -> float:
    """The share of one core the server used over `window` seconds of wall time (sleeps meanwhile)."""
    pid = server.proc.pid
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    time.sleep(window)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)


async def idle_share_async(server, window: float = WINDOW) -> float:
    """The same, while an asyncio loop keeps peers alive in this process."""
    pid = server.proc.pid
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(window)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)


def check_idle(server, share: float, what: str) -> None:
    print(f"idle CPU, {what}: {share * 100:.2f} % of one core over {WINDOW:.0f} s")
    assert share < LIMIT, (f"{what}: the server used {share * 100:.1f} % of one core over {WINDOW:.0f} s while idle "
                           f"(limit {LIMIT * 100:.0f} %)")
    assert server.alive()


@pytest.mark.timeout(150)
def test_an_idle_server_with_meetings_in_every_outbox_state_and_its_servers_down_sleeps(start_server, smtp_maildir, radicale):
    ghost = {"name": "Nobody", "email": "nobody@pune.gov.in", "role": "participant"}
    smtp_maildir.stop()
    smtp_maildir.refuse = [ghost["email"]]
    smtp_maildir.start()
    # The calendar watcher polls every second, and failed items retry after 1 s, 2 s, 4 s, ...: busier than an
    # operator's defaults, so the window sees retries and watcher rounds against servers that are down.
    server = start_server(env=sabha_env(smtp_maildir, radicale))
    start = minute(now()) + dt.timedelta(days=1)

    # Sent, and failed for good: the mail server accepts Asha and refuses the ghost (550); the calendar takes our copy.
    first = ok(api(server, "POST", "/api/meetings", meeting_body("Review", start, attendees=(ASHA, ghost))), 201)
    wait_for(lambda: {i["state"] for i in outbox(server, first["id"])} == {"sent", "failed"}, 30,
             "the first meeting's items sent or failed")

    # Superseded and pending: with the mail server down, an edit replaces invitations that have not gone out.
    smtp_maildir.stop()
    second = ok(api(server, "POST", "/api/meetings", meeting_body("Draft", start, attendees=(RAVI, MEERA))), 201)
    wait_for(lambda: all(i["attempts"] >= 1 for i in outbox(server, second["id"]) if i["kind"] == "mail"), 20,
             "the second meeting's invitations to have failed once")
    ok(api(server, "PUT", f"/api/meetings/{second['id']}",
           meeting_body("Final", start + dt.timedelta(hours=1), attendees=(RAVI, MEERA))))
    radicale.stop()  # the organizer's and the resource calendar are down too

    # Every state is there, and what is pending has a retry in the future.
    def every_state():
        items = outbox(server)
        return items if {i["state"] for i in items} == {"pending", "sent", "failed", "superseded"} else None
    items = wait_for(every_state, 20, "outbox items in every state")
    assert any(i["state"] == "pending" and i["lastError"] for i in items), items
    time.sleep(2)  # let the first refused connections settle into their backoff

    check_idle(server, idle_share(server), "meetings in every outbox state, SMTP and CalDAV down")
    assert any(i["state"] == "pending" for i in outbox(server)), "still pending: nothing was given up on"


@pytest.mark.timeout(90)
def test_an_idle_server_with_a_running_calendar_watcher_sleeps(start_server, radicale):
    server = start_server(env=sabha_env(None, radicale))
    wait_for(lambda: "watching the resource calendar" in server.log_text(), 10, "the calendar watcher to start")
    check_idle(server, idle_share(server), "calendar watcher polling every second")


@pytest.mark.timeout(60)
def test_a_fresh_idle_server_sleeps(server):
    check_idle(server, idle_share(server), "nothing at all")


class SilentTrack(MediaStreamTrack):
    """A camera that never delivers a frame: the connection is up, nothing is sent."""

    kind = "video"

    async def recv(self):
        await asyncio.sleep(3600)
        raise ConnectionError("never")


@pytest.mark.timeout(90)
def test_an_idle_server_with_an_empty_room_and_a_silent_participant_sleeps(server):
    ok(api(server, "POST", "/api/rooms", {"name": "empty-room", "title": "Nobody here yet"}), 201)

    async def scenario() -> float:
        ws = MeetingSocket(server.base_url)
        pc = RTCPeerConnection(rtc_configuration())
        try:
            await asyncio.to_thread(ws.join, server.token("quiet-room", "asha", "host"))
            pc.addTransceiver(SilentTrack(), direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            ws.send({"type": "offer", "sdp": pc.localDescription.sdp})
            answer = await asyncio.to_thread(ws.next_type, "answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            await wait_connected(pc)
            return await idle_share_async(server)
        finally:
            ws.close()
            await pc.close()

    share = asyncio.run(scenario())
    check_idle(server, share, "an empty room and a room with one connected participant who sends nothing")

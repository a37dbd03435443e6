"""The meeting WebSocket protocol (docs/protocol.md) against a real server, with aiortc participants:
joining, media both ways through one peer connection each, leaving, and every kind of bad input."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from e2ekit.meeting import MeetingSocket
from e2ekit.peers import MovingPatternTrack, SineTrack, rtc_configuration, wait_connected
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server


def test_bad_messages_get_coded_errors_and_the_connection_stays_usable(server):
    ws = MeetingSocket(server.base_url)
    try:
        ws.send("this is not json")
        assert ws.next_type("error") | {} == {"type": "error", "code": "bad-json", "message": ws.history[-1]["message"], "fatal": False}
        ws.send({"no": "type"})
        assert ws.next_type("error")["code"] == "bad-json"
        ws.send({"type": "dance"})
        assert ws.next_type("error")["code"] == "unknown-type"
        ws.send({"type": "offer", "sdp": "v=0"})
        assert ws.next_type("error")["code"] == "not-joined"
        ws.send({"type": "mute"})
        assert ws.next_type("error")["code"] == "bad-json"
        ws.send({"type": "ping", "id": 7})
        assert ws.next_type("pong")["id"] == 7
        joined = ws.join(server.token("r", "alice", "publisher", name="Alice"))
        assert joined["you"]["name"] == "Alice" and joined["you"]["role"] == "participant" and joined["participants"] == []
        assert "chosenName" not in joined["you"]
        ws.send({"type": "join", "version": 1, "token": "x"})
        assert ws.next_type("error")["code"] == "already-joined"
        ws.send({"type": "offer", "sdp": "v=0\r\nm=audio nonsense\r\n"})
        err = ws.next_type("error")
        assert err["code"] == "sdp-invalid" and not err["fatal"] and err["message"]
        ws.send({"type": "ping", "id": 8})
        assert ws.next_type("pong")["id"] == 8, "still usable after every error"
    finally:
        ws.close()


@pytest.mark.parametrize("case", ["forged", "expired", "version", "too-large"])
def test_fatal_errors_close_the_socket_with_a_reason(server, case):
    ws = MeetingSocket(server.base_url)
    try:
        if case == "forged":
            good = server.token("r", "alice", "publisher")
            ws.send({"type": "join", "version": 1, "token": good[:-4] + "AAAA"})
            expected = "token-bad-signature"
        elif case == "expired":
            tok = server.token("r", "alice", "publisher", ttl="1s")
            time.sleep(2.2)
            ws.send({"type": "join", "version": 1, "token": tok})
            expected = "token-expired"
        elif case == "version":
            ws.send({"type": "join", "version": 99, "token": server.token("r", "alice", "publisher")})
            expected = "unsupported-version"
        else:
            ws.send(json.dumps({"type": "offer", "sdp": "x" * (1024 * 1024 + 1)}))
            expected = None
        if expected:
            err = ws.next_type("error")
            assert err["code"] == expected and err["fatal"], err
        assert ws.closed.wait(10), "the server closed the socket"
    finally:
        ws.close()
    # The server is unharmed.
    other = MeetingSocket(server.base_url)
    try:
        other.send({"type": "ping", "id": 1})
        assert other.next_type("pong")["id"] == 1
    finally:
        other.close()


class Participant:
    """An aiortc meeting participant: one peer connection, offers only when told to (or on join)."""

    def __init__(self, base_url: str, token: str, publish: bool) -> None:
        self.ws = MeetingSocket(base_url)
        self.token = token
        self.publish = publish
        self.pc = RTCPeerConnection(rtc_configuration())
        self.frames: dict[str, int] = {}      # participant id -> decoded video frames
        self.audio: dict[str, int] = {}       # participant id -> decoded audio frames
        self.tasks: list[asyncio.Task] = []
        self.stream_of: dict[str, str] = {}

        @self.pc.on("track")
        def on_track(track) -> None:
            self.tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track) -> None:
        owner = None
        try:
            while True:
                frame = await track.recv()
                if owner is None:
                    owner = self._owner_of(track)
                counts = self.frames if track.kind == "video" else self.audio
                counts[owner] = counts.get(owner, 0) + 1
        except Exception:
            pass

    def _owner_of(self, track) -> str:
        # a=msid:<participant> <track> on the m-line whose receiver carries this track.
        sdp = self.pc.remoteDescription.sdp
        for t in self.pc.getTransceivers():
            if t.receiver.track is track:
                section = sdp.split(f"a=mid:{t.mid}\r\n", 1)[1].split("m=", 1)[0]
                for line in section.splitlines():
                    if line.startswith("a=msid:"):
                        return line[len("a=msid:"):].split()[0]
        return "?"

    async def join(self) -> dict:
        joined = await asyncio.to_thread(self.ws.join, self.token)
        self.id = joined["you"]["id"]
        if self.publish:
            self.pc.addTransceiver(MovingPatternTrack(), direction="sendonly")
            self.pc.addTransceiver(SineTrack(), direction="sendonly")
        for track in joined["tracks"]:
            self.pc.addTransceiver(track["kind"], direction="recvonly")
        await self.negotiate()
        return joined

    async def negotiate(self, sources: dict | None = None) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.ws.send({"type": "offer", "sdp": self.pc.localDescription.sdp, **({"sources": sources} if sources else {})})
        answer = await asyncio.to_thread(self.ws.next_type, "answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.ws.close()
        await self.pc.close()


@pytest.mark.timeout(120)
def test_two_aiortc_participants_see_each_other_through_one_connection_each(server, metrics):
    room = "meet-aiortc"

    async def meeting():
        alice = Participant(server.base_url, server.token(room, "alice", "publisher"), publish=True)
        await alice.join()
        await wait_connected(alice.pc)
        bob = Participant(server.base_url, server.token(room, "bob", "publisher"), publish=True)
        joined = await bob.join()
        assert [p["identity"] for p in joined["participants"]] == ["alice"]
        assert sorted(t["kind"] for t in joined["tracks"]) == ["audio", "video"]
        await wait_connected(bob.pc)
        # Alice hears that Bob joined and published, and is asked to renegotiate for his two tracks.
        await asyncio.to_thread(alice.ws.next_type, "participant-joined")
        reneg = await asyncio.to_thread(alice.ws.next, 10, lambda m: m.get("type") == "renegotiate" and len(m["receive"]) == 2)
        for entry in reneg["receive"]:
            alice.pc.addTransceiver(entry["kind"], direction="recvonly")
        await alice.negotiate()

        deadline = time.monotonic() + 40
        while not (bob.frames.get(alice.id, 0) >= 60 and alice.frames.get(bob.id, 0) >= 60
                   and bob.audio.get(alice.id, 0) >= 50 and alice.audio.get(bob.id, 0) >= 50):
            assert time.monotonic() < deadline, f"alice got {alice.frames}/{alice.audio}, bob got {bob.frames}/{bob.audio}"
            await asyncio.sleep(0.2)
        m = metrics(server.base_url)
        assert m.value("sabha_transports") == 2 and m.value("sabha_producers") == 4 and m.value("sabha_consumers") == 4
        assert m.value("sabha_meeting_rooms") == 1 and m.value("sabha_meeting_participants") == 2

        bob.ws.send({"type": "leave"})
        left = await asyncio.to_thread(alice.ws.next_type, "participant-left")
        assert left == {"type": "participant-left", "participant": bob.id, "reason": "left"}
        await bob.close()
        wait_for(lambda: metrics(server.base_url).value("sabha_consumers") == 0, 10, "Bob's copies of Alice freed")
        await alice.close()

    asyncio.run(meeting())
    wait_for(lambda: metrics(server.base_url).value("sabha_transports") == 0, 10, "every transport freed")


async def frames_rise(watcher: Participant, publisher_id: str, by: int, timeout: float) -> None:
    start = watcher.frames.get(publisher_id, 0)
    deadline = time.monotonic() + timeout
    while watcher.frames.get(publisher_id, 0) < start + by:
        assert time.monotonic() < deadline, f"frames from {publisher_id}: {watcher.frames} (start {start})"
        await asyncio.sleep(0.1)


async def pair(server, room: str, host_role: str = "host") -> tuple[Participant, Participant]:
    """Alice (host) and Bob, each publishing and receiving the other."""
    alice = Participant(server.base_url, server.token(room, "alice", host_role), publish=True)
    await alice.join()
    await wait_connected(alice.pc)
    bob = Participant(server.base_url, server.token(room, "bob", "participant"), publish=True)
    await bob.join()
    await wait_connected(bob.pc)
    reneg = await asyncio.to_thread(alice.ws.next, 10, lambda m: m.get("type") == "renegotiate" and len(m["receive"]) == 2)
    for entry in reneg["receive"]:
        alice.pc.addTransceiver(entry["kind"], direction="recvonly")
    await alice.negotiate()
    await frames_rise(alice, bob.id, 30, 30)
    await frames_rise(bob, alice.id, 30, 30)
    return alice, bob


@pytest.mark.timeout(120)
def test_a_dropped_websocket_resumes_its_place_and_media_keeps_flowing(start_server, metrics):
    srv = start_server("--resume-grace", "20")

    async def scenario():
        alice, bob = await pair(srv, "resume")
        secret = bob.ws.history[0]["resume"]
        bob.ws.cut()                        # drop the TCP connection: no close frame, no leave
        bob.ws = MeetingSocket(srv.base_url)
        bob.ws.send({"type": "join", "version": 1, "token": bob.token, "resume": secret})
        joined = await asyncio.to_thread(bob.ws.next_type, "joined")
        assert joined["resumed"] is True and joined["you"]["id"] == bob.id
        await frames_rise(alice, bob.id, 60, 20)      # Alice keeps decoding Bob after the cut
        await frames_rise(bob, alice.id, 60, 20)
        assert not [m for m in alice.ws.history if m["type"] == "participant-left"], "Alice never saw Bob leave"
        await bob.close()
        await alice.close()

    asyncio.run(scenario())


@pytest.mark.timeout(60)
def test_a_participant_who_does_not_come_back_is_let_go_after_the_grace(start_server, metrics):
    srv = start_server("--resume-grace", "2")
    alice = MeetingSocket(srv.base_url)
    bob = MeetingSocket(srv.base_url)
    try:
        alice.join(srv.token("g", "alice", "participant"))
        bob_id = bob.join(srv.token("g", "bob", "participant"))["you"]["id"]
        alice.next_type("participant-joined")
        t0 = time.monotonic()
        bob.cut()
        left = alice.next_type("participant-left", timeout=15)
        assert left["participant"] == bob_id and left["reason"] == "disconnected"
        assert time.monotonic() - t0 >= 1.5, "not before the grace period"
    finally:
        alice.close()
        bob.close()


@pytest.mark.timeout(120)
def test_a_host_ends_the_meeting_for_everyone_and_all_media_is_freed(server, metrics):
    async def scenario():
        alice, bob = await pair(server, "end")
        carol = MeetingSocket(server.base_url)
        carol.join(server.token("end", "carol", "viewer"))
        bob.ws.send({"type": "end-meeting"})
        assert (await asyncio.to_thread(bob.ws.next_type, "error"))["code"] == "not-host"
        alice.ws.send({"type": "end-meeting"})
        for ws in (alice.ws, bob.ws, carol):
            ended = await asyncio.to_thread(ws.next_type, "meeting-ended")
            assert ended["reason"] == "host"
            assert await asyncio.to_thread(ws.closed.wait, 10), "socket closed after the meeting ended"
        wait_for(lambda: metrics(server.base_url).value("sabha_transports") == 0, 10, "every transport freed")
        m = metrics(server.base_url)
        assert m.value("sabha_producers") == 0 and m.value("sabha_consumers") == 0 and m.value("sabha_meeting_participants") == 0
        await bob.close()
        await alice.close()

    asyncio.run(scenario())


def test_a_host_can_ask_to_mute_and_remove_but_others_cannot(server):
    host, bob, eve = (MeetingSocket(server.base_url) for _ in range(3))
    try:
        host.join(server.token("h", "host", "host"))
        bob_id = bob.join(server.token("h", "bob", "participant"))["you"]["id"]
        eve.join(server.token("h", "eve", "participant"))
        eve.send({"type": "remove", "participant": bob_id})
        assert eve.next_type("error")["code"] == "not-host"
        host.send({"type": "mute-participant", "participant": bob_id, "kind": "audio"})
        assert bob.next_type("mute-request")["kind"] == "audio"
        host.send({"type": "remove", "participant": "p-nobody"})
        assert host.next_type("error")["code"] == "unknown-participant"
        host.send({"type": "remove", "participant": bob_id})
        err = bob.next_type("error")
        assert err["code"] == "removed" and err["fatal"]
        assert bob.closed.wait(10)
        left = eve.next_type("participant-left")
        assert left == {"type": "participant-left", "participant": bob_id, "reason": "removed"}
    finally:
        for ws in (host, bob, eve):
            ws.close()


def test_a_token_for_another_room_is_refused(server):
    ws = MeetingSocket(server.base_url)
    try:
        ws.send({"type": "join", "version": 1, "token": server.token("room-a", "alice", "participant"), "room": "room-b"})
        err = ws.next_type("error")
        assert err["code"] == "token-wrong-room" and err["fatal"] and "room-a" in err["message"], err
        assert ws.closed.wait(10)
    finally:
        ws.close()


@pytest.mark.timeout(60)
def test_a_viewer_that_offers_to_send_is_refused_and_nobody_else_notices(server, metrics):
    async def scenario():
        alice = MeetingSocket(server.base_url)
        alice.join(server.token("v", "alice", "participant"))
        viewer = Participant(server.base_url, server.token("v", "eve", "viewer"), publish=True)
        joined = await viewer.join()
        assert joined["you"]["role"] == "viewer"
        err = await asyncio.to_thread(viewer.ws.next_type, "error")
        assert err["code"] == "role-not-allowed" and not err["fatal"], err
        answer = viewer.pc.remoteDescription.sdp
        assert "a=recvonly" not in answer and answer.count("a=inactive") == 2, answer
        assert metrics(server.base_url).value("sabha_producers") == 0
        await asyncio.sleep(0.5)
        assert [m["type"] for m in alice.history] == ["joined", "participant-joined"], alice.history
        viewer.ws.send({"type": "ping", "id": 3})
        assert (await asyncio.to_thread(viewer.ws.next_type, "pong"))["id"] == 3
        await viewer.close()
        alice.close()

    asyncio.run(scenario())


@pytest.mark.timeout(60)
def test_a_screen_share_is_announced_as_such(server):
    async def scenario():
        alice = Participant(server.base_url, server.token("s", "alice", "host"), publish=True)
        await asyncio.to_thread(alice.ws.join, alice.token)
        alice.pc.addTransceiver(MovingPatternTrack(), direction="sendonly")
        alice.pc.addTransceiver(MovingPatternTrack(), direction="sendonly")
        await alice.pc.setLocalDescription(await alice.pc.createOffer())
        mids = [t.mid for t in alice.pc.getTransceivers()]
        alice.ws.send({"type": "offer", "sdp": alice.pc.localDescription.sdp, "sources": {mids[1]: "screen"}})
        answer = await asyncio.to_thread(alice.ws.next_type, "answer")
        await alice.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        bob = MeetingSocket(server.base_url)
        joined = bob.join(server.token("s", "bob", "participant"))
        assert sorted(t["source"] for t in joined["tracks"]) == ["camera", "screen"], joined["tracks"]
        bob.close()
        await alice.close()

    asyncio.run(scenario())

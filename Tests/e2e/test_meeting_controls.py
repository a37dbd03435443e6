"""Issue 16 items 1-3, the meeting controls, over the real WebSocket protocol against `sabha serve`: the lobby (admit,
deny, a lobby turned off), locking, waiting for a host, screen sharing by hosts only, mute-all, co-hosts, raised hands
and chat (delivery, limits, history for late joiners, export). Hosts and participants are WebSocket clients; the screen
share test negotiates real SDP with aiortc."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from aiortc import RTCPeerConnection, RTCSessionDescription

from e2ekit.meeting import MeetingSocket
from e2ekit.peers import MovingPatternTrack, rtc_configuration

pytestmark = pytest.mark.server


def admin(server, method: str, path: str, body=None, token: str | None = None, accept: str | None = None) -> requests.Response:
    key = token or (server.data_dir / "admin.key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    if accept:
        headers["Accept"] = accept
    return requests.request(method, server.base_url + path, json=body, headers=headers, timeout=10)


def joined(server, room: str, identity: str, role: str = "participant", name: str | None = None) -> tuple[MeetingSocket, dict]:
    ws = MeetingSocket(server.base_url)
    return ws, ws.join(server.token(room, identity, role, name=name))


def waiting(server, room: str, identity: str, role: str = "participant") -> tuple[MeetingSocket, dict]:
    ws = MeetingSocket(server.base_url)
    ws.send({"type": "join", "version": 1, "token": server.token(room, identity, role)})
    first = ws.next(10, lambda m: m["type"] in ("lobby", "joined", "error"))
    assert first["type"] == "lobby", first
    return ws, first


def error(ws: MeetingSocket, code: str) -> dict:
    message = ws.next(10, lambda m: m.get("type") == "error")
    assert message["code"] == code, message
    return message


def closes(ws: MeetingSocket) -> None:
    assert ws.closed.wait(10), "the server did not close the socket"


def test_the_lobby_keeps_joiners_out_until_a_host_admits_or_denies_them(server):
    created = admin(server, "POST", "/api/rooms", {"name": "review", "lobby": True})
    assert created.status_code == 201 and created.json()["lobby"] is True, created.text
    host, hosted = joined(server, "review", "collector", "host", name="Collector")
    assert hosted["waiting"] == [] and hosted["controls"] == {"locked": False, "screenShareAllowed": False}
    sockets = [host]
    try:
        ravi, lobby = waiting(server, "review", "ravi")
        sockets.append(ravi)
        assert lobby["reason"] == "lobby" and "host" in lobby["message"]
        seen = host.next_type("lobby-waiting")["participant"]
        assert seen["identity"] == "ravi" and seen["id"] == lobby["you"]["id"]
        # While waiting: no media, no chat, and nothing of the meeting reaches them.
        ravi.send({"type": "offer", "sdp": "v=0\r\n"})
        error(ravi, "not-admitted")
        ravi.send({"type": "chat", "text": "let me in"})
        error(ravi, "not-admitted")
        # Only a host admits.
        sita, _ = joined(server, "review", "sita", "host")
        sockets.append(sita)
        assert [w["participant"]["identity"] for w in _["waiting"]] == ["ravi"]
        host.send({"type": "admit", "participant": seen["id"]})
        assert ravi.next_type("joined")["you"]["id"] == seen["id"]
        assert host.next_type("lobby-left") == {"type": "lobby-left", "participant": seen["id"], "reason": "admitted"}
        assert host.next_type("participant-joined")["participant"]["identity"] == "ravi"
        ravi.send({"type": "admit", "participant": "p-nobody"})
        error(ravi, "not-host")

        # Denied: told so, and the socket ends.
        meena, lobby = waiting(server, "review", "meena")
        sockets.append(meena)
        meena_id = host.next_type("lobby-waiting")["participant"]["id"]
        host.send({"type": "deny", "participant": meena_id})
        assert error(meena, "lobby-denied")["fatal"] is True
        closes(meena)
        assert host.next_type("lobby-left")["reason"] == "denied"

        # Someone who gives up waiting leaves the hosts' list.
        kiran, _ = waiting(server, "review", "kiran")
        kiran_id = host.next_type("lobby-waiting")["participant"]["id"]
        kiran.close()
        assert host.next_type("lobby-left") == {"type": "lobby-left", "participant": kiran_id, "reason": "left"}

        # An administrator turns the lobby off: whoever waits goes in.
        anil, _ = waiting(server, "review", "anil")
        sockets.append(anil)
        host.next_type("lobby-waiting")
        changed = admin(server, "PUT", "/api/rooms/review", {"lobby": False})
        assert changed.status_code == 200 and changed.json()["lobby"] is False, changed.text
        assert anil.next_type("joined")["you"]["identity"] == "anil"
        late, _ = joined(server, "review", "late")
        sockets.append(late)

        events = [(r["identity"], r["event"]) for r in admin(server, "GET", "/api/audit?room=review").json()]
        for expected in [("ravi", "waiting"), ("ravi", "admitted"), ("meena", "denied"), ("anil", "admitted")]:
            assert expected in events, events
    finally:
        for ws in sockets:
            ws.close()


def test_a_locked_room_refuses_new_joiners_even_with_valid_links(server):
    host, _ = joined(server, "locked", "collector", "host")
    bob, _ = joined(server, "locked", "bob")
    try:
        bob.send({"type": "lock", "locked": True})
        error(bob, "not-host")
        host.send({"type": "lock", "locked": True})
        for ws in (host, bob):
            assert ws.next_type("room-controls")["controls"]["locked"] is True
        late = MeetingSocket(server.base_url)
        late.send({"type": "join", "version": 1, "token": server.token("locked", "late", "participant")})
        refused = error(late, "room-locked")
        assert refused["fatal"] and "unlock" in refused["message"]
        closes(late)
        # A host still gets in (an organiser whose connection dropped must be able to return), and sees the lock.
        second, hosted = joined(server, "locked", "secretary", "host")
        assert hosted["controls"]["locked"] is True
        host.send({"type": "lock", "locked": False})
        assert bob.next_type("room-controls")["controls"]["locked"] is False
        again, _ = joined(server, "locked", "late")
        again.close()
        second.close()
    finally:
        host.close()
        bob.close()


def test_participants_wait_for_a_host_and_go_in_when_one_joins(server):
    assert admin(server, "POST", "/api/rooms", {"name": "briefing", "waitForHost": True}).status_code == 201
    early, lobby = waiting(server, "briefing", "early")
    viewer, _ = waiting(server, "briefing", "watcher", "viewer")
    try:
        assert lobby["reason"] == "waiting-for-host"
        host, hosted = joined(server, "briefing", "collector", "host")
        assert early.next_type("joined")["you"]["identity"] == "early"
        assert viewer.next_type("joined")["you"]["identity"] == "watcher"
        assert hosted["waiting"] == []
        # Once a host is in, others go straight in.
        direct, _ = joined(server, "briefing", "direct")
        direct.close()
        host.close()
    finally:
        early.close()
        viewer.close()


async def offer(ws: MeetingSocket, pc: RTCPeerConnection, screen: int) -> tuple[str, list[str]]:
    """Sends the peer connection's offer, its transceiver `screen` declared a screen; returns the answer's SDP and the
    error codes that came with it."""
    await pc.setLocalDescription(await pc.createOffer())
    start = len(ws.history)
    sources = {pc.getTransceivers()[screen].mid: "screen"}
    ws.send({"type": "offer", "sdp": pc.localDescription.sdp, "sources": sources})
    answer = await asyncio.to_thread(ws.next_type, "answer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    await asyncio.sleep(0.3)
    return answer["sdp"], [m["code"] for m in ws.history[start:] if m.get("type") == "error"]


def m_section(sdp: str, mid: str) -> str:
    return sdp.split(f"a=mid:{mid}\r\n", 1)[1].split("m=", 1)[0]


@pytest.mark.timeout(120)
def test_only_hosts_share_a_screen_unless_a_host_allows_everyone(server):
    async def scenario():
        host, _ = joined(server, "screens", "collector", "host")
        bob = MeetingSocket(server.base_url)
        bob.join(server.token("screens", "bob", "participant"))
        pc = RTCPeerConnection(rtc_configuration())
        try:
            pc.addTransceiver(MovingPatternTrack(), direction="sendonly")
            pc.addTransceiver(MovingPatternTrack(width=640, height=360, fps=5), direction="sendonly")
            sdp, errors = await offer(bob, pc, screen=1)
            mids = [t.mid for t in pc.getTransceivers()]
            assert "screen-share-not-allowed" in errors
            assert "a=inactive" in m_section(sdp, mids[1]) and "a=recvonly" in m_section(sdp, mids[0])
            camera = await asyncio.to_thread(host.next_type, "track-published")
            assert camera["track"]["source"] == "camera"

            host.send({"type": "allow-screen-share", "allowed": True})
            assert (await asyncio.to_thread(bob.next_type, "room-controls"))["controls"]["screenShareAllowed"] is True
            sdp, errors = await offer(bob, pc, screen=1)
            assert errors == [] and "a=recvonly" in m_section(sdp, mids[1])
            screen = await asyncio.to_thread(host.next_type, "track-published")
            assert screen["track"]["source"] == "screen"

            # Taken back: the screen stops for everyone at once.
            host.send({"type": "allow-screen-share", "allowed": False})
            assert (await asyncio.to_thread(bob.next_type, "error"))["code"] == "screen-share-not-allowed"
            gone = await asyncio.to_thread(host.next, 10, lambda m: m.get("type") == "track-unpublished")
            assert gone["track"] == screen["track"]["id"]
            live = admin(server, "GET", "/api/rooms/screens").json()["participants"]
            sources = sorted(t["source"] for p in live for t in p["tracks"])
            assert sources == ["camera"], sources
        finally:
            await pc.close()
            host.close()
            bob.close()

    asyncio.run(scenario())


def test_a_host_mutes_everyone_and_makes_a_co_host(server):
    host, _ = joined(server, "council", "collector", "host")
    others = [joined(server, "council", name)[0] for name in ("bob", "carol", "dev")]
    viewer, _ = joined(server, "council", "press", "viewer")
    try:
        others[0].send({"type": "mute-all"})
        error(others[0], "not-host")
        host.send({"type": "mute-all"})
        host_id = host.history[0]["you"]["id"]
        for ws in others + [viewer]:
            assert ws.next_type("mute-request") == {"type": "mute-request", "kind": "audio", "by": host_id}
        assert not any(m.get("type") == "mute-request" for m in host.history)

        bob_id = others[0].history[0]["you"]["id"]
        host.send({"type": "make-host", "participant": bob_id})
        for ws in [host] + others:
            updated = ws.next_type("participant-updated")["participant"]
            assert updated["id"] == bob_id and updated["role"] == "host"
        lists = others[0].next_type("host-lists")
        assert lists["removed"] == [] and lists["waiting"] == []
        # Bob can now do what hosts do.
        others[0].send({"type": "lock", "locked": True})
        assert host.next_type("room-controls")["controls"]["locked"] is True
        host.send({"type": "make-host", "participant": viewer.history[0]["you"]["id"]})
        error(host, "viewer-cannot-host")
        # A co-host may export the chat with their own link, as hosts do.
        bob_token = server.token("council", "bob", "participant")
        assert admin(server, "GET", "/api/rooms/council/chat", token=bob_token).status_code == 200
        assert admin(server, "GET", "/api/rooms/council/chat", token=server.token("council", "carol", "participant")).status_code == 403
        # A co-host who drops and joins again is still a host, even into the locked room.
        others[0].close()
        back, rejoined = joined(server, "council", "bob")
        assert rejoined["you"]["role"] == "host" and "waiting" in rejoined
        back.close()
    finally:
        for ws in [host, viewer] + others:
            ws.close()


def test_raised_hands_form_one_queue_that_hosts_can_lower(server):
    host, _ = joined(server, "hands", "collector", "host")
    bob, _ = joined(server, "hands", "bob")
    carol, _ = joined(server, "hands", "carol")
    ids = {name: ws.history[0]["you"]["id"] for name, ws in (("bob", bob), ("carol", carol))}
    try:
        bob.send({"type": "raise-hand"})
        assert [h["participant"] for h in host.next_type("hands")["hands"]] == [ids["bob"]]
        carol.send({"type": "raise-hand"})
        bob.send({"type": "raise-hand"})  # already up: nothing changes
        queue = host.next_type("hands")["hands"]
        assert [h["participant"] for h in queue] == [ids["bob"], ids["carol"]] and all(h["at"].endswith("Z") for h in queue)
        assert [h["participant"] for h in carol.next(10, lambda m: m.get("type") == "hands" and len(m["hands"]) == 2)["hands"]] == [ids["bob"], ids["carol"]]
        late, hello = joined(server, "hands", "late")
        assert [h["participant"] for h in hello["hands"]] == [ids["bob"], ids["carol"]]
        carol.send({"type": "lower-hand", "participant": ids["bob"]})
        error(carol, "not-host")
        host.send({"type": "lower-hand", "participant": ids["bob"]})
        assert [h["participant"] for h in late.next_type("hands")["hands"]] == [ids["carol"]]
        carol.send({"type": "leave"})  # leaving lowers the hand
        assert late.next_type("hands")["hands"] == []

        # Raising and lowering as fast as one can: a burst of six changes (less the one his raise took), then one a second.
        before = sum(1 for m in late.history if m.get("type") == "hands")
        started = time.monotonic()
        for i in range(40):
            bob.send({"type": "raise-hand" if i % 2 == 0 else "lower-hand"})
        time.sleep(1)
        elapsed = time.monotonic() - started
        limited = sum(1 for m in bob.history if m.get("type") == "error" and m["code"] == "hands-rate-limited")
        changes = sum(1 for m in late.history if m.get("type") == "hands") - before
        assert 5 <= changes <= 6 + int(elapsed) + 1 and limited >= 15, (changes, limited, elapsed)  # a refused raise makes the next lower a no-op  # his earlier raise took one
        late.close()
    finally:
        for ws in (host, bob, carol):
            ws.close()


def test_chat_reaches_everyone_is_kept_for_late_joiners_and_exported(server):
    host_token = server.token("talk", "collector", "host", name="Collector")
    host = MeetingSocket(server.base_url)
    host.join(host_token)
    bob, _ = joined(server, "talk", "bob", name="Bob")
    sockets = [host, bob]
    try:
        html = '<img src=x onerror="alert(1)"> & "quotes"\nsecond line\x07'
        bob.send({"type": "chat", "text": html})
        for ws in (host, bob):
            message = ws.next_type("chat")
            assert message["from"] == bob.history[0]["you"]["id"] and message["name"] == "Bob"
            assert message["text"] == html.replace("\x07", "")  # text, exactly, without the control character
            assert message["at"].endswith("Z") and message["id"] > 0
        bob.send({"type": "chat", "text": "   "})
        error(bob, "chat-empty")
        bob.send({"type": "chat", "text": "x" * 2001})
        error(bob, "chat-too-long")

        # The rate limit: a burst of five, then one a second.
        started = time.monotonic()
        for i in range(20):
            host.send({"type": "chat", "text": f"flood {i}"})
        time.sleep(1)
        elapsed = time.monotonic() - started
        accepted = sum(1 for m in host.history if m.get("type") == "chat" and m["text"].startswith("flood"))
        limited = sum(1 for m in host.history if m.get("type") == "error" and m["code"] == "chat-rate-limited")
        assert accepted + limited == 20, (accepted, limited)
        assert 5 <= accepted <= 5 + int(elapsed) + 1, (accepted, elapsed)

        # More than a hundred messages from many people: a joiner gets the last hundred, in order.
        for n in range(22):
            ws, _ = joined(server, "talk", f"officer{n}")
            sockets.append(ws)
            for i in range(5):
                ws.send({"type": "chat", "text": f"officer{n} says {i}"})
        deadline = time.monotonic() + 20
        while sum(1 for m in host.history if m.get("type") == "chat") < 1 + accepted + 110:
            assert time.monotonic() < deadline, "not every chat message arrived"
            time.sleep(0.2)
        everything = [m for m in host.history if m.get("type") == "chat"]
        late, hello = joined(server, "talk", "late")
        sockets.append(late)
        assert len(hello["chat"]) == 100
        assert [m["id"] for m in hello["chat"]] == [m["id"] for m in everything[-100:]]

        # Export: the administrator's key or a host's link; JSON, or text when asked.
        exported = admin(server, "GET", "/api/rooms/talk/chat")
        assert exported.status_code == 200
        assert [m["text"] for m in exported.json()["messages"]] == [m["text"] for m in everything]
        as_host = admin(server, "GET", "/api/rooms/talk/chat", token=host_token, accept="text/plain")
        assert as_host.status_code == 200 and as_host.headers["Content-Type"].startswith("text/plain")
        lines = as_host.text.splitlines()
        assert lines[0].endswith("Bob <bob>: " + html.replace("\x07", "").split("\n")[0]) and lines[1] == "    second line"
        participant = admin(server, "GET", "/api/rooms/talk/chat", token=server.token("talk", "bob", "participant"))
        assert participant.status_code == 403 and participant.json()["code"] == "not-host"
        other_room = admin(server, "GET", "/api/rooms/talk/chat", token=server.token("elsewhere", "x", "host"))
        assert other_room.status_code == 401
        assert requests.get(server.base_url + "/api/rooms/talk/chat", timeout=10).status_code == 401
    finally:
        for ws in sockets:
            ws.close()


def test_chat_survives_a_restart(start_server):
    server = start_server()
    bob, _ = joined(server, "kept", "bob")
    bob.send({"type": "chat", "text": "before the restart"})
    bob.next_type("chat")
    bob.close()
    server.stop()
    server.start()
    again, hello = joined(server, "kept", "carol")
    try:
        assert [m["text"] for m in hello["chat"]] == ["before the restart"]
    finally:
        again.close()


def test_a_withdrawn_link_or_an_ended_room_reaches_people_in_the_lobby_too(server):
    assert admin(server, "POST", "/api/rooms", {"name": "guarded", "lobby": True}).status_code == 201
    made = admin(server, "POST", "/api/rooms/guarded/links",
                 {"participants": [{"identity": "sunil", "role": "participant"}, {"identity": "guest", "role": "participant"}]})
    assert made.status_code == 200, made.text
    links = {link["identity"]: link for link in made.json()["links"]}
    host, _ = joined(server, "guarded", "collector", "host")
    sunil = MeetingSocket(server.base_url)
    guest = MeetingSocket(server.base_url)
    try:
        sunil.send({"type": "join", "version": 1, "token": links["sunil"]["token"]})
        assert sunil.next_type("lobby")["reason"] == "lobby"
        host.next_type("lobby-waiting")
        revoked = admin(server, "DELETE", f"/api/rooms/guarded/links/{links['sunil']['id']}")
        assert revoked.status_code == 200 and revoked.json()["disconnected"] == 1, revoked.text
        assert error(sunil, "link-revoked")["fatal"] is True
        closes(sunil)
        assert host.next_type("lobby-left")["reason"] == "removed"

        # Ending the room sends the lobby away too.
        guest.send({"type": "join", "version": 1, "token": links["guest"]["token"]})
        guest_id = guest.next_type("lobby")["you"]["id"]
        host.next_type("lobby-waiting")
        closed = admin(server, "DELETE", "/api/rooms/guarded")
        assert closed.status_code == 200
        assert guest.next_type("meeting-ended")
        closes(guest)
        assert guest_id not in [p["id"] for p in admin(server, "GET", "/api/rooms/guarded").json()["participants"]]
    finally:
        for ws in (host, sunil, guest):
            ws.close()

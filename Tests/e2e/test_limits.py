"""Issue 13 item 6, limits a logged-in user cannot exceed, against a real `sabha serve`: WHIP/WHEP sessions per
token, WebSocket connections per address and a timeout for sockets that never join, a bounded outbox per
WebSocket (a reader that stops reading is disconnected with a close code), attendees per meeting or booking, and
the allowed invitation domains. Each test makes the attack, then shows the server alive, the limit enforced with a
problem document or a close code and counted in /metrics, and the others unaffected."""

from __future__ import annotations

import datetime as dt
import json
import socket
import struct
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket

from e2ekit.groupware import sabha_env
from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

FIXTURES = Path(__file__).resolve().parents[1] / "Fixtures" / "sdp"
SENDONLY = (FIXTURES / "chromium156-sendonly-offer.sdp").read_bytes()
RECVONLY = (FIXTURES / "chromium156-recvonly-offer.sdp").read_bytes()


def post(server, path: str, token: str, body: bytes) -> requests.Response:
    return requests.post(server.base_url + path, data=body, timeout=10,
                         headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"})


def problem(resp: requests.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, f"{resp.status_code}: {resp.text}"
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status and body["code"] == code and body["detail"], body
    return body


def refusals(metrics, server, limit: str) -> float:
    return metrics(server.base_url).value("sabha_limit_refusals_total", limit=limit)


def raw_socket(server, source: str = "127.0.0.1", rcvbuf: int | None = None) -> websocket.WebSocket:
    """A /ws connection from `source` (any 127.x address), optionally with a small receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.http_port))
    return websocket.create_connection(server.base_url.replace("http://", "ws://") + "/ws", socket=sock, timeout=10)


def until_close(ws: websocket.WebSocket, timeout: float = 15) -> tuple[list[dict], int | None]:
    """Reads until the server closes: the JSON messages and the close code (None when the connection just ended).

    Reads the raw socket in large chunks against one deadline. A reader that stopped reading has megabytes queued for
    it (the kernels' socket buffers hold far more than the server's outbox), and websocket-client, which takes a
    frame a few bytes per system call, needed minutes for that on a loaded machine."""
    sock = ws.sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    messages: list[dict] = []
    while True:
        at = 0
        while (frame := next_frame(buffer, at)) is not None:
            opcode, payload, at = frame
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return messages, struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            if opcode == websocket.ABNF.OPCODE_TEXT:
                messages.append(json.loads(payload))
        del buffer[:at]
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no close within {timeout} s ({len(messages)} messages)"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        except OSError:  # reset
            return messages, None
        if not chunk:
            return messages, None
        buffer += chunk


def next_frame(buffer: bytearray, start: int) -> tuple[int, bytes, int] | None:
    """The complete server frame at `start` in `buffer` (RFC 6455 5.2: unmasked, unfragmented from this server):
    opcode, payload and where the next frame starts; None when the frame is not all there yet."""
    if len(buffer) < start + 2:
        return None
    opcode, length, at = buffer[start] & 0x0F, buffer[start + 1] & 0x7F, start + 2
    if length == 126:
        if len(buffer) < at + 2:
            return None
        length, at = struct.unpack_from("!H", buffer, at)[0], at + 2
    elif length == 127:
        if len(buffer) < at + 8:
            return None
        length, at = struct.unpack_from("!Q", buffer, at)[0], at + 8
    if len(buffer) < at + length:
        return None
    return opcode, bytes(buffer[at:at + length]), at + length


def recv_type(ws: websocket.WebSocket, type_: str, timeout: float = 10) -> dict:
    """The next message of `type_`, skipping others."""
    ws.settimeout(timeout)
    while True:
        message = json.loads(ws.recv())
        if message.get("type") == type_:
            return message


def test_one_viewer_token_cannot_open_two_hundred_whep_sessions(start_server, metrics):
    server = start_server()
    assert post(server, "/whip/stage", server.token("stage", "speaker", "publisher"), SENDONLY).status_code == 201
    viewer = server.token("stage", "viewer-1", "viewer")
    answers = [post(server, "/whep/stage/speaker", viewer, RECVONLY) for _ in range(200)]
    created = [r for r in answers if r.status_code == 201]
    assert len(created) == 16, f"{len(created)} sessions for one token (default limit 16)"
    body = problem(answers[-1], 429, "too-many-sessions")
    assert "--max-sessions-per-token" in body["detail"]
    m = metrics(server.base_url)
    assert m.value("sabha_limit_refusals_total", limit="sessions-per-token") == 184
    assert m.value("sabha_sessions", kind="whep") == 16

    # Another viewer is not affected; ending one session gives the token a place back.
    assert post(server, "/whep/stage/speaker", server.token("stage", "viewer-2", "viewer"), RECVONLY).status_code == 201
    location = created[0].headers["Location"]
    assert requests.delete(server.base_url + location, headers={"Authorization": f"Bearer {viewer}"}, timeout=10).status_code == 200
    assert post(server, "/whep/stage/speaker", viewer, RECVONLY).status_code == 201
    problem(post(server, "/whep/stage/speaker", viewer, RECVONLY), 429, "too-many-sessions")
    assert server.alive()


def test_the_session_limit_follows_its_option_and_environment_variable(start_server):
    for server in (start_server("--max-sessions-per-token", "2"), start_server(env={"SABHA_MAX_SESSIONS_PER_TOKEN": "2"})):
        publisher = server.token("r", "speaker", "publisher")
        assert post(server, "/whip/r", publisher, SENDONLY).status_code == 201
        viewer = server.token("r", "v", "viewer")
        assert [post(server, "/whep/r/speaker", viewer, RECVONLY).status_code for _ in range(3)] == [201, 201, 429]


def test_a_server_alone_serves_at_most_max_viewers_and_refuses_the_next_with_503(start_server, metrics):
    """--max-viewers bounds the WHEP viewers of the whole server (every token, every room): the next is refused with
    503 server-full and Retry-After, counted in /metrics; a place comes back when a viewer leaves. Publishers are
    not counted."""
    server = start_server("--max-viewers", "3")
    assert post(server, "/whip/stage", server.token("stage", "speaker", "publisher"), SENDONLY).status_code == 201
    assert post(server, "/whip/other", server.token("other", "speaker", "publisher"), SENDONLY).status_code == 201
    answers = [post(server, f"/whep/{room}/speaker", server.token(room, f"v{i}", "viewer"), RECVONLY)
               for i, room in enumerate(["stage", "other", "stage", "other", "stage"])]
    assert [r.status_code for r in answers] == [201, 201, 201, 503, 503], [r.text[:200] for r in answers]
    body = problem(answers[3], 503, "server-full")
    assert "--max-viewers" in body["detail"] and answers[3].headers.get("Retry-After") == "10"
    m = metrics(server.base_url)
    assert m.value("sabha_limit_refusals_total", limit="max-viewers") == 2
    assert m.value("sabha_sessions", kind="whep") == 3

    location = answers[0].headers["Location"]
    token = server.token("stage", "v0", "viewer")
    assert requests.delete(server.base_url + location, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    assert post(server, "/whep/stage/speaker", server.token("stage", "late", "viewer"), RECVONLY).status_code == 201
    problem(post(server, "/whep/stage/speaker", server.token("stage", "later", "viewer"), RECVONLY), 503, "server-full")
    assert server.alive()


def test_sockets_that_never_join_are_refused_past_the_address_limit_and_closed_after_the_join_timeout(start_server, metrics):
    server = start_server("--join-timeout", "3s", "--max-websockets-per-address", "20")
    # Someone on another address is in a meeting throughout.
    member = raw_socket(server, source="127.0.0.3")
    member.send(json.dumps({"type": "join", "version": 1, "token": server.token("busy", "member", "participant")}))
    recv_type(member, "joined")
    attackers: list[websocket.WebSocket] = []
    try:
        # 300 sockets from one address that never join.
        refused_codes = []
        for _ in range(300):
            ws = raw_socket(server)
            attackers.append(ws)
            if len(attackers) > 20:
                messages, code = until_close(ws, timeout=10)
                assert [m["code"] for m in messages] == ["too-many-connections"] and messages[0]["fatal"], messages
                refused_codes.append(code)
        assert refused_codes == [4429] * 280, set(refused_codes)
        assert refusals(metrics, server, "websockets-per-address") == 280
        assert metrics(server.base_url).value("sabha_websocket_connections") == 21

        # A participant from another address joins meanwhile.
        other = raw_socket(server, source="127.0.0.2")
        other.send(json.dumps({"type": "join", "version": 1, "token": server.token("busy", "other", "participant")}))
        recv_type(other, "joined")

        # The twenty that never joined are closed after the join timeout, with a reason and a close code.
        for ws in attackers[:20]:
            messages, code = until_close(ws, timeout=15)
            assert [m["code"] for m in messages] == ["join-timeout"] and code == 4408, (messages, code)
        assert refusals(metrics, server, "join-timeout") == 20
        wait_for(lambda: metrics(server.base_url).value("sabha_websocket_connections") == 2, 10, "only the two members left")
        # Joined sockets are not timed out, and the address can connect again.
        time.sleep(3.5)
        member.send(json.dumps({"type": "ping", "id": 1}))
        assert recv_type(member, "pong")["id"] == 1
        other.send(json.dumps({"type": "ping", "id": 2}))
        assert recv_type(other, "pong")["id"] == 2
        again = MeetingSocket(server.base_url)
        try:
            assert again.join(server.token("busy", "late", "participant"))["type"] == "joined"
        finally:
            again.close()
        other.close()
        assert server.alive()
    finally:
        member.close()
        for ws in attackers:
            ws.close()


def test_a_participant_that_stops_reading_is_disconnected_and_the_others_carry_on(start_server, metrics):
    server = start_server("--websocket-outbox", "64KiB", "--resume-grace", "1")
    fast = MeetingSocket(server.base_url)
    fast.join(server.token("room", "fast", "participant"))
    slow = raw_socket(server, rcvbuf=4096)
    try:
        slow.send(json.dumps({"type": "join", "version": 1, "token": server.token("room", "slow", "participant")}))
        # The slow participant asks for pongs and never reads them: the server's queue for it grows.
        ping = json.dumps({"type": "ping", "id": 1234567890})
        deadline = time.monotonic() + 60
        sent = 0
        while refusals(metrics, server, "websocket-outbox") == 0:
            assert time.monotonic() < deadline, f"no overflow after {sent} pings"
            for _ in range(500):
                slow.send(ping)
            sent += 500
        # Reading again at once, it finds what was queued before the limit, then the close code.
        messages, code = until_close(slow, timeout=15)
        assert code == 4413, f"close code {code} after {len(messages)} messages"
        assert sum(1 for m in messages if m.get("type") == "pong") < sent, "not every pong was buffered"
        assert "reader too slow" in server.log_text()
        # The others: told the slow one left (after the resume grace), and their own connection works.
        left = fast.next_type("participant-left", timeout=15)
        assert left["reason"] == "disconnected"
        fast.send({"type": "ping", "id": 7})
        assert fast.next_type("pong")["id"] == 7
        wait_for(lambda: metrics(server.base_url).value("sabha_websocket_connections") == 1, 10, "the slow socket gone")
        assert server.alive()
    finally:
        slow.close()
        fast.close()


# ---------------------------------------------------------------------------------------------------- invitations

ORGANIZER = {"name": "Collector Pune", "email": "collector@pune.gov.in"}


def admin(server, method: str, path: str, body=None) -> requests.Response:
    key = (server.data_dir / "admin.key").read_text().strip()
    return requests.request(method, server.base_url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def meeting_body(start: dt.datetime, attendees) -> dict:
    return {"title": "Limits", "start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat(),
            "organizer": ORGANIZER, "attendees": attendees}


def booking_ics(uid: str, start: dt.datetime, emails: list[str]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sabha e2e//Limits//EN", "BEGIN:VEVENT", f"UID:{uid}",
             f"DTSTAMP:{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}", "SEQUENCE:0",
             f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{start + dt.timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
             "SUMMARY:Booked", f"ORGANIZER;CN=Collector:mailto:{ORGANIZER['email']}"]
    lines += [f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{e}" for e in emails]
    return "\r\n".join(lines + ["END:VEVENT", "END:VCALENDAR"]) + "\r\n"


@pytest.mark.timeout(90)
def test_invitations_go_only_to_allowed_domains_and_to_at_most_the_attendee_limit(start_server, smtp_maildir, radicale, metrics):
    server = start_server(env=sabha_env(smtp_maildir, radicale, SABHA_INVITE_DOMAINS="pune.gov.in, nic.in",
                                        SABHA_MAX_ATTENDEES="3"))
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)).replace(second=0, microsecond=0)

    # The API refuses an outsider and a crowd with problem documents, and mails nobody.
    body = problem(admin(server, "POST", "/api/meetings", meeting_body(start, [
        {"email": "asha@pune.gov.in", "role": "host"}, {"email": "eve@evil.example"}])), 403, "invite-domain-not-allowed")
    assert "eve@evil.example" in body["detail"] and "pune.gov.in" in body["detail"]
    body = problem(admin(server, "POST", "/api/meetings", meeting_body(start, [
        {"email": f"p{i}@pune.gov.in"} for i in range(4)])), 400, "too-many-attendees")
    assert "3" in body["detail"]
    ok = admin(server, "POST", "/api/meetings", meeting_body(start, [{"email": "asha@pune.gov.in", "role": "host"},
                                                                      {"email": "dev@district.nic.in"}]))
    assert ok.status_code == 201, ok.text
    assert refusals(metrics, server, "invite-domains") == 1 and refusals(metrics, server, "attendees") == 1

    # A booking with an outsider: the meeting is made for the others; the outsider gets no link and no mail.
    uid = f"limits-{uuid.uuid4()}@e2e"
    assert radicale.put_raw("resource", "outsider.ics",
                            booking_ics(uid, start, ["ravi@pune.gov.in", "eve@evil.example"]).encode()) == 201
    meeting = wait_for(lambda: next((m for m in admin(server, "GET", "/api/meetings").json()["meetings"] if m["uid"] == uid), None),
                       15, "the booking to become a meeting")
    assert sorted(a["email"] for a in meeting["attendees"]) == ["collector@pune.gov.in", "ravi@pune.gov.in"], meeting["attendees"]
    wait_for(lambda: smtp_maildir.messages("ravi@pune.gov.in"), 15, "Ravi's invitation")
    # A crowd in a booking: no meeting, nobody mailed.
    crowd = f"crowd-{uuid.uuid4()}@e2e"
    assert radicale.put_raw("resource", "crowd.ics", booking_ics(crowd, start, [f"p{i}@pune.gov.in" for i in range(5)]).encode()) == 201
    wait_for(lambda: refusals(metrics, server, "attendees") == 2, 15, "the crowded booking refused")
    time.sleep(3)
    assert smtp_maildir.messages("eve@evil.example") == [], "the department's sender mailed an outsider"
    assert all(smtp_maildir.messages(f"p{i}@pune.gov.in") == [] for i in range(5)), "a refused booking mailed someone"
    assert not any(m["uid"] == crowd for m in admin(server, "GET", "/api/meetings").json()["meetings"])
    assert refusals(metrics, server, "invite-domains") == 2
    log = server.log_text()
    assert log.count("outside the invitation domains") == 1 and log.count("more than the 3 allowed") == 1, "logged once per version"
    assert server.alive()

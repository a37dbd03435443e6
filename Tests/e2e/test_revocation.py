"""Issue 13 item 5, links that can be revoked, against a real `sabha serve`: a removed participant stays out (any
token, /ws and WHIP/WHEP) until a host or an administrator lets them back in; an ended room stays closed until an
administrator reopens it; a scheduled meeting's downgraded host joins with the lesser role; an administrator
withdraws one link. Each refusal is a coded error (WebSocket) or an RFC 9457 problem (HTTP), the audit trail
records who did what, and the other participants carry on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for
from test_admin_api import api, link_for, ok, problem

pytestmark = pytest.mark.server

FIXTURES = Path(__file__).resolve().parents[1] / "Fixtures" / "sdp"
SENDONLY = (FIXTURES / "chromium156-sendonly-offer.sdp").read_bytes()


def whip(server, room: str, token: str) -> requests.Response:
    return requests.post(f"{server.base_url}/whip/{room}", data=SENDONLY, timeout=10,
                         headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"})


def refusal(server, token: str, room: str | None = None) -> dict:
    """The fatal error a join with `token` gets; the server closes the socket after it."""
    ws = MeetingSocket(server.base_url)
    try:
        ws.send({"type": "join", "version": 1, "token": token, **({"room": room} if room else {})})
        msg = ws.next(10, lambda m: m.get("type") in ("joined", "error"))
        assert msg["type"] == "error", f"joined although it should be refused: {msg}"
        assert msg["fatal"] is True and msg["message"], msg
        assert ws.closed.wait(10), "the server did not close the socket after the fatal error"
        return msg
    finally:
        ws.close()


def still_fine(ws: MeetingSocket, n: int) -> None:
    """The participant's connection still works: a ping gets its pong."""
    ws.send({"type": "ping", "id": n})
    assert ws.next(10, lambda m: m.get("type") == "pong" and m.get("id") == n)


def audit_events(server, room: str) -> list[dict]:
    return ok(api(server, "GET", f"/api/audit?room={room}"))


def test_a_removed_participant_stays_out_with_any_token_until_a_host_or_an_admin_lets_them_back(server, metrics):
    ok(api(server, "POST", "/api/rooms", {"name": "review"}), 201)
    host, ravi, meera = MeetingSocket(server.base_url), MeetingSocket(server.base_url), MeetingSocket(server.base_url)
    ravi_links = [link_for(server, "review", "ravi@dept.gov.in", name="Ravi")["token"] for _ in range(2)]
    try:
        host_joined = host.join(link_for(server, "review", "asha@dept.gov.in", "host")["token"])
        ravi_id = ravi.join(ravi_links[0])["you"]["id"]
        meera_joined = meera.join(link_for(server, "review", "meera@dept.gov.in")["token"])

        host.send({"type": "remove", "participant": ravi_id})
        assert ravi.next_type("error")["code"] == "removed"
        assert meera.next_type("participant-left")["reason"] == "removed"

        # Out: the same link, another link, a token made on the command line, and WHIP/WHEP.
        for token in ravi_links + [server.token("review", "ravi@dept.gov.in", "host")]:
            msg = refusal(server, token, room="review")
            assert msg["code"] == "removed" and "lets you back in" in msg["message"], msg
        assert host_joined["removed"] == [], "hosts get the list of removed people"
        assert "removed" not in meera_joined, "only hosts see the list"
        assert host.next_type("removed-list")["removed"] == [{"identity": "ravi@dept.gov.in", "name": "Ravi"}]
        body = problem(whip(server, "review", ravi_links[1]), 403, "removed")
        assert "host" in body["detail"]
        problem(requests.post(f"{server.base_url}/whep/review/asha@dept.gov.in", data=b"v=0", timeout=10, headers={
            "Content-Type": "application/sdp", "Authorization": f"Bearer {ravi_links[1]}"}), 403, "removed")
        assert server.alive()
        still_fine(meera, 1)
        still_fine(host, 2)
        assert [r["identity"] for r in ok(api(server, "GET", "/api/rooms/review/removed"))["removed"]] == ["ravi@dept.gov.in"]
        assert ok(api(server, "GET", "/api/rooms/review"))["removed"][0]["removedBy"] == "asha@dept.gov.in"

        # Only a host may let someone back in; then Ravi joins again.
        meera.send({"type": "readmit", "identity": "ravi@dept.gov.in"})
        assert meera.next_type("error")["code"] == "not-host"
        host.send({"type": "readmit", "identity": "nobody@dept.gov.in"})
        assert host.next_type("error")["code"] == "unknown-participant"
        host.send({"type": "readmit", "identity": "ravi@dept.gov.in"})
        assert host.next_type("removed-list")["removed"] == []
        again = MeetingSocket(server.base_url)
        try:
            again_id = again.join(ravi_links[1])["you"]["id"]
            # Removed a second time; this time an administrator lets him back in.
            host.send({"type": "remove", "participant": again_id})
            assert again.next_type("error")["code"] == "removed"
        finally:
            again.close()
        assert refusal(server, ravi_links[0])["code"] == "removed"
        problem(api(server, "DELETE", "/api/rooms/review/removed/nobody@dept.gov.in"), 404, "not-removed")
        assert ok(api(server, "DELETE", "/api/rooms/review/removed/ravi@dept.gov.in")) == {"identity": "ravi@dept.gov.in", "readmitted": True}
        assert host.next(10, lambda m: m.get("type") == "removed-list" and m["removed"] == [])
        back = MeetingSocket(server.base_url)
        try:
            assert back.join(ravi_links[0])["you"]["identity"] == "ravi@dept.gov.in"
        finally:
            back.close()

        def trail():
            events = [(e["event"], e["identity"], e["actor"]) for e in audit_events(server, "review")]
            wanted = [("removed", "ravi@dept.gov.in", "asha@dept.gov.in"), ("readmitted", "ravi@dept.gov.in", "asha@dept.gov.in"),
                      ("readmitted", "ravi@dept.gov.in", "admin")]
            return events if all(w in events for w in wanted) else None
        wait_for(trail, 10, "removals and readmissions with who did them in the audit trail")
    finally:
        for ws in (host, ravi, meera):
            ws.close()


def test_an_ended_room_stays_closed_until_an_admin_reopens_it(server, metrics):
    ok(api(server, "POST", "/api/rooms", {"name": "closing"}), 201)
    ok(api(server, "POST", "/api/rooms", {"name": "elsewhere"}), 201)
    host_link = link_for(server, "closing", "asha", "host")["token"]
    guest_link = link_for(server, "closing", "ravi")["token"]
    other = MeetingSocket(server.base_url)
    host, guest = MeetingSocket(server.base_url), MeetingSocket(server.base_url)
    try:
        other.join(link_for(server, "elsewhere", "dev")["token"])
        host.join(host_link)
        guest.join(guest_link)
        # A WHIP publisher in the room (its media never connects; the session and its transport exist).
        assert whip(server, "closing", guest_link).status_code == 201
        assert metrics(server.base_url).value("sabha_sessions", kind="whip") == 1

        host.send({"type": "end-meeting"})
        assert guest.next_type("meeting-ended")["reason"] == "host"

        # Every old link, the host's included, meets a closed room, on /ws and over WHIP.
        for token in (host_link, guest_link, server.token("closing", "newcomer", "host")):
            msg = refusal(server, token)
            assert msg["code"] == "room-closed" and "reopens" in msg["message"], msg
        problem(whip(server, "closing", host_link), 403, "room-closed")
        wait_for(lambda: metrics(server.base_url).value("sabha_sessions", kind="whip") == 0, 10, "the room's WHIP session to end")
        room = ok(api(server, "GET", "/api/rooms/closing"))
        assert room["closedAt"] and room["endedAt"], room
        still_fine(other, 1)

        # Reopened by an administrator: links admit again; ended through the API: closed again.
        assert ok(api(server, "POST", "/api/rooms/closing/reopen")) == {"name": "closing", "reopened": True}
        assert ok(api(server, "POST", "/api/rooms/closing/reopen")) == {"name": "closing", "reopened": False}
        problem(api(server, "POST", "/api/rooms/nowhere/reopen"), 404, "room-not-found")
        back = MeetingSocket(server.base_url)
        try:
            back.join(guest_link)
            assert ok(api(server, "DELETE", "/api/rooms/closing")) == {"ended": True, "participants": 1, "closed": True}
            assert back.next_type("meeting-ended")["reason"] == "ended"
        finally:
            back.close()
        assert refusal(server, host_link)["code"] == "room-closed"
        still_fine(other, 2)

        def trail():
            events = [(e["event"], e["actor"]) for e in audit_events(server, "closing")]
            wanted = [("room-ended", "asha"), ("room-reopened", "admin"), ("room-ended", "admin")]
            return events if all(w in events for w in wanted) else None
        wait_for(trail, 10, "room-ended and room-reopened with who did them in the audit trail")
    finally:
        for ws in (other, host, guest):
            ws.close()


def test_an_admin_withdraws_one_link_and_only_that_one(server):
    ok(api(server, "POST", "/api/rooms", {"name": "links"}), 201)
    first, second = link_for(server, "links", "ravi"), link_for(server, "links", "ravi")
    assert first["id"] and first["id"] != second["id"], (first, second)
    ws, host = MeetingSocket(server.base_url), MeetingSocket(server.base_url)
    try:
        host.join(link_for(server, "links", "asha", "host")["token"])
        ws.join(first["token"])
        shown = ok(api(server, "GET", "/api/rooms/links"))["participants"]
        assert {p["identity"]: p["link"] for p in shown}["ravi"] == first["id"]

        revoked = ok(api(server, "DELETE", f"/api/rooms/links/links/{first['id']}"))
        assert revoked == {"id": first["id"], "revoked": True, "disconnected": 1}
        err = ws.next_type("error")
        assert err["code"] == "link-revoked" and err["fatal"]
        assert host.next_type("participant-left")["participant"]

        msg = refusal(server, first["token"])
        assert msg["code"] == "link-revoked" and "withdrawn" in msg["message"]
        problem(whip(server, "links", first["token"]), 403, "link-revoked")
        again = MeetingSocket(server.base_url)
        try:
            assert again.join(second["token"])["you"]["identity"] == "ravi", "the other link of the same person still works"
        finally:
            again.close()
        problem(api(server, "DELETE", "/api/rooms/links/links/not%20an%20id"), 400, "bad-path")
        assert ok(api(server, "DELETE", f"/api/rooms/links/links/{first['id']}"))["disconnected"] == 0
        wait_for(lambda: [e for e in audit_events(server, "links") if e["event"] == "link-revoked" and e["detail"] == first["id"]
                          and e["actor"] == "admin"], 10, "the revocation in the audit trail")
        still_fine(host, 1)
    finally:
        ws.close()
        host.close()


def test_a_downgraded_host_of_a_scheduled_meeting_joins_with_the_lesser_role(server):
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).replace(microsecond=0)
    body = {"title": "Downgrade", "start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat(),
            "organizer": {"name": "Collector", "email": "collector@pune.gov.in"},
            "attendees": [{"name": "Asha", "email": "asha@pune.gov.in", "role": "host"},
                          {"name": "Ravi", "email": "ravi@pune.gov.in", "role": "participant"}]}
    created = ok(api(server, "POST", "/api/meetings", body), 201)
    old_host_link = next(a["link"] for a in created["attendees"] if a["email"] == "asha@pune.gov.in")
    token, room = old_host_link.split("?t=", 1)[1], created["room"]

    # Asha is in the meeting as host when she is made a viewer: she is sent out, Ravi is told, and so is the audit trail.
    ravi_token = next(a["link"] for a in created["attendees"] if a["email"] == "ravi@pune.gov.in").split("?t=", 1)[1]
    asha_in, ravi_in = MeetingSocket(server.base_url), MeetingSocket(server.base_url)
    try:
        asha_in.send({"type": "join", "version": 1, "token": token, "room": room})
        assert asha_in.next_type("joined")["you"]["role"] == "host"
        ravi_in.send({"type": "join", "version": 1, "token": ravi_token, "room": room})
        ravi_in.next_type("joined")
        body["attendees"][0]["role"] = "viewer"
        ok(api(server, "PUT", f"/api/meetings/{created['id']}", body))
        err = asha_in.next_type("error")
        assert err["code"] == "role-changed" and err["fatal"], err
        assert ravi_in.next_type("participant-left")["reason"] == "role-changed"
    finally:
        asha_in.close()
        ravi_in.close()
    ws = MeetingSocket(server.base_url)
    try:
        ws.send({"type": "join", "version": 1, "token": token, "room": room})
        joined = ws.next_type("joined")
        assert joined["you"]["role"] == "viewer", f"the old host link kept its role: {joined['you']}"
        ws.send({"type": "end-meeting"})
        assert ws.next_type("error")["code"] == "not-host"
    finally:
        ws.close()
    problem(whip(server, room, token), 403, "role-not-allowed")

    # Raised again to participant: the old link (host) gives participant, no more; a viewer link stays a viewer.
    body["attendees"][0]["role"] = "participant"
    updated = ok(api(server, "PUT", f"/api/meetings/{created['id']}", body))
    ws = MeetingSocket(server.base_url)
    try:
        ws.send({"type": "join", "version": 1, "token": token, "room": room})
        assert ws.next_type("joined")["you"]["role"] == "participant"
    finally:
        ws.close()
    assert whip(server, room, token).status_code == 201
    organizer = MeetingSocket(server.base_url)
    try:
        organizer.send({"type": "join", "version": 1, "token": updated["organizer"]["link"].split("?t=", 1)[1], "room": room})
        assert organizer.next_type("joined")["you"]["role"] == "host", "the organizer hosts"
    finally:
        organizer.close()


def test_the_meeting_page_says_in_words_why_a_closed_room_or_a_removal_keeps_someone_out(server, browsers):
    from selenium.webdriver.common.by import By

    ok(api(server, "POST", "/api/rooms", {"name": "worded"}), 201)
    host = MeetingSocket(server.base_url)
    ravi_link = link_for(server, "worded", "ravi", name="Ravi")
    try:
        host.join(link_for(server, "worded", "asha", "host")["token"])
        ravi = MeetingSocket(server.base_url)
        ravi_id = ravi.join(ravi_link["token"])["you"]["id"]
        host.send({"type": "remove", "participant": ravi_id})
        assert ravi.next_type("error")["code"] == "removed"
        ravi.close()
        d = browsers("ravi")
        d.get(ravi_link["url"] + "&autojoin=1&quality=low")
        wait_for(lambda: "removed you" in d.find_element(By.ID, "notice-text").text, 20, "the removal explained on the page")
        assert d.find_element(By.ID, "notice-title").text == "Cannot join"
        assert not d.find_element(By.ID, "rejoin-button").is_displayed(), "a removal is final until someone lets them back"

        host.send({"type": "end-meeting"})
        host.next_type("meeting-ended")
        d2 = browsers("late")
        d2.get(link_for(server, "worded", "late")["url"] + "&autojoin=1&quality=low")
        wait_for(lambda: "stays closed until an administrator reopens it" in d2.find_element(By.ID, "notice-text").text, 20,
                 "the closed room explained on the page")
    finally:
        host.close()

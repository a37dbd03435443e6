"""Scheduled meetings (docs/meetings.md) against a real `sabha serve`, a real SMTP server (aiosmtpd) and a real
CalDAV server (Radicale), all on 127.0.0.1: invitations mailed to every attendee as iMIP, the organizer's calendar
kept in step, bookings of the conference resource turned into meetings, personal join links and their refusals,
the outbox surviving an SMTP outage and a crash, and bad input from the API and from the calendar."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import html
import json
import os
import re
import smtplib
import subprocess
import time
import uuid
from email.message import EmailMessage

import icalendar
import pytest
import requests
from zoneinfo import ZoneInfo

from e2ekit.groupware import (
    Mail,
    event_of,
    event_text_fields,
    link_room,
    link_token,
    sabha_env,
    strict_ics_check,
)
from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for

IST = ZoneInfo("Asia/Kolkata")
UTC = dt.timezone.utc
ORGANIZER = {"name": "Collector Pune", "email": "collector@pune.gov.in"}
ASHA = {"name": "Asha Patil", "email": "asha@pune.gov.in", "role": "host"}
RAVI = {"name": "Ravi Kumar", "email": "ravi@pune.gov.in", "role": "participant"}
MEERA = {"name": "Meera Iyer", "email": "meera@pune.gov.in", "role": "viewer"}
DEV = {"name": "Dev Anand", "email": "dev@pune.gov.in", "role": "participant"}


# ------------------------------------------------------------------------------------------------ admin API


def admin_key(server) -> str:
    return (server.data_dir / "admin.key").read_text().strip()


def api(server, method: str, path: str, body=None, raw: bytes | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {admin_key(server)}"}
    if raw is not None:
        headers["Content-Type"] = "application/json"
        return requests.request(method, server.base_url + path, data=raw, headers=headers, timeout=10)
    return requests.request(method, server.base_url + path, json=body, headers=headers, timeout=10)


def ok(resp: requests.Response, status: int = 200):
    assert resp.status_code == status, f"{resp.request.method} {resp.request.path_url}: {resp.status_code} {resp.text}"
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    return resp.json()


def problem(resp: requests.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.path_url}: {resp.status_code} {resp.text}"
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["title"] and body["detail"], body
    return body


def minute(t: dt.datetime) -> dt.datetime:
    return t.replace(second=0, microsecond=0)


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def meeting_body(title: str, start: dt.datetime, minutes: int = 60, attendees=(ASHA, RAVI, MEERA),
                 timezone: str = "Asia/Kolkata", description: str = "Monthly review") -> dict:
    zone = ZoneInfo(timezone)
    return {"title": title, "description": description,
            "start": start.astimezone(zone).isoformat(timespec="seconds"),
            "end": (start + dt.timedelta(minutes=minutes)).astimezone(zone).isoformat(timespec="seconds"),
            "timezone": timezone, "organizer": dict(ORGANIZER), "attendees": [dict(a) for a in attendees]}


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def attendee(meeting: dict, email: str) -> dict:
    (a,) = [a for a in meeting["attendees"] if a["email"] == email]
    return a


MEETING_KEYS = {"id", "uid", "room", "source", "title", "description", "start", "end", "timezone", "sequence", "status",
                "organizer", "attendees", "url", "joinOpensAt", "joinClosesAt"}
OUTBOX_KEYS = {"id", "meeting", "kind", "recipient", "method", "sequence", "state", "attempts", "lastError",
               "nextAttemptAt", "sentAt"}


def check_meeting(m: dict) -> dict:
    """Every field docs/meetings.md shows for a meeting is there."""
    assert MEETING_KEYS <= set(m), f"meeting lacks {MEETING_KEYS - set(m)}: {m}"
    assert {"name", "email", "link"} <= set(m["organizer"]), m["organizer"]
    for a in m["attendees"]:
        assert {"name", "email", "role", "status"} <= set(a), a
        assert a["role"] in ("host", "participant", "viewer") and a["status"] in ("invited", "removed"), a
        assert a["status"] == "removed" or a["link"], a
    assert m["source"] in ("api", "calendar") and m["status"] in ("scheduled", "cancelled"), m
    return m


def outbox(server, meeting: str | None = None) -> list[dict]:
    items = ok(api(server, "GET", "/api/outbox" + (f"?meeting={meeting}" if meeting else "")))["items"]
    for i in items:
        assert OUTBOX_KEYS <= set(i), f"outbox item lacks {OUTBOX_KEYS - set(i)}: {i}"
        assert i["kind"] in ("mail", "calendar-put", "calendar-delete", "calendar-link"), i
        assert i["state"] in ("pending", "sent", "failed", "superseded"), i
        assert meeting is None or i["meeting"] == meeting, f"?meeting={meeting} listed {i}"
    return items


def wait_outbox_sent(server, meeting: str, timeout: float = 20.0) -> list[dict]:
    """Until every outbox item of the meeting is sent (or superseded by a newer one); a failed one fails the test."""
    def done():
        items = outbox(server, meeting)
        failed = [i for i in items if i["state"] == "failed"]
        assert not failed, f"outbox items failed: {failed}"
        return items if items and all(i["state"] in ("sent", "superseded") for i in items) else None
    return wait_for(done, timeout, f"every outbox item of {meeting} to be sent", interval=0.3)


def wait_mails(sink, email: str, n: int, timeout: float = 20.0) -> list[Mail]:
    def enough():
        got = sink.messages(email)
        assert len(got) <= n, f"{email} got {len(got)} mails, expected {n}: {[m.subject for m in got]}"
        return got if len(got) == n else None
    return wait_for(enough, timeout, f"{n} mail(s) for {email}", interval=0.3)


def start_groupware(start_server, smtp=None, caldav=None, **extra_env):
    return start_server(env=sabha_env(smtp, caldav, **extra_env))


# ------------------------------------------------------------------------------------------------ checks


def attendee_emails(ev) -> list[str]:
    atts = ev.get("ATTENDEE") or []
    if not isinstance(atts, list):
        atts = [atts]
    return sorted(str(a).lower().removeprefix("mailto:") for a in atts)


SMTP_FROM = "Sabha <meet@dept.example>"   # what sabha_env sets as SABHA_SMTP_FROM


def check_invitation(mail: Mail, method: str, uid: str, recipient: str, link: str | None = None, from_sabha: bool = True):
    """An iMIP mail as docs/meetings.md and RFC 6047 want it; returns its VEVENT."""
    assert mail.msg.is_multipart() and mail.content_types[0] == "multipart/mixed", mail.content_types
    for ctype in ("text/plain", "text/html", "text/calendar"):
        assert ctype in mail.content_types, f"no {ctype} part: {mail.content_types}"
    assert mail.calendar_method == method, f"text/calendar method={mail.calendar_method}, expected {method}"
    assert mail.attachment is not None, f"no invite.ics attachment: {mail.content_types}"
    assert mail.attachment == mail.calendar, "the invite.ics attachment differs from the text/calendar part"
    assert recipient in str(mail.msg["To"]).lower(), mail.msg["To"]
    if from_sabha:  # sent as SABHA_SMTP_FROM, the organizer in Reply-To
        assert str(mail.msg["From"]) == SMTP_FROM, mail.msg["From"]
        assert ORGANIZER["email"] in str(mail.msg["Reply-To"]), mail.msg["Reply-To"]
    cal = strict_ics_check(mail.calendar)
    assert str(cal["METHOD"]) == method
    ev = event_of(cal)
    assert str(ev["UID"]) == uid
    assert recipient in attendee_emails(ev), f"{recipient} not among the ATTENDEEs {attendee_emails(ev)}"
    assert str(ev["ORGANIZER"]).lower() == "mailto:" + ORGANIZER["email"]
    if method == "CANCEL":
        assert str(ev.get("STATUS", "CANCELLED")) == "CANCELLED"
    if link is not None:
        for prop in ("LOCATION", "DESCRIPTION", "URL", "CONFERENCE"):
            assert ev.get(prop) is not None and link in str(ev[prop]), f"{prop} lacks the personal link {link}: {ev.get(prop)}"
        assert link in mail.plain, f"the text/plain body lacks the link: {mail.plain}"
        assert link in html.unescape(mail.html), f"the text/html body lacks the link: {mail.html}"
    return ev


def organizer_event(radicale, uid: str):
    found = [ev for ev in radicale.events("organizer") if str(ev["UID"]) == uid]
    assert len(found) <= 1, f"{len(found)} events with UID {uid} in the organizer calendar"
    return found[0] if found else None


def calendar_matches(radicale, uid: str, summary: str, start: dt.datetime, sequence: int):
    def matches():
        ev = organizer_event(radicale, uid)
        if ev is None:
            return None
        got = (str(ev["SUMMARY"]), ev["DTSTART"].dt, int(ev.get("SEQUENCE", 0)))
        return ev if got == (summary, start, sequence) else None
    return wait_for(matches, 15, f"the organizer calendar to hold {uid} as ({summary!r}, {start}, SEQUENCE {sequence}); "
                    f"it has {[(str(e['UID']), str(e.get('SUMMARY')), str(e.get('SEQUENCE'))) for e in radicale.events('organizer')]}",
                    interval=0.3)


# ------------------------------------------------------------------------------------------------ joining


def join_message(link: str) -> dict:
    return {"type": "join", "version": 1, "token": link_token(link), "room": link_room(link)}


def join_link(server, link: str) -> tuple[MeetingSocket, dict]:
    """Joins the link's room over /ws as the meeting page would; the caller closes the socket."""
    ws = MeetingSocket(server.base_url)
    try:
        ws.send(join_message(link))
        msg = ws.next(10, lambda m: m.get("type") in ("joined", "error"))
        assert msg["type"] == "joined", f"join with {link} refused: {msg}"
        assert msg["room"] == link_room(link)
        return ws, msg
    except BaseException:
        ws.close()
        raise


def join_refusal(server, link: str) -> dict:
    """The error a link's join gets; it must be fatal and the server must close the socket."""
    ws = MeetingSocket(server.base_url)
    try:
        ws.send(join_message(link))
        msg = ws.next(10, lambda m: m.get("type") in ("joined", "error"))
        assert msg["type"] == "error", f"join with {link} was accepted: {msg}"
        assert msg["fatal"] is True and msg["message"], msg
        assert ws.closed.wait(10), "the server did not close the socket after a fatal error"
        return msg
    finally:
        ws.close()


# ------------------------------------------------------------------------------------------------ fixtures work


def test_fixtures_work(smtp_maildir, radicale, lenient_radicale):
    """The SMTP sink, both Radicales and the checkers do what the tests below rely on, without Sabha."""
    # Both calendars exist and are collections only the owner can reach.
    for url in (radicale.organizer_url, radicale.resource_url):
        assert requests.request("PROPFIND", url, auth=(radicale.user, radicale.password), headers={"Depth": "0"},
                                timeout=5).status_code == 207
        assert requests.request("PROPFIND", url, headers={"Depth": "0"}, timeout=5).status_code == 401
    assert radicale.objects("organizer") == {} and radicale.objects("resource") == {}

    # A booking made with the caldav library comes back, can be changed and deleted.
    uid = f"fixture-{uuid.uuid4()}"
    start = minute(now()) + dt.timedelta(minutes=5)
    radicale.calendar("resource").save_event(booking_ics(uid, "Fixture booking", start, [ASHA, RAVI]))
    (ev,) = radicale.events("resource")
    assert str(ev["UID"]) == uid and ev["DTSTART"].dt == start and ev["DTSTART"].params["TZID"] == "Asia/Kolkata"
    change_booking(radicale, uid, "Renamed booking")
    (ev,) = radicale.events("resource")
    assert str(ev["SUMMARY"]) == "Renamed booking"
    delete_booking(radicale, uid)
    assert radicale.events("resource") == []

    # Plain Radicale refuses what the lenient one keeps and serves (listing, multiget data, GET, DELETE).
    assert radicale.put_raw("resource", "garbage.ics", GARBAGE) == 400
    assert lenient_radicale.put_raw("resource", "garbage.ics", GARBAGE) == 201
    assert lenient_radicale.put_raw("resource", "no-start.ics", NO_DTSTART) == 201
    objs = lenient_radicale.objects("resource")
    assert sorted(objs) == ["/collector/conference-room/garbage.ics", "/collector/conference-room/no-start.ics"], objs
    assert "DTSTART" not in objs["/collector/conference-room/no-start.ics"]
    got = requests.get(lenient_radicale.resource_url + "garbage.ics", auth=(radicale.user, radicale.password), timeout=5)
    assert got.status_code == 200 and got.content == GARBAGE
    lenient_radicale.calendar("resource").save_event(booking_ics(uid, "Real booking", start, [ASHA, RAVI]))
    assert len(lenient_radicale.objects("resource")) == 3
    assert requests.delete(lenient_radicale.resource_url + "garbage.ics", auth=(radicale.user, radicale.password),
                           timeout=5).status_code == 204
    assert len(lenient_radicale.objects("resource")) == 2

    # A message through the SMTP sink arrives once per recipient, parsed, with its calendar; again after an outage.
    ics = SAMPLE_REQUEST.replace("\n", "\r\n")
    strict_ics_check(ics)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "meet@dept.gov.in", "asha@pune.gov.in, ravi@pune.gov.in", "Invitation: test"
    msg.set_content("Join: http://127.0.0.1/m/r?t=x")
    msg.add_alternative("<p>Join</p>", subtype="html")
    msg.add_alternative(ics.encode(), maintype="text", subtype="calendar", params={"method": "REQUEST", "charset": "UTF-8"})
    mixed = EmailMessage()
    for k in ("From", "To", "Subject"):
        mixed[k] = msg[k]
    mixed.make_mixed()
    mixed.attach(msg)
    mixed.add_attachment(ics.encode(), maintype="application", subtype="ics", filename="invite.ics")
    port = smtp_maildir.port
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(mixed)
    (mail,) = smtp_maildir.messages("asha@pune.gov.in")
    assert mail.calendar_method == "REQUEST" and mail.attachment == mail.calendar == ics
    assert mail.plain.startswith("Join:") and "text/html" in mail.content_types
    assert check_invitation(mail, "REQUEST", "sample-1@sabha", "asha@pune.gov.in", from_sabha=False)
    assert len(smtp_maildir.messages("ravi@pune.gov.in")) == 1

    smtp_maildir.stop()
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", port, timeout=5)
    smtp_maildir.start()
    assert smtp_maildir.port == port
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(mixed)
    assert len(smtp_maildir.messages("asha@pune.gov.in")) == 2

    # The strict checker catches what it should.
    for broken, why in [(ics.replace("\r\n", "\n"), "bare LF"),
                        (ics.replace("SEQUENCE:0\r\n", ""), "no SEQUENCE"),
                        (ics.replace("DTSTART;TZID=Asia/Kolkata:", "DTSTART:"), "DTSTART without TZID"),
                        (ics.replace("TZID:Asia/Kolkata", "TZID:Asia/Calcutta"), "VTIMEZONE TZID mismatch"),
                        (ics.replace(";RSVP=TRUE", ""), "ATTENDEE without RSVP"),
                        (ics.replace("METHOD:REQUEST\r\n", ""), "no METHOD"),
                        (ics.replace("SUMMARY:Sample", "SUMMARY:" + "x" * 80), "long line")]:
        with pytest.raises(AssertionError):
            strict_ics_check(broken)
            pytest.fail(f"strict_ics_check accepted an object with {why}")


SAMPLE_REQUEST = """BEGIN:VCALENDAR
PRODID:-//Sabha e2e//Sample//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VTIMEZONE
TZID:Asia/Kolkata
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
TZNAME:IST
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:sample-1@sabha
DTSTAMP:20261123T120000Z
SEQUENCE:0
DTSTART;TZID=Asia/Kolkata:20261201T100000
DTEND;TZID=Asia/Kolkata:20261201T110000
SUMMARY:Sample
ORGANIZER;CN=Collector Pune:mailto:collector@pune.gov.in
ATTENDEE;CN=Asha;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:
 mailto:asha@pune.gov.in
END:VEVENT
END:VCALENDAR
"""

GARBAGE = b"\xde\xad\xbe\xef this is not iCalendar {\"json\": true} <xml/>\r\n\x01\x02 \xff\xfe"

NO_DTSTART = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Sabha e2e//Broken//EN\r\nBEGIN:VEVENT\r\n"
              "UID:no-start-1@e2e\r\nDTSTAMP:20261123T120000Z\r\nSUMMARY:Booking without a start\r\n"
              "ORGANIZER;CN=Collector Pune:mailto:collector@pune.gov.in\r\n"
              "ATTENDEE;CN=Asha Patil:mailto:asha@pune.gov.in\r\n"
              "ATTENDEE;CN=Ravi Kumar:mailto:ravi@pune.gov.in\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


ROOM = {"name": "Conference room", "email": "conference-room@pune.gov.in", "ical": "CUTYPE=ROOM;ROLE=NON-PARTICIPANT"}


def booking_ics(uid: str, summary: str, start: dt.datetime, people, minutes: int = 30) -> str:
    """A booking of the conference room as a calendar client writes it: Asia/Kolkata with its VTIMEZONE; each
    person's "ical" gives their ATTENDEE parameters (default ROLE=REQ-PARTICIPANT)."""
    s, e = start.astimezone(IST), (start + dt.timedelta(minutes=minutes)).astimezone(IST)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sabha e2e//Booking//EN",
             "BEGIN:VTIMEZONE", "TZID:Asia/Kolkata", "BEGIN:STANDARD", "DTSTART:19700101T000000",
             "TZOFFSETFROM:+0530", "TZOFFSETTO:+0530", "TZNAME:IST", "END:STANDARD", "END:VTIMEZONE",
             "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{now():%Y%m%dT%H%M%SZ}", "SEQUENCE:0",
             f"DTSTART;TZID=Asia/Kolkata:{s:%Y%m%dT%H%M%S}", f"DTEND;TZID=Asia/Kolkata:{e:%Y%m%dT%H%M%S}",
             f"SUMMARY:{summary}", f"ORGANIZER;CN={ORGANIZER['name']}:mailto:{ORGANIZER['email']}"]
    lines += [f"ATTENDEE;CN={p['name']};{p.get('ical', 'ROLE=REQ-PARTICIPANT')};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
              f"mailto:{p['email']}" for p in people]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def edit_event(radicale, which: str, uid: str, prop: str, value: str) -> None:
    """Changes one text property as a calendar client would: load the current object, change it, bump SEQUENCE."""
    ev = radicale.calendar(which).event_by_uid(uid)
    ev.load()
    cal = icalendar.Calendar.from_ical(ev.data)
    (vevent,) = cal.walk("VEVENT")
    vevent[prop] = icalendar.vText(value)
    vevent["SEQUENCE"] = int(vevent.get("SEQUENCE", 0)) + 1
    vevent["DTSTAMP"] = icalendar.vDDDTypes(now().replace(microsecond=0))
    ev.data = cal.to_ical().decode()
    ev.save()


def change_booking(radicale, uid: str, summary: str) -> None:
    edit_event(radicale, "resource", uid, "SUMMARY", summary)


def delete_booking(radicale, uid: str) -> None:
    radicale.calendar("resource").event_by_uid(uid).delete()


# ------------------------------------------------------------------------------------------------ the meetings API


@pytest.mark.server
@pytest.mark.timeout(90)
def test_create_update_cancel_mail_every_attendee_and_keep_the_organizer_calendar_in_step(start_server, smtp_maildir, radicale):
    server = start_groupware(start_server, smtp_maildir, radicale)
    start = minute(now()) + dt.timedelta(days=2)

    # Create: 201 with the meeting, a personal link each, one REQUEST (SEQUENCE 0) to each attendee.
    created = check_meeting(ok(api(server, "POST", "/api/meetings", meeting_body("District review", start)), 201))
    mid, uid = created["id"], created["uid"]
    assert created["source"] == "api" and created["status"] == "scheduled" and created["sequence"] == 0, created
    assert created["title"] == "District review" and created["description"] == "Monthly review"
    assert created["timezone"] == "Asia/Kolkata" and parse_time(created["start"]) == start
    assert parse_time(created["end"]) == start + dt.timedelta(hours=1)
    assert created["url"].endswith(f"/m/{created['room']}")
    assert created["organizer"]["email"] == ORGANIZER["email"] and created["organizer"]["link"]
    assert parse_time(created["joinOpensAt"]) == start - dt.timedelta(minutes=30)
    assert parse_time(created["joinClosesAt"]) == start + dt.timedelta(minutes=90)
    assert [(a["email"], a["role"], a["status"]) for a in created["attendees"]] == [
        (ASHA["email"], "host", "invited"), (RAVI["email"], "participant", "invited"), (MEERA["email"], "viewer", "invited")]
    links = {a["email"]: a["link"] for a in created["attendees"]}
    assert len(set(links.values())) == 3, "links are personal"
    for email, link in links.items():
        assert link_room(link) == created["room"] and link_token(link), link
    assert ok(api(server, "GET", f"/api/meetings/{mid}")) == created
    assert [m["id"] for m in ok(api(server, "GET", "/api/meetings"))["meetings"]] == [mid]

    for email, link in links.items():
        (mail,) = wait_mails(smtp_maildir, email, 1)
        ev = check_invitation(mail, "REQUEST", uid, email, link)
        assert int(ev["SEQUENCE"]) == 0 and str(ev["SUMMARY"]) == "District review" and ev["DTSTART"].dt == start
        assert ev["DTSTART"].params["TZID"] == "Asia/Kolkata"
        assert attendee_emails(ev) == sorted(links)
    calendar_matches(radicale, uid, "District review", start, 0)
    items = wait_outbox_sent(server, mid)
    mails = [i for i in items if i["kind"] == "mail"]
    assert sorted(i["recipient"] for i in mails) == sorted(links) and all(i["method"] == "REQUEST" for i in mails), items
    assert any(i["kind"] == "calendar-put" for i in items), items

    # Someone edits the organizer's copy in their calendar client: Sabha's next write meets a 412 and still wins.
    edit_event(radicale, "organizer", uid, "DESCRIPTION", "Edited by hand")

    # Update: new title and time, Meera removed, Dev added.
    new_start = start + dt.timedelta(hours=3)
    updated = check_meeting(ok(api(server, "PUT", f"/api/meetings/{mid}",
                               meeting_body("District review (moved)", new_start, 45, attendees=(ASHA, RAVI, DEV)))))
    seq = updated["sequence"]
    assert seq > 0 and updated["id"] == mid and updated["uid"] == uid and updated["room"] == created["room"], updated
    assert updated["title"] == "District review (moved)" and parse_time(updated["start"]) == new_start
    meera = attendee(updated, MEERA["email"])
    assert meera["status"] == "removed" and not meera.get("link"), meera
    new_links = {a["email"]: a["link"] for a in updated["attendees"] if a["status"] != "removed"}
    assert sorted(new_links) == sorted([ASHA["email"], RAVI["email"], DEV["email"]])
    for email, link in new_links.items():
        want = 1 if email == DEV["email"] else 2
        mail = wait_mails(smtp_maildir, email, want)[-1]
        ev = check_invitation(mail, "REQUEST", uid, email, link)
        assert int(ev["SEQUENCE"]) == seq and str(ev["SUMMARY"]) == "District review (moved)"
        assert ev["DTSTART"].dt == new_start and ev["DTEND"].dt == new_start + dt.timedelta(minutes=45)
        assert attendee_emails(ev) == sorted(new_links), "the update lists the current attendees only"
    first, removal = wait_mails(smtp_maildir, MEERA["email"], 2)
    ev = check_invitation(removal, "CANCEL", uid, MEERA["email"])
    assert int(ev["SEQUENCE"]) >= seq and attendee_emails(ev) == [MEERA["email"]], "the removal names only Meera"
    calendar_matches(radicale, uid, "District review (moved)", new_start, seq)
    wait_outbox_sent(server, mid)

    # Cancel: CANCEL to everyone still invited, the event leaves the calendar.
    cancelled = check_meeting(ok(api(server, "DELETE", f"/api/meetings/{mid}")))
    assert cancelled["status"] == "cancelled" and cancelled["id"] == mid, cancelled
    for email in new_links:
        want = 2 if email == DEV["email"] else 3
        mails = wait_mails(smtp_maildir, email, want)
        assert [m.calendar_method for m in mails] == ["REQUEST"] * (want - 1) + ["CANCEL"]
        ev = check_invitation(mails[-1], "CANCEL", uid, email)
        assert int(ev["SEQUENCE"]) >= seq
        seqs = [int(event_of(icalendar.Calendar.from_ical(m.calendar))["SEQUENCE"]) for m in mails]
        assert seqs == sorted(seqs) and seqs[0] == (0 if email != DEV["email"] else seq), seqs
    wait_for(lambda: organizer_event(radicale, uid) is None, 15, "the event to leave the organizer calendar")
    items = wait_outbox_sent(server, mid)
    assert any(i["kind"] == "calendar-delete" for i in items), items
    time.sleep(2.5)  # a few retry intervals: nobody gets a second copy of anything
    assert len(smtp_maildir.messages(MEERA["email"])) == 2, "Meera was already uninvited"
    assert {e: len(smtp_maildir.messages(e)) for e in new_links} == {ASHA["email"]: 3, RAVI["email"]: 3, DEV["email"]: 2}

    # Cancelling again answers the same meeting; a cancelled meeting cannot be changed.
    assert ok(api(server, "DELETE", f"/api/meetings/{mid}")) == cancelled
    problem(api(server, "PUT", f"/api/meetings/{mid}", meeting_body("Revived", start)), 409, "meeting-cancelled")
    assert ok(api(server, "GET", f"/api/meetings/{mid}"))["status"] == "cancelled"


@pytest.mark.server
@pytest.mark.timeout(60)
def test_titles_and_names_in_devanagari_survive_mail_and_ics(start_server, smtp_maildir):
    server = start_groupware(start_server, smtp_maildir, None)
    title = "जिल्हा आढावा बैठक – पूर व्यवस्थापन आणि पाणीपुरवठा नियोजन (तालुका स्तर)"
    description = "कृपया वेळेवर उपस्थित राहा.\nसोबत अहवाल आणा: " + "पाऊस, धरणे, रस्ते; " * 6
    person = {"name": "अनिता देशपांडे", "email": "anita@pune.gov.in", "role": "participant"}
    created = ok(api(server, "POST", "/api/meetings", meeting_body(title, minute(now()) + dt.timedelta(days=1),
                                                                   attendees=(person,), description=description)), 201)
    assert created["title"] == title and created["description"] == description
    (mail,) = wait_mails(smtp_maildir, person["email"], 1)
    ev = check_invitation(mail, "REQUEST", created["uid"], person["email"], created["attendees"][0]["link"])
    assert str(ev["SUMMARY"]) == title and str(ev["DESCRIPTION"]).startswith(description)
    assert title in mail.subject, mail.subject
    # RFC 2047 decoding (whitespace between encoded-words drops); email.policy.default's address parser would
    # put a space where the server split a long name into two encoded-words.
    to = str(email.header.make_header(email.header.decode_header(email.message_from_bytes(mail.raw)["To"])))
    assert to == f"{person['name']} <{person['email']}>", to
    assert ev["ATTENDEE"].params["CN"] == person["name"]
    assert title in mail.plain and html.escape(title) in mail.html


def vtimezone_offset(cal, local: dt.datetime) -> dt.timedelta:
    """The UTC offset the object's own VTIMEZONE gives for a local time (not the receiver's tz database)."""
    (vtz,) = cal.walk("VTIMEZONE")
    return vtz.to_tz(lookup_tzid=False).utcoffset(local.replace(tzinfo=None))


@pytest.mark.server
@pytest.mark.timeout(60)
def test_a_berlin_meeting_keeps_its_local_time_across_the_daylight_saving_change(start_server, smtp_maildir):
    server = start_groupware(start_server, smtp_maildir, None)
    berlin = ZoneInfo("Europe/Berlin")
    summer = dt.datetime(2027, 3, 29, 10, 0, tzinfo=berlin)   # the Monday after clocks go forward (UTC+2)
    winter = dt.datetime(2027, 3, 26, 10, 0, tzinfo=berlin)   # the Friday before (UTC+1)
    created = ok(api(server, "POST", "/api/meetings",
                     meeting_body("Partner call", summer, timezone="Europe/Berlin", attendees=(ASHA,))), 201)
    assert created["start"] == "2027-03-29T08:00:00Z" and created["timezone"] == "Europe/Berlin", created
    updated = ok(api(server, "PUT", f"/api/meetings/{created['id']}",
                     meeting_body("Partner call", winter, timezone="Europe/Berlin", attendees=(ASHA,))))
    assert updated["start"] == "2027-03-26T09:00:00Z", updated
    for mail, when in zip(wait_mails(smtp_maildir, ASHA["email"], 2), (summer, winter)):
        ev = check_invitation(mail, "REQUEST", created["uid"], ASHA["email"], attendee(updated, ASHA["email"])["link"]
                              if when is winter else created["attendees"][0]["link"])
        cal = icalendar.Calendar.from_ical(mail.calendar)
        assert ev["DTSTART"].params["TZID"] == "Europe/Berlin"
        local = ev["DTSTART"].dt.replace(tzinfo=None)
        assert local == dt.datetime(when.year, when.month, when.day, 10, 0), ev["DTSTART"].to_ical()
        assert vtimezone_offset(cal, local) == when.utcoffset(), f"the VTIMEZONE puts {local} at the wrong offset"
        (vtz,) = cal.walk("VTIMEZONE")
        assert vtz.walk("STANDARD") and vtz.walk("DAYLIGHT"), "a zone with summer time needs both parts"


@pytest.mark.server
@pytest.mark.timeout(60)
def test_links_join_while_open_and_are_refused_when_removed_cancelled_or_not_yet_open(start_server):
    # Nothing configured: the API still works and sends nothing.
    server = start_server()
    created = ok(api(server, "POST", "/api/meetings",
                     meeting_body("Stand-up", minute(now()), 30, attendees=(ASHA, RAVI, MEERA))), 201)
    mid, room = created["id"], created["room"]
    links = {a["email"]: a["link"] for a in created["attendees"]}

    asha, joined = join_link(server, links[ASHA["email"]])
    ravi = None
    try:
        assert joined["you"]["identity"] == ASHA["email"] and joined["you"]["role"] == "host", joined
        assert joined["you"]["name"] == ASHA["name"]
        ravi, joined = join_link(server, links[RAVI["email"]])
        assert joined["you"]["role"] == "participant" and [p["identity"] for p in joined["participants"]] == [ASHA["email"]]
        meera, joined = join_link(server, links[MEERA["email"]])
        assert joined["you"]["role"] == "viewer"
        meera.close()
        organizer, joined = join_link(server, created["organizer"]["link"])
        organizer.close()

        # Meera removed: her link stops working, the others' keep working.
        updated = ok(api(server, "PUT", f"/api/meetings/{mid}",
                         meeting_body("Stand-up", minute(now()), 30, attendees=(ASHA, RAVI))))
        assert attendee(updated, MEERA["email"])["status"] == "removed"
        err = join_refusal(server, links[MEERA["email"]])
        assert err["code"] == "link-revoked", err
        # The others' links (from the update) still join: they take over the sockets already in the room.
        asha.close()
        ravi.close()
        asha, _ = join_link(server, attendee(updated, ASHA["email"])["link"])
        ravi, _ = join_link(server, attendee(updated, RAVI["email"])["link"])

        # Cancelled: the room ends for those in it and every link is refused.
        cancelled = ok(api(server, "DELETE", f"/api/meetings/{mid}"))
        assert cancelled["status"] == "cancelled"
        for ws in (asha, ravi):
            ws.next_type("meeting-ended")
            assert ws.closed.wait(10), "the server did not close a cancelled meeting's socket"
        current = [a["link"] for a in updated["attendees"] if a.get("link")]
        for link in {*current, links[ASHA["email"]], links[RAVI["email"]], created["organizer"]["link"]}:
            err = join_refusal(server, link)
            assert err["code"] == "meeting-cancelled", (link, err)
        # Meera's link was revoked before the meeting was cancelled: either refusal is true.
        assert join_refusal(server, links[MEERA["email"]])["code"] in ("link-revoked", "meeting-cancelled")
    finally:
        asha.close()
        if ravi is not None:
            ravi.close()

    # In three days: not open yet, and the refusal says when.
    later = minute(now()) + dt.timedelta(days=3)
    future = ok(api(server, "POST", "/api/meetings", meeting_body("Quarterly", later, attendees=(ASHA,))), 201)
    err = join_refusal(server, future["attendees"][0]["link"])
    assert err["code"] == "meeting-not-open", err
    # "the detail says when the meeting is": at least its day of the month is in the message.
    assert re.search(rf"(?<!\d)0?{later.astimezone(IST).day}(?!\d)", err["message"]), err
    assert link_room(future["attendees"][0]["link"]) != room
    assert [m["id"] for m in ok(api(server, "GET", "/api/meetings"))["meetings"]] == [future["id"], mid], "newest first"


@pytest.mark.server
@pytest.mark.timeout(60)
def test_the_join_window_and_the_public_url_follow_the_configuration(start_server):
    # The option wins over the environment (docs/meetings.md, Configuration).
    server = start_server("--join-opens-before", "2h", env={
        "SABHA_JOIN_OPENS_BEFORE": "1m", "SABHA_JOIN_CLOSES_AFTER": "10m", "SABHA_PUBLIC_URL": "https://meet.pune.gov.in"})
    start = minute(now()) + dt.timedelta(minutes=90)
    soon = check_meeting(ok(api(server, "POST", "/api/meetings", meeting_body("Early birds", start, attendees=(ASHA,))), 201))
    assert parse_time(soon["joinOpensAt"]) == start - dt.timedelta(hours=2)
    assert parse_time(soon["joinClosesAt"]) == start + dt.timedelta(minutes=70)
    assert soon["url"] == f"https://meet.pune.gov.in/m/{soon['room']}", soon["url"]
    for link in (soon["organizer"]["link"], soon["attendees"][0]["link"]):
        assert link.startswith(f"https://meet.pune.gov.in/m/{soon['room']}?t="), link
    ws, joined = join_link(server, soon["attendees"][0]["link"])
    ws.close()
    assert joined["room"] == soon["room"]
    later = start + dt.timedelta(hours=1)
    not_yet = ok(api(server, "POST", "/api/meetings", meeting_body("Too early", later, attendees=(ASHA,))), 201)
    assert join_refusal(server, not_yet["attendees"][0]["link"])["code"] == "meeting-not-open"


@pytest.mark.server
@pytest.mark.timeout(90)
def test_the_meeting_page_shows_why_a_link_does_not_join(start_server, browsers):
    server = start_server()
    soon = minute(now())
    removed = ok(api(server, "POST", "/api/meetings", meeting_body("Revoked", soon, attendees=(ASHA, MEERA))), 201)
    ok(api(server, "PUT", f"/api/meetings/{removed['id']}", meeting_body("Revoked", soon, attendees=(ASHA,))))
    cancelled = ok(api(server, "POST", "/api/meetings", meeting_body("Cancelled", soon, attendees=(ASHA,))), 201)
    ok(api(server, "DELETE", f"/api/meetings/{cancelled['id']}"))
    later = ok(api(server, "POST", "/api/meetings",
                   meeting_body("Later", soon + dt.timedelta(days=3), attendees=(ASHA,))), 201)
    page = browsers("asha")
    for link, code in [(attendee(removed, MEERA["email"])["link"], "link-revoked"),
                       (cancelled["attendees"][0]["link"], "meeting-cancelled"),
                       (later["attendees"][0]["link"], "meeting-not-open")]:
        sentence = join_refusal(server, link)
        assert sentence["code"] == code, sentence
        page.get(link + "&autojoin=1&quality=low")
        wait_for(lambda: sentence["message"] in page.find_element("tag name", "body").text, 20,
                 f"the page to say {sentence['message']!r} for {code}")


@pytest.mark.server
@pytest.mark.timeout(120)
@pytest.mark.skipif(os.environ.get("SABHA_E2E_SLOW") != "1", reason="waits 65 s for a link's token to expire; SABHA_E2E_SLOW=1 runs it")
def test_a_link_after_its_meeting_is_over_says_when_it_was(start_server):
    server = start_server("--join-closes-after", "1s")
    t = now().replace(microsecond=0)
    over = ok(api(server, "POST", "/api/meetings", meeting_body("Over", t - dt.timedelta(hours=1), attendees=(ASHA,))
                  | {"end": (t + dt.timedelta(seconds=2)).isoformat()}), 201)
    link = over["attendees"][0]["link"]
    time.sleep(4)
    assert join_refusal(server, link)["code"] == "meeting-not-open"   # the window has closed
    time.sleep(61)
    assert join_refusal(server, link)["code"] == "meeting-not-open"   # and the token's exp has passed too


# ------------------------------------------------------------------------------------------------ the resource calendar


@pytest.mark.server
@pytest.mark.timeout(90)
def test_a_booking_of_the_conference_room_becomes_a_meeting_and_follows_the_calendar(start_server, smtp_maildir, radicale):
    server = start_groupware(start_server, smtp_maildir, radicale)
    uid = f"booking-{uuid.uuid4()}@calendar.pune.gov.in"
    start = minute(now()) + dt.timedelta(minutes=5)
    chair = ASHA | {"ical": "ROLE=CHAIR"}
    radicale.calendar("resource").save_event(booking_ics(uid, "Flood preparedness", start, [chair, RAVI, ROOM]))

    def from_calendar():
        ms = [m for m in ok(api(server, "GET", "/api/meetings"))["meetings"] if m["source"] == "calendar"]
        return ms[0] if ms else None
    meeting = check_meeting(wait_for(from_calendar, 10, "the booking to show up in GET /api/meetings"))
    mid, room = meeting["id"], meeting["room"]
    assert meeting["uid"] == uid and meeting["title"] == "Flood preparedness" and meeting["status"] == "scheduled", meeting
    assert parse_time(meeting["start"]) == start and parse_time(meeting["end"]) == start + dt.timedelta(minutes=30)
    assert meeting["timezone"] == "Asia/Kolkata" and meeting["organizer"]["email"] == ORGANIZER["email"]
    roles = {a["email"]: a["role"] for a in meeting["attendees"]}
    # The organizer hosts, CHAIR hosts, everyone else participates; the room is no person and gets nothing.
    assert ROOM["email"] not in roles, meeting["attendees"]
    assert roles.get(ORGANIZER["email"], "host") == "host", meeting["attendees"]
    booked = {a["email"]: a for a in meeting["attendees"] if a["email"] != ORGANIZER["email"]}
    assert sorted((a["email"], a["name"], a["role"], a["status"]) for a in booked.values()) == sorted(
        [(ASHA["email"], ASHA["name"], "host", "invited"), (RAVI["email"], RAVI["name"], "participant", "invited")]), \
        meeting["attendees"]
    links = {email: a["link"] for email, a in booked.items()}

    # The booking now carries the meeting page (no token: the booking is shared), where calendar clients show it.
    def booking_has_link():
        (ev,) = radicale.events("resource")
        return ev if f"/m/{room}" in event_text_fields(ev) else None
    ev = wait_for(booking_has_link, 15, f"the booking in Radicale to mention /m/{room}")
    assert str(ev["UID"]) == uid and str(ev["SUMMARY"]) == "Flood preparedness" and ev["DTSTART"].dt == start
    assert set(links) | {ROOM["email"]} <= set(attendee_emails(ev)), "writing the link back kept the attendees"
    assert "?t=" not in event_text_fields(ev) and not any(link_token(l) in ev.to_ical().decode() for l in links.values()), \
        "a personal token was written into the shared booking"
    for prop in ("LOCATION", "DESCRIPTION", "CONFERENCE"):
        assert ev.get(prop) is not None and f"/m/{room}" in str(ev[prop]), f"{prop}: {ev.get(prop)}"

    # Each attendee is invited with their personal link, and it joins the room with the mapped role.
    for email, link in links.items():
        (mail,) = wait_mails(smtp_maildir, email, 1)
        check_invitation(mail, "REQUEST", uid, email, link)
        ws, joined = join_link(server, link)
        ws.close()
        assert joined["room"] == room and joined["you"]["identity"] == email and joined["you"]["role"] == roles[email]
    ws, joined = join_link(server, meeting["organizer"]["link"])
    ws.close()
    assert joined["you"]["role"] == "host"
    assert smtp_maildir.messages(ROOM["email"]) == []

    # Sabha's own write-back is no change: after a few watch intervals the meeting and the mailboxes are as they were.
    time.sleep(3)
    again = ok(api(server, "GET", f"/api/meetings/{mid}"))
    assert again["sequence"] == meeting["sequence"] and again["title"] == meeting["title"], again
    assert {e: len(smtp_maildir.messages(e)) for e in links} == {e: 1 for e in links}

    # Renamed in the calendar: the meeting follows, with a higher sequence.
    change_booking(radicale, uid, "Flood preparedness (district)")
    renamed = wait_for(lambda: (m := ok(api(server, "GET", f"/api/meetings/{mid}")))["title"] == "Flood preparedness (district)" and m,
                       10, "the meeting title to follow the calendar")
    assert renamed["sequence"] > meeting["sequence"] and renamed["status"] == "scheduled", renamed
    (ev,) = radicale.events("resource")
    assert renamed["sequence"] >= int(ev["SEQUENCE"]), "the meeting's SEQUENCE is at least the event's"

    # Deleted in the calendar: the meeting is cancelled, attendees get a CANCEL, links stop working.
    delete_booking(radicale, uid)
    gone = wait_for(lambda: (m := ok(api(server, "GET", f"/api/meetings/{mid}")))["status"] == "cancelled" and m,
                    10, "the meeting to be cancelled after the booking was deleted")
    assert gone["id"] == mid
    for email, link in links.items():
        cancel = wait_for(lambda e=email: [m for m in smtp_maildir.messages(e) if m.calendar_method == "CANCEL"], 15,
                          f"a CANCEL for {email}")
        assert len(cancel) == 1
        check_invitation(cancel[0], "CANCEL", uid, email)
        assert join_refusal(server, link)["code"] == "meeting-cancelled"
    assert radicale.events("resource") == []
    assert server.alive()


@pytest.mark.server
@pytest.mark.timeout(90)
def test_a_booking_moved_with_one_person_dropped_and_then_marked_cancelled(start_server, smtp_maildir, radicale):
    server = start_groupware(start_server, smtp_maildir, radicale)
    uid = f"booking-{uuid.uuid4()}@calendar.pune.gov.in"
    start = minute(now()) + dt.timedelta(minutes=10)
    radicale.calendar("resource").save_event(booking_ics(uid, "Water review", start, [ASHA, RAVI]))
    meeting = wait_for(lambda: next((m for m in ok(api(server, "GET", "/api/meetings"))["meetings"] if m["uid"] == uid), None),
                       10, "the booking to become a meeting")
    mid, ravi_link = meeting["id"], attendee(meeting, RAVI["email"])["link"]
    for person in (ASHA, RAVI):
        wait_mails(smtp_maildir, person["email"], 1)
    wait_for(lambda: f"/m/{meeting['room']}" in event_text_fields(radicale.events("resource")[0]), 15, "the link written back")

    # Moved by 15 minutes and Ravi taken off, in one edit.
    ev = radicale.calendar("resource").event_by_uid(uid)
    ev.load()
    cal = icalendar.Calendar.from_ical(ev.data)
    (vevent,) = cal.walk("VEVENT")
    moved = start + dt.timedelta(minutes=15)
    for prop, t in (("DTSTART", moved), ("DTEND", moved + dt.timedelta(minutes=30))):
        del vevent[prop]
        vevent.add(prop, t.astimezone(IST))
    vevent["ATTENDEE"] = [a for a in vevent.get("ATTENDEE") if RAVI["email"] not in str(a)]
    vevent["SEQUENCE"] = int(vevent.get("SEQUENCE", 0)) + 1
    ev.data = cal.to_ical().decode()
    ev.save()

    def followed():
        m = ok(api(server, "GET", f"/api/meetings/{mid}"))
        return m if parse_time(m["start"]) == moved and attendee(m, RAVI["email"])["status"] == "removed" else None
    changed = wait_for(followed, 10, "the meeting to follow the moved booking without Ravi")
    assert changed["sequence"] > meeting["sequence"], changed
    asha_mail = wait_mails(smtp_maildir, ASHA["email"], 2)[-1]
    ev2 = check_invitation(asha_mail, "REQUEST", uid, ASHA["email"], attendee(changed, ASHA["email"])["link"])
    assert ev2["DTSTART"].dt == moved and int(ev2["SEQUENCE"]) == changed["sequence"]
    check_invitation(wait_mails(smtp_maildir, RAVI["email"], 2)[-1], "CANCEL", uid, RAVI["email"])
    assert join_refusal(server, ravi_link)["code"] == "link-revoked"

    # STATUS:CANCELLED in the calendar cancels the meeting like a deletion does.
    edit_event(radicale, "resource", uid, "STATUS", "CANCELLED")
    wait_for(lambda: ok(api(server, "GET", f"/api/meetings/{mid}"))["status"] == "cancelled", 10, "the meeting to be cancelled")
    check_invitation(wait_mails(smtp_maildir, ASHA["email"], 3)[-1], "CANCEL", uid, ASHA["email"])
    assert join_refusal(server, attendee(changed, ASHA["email"])["link"])["code"] == "meeting-cancelled"
    time.sleep(2)
    assert len(smtp_maildir.messages(RAVI["email"])) == 2, "Ravi, already uninvited, is not cancelled twice"


# ------------------------------------------------------------------------------------------------ outage and crash


@pytest.mark.server
@pytest.mark.timeout(90)
def test_invitations_survive_an_smtp_outage_and_a_crash_and_arrive_exactly_once(start_server, smtp_maildir, radicale):
    smtp_maildir.stop()
    radicale.stop()  # the organizer's calendar is down too
    server = start_groupware(start_server, smtp_maildir, radicale)
    start = minute(now()) + dt.timedelta(days=1)
    created = ok(api(server, "POST", "/api/meetings", meeting_body("Budget", start, attendees=(ASHA, RAVI, MEERA))), 201)
    mid = created["id"]

    def failing():
        items = outbox(server, mid)
        return items if len(items) == 4 and all(i["state"] == "pending" and i["lastError"] and i["attempts"] >= 1
                                                for i in items) else None
    # A refused CalDAV connection is only reported when the client's 15 s request deadline passes (the HTTP client
    # keeps retrying the connect until then), and the relay works through the items one by one: allow for it.
    items = wait_for(failing, 40, "three mails and one calendar write pending with a lastError in the outbox")
    assert sorted(i["kind"] for i in items) == ["calendar-put", "mail", "mail", "mail"], items
    assert all(i["sequence"] == 0 and i["nextAttemptAt"] for i in items), items
    assert all(i["method"] == "REQUEST" for i in items if i["kind"] == "mail"), items

    # Crash (no shutdown at all), come back on the same data, then the mail and calendar servers come back.
    server.kill()
    server.start()
    assert [m["id"] for m in ok(api(server, "GET", "/api/meetings"))["meetings"]] == [mid]
    assert sorted(i["recipient"] for i in outbox(server, mid) if i["kind"] == "mail") == sorted(
        [ASHA["email"], RAVI["email"], MEERA["email"]])
    smtp_maildir.start()
    radicale.start()

    # The retry delay doubles from 1 s while the servers are down: allow for a few doublings.
    items = wait_outbox_sent(server, mid, timeout=40)
    assert all(i["sentAt"] for i in items), items
    time.sleep(3.5)  # three more retry intervals: a second copy would show up by now
    for a in created["attendees"]:
        mails = smtp_maildir.messages(a["email"])
        assert len(mails) == 1, f"{a['email']} got {len(mails)} copies"
        check_invitation(mails[0], "REQUEST", created["uid"], a["email"], a["link"])
    assert all(i["state"] == "sent" for i in outbox(server, mid))
    assert len(radicale.objects("organizer")) == 1
    calendar_matches(radicale, created["uid"], "Budget", start, 0)


@pytest.mark.server
@pytest.mark.timeout(60)
def test_a_caldav_outage_does_not_hold_up_invitation_mails(start_server, smtp_maildir, radicale):
    radicale.stop()
    server = start_groupware(start_server, smtp_maildir, radicale)
    for person in (ASHA, RAVI, MEERA):
        ok(api(server, "POST", "/api/meetings",
               meeting_body(f"Meeting for {person['name']}", minute(now()) + dt.timedelta(days=1), attendees=(person,))), 201)
        # SMTP is up and the retry delay is 1 s: the invitation has no reason to wait for the calendar.
        wait_mails(smtp_maildir, person["email"], 1, timeout=8)
        time.sleep(1)


@pytest.mark.server
@pytest.mark.timeout(60)
def test_an_update_during_an_outage_supersedes_the_unsent_invitations(start_server, smtp_maildir):
    smtp_maildir.stop()
    server = start_groupware(start_server, smtp_maildir, None)
    start = minute(now()) + dt.timedelta(days=1)
    created = ok(api(server, "POST", "/api/meetings", meeting_body("Draft title", start, attendees=(ASHA, RAVI))), 201)
    mid = created["id"]
    wait_for(lambda: (items := [i for i in outbox(server, mid) if i["kind"] == "mail"]) and all(i["attempts"] >= 1 for i in items),
             15, "the first invitations to have failed once")
    updated = ok(api(server, "PUT", f"/api/meetings/{mid}",
                     meeting_body("Final title", start + dt.timedelta(hours=1), attendees=(ASHA, RAVI))))
    smtp_maildir.start()
    items = wait_outbox_sent(server, mid, timeout=40)
    stale = [i for i in items if i["kind"] == "mail" and i["sequence"] == 0]
    assert stale and all(i["state"] == "superseded" for i in stale), items
    time.sleep(2.5)  # a few retry intervals: nothing stale goes out late
    for a in updated["attendees"]:
        mails = smtp_maildir.messages(a["email"])
        assert len(mails) == 1, f"{a['email']} got {[m.subject for m in mails]}"
        ev = check_invitation(mails[0], "REQUEST", created["uid"], a["email"], a["link"])
        assert int(ev["SEQUENCE"]) == updated["sequence"] and str(ev["SUMMARY"]) == "Final title"


@pytest.mark.server
@pytest.mark.timeout(60)
def test_a_recipient_the_mail_server_refuses_fails_alone_and_is_not_retried(start_server, smtp_maildir):
    ghost = {"name": "Nobody", "email": "nobody@pune.gov.in", "role": "participant"}
    smtp_maildir.stop()
    smtp_maildir.refuse = [ghost["email"]]
    smtp_maildir.start()
    server = start_groupware(start_server, smtp_maildir, None)
    created = ok(api(server, "POST", "/api/meetings",
                     meeting_body("Roll call", minute(now()) + dt.timedelta(days=1), attendees=(ASHA, ghost, RAVI))), 201)
    mid = created["id"]

    def settled():
        items = [i for i in outbox(server, mid) if i["kind"] == "mail"]
        return items if len(items) == 3 and all(i["state"] in ("sent", "failed") for i in items) else None
    items = wait_for(settled, 15, "every invitation sent or failed")
    assert {i["recipient"]: i["state"] for i in items} == {ASHA["email"]: "sent", ghost["email"]: "failed", RAVI["email"]: "sent"}
    (bounced,) = [i for i in items if i["state"] == "failed"]
    assert "550" in bounced["lastError"], bounced
    time.sleep(3)  # three retry intervals: a permanent failure is not retried
    (again,) = [i for i in outbox(server, mid) if i["recipient"] == ghost["email"]]
    assert again["state"] == "failed" and again["attempts"] == bounced["attempts"], again
    assert any(" error " in f" {line} " and ghost["email"] in line for line in server.log_text().splitlines()), \
        "the permanent failure is logged as an error"
    for a in (ASHA, RAVI):
        (mail,) = smtp_maildir.messages(a["email"])
        check_invitation(mail, "REQUEST", created["uid"], a["email"], attendee(created, a["email"])["link"])
    assert smtp_maildir.messages(ghost["email"]) == []


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.server
@pytest.mark.timeout(60)
def test_bad_meeting_requests_get_400_with_the_documented_code(start_server, smtp_maildir):
    server = start_groupware(start_server, smtp_maildir, None)
    start = minute(now()) + dt.timedelta(days=1)
    good = meeting_body("Review", start)

    for method, path in [("GET", "/api/meetings"), ("POST", "/api/meetings"), ("GET", "/api/meetings/m-x"),
                         ("PUT", "/api/meetings/m-x"), ("DELETE", "/api/meetings/m-x"), ("GET", "/api/outbox")]:
        resp = requests.request(method, server.base_url + path, json=good, timeout=10)
        problem(resp, 401, "admin-key-missing")
        resp = requests.request(method, server.base_url + path, json=good, timeout=10,
                                headers={"Authorization": "Bearer not-the-key"})
        problem(resp, 401, "admin-key-invalid")

    body = problem(api(server, "POST", "/api/meetings", raw=b"{not json"), 400, "bad-json")
    assert "JSON" in body["detail"], body
    problem(api(server, "POST", "/api/meetings", raw=b"[1, 2]"), 400, "bad-json")
    problem(api(server, "POST", "/api/meetings", raw=b""), 400, "bad-json")
    problem(api(server, "POST", "/api/meetings", good | {"end": good["start"]}), 400, "end-before-start")
    problem(api(server, "POST", "/api/meetings",
                good | {"end": (start - dt.timedelta(hours=1)).isoformat()}), 400, "end-before-start")
    body = problem(api(server, "POST", "/api/meetings", good | {"timezone": "Asia/Atlantis"}), 400, "unknown-time-zone")
    assert "Asia/Atlantis" in body["detail"], body
    for bad in ["not-an-address", "two@@pune.gov.in", "asha@", "@pune.gov.in", "asha pune@gov.in", "asha@pune.gov.in\r\nBcc: x@y.z"]:
        body = problem(api(server, "POST", "/api/meetings", good | {"attendees": [{"name": "X", "email": bad, "role": "host"}]}),
                       400, "bad-email")
    problem(api(server, "POST", "/api/meetings", good | {"organizer": {"name": "O", "email": "nobody"}}), 400, "bad-email")
    # The doc does not say whether a value of the right JSON type that cannot be used is bad-json or invalid-field.
    for bad in [{"start": "tomorrow at ten"}, {"attendees": [ASHA | {"role": "emperor"}]},
                {"organizer": "Collector"}]:
        resp = api(server, "POST", "/api/meetings", good | bad)
        assert resp.status_code == 400 and resp.json()["code"] in ("bad-json", "invalid-field"), (bad, resp.text)

    assert ok(api(server, "GET", "/api/meetings"))["meetings"] == [], "no refused request made a meeting"
    assert outbox(server) == []
    problem(api(server, "GET", "/api/meetings/m-nothere"), 404, "meeting-not-found")
    problem(api(server, "PUT", "/api/meetings/m-nothere", good), 404, "meeting-not-found")
    problem(api(server, "DELETE", "/api/meetings/m-nothere"), 404, "meeting-not-found")

    # A real one still works, and a bad update leaves it as it was.
    created = ok(api(server, "POST", "/api/meetings", good), 201)
    problem(api(server, "PUT", f"/api/meetings/{created['id']}", good | {"timezone": "Mars/Olympus"}), 400, "unknown-time-zone")
    assert ok(api(server, "GET", f"/api/meetings/{created['id']}")) == created


@pytest.mark.server
@pytest.mark.timeout(60)
def test_broken_bookings_make_no_meeting_and_do_not_stop_the_watcher(start_server, smtp_maildir, lenient_radicale):
    radicale = lenient_radicale
    server = start_groupware(start_server, smtp_maildir, radicale)
    soon = minute(now()) + dt.timedelta(minutes=5)

    def variant(name: str) -> str:
        return booking_ics(f"{name}-{uuid.uuid4()}@e2e", f"Broken: {name}", soon, [ASHA, RAVI])
    all_day = re.sub(r"DTSTART;TZID=Asia/Kolkata:(\d{8})T\d{6}", r"DTSTART;VALUE=DATE:\1", variant("all-day"))
    all_day = re.sub(r"DTEND;TZID=Asia/Kolkata:\d{8}T\d{6}",
                     f"DTEND;VALUE=DATE:{(soon + dt.timedelta(days=1)).astimezone(IST):%Y%m%d}", all_day)
    broken = {  # name -> body; the first two only the lenient layer keeps (Radicale refuses them)
        "no-start": NO_DTSTART,
        "garbage": GARBAGE,
        "all-day": all_day.encode(),
        "windows-zone": variant("windows-zone").replace("Asia/Kolkata", "India Standard Time").encode(),
        "no-organizer": re.sub(r"ORGANIZER[^\r]*\r\n", "", variant("no-organizer")).encode(),
    }
    for name, body in broken.items():
        assert radicale.put_raw("resource", f"{name}.ics", body) in (201, 204), name
    ended = booking_ics(f"ended-{uuid.uuid4()}@e2e", "Yesterday", now() - dt.timedelta(days=1), [ASHA])
    assert radicale.put_raw("resource", "ended.ics", ended.encode()) == 201
    assert len(radicale.objects("resource")) == 6

    # Several watch intervals: nothing becomes a meeting, the server stays up and keeps answering.
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert server.alive(), "sabha died on a broken booking"
        assert ok(api(server, "GET", "/api/meetings"))["meetings"] == []
        time.sleep(0.5)
    assert requests.get(server.base_url + "/healthz", timeout=5).status_code == 200
    assert smtp_maildir.recipients() == [], "a broken booking sent mail"

    def warnings_about(name: str) -> list[str]:
        return [line for line in server.log_text().splitlines()
                if "warning" in line.split()[:3] and f"/collector/conference-room/{name}.ics" in line]
    for name in broken:
        assert len(warnings_about(name)) == 1, f"{name}.ics: {warnings_about(name) or 'no warning'} (one per version)"

    # A good booking next to the broken ones still becomes a meeting (NON-PARTICIPANT watches).
    uid = f"booking-{uuid.uuid4()}@calendar.pune.gov.in"
    watcher = MEERA | {"ical": "ROLE=NON-PARTICIPANT"}
    radicale.calendar("resource").save_event(booking_ics(uid, "After the garbage", soon, [ASHA, watcher]))
    meetings = wait_for(lambda: ok(api(server, "GET", "/api/meetings"))["meetings"], 10, "the good booking to become a meeting")
    assert [(m["source"], m["uid"], m["title"]) for m in meetings] == [("calendar", uid, "After the garbage")], meetings
    assert attendee(meetings[0], MEERA["email"])["role"] == "viewer"
    for a in meetings[0]["attendees"]:
        (mail,) = wait_mails(smtp_maildir, a["email"], 1)
        check_invitation(mail, "REQUEST", uid, a["email"], a["link"])
    for name in broken:
        assert len(warnings_about(name)) == 1, f"{name}.ics warned again: {warnings_about(name)}"

    # A CalDAV outage is retried: with Radicale back, the next booking becomes a meeting too.
    radicale.stop()
    time.sleep(3)
    assert server.alive()
    radicale.start()
    uid2 = f"booking-{uuid.uuid4()}@calendar.pune.gov.in"
    radicale.calendar("resource").save_event(booking_ics(uid2, "After the outage", soon, [RAVI]))
    wait_for(lambda: any(m["uid"] == uid2 for m in ok(api(server, "GET", "/api/meetings"))["meetings"]), 15,
             "the booking made after the CalDAV outage to become a meeting")
    assert server.alive()


@pytest.mark.server
@pytest.mark.timeout(120)
def test_a_booking_with_sequence_int64_max_is_edited_cancelled_and_survives_a_restart(start_server, smtp_maildir, radicale):
    """Issue 13 item 3: SEQUENCE:9223372036854775807 on a booking, then an edit, used to trap on `+ 1` (and again
    after every restart, when the watcher read the event once more)."""
    server = start_groupware(start_server, smtp_maildir, radicale)
    soon = minute(now()) + dt.timedelta(minutes=5)
    # Someone else's meeting, which must not notice any of this.
    other = check_meeting(ok(api(server, "POST", "/api/meetings", meeting_body("Unrelated review", soon, attendees=(DEV,))), 201))

    uid = f"booking-{uuid.uuid4()}@calendar.pune.gov.in"

    def booking(summary: str, sequence: str, cancelled: bool = False) -> bytes:
        # Written raw: calendar libraries themselves choke on such a SEQUENCE when they bump it.
        text = booking_ics(uid, summary, soon, [ASHA, RAVI]).replace("SEQUENCE:0", f"SEQUENCE:{sequence}")
        return (text.replace("END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT") if cancelled else text).encode()
    assert radicale.put_raw("resource", "huge-sequence.ics", booking("Sequence attack", "9223372036854775807")) == 201
    meeting = wait_for(lambda: next((m for m in ok(api(server, "GET", "/api/meetings"))["meetings"] if m["uid"] == uid), None),
                       10, "the booking to become a meeting")
    mid = meeting["id"]
    assert 0 <= meeting["sequence"] <= 2147483647, meeting
    for person in (ASHA, RAVI):
        wait_mails(smtp_maildir, person["email"], 1)

    # The edit bumps SEQUENCE past what a 64-bit integer holds; the meeting follows it and the server lives.
    assert radicale.put_raw("resource", "huge-sequence.ics", booking("Sequence attack (edited)", "9223372036854775807")) in (201, 204)
    edited = wait_for(lambda: (m := ok(api(server, "GET", f"/api/meetings/{mid}")))["title"] == "Sequence attack (edited)" and m,
                      15, "the meeting to follow the edit")
    assert server.alive(), "sabha died on the edit"
    assert meeting["sequence"] < edited["sequence"] <= 2147483647, edited
    mail = wait_mails(smtp_maildir, ASHA["email"], 2)[-1]
    ev = check_invitation(mail, "REQUEST", uid, ASHA["email"], attendee(edited, ASHA["email"])["link"])
    assert int(ev["SEQUENCE"]) == edited["sequence"]
    assert any("SEQUENCE is not a whole number" in line for line in server.log_text().splitlines()), "the ignored SEQUENCE is logged"

    # A restart reads the event again: no crash loop.
    server.stop()
    server.start()
    time.sleep(3)
    assert server.alive(), "sabha died after the restart"
    assert ok(api(server, "GET", f"/api/meetings/{mid}"))["title"] == "Sequence attack (edited)"

    # Cancelling in the calendar cancels the meeting; everyone gets a CANCEL.
    assert radicale.put_raw("resource", "huge-sequence.ics",
                            booking("Sequence attack (edited)", "9223372036854775807", cancelled=True)) in (201, 204)
    wait_for(lambda: ok(api(server, "GET", f"/api/meetings/{mid}"))["status"] == "cancelled", 15, "the meeting to be cancelled")
    check_invitation(wait_mails(smtp_maildir, ASHA["email"], 3)[-1], "CANCEL", uid, ASHA["email"])
    assert server.alive()

    # The other meeting never noticed: its link still joins.
    ws, joined = join_link(server, attendee(other, DEV["email"])["link"])
    ws.close()
    assert joined["you"]["identity"] == DEV["email"]


# ------------------------------------------------------------------------------------------------ the command line


def sabha_meeting(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`sabha meeting ...` against the running server, its admin key read from the data directory."""
    cmd = [str(server.binary), "meeting", *args, "--server", f"127.0.0.1:{server.http_port}", "--data-dir", str(server.data_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check:
        assert out.returncode == 0, f"{cmd} failed ({out.returncode}): {out.stderr}"
    return out


@pytest.mark.server
@pytest.mark.timeout(60)
def test_the_sabha_meeting_command_schedules_shows_lists_and_cancels(start_server, smtp_maildir):
    server = start_groupware(start_server, smtp_maildir, None)
    start = minute(now()) + dt.timedelta(days=1)
    created = check_meeting(json.loads(sabha_meeting(
        server, "create", "--json", "--title", "From the shell", "--start", start.astimezone(IST).isoformat(),
        "--end", "45m", "--timezone", "Asia/Kolkata", "--organizer", f"{ORGANIZER['name']} <{ORGANIZER['email']}>",
        "--attendee", f"{ASHA['name']} <{ASHA['email']}>:host", "--attendee", RAVI["email"]).stdout))
    assert created["title"] == "From the shell" and parse_time(created["start"]) == start
    assert parse_time(created["end"]) == start + dt.timedelta(minutes=45)
    assert [(a["email"], a["role"]) for a in created["attendees"]] == [(ASHA["email"], "host"), (RAVI["email"], "participant")]
    for a in created["attendees"]:
        (mail,) = wait_mails(smtp_maildir, a["email"], 1)
        check_invitation(mail, "REQUEST", created["uid"], a["email"], a["link"])

    assert json.loads(sabha_meeting(server, "show", "--json", created["id"]).stdout) == ok(api(server, "GET", f"/api/meetings/{created['id']}"))
    shown = sabha_meeting(server, "show", created["id"]).stdout
    assert all(a["link"] in shown for a in created["attendees"]), shown
    listed = json.loads(sabha_meeting(server, "list", "--json").stdout)
    assert [m["id"] for m in listed["meetings"]] == [created["id"]]
    assert created["id"] in sabha_meeting(server, "list").stdout

    out = sabha_meeting(server, "create", "--title", "x", "--start", start.isoformat(), "--end", "1h", "--timezone", "Mars/Olympus",
                        "--organizer", ORGANIZER["email"], "--attendee", ASHA["email"], check=False)
    assert out.returncode != 0 and "unknown-time-zone" in out.stderr, out.stderr

    cancelled = json.loads(sabha_meeting(server, "cancel", "--json", created["id"]).stdout)
    assert cancelled["status"] == "cancelled"
    for a in created["attendees"]:
        assert [m.calendar_method for m in wait_mails(smtp_maildir, a["email"], 2)] == ["REQUEST", "CANCEL"]


# ------------------------------------------------------------------------------------------------ languages


def test_each_attendee_gets_the_invitation_and_the_meeting_link_in_their_language(start_server, smtp_maildir, radicale):
    """Issue 16 item 5 for mail and calendar: Hindi and Odia invitations through a real SMTP server, the organizer's
    copy in Radicale in the server's language (SABHA_LANGUAGE), and links that open the page in the attendee's."""
    server = start_groupware(start_server, smtp_maildir, radicale, SABHA_LANGUAGE="or")
    start = minute(now()) + dt.timedelta(minutes=10)  # the links admit now
    body = meeting_body("जिला समीक्षा", start, attendees=(ASHA | {"language": "hi"}, RAVI | {"language": "en"}, MEERA))
    created = check_meeting(ok(api(server, "POST", "/api/meetings", body), 201))
    uid = created["uid"]
    assert [(a["email"], a["language"]) for a in created["attendees"]] == [
        (ASHA["email"], "hi"), (RAVI["email"], "en"), (MEERA["email"], "or")]
    links = {a["email"]: a["link"] for a in created["attendees"]}
    assert links[ASHA["email"]].endswith("&lang=hi") and links[MEERA["email"]].endswith("&lang=or")
    assert "lang=" not in links[RAVI["email"]] and created["organizer"]["link"].endswith("&lang=or")

    expected = {
        ASHA["email"]: ("आमंत्रण: जिला समीक्षा", "आपको", "बैठक में जुड़ें", "hi"),
        RAVI["email"]: ("Invitation: जिला समीक्षा", "invites you to", "Join the meeting", "en"),
        MEERA["email"]: ("ନିମନ୍ତ୍ରଣ: जिला समीक्षा", "ଆପଣଙ୍କୁ", "ବୈଠକରେ ଯୋଗ ଦିଅନ୍ତୁ", "or"),
    }
    for email, (subject, opening, join, code) in expected.items():
        (mail,) = wait_mails(smtp_maildir, email, 1)
        ev = check_invitation(mail, "REQUEST", uid, email, links[email])
        assert mail.subject == subject and str(mail.msg["Content-Language"]) == code, (mail.subject, mail.msg["Content-Language"])
        assert opening in mail.plain and join in html.unescape(mail.html), mail.plain
        assert f"{join}: {links[email]}" in str(ev["DESCRIPTION"]), ev["DESCRIPTION"]
    hindi = wait_mails(smtp_maildir, ASHA["email"], 1)[0]
    assert "दिसंबर" in hindi.plain or "जनवरी" in hindi.plain or "नवंबर" in hindi.plain, hindi.plain  # the month, in Hindi

    # The organizer's copy: the server's language.
    stored = wait_for(lambda: organizer_event(radicale, uid), 20, "the organizer's copy")
    assert "ବୈଠକରେ ଯୋଗ ଦିଅନ୍ତୁ: " + created["organizer"]["link"] in str(stored["DESCRIPTION"]), stored["DESCRIPTION"]

    # The link still joins (the page reads lang=, the server the token).
    ws, joined = join_link(server, links[MEERA["email"]])
    assert joined["type"] == "joined" and joined["you"]["identity"] == MEERA["email"]
    ws.close()
    problem(api(server, "POST", "/api/meetings", meeting_body("x", start, attendees=(RAVI | {"language": "fr"},))), 400, "invalid-field")


def test_an_unknown_server_language_is_refused_at_start(sabha_bin, tmp_path):
    import subprocess
    run = subprocess.run([str(sabha_bin), "serve", "--data-dir", str(tmp_path / "d"), "--language", "de",
                          "--http", "127.0.0.1:0", "--rtc", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0 and "--language must be en (English), hi (Hindi) or or (Odia)" in run.stderr, run.stderr

"""After the meeting (docs/meetings.md, "Answers and attendance"): attendees' answers collected from an IMAP mailbox
(iMIP REPLY mails, Dovecot) and from the organizer's CalDAV copy (Radicale), shown to hosts and in the API; and the
attendance report mailed once to the organizer (aiosmtpd), written into the organizer's calendar event, and served by
`GET /api/meetings/{id}/attendance`. All servers are real and on 127.0.0.1."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime

import icalendar
import requests

from e2ekit.groupware import link_token, sabha_env
from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for
from test_groupware import ASHA, MEERA, ORGANIZER, RAVI, api, meeting_body, now, ok

ASHA_P = dict(ASHA, role="participant")


def reply_mail(uid: str, sequence: int, attendee: str, partstat: str, sender: str | None = None,
               comment: str | None = None) -> bytes:
    """An iMIP REPLY (RFC 6047) as Thunderbird sends one: multipart/alternative with a text/calendar part."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN")
    cal.add("version", "2.0")
    cal.add("method", "REPLY")
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("sequence", sequence)
    ev.add("dtstamp", dt.datetime.now(dt.timezone.utc))
    ev.add("summary", "Answer")
    ev.add("organizer", f"mailto:{ORGANIZER['email']}")
    att = icalendar.vCalAddress(f"mailto:{attendee}")
    att.params["PARTSTAT"] = icalendar.vText(partstat)
    ev.add("attendee", att, encode=0)
    if comment:
        ev.add("comment", comment)
    cal.add_component(ev)
    msg = EmailMessage()
    msg["From"] = sender or attendee
    msg["To"] = "meet@dept.example"
    msg["Subject"] = f"Accepted: {uid}"
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = f"<{uuid.uuid4()}@mail.example>"
    msg.set_content(f"{attendee} has answered {partstat}.")
    msg.add_alternative(cal.to_ical(), maintype="text", subtype="calendar", params={"method": "REPLY"})
    return bytes(msg)


def timed_join(sock: MeetingSocket, token: str, **fields) -> tuple[dict, float]:
    """Joins and says when, as the midpoint between sending `join` and receiving `joined`: the server's own record of
    the join lies between the two."""
    sent = time.monotonic()
    sock.send({"type": "join", "version": 1, "token": token, **fields})
    joined = sock.next_type("joined")
    return joined, (sent + time.monotonic()) / 2


def answer_in_calendar(radicale, meeting_id: str, email: str, partstat: str) -> None:
    """What a CalDAV scheduling server (RFC 6638) does when an attendee answers: the PARTSTAT in the organizer's copy."""
    name = f"{meeting_id}.ics"
    (href, text), = [(h, t) for h, t in radicale.objects("organizer").items() if h.endswith(name)]
    cal = icalendar.Calendar.from_ical(text)
    for ev in cal.walk("VEVENT"):
        attendees = ev.get("attendee")
        for a in attendees if isinstance(attendees, list) else [attendees]:
            if str(a).lower() == f"mailto:{email}":
                a.params["PARTSTAT"] = icalendar.vText(partstat)
    assert radicale.put_raw("organizer", name, cal.to_ical()) in (200, 201, 204)


def reported_event(radicale, meeting_id: str):
    """The VEVENT of the organizer's copy once the attendance summary is in its DESCRIPTION, else None."""
    (text,) = [t for h, t in radicale.objects("organizer").items() if h.endswith(f"{meeting_id}.ics")]
    ev = next(iter(icalendar.Calendar.from_ical(text).walk("VEVENT")))
    return ev if "Attendance:" in str(ev.get("description", "")) else None


def answers(server, meeting_id: str) -> dict[str, tuple[str, str | None]]:
    m = ok(api(server, "GET", f"/api/meetings/{meeting_id}"))
    return {a["email"]: (a["answer"], a.get("answerSource")) for a in m["attendees"]}


def report_mails(smtp):
    return [m for m in smtp.messages(ORGANIZER["email"]) if m.subject.startswith("Attendance")]


def csv_attachment(mail) -> str:
    for part in mail.msg.walk():
        if part.get_filename() and part.get_filename().endswith(".csv"):
            return part.get_payload(decode=True).decode("utf-8")
    raise AssertionError(f"no CSV in {mail.content_types}")


def rows(text: str) -> dict[str, dict]:
    return {r["email"]: r for r in csv.DictReader(io.StringIO(text))}


def test_answers_by_mail_and_calendar_and_one_attendance_report_after_the_host_ends(
        start_server, smtp_maildir, radicale, reply_mailbox):
    srv = start_server(env=sabha_env(smtp_maildir, radicale, SABHA_REPLY_INTERVAL="1s", **reply_mailbox.env()))
    meeting = ok(api(srv, "POST", "/api/meetings", meeting_body("Flood relief review", now() - dt.timedelta(minutes=5),
                                                                  attendees=(ASHA_P, RAVI, MEERA))), 201)
    mid, uid = meeting["id"], meeting["uid"]
    links = {a["email"]: a["link"] for a in meeting["attendees"]}
    wait_for(lambda: any(h.endswith(f"{mid}.ics") for h in radicale.objects("organizer")), timeout=20,
             what="the organizer's calendar copy")

    # The host is in the room before any answer: the list reaches them as answers come in.
    host = MeetingSocket(srv.base_url)
    joined = host.join(link_token(meeting["organizer"]["link"]))
    assert {p["identity"]: p["answer"] for p in joined["invited"]} == {
        ASHA["email"]: "needs-action", RAVI["email"]: "needs-action", MEERA["email"]: "needs-action"}

    accepted_uid = reply_mailbox.append(reply_mail(uid, 0, ASHA["email"], "ACCEPTED", comment="Will join from the collectorate"))
    # Forged: from someone not invited, and in Meera's name from someone else's address.
    reply_mailbox.append(reply_mail(uid, 0, "mallory@evil.example", "ACCEPTED"))
    reply_mailbox.append(reply_mail(uid, 0, MEERA["email"], "DECLINED", sender="mallory@evil.example"))
    answer_in_calendar(radicale, mid, RAVI["email"], "DECLINED")

    wait_for(lambda: answers(srv, mid) == {ASHA["email"]: ("accepted", "mail"), RAVI["email"]: ("declined", "calendar"),
                                           MEERA["email"]: ("needs-action", None)},
             timeout=20, what=f"answers from mail and calendar: {answers(srv, mid)}")
    pushed = host.next(15, lambda m: m.get("type") == "invited"
                       and {p["identity"]: p["answer"] for p in m["invited"]}.get(RAVI["email"]) == "declined")
    assert {p["identity"]: p["answer"] for p in pushed["invited"]}[ASHA["email"]] == "accepted"
    assert [p.get("comment") for p in pushed["invited"] if p["identity"] == ASHA["email"]] == ["Will join from the collectorate"]
    assert "Seen" not in reply_mailbox.flags(accepted_uid), "the mailbox is read, never changed"

    # Asha attends for about 20 s; Ravi drops and resumes; Meera never comes.
    asha = MeetingSocket(srv.base_url)
    # (the typed name does not matter: the report goes by the link's identity)
    asha_joined, asha_in = timed_join(asha, link_token(links[ASHA["email"]]), name="Someone Else")
    assert "invited" not in asha_joined, "only hosts see who was invited and what they answered"
    ravi = MeetingSocket(srv.base_url)
    ravi_joined, ravi_in = timed_join(ravi, link_token(links[RAVI["email"]]))
    time.sleep(8)
    ravi_out = time.monotonic()
    ravi.cut()
    time.sleep(3)
    ravi = MeetingSocket(srv.base_url)
    resumed, ravi_back = timed_join(ravi, link_token(links[RAVI["email"]]), resume=ravi_joined["resume"])
    assert resumed["resumed"] is True
    time.sleep(max(0.0, 20 - (time.monotonic() - asha_in)))
    asha.send({"type": "leave"})
    asha_out = time.monotonic()
    time.sleep(2)
    host.send({"type": "end-meeting"})
    host_end = time.monotonic()
    host.next_type("meeting-ended")

    wait_for(lambda: report_mails(smtp_maildir), timeout=20, what="the attendance report mail")
    time.sleep(3)  # a second one would have come by now
    mails = report_mails(smtp_maildir)
    assert len(mails) == 1, [m.subject for m in mails]
    mail = mails[0]
    assert mail.subject == "Attendance: Flood relief review"
    assert "Came: 2 of the 3 invited" in mail.plain, mail.plain
    table = rows(csv_attachment(mail))
    assert set(table) == {ORGANIZER["email"], ASHA["email"], RAVI["email"], MEERA["email"]}, table.keys()
    a, r, m = table[ASHA["email"]], table[RAVI["email"]], table[MEERA["email"]]
    assert (a["answer"], r["answer"], m["answer"]) == ("accepted", "declined", "needs-action")
    assert a["comment"] == "Will join from the collectorate"
    assert (a["attended"], r["attended"], m["attended"]) == ("yes", "yes", "no")
    assert abs(int(a["seconds_present"]) - (asha_out - asha_in)) <= 2, (a, asha_out - asha_in)
    expected_ravi = (ravi_out - ravi_in) + (host_end - ravi_back)
    assert abs(int(r["seconds_present"]) - expected_ravi) <= 2, (r, expected_ravi, ravi_in, ravi_out, ravi_back, host_end, time.time() - time.monotonic(),
                                                                    ok(api(srv, "GET", f"/api/audit?room={mid}&limit=50")))
    assert (a["reconnects"], r["reconnects"], m["reconnects"]) == ("0", "1", "0")
    assert m["seconds_present"] == "0" and m["first_join"] == ""
    assert table[ORGANIZER["email"]]["attended"] == "yes"
    assert a["first_join"].endswith("+05:30"), a  # the meeting's time zone
    assert "mallory@evil.example" not in table

    # The API returns the same report; the CSV is the same bytes.
    report = ok(api(srv, "GET", f"/api/meetings/{mid}/attendance"))
    people = {p["identity"]: p for p in report["people"]}
    assert people[RAVI["email"]]["reconnects"] == 1 and people[ASHA["email"]]["answer"] == "accepted"
    assert people[ASHA["email"]]["secondsPresent"] == int(a["seconds_present"])
    resp = requests.get(srv.base_url + f"/api/meetings/{mid}/attendance", timeout=10,
                        headers={"Authorization": api(srv, "GET", "/api/meetings").request.headers["Authorization"],
                                 "Accept": "text/csv"})
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv"), resp.headers
    assert resp.text == csv_attachment(mail)

    # The organizer's calendar event carries the summary and the CSV.
    ev = wait_for(lambda: reported_event(radicale, mid), timeout=20, what="the report in the organizer's calendar event")
    attach = ev.get("attach")
    assert attach is not None and attach.params.get("FILENAME") == f"attendance-{mid}.csv", attach
    assert ok(api(srv, "GET", f"/api/meetings/{mid}"))["report"] == "queued"
    for s in (host, asha, ravi):
        s.close()


def test_a_report_queued_while_mail_is_down_is_sent_once_after_a_crash(start_server, smtp_maildir):
    srv = start_server(env=sabha_env(smtp_maildir, None))
    meeting = ok(api(srv, "POST", "/api/meetings", meeting_body("Budget", now() - dt.timedelta(minutes=5),
                                                                  attendees=(ASHA_P,))), 201)
    host = MeetingSocket(srv.base_url)
    host.join(link_token(meeting["organizer"]["link"]))
    wait_for(lambda: smtp_maildir.messages(ASHA["email"]), timeout=20, what="the invitation")
    smtp_maildir.stop()
    host.send({"type": "end-meeting"})
    host.next_type("meeting-ended")
    wait_for(lambda: ok(api(srv, "GET", f"/api/meetings/{meeting['id']}"))["report"] == "queued", timeout=10,
             what="the report in the outbox")
    srv.kill()
    smtp_maildir.start()
    srv.start()
    wait_for(lambda: report_mails(smtp_maildir), timeout=30, what="the report after the restart")
    time.sleep(3)
    assert len(report_mails(smtp_maildir)) == 1
    items = ok(api(srv, "GET", f"/api/outbox?meeting={meeting['id']}"))["items"]
    assert [i["state"] for i in items if i["method"] == "REPORT"] == ["sent"], items

    # The same report from the command line: the mail's CSV, and a short table.
    from test_meeting_cli import sabha_meeting
    (mail,) = report_mails(smtp_maildir)
    # (text mode reads the CSV's CRLF line ends as \n)
    assert sabha_meeting(srv, "attendance", meeting["id"], "--csv").stdout == csv_attachment(mail).replace("\r\n", "\n")
    table = sabha_meeting(srv, "attendance", meeting["id"]).stdout
    assert "0 of 1 invited came" in table and "did not join" in table, table


def test_a_server_that_refuses_attachments_gets_the_summary_and_addresses_can_be_left_out(start_server, smtp_maildir,
                                                                                          tmp_path, request):
    from e2ekit.groupware import Radicale

    radicale = Radicale(root=tmp_path / "radicale-noattach", log_path=tmp_path / "radicale-noattach.log", lenient=True,
                        refuse_attach=True)
    request.node._log_sources = getattr(request.node, "_log_sources", []) + [("radicale log", radicale.log_text)]
    radicale.start()
    try:
        radicale.make_calendars()
        srv = start_server(env=sabha_env(smtp_maildir, radicale, SABHA_REPORT_ADDRESSES="no"))
        meeting = ok(api(srv, "POST", "/api/meetings", meeting_body("Drought review", now() - dt.timedelta(minutes=5),
                                                                      attendees=(ASHA_P,))), 201)
        mid = meeting["id"]
        wait_for(lambda: any(h.endswith(f"{mid}.ics") for h in radicale.objects("organizer")), 20, "the organizer's copy")
        host = MeetingSocket(srv.base_url)
        host.join(link_token(meeting["organizer"]["link"]))
        asha = MeetingSocket(srv.base_url)
        asha.join(link_token(meeting["attendees"][0]["link"]))
        time.sleep(2)
        host.send({"type": "end-meeting"})
        host.next_type("meeting-ended")

        ev = wait_for(lambda: reported_event(radicale, mid), 30, "the summary in the event of a server that takes no attachments")
        assert ev.get("attach") is None
        assert "refused the report's attachment" in srv.log_text()
        items = ok(api(srv, "GET", f"/api/outbox?meeting={mid}"))["items"]
        assert [i["state"] for i in items if i["kind"] == "calendar-report"] == ["sent"], items

        # --report-addresses no: no addresses in the mail's CSV nor in the API.
        mail = wait_for(lambda: report_mails(smtp_maildir), 20, "the report mail")[0]
        table = rows(csv_attachment(mail))
        assert table[ASHA["email"]]["attended"] == "yes" and table[ASHA["email"]]["addresses"] == "", table
        report = ok(api(srv, "GET", f"/api/meetings/{mid}/attendance"))
        assert all("addresses" not in p for p in report["people"]), report
        host.close()
        asha.close()
    finally:
        radicale.stop()

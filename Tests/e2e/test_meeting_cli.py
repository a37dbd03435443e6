"""`sabha meeting` against a real `sabha serve` (no mail or calendar configured): schedule, show, update, list and
cancel from the command line; the links it prints join the room while the meeting is on and not after it is
cancelled; bad input is explained."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from e2ekit.groupware import link_token
from e2ekit.meeting import MeetingSocket

pytestmark = pytest.mark.server


def sabha_meeting(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(server.binary), "meeting", *args, "--server", f"127.0.0.1:{server.http_port}", "--data-dir", str(server.data_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check:
        assert out.returncode == 0, f"{cmd} failed ({out.returncode}): {out.stderr}"
    return out


def test_meetings_are_scheduled_updated_listed_and_cancelled_from_the_command_line(server):
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).replace(microsecond=0)
    created = json.loads(sabha_meeting(
        server, "create", "--json", "--title", "Flood review", "--start", start.isoformat(), "--end", "45m",
        "--organizer", "Collector Pune <collector@pune.gov.in>",
        "--attendee", "Asha <asha@example.in>:host:hi", "--attendee", "ravi@example.in:or", "--attendee", "Press <press@example.in>:viewer",
        "--no-lobby").stdout)
    assert created["status"] == "scheduled" and created["sequence"] == 0 and created["source"] == "api"
    assert [(a["email"], a["role"], a["language"]) for a in created["attendees"]] == [
        ("asha@example.in", "host", "hi"), ("ravi@example.in", "participant", "or"), ("press@example.in", "viewer", "en")]
    assert created["lobby"] is False, "--no-lobby, although the attendees are outside the organizer's domain"
    assert dt.datetime.fromisoformat(created["end"].replace("Z", "+00:00")) - start == dt.timedelta(minutes=45)
    mid = created["id"]

    shown = sabha_meeting(server, "show", mid).stdout
    assert "Flood review" in shown and "asha@example.in" in shown and f"/m/{created['room']}?t=" in shown

    updated = json.loads(sabha_meeting(
        server, "update", mid, "--json", "--title", "Flood review (moved)", "--start", start.isoformat(), "--end", "1h",
        "--organizer", "collector@pune.gov.in", "--attendee", "Asha <asha@example.in>:host").stdout)
    assert updated["sequence"] == 1 and updated["title"] == "Flood review (moved)"
    statuses = {a["email"]: a["status"] for a in updated["attendees"]}
    assert statuses == {"asha@example.in": "invited", "ravi@example.in": "removed", "press@example.in": "removed"}

    listing = sabha_meeting(server, "list").stdout
    assert mid in listing and "scheduled" in listing

    asha = next(a["link"] for a in updated["attendees"] if a["email"] == "asha@example.in")
    ravi = next(a["link"] for a in created["attendees"] if a["email"] == "ravi@example.in")
    ws = MeetingSocket(server.base_url)
    try:
        assert ws.join(link_token(asha))["you"]["role"] == "host"
    finally:
        ws.close()
    ws = MeetingSocket(server.base_url)
    try:
        ws.send({"type": "join", "version": 1, "token": link_token(ravi)})
        error = ws.next_type("error")
        assert error["code"] == "link-revoked" and error["fatal"], error
    finally:
        ws.close()

    out = sabha_meeting(server, "cancel", mid).stdout
    assert "cancelled" in out
    ws = MeetingSocket(server.base_url)
    try:
        ws.send({"type": "join", "version": 1, "token": link_token(asha)})
        assert ws.next_type("error")["code"] == "meeting-cancelled"
    finally:
        ws.close()


def test_the_command_explains_bad_times_and_addresses(server):
    base = ["--title", "x", "--organizer", "c@pune.gov.in", "--attendee", "a@example.in"]
    out = sabha_meeting(server, "create", "--start", "tomorrow", "--end", "1h", *base, check=False)
    assert out.returncode != 0 and "RFC 3339" in out.stderr, out.stderr
    out = sabha_meeting(server, "create", "--start", "2026-12-01 10:00", "--end", "2026-12-01 09:00", *base, check=False)
    assert out.returncode != 0 and "end-before-start" in out.stderr, out.stderr
    out = sabha_meeting(server, "create", "--start", "2026-12-01 10:00", "--end", "1h", "--title", "x",
                        "--organizer", "c@pune.gov.in", "--attendee", "not-an-address", check=False)
    assert out.returncode != 0 and "bad-email" in out.stderr, out.stderr
    out = sabha_meeting(server, "cancel", "m-nothere", check=False)
    assert out.returncode != 0 and "meeting-not-found" in out.stderr, out.stderr

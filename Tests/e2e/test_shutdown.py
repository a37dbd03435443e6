"""`sabha serve` on SIGTERM: the server drains (everyone told `server-shutdown`, joins and new WHIP/WHEP sessions
refused, /readyz 503) until the meetings end or --drain-timeout is up; then one service group stops its parts in order
(the HTTP server first, closing the meeting sockets; the media engine last), the process exits 0, and what a
participant did just before is in the audit trail after a restart."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for
from test_admin_api import api, link_for, ok

pytestmark = pytest.mark.server


def test_sigterm_closes_meetings_keeps_the_audit_and_stops_the_media_last(start_server):
    server = start_server()
    ok(api(server, "POST", "/api/rooms", {"name": "closing", "title": "Closing"}), 201)
    staying = MeetingSocket(server.base_url)
    leaving = MeetingSocket(server.base_url)
    try:
        staying.join(link_for(server, "closing", "asha")["token"])
        leaving.join(link_for(server, "closing", "ravi")["token"])
        leaving.send({"type": "leave"})
        wait_for(lambda: leaving.closed.is_set(), 10, "the server to close the socket after leave")
        # No wait for the audit writer: its queue is written on the way down.
        assert server.stop() == 0, server.log_text()[-3000:]
        assert staying.closed.is_set(), "the open meeting socket was closed by the server"
    finally:
        staying.close()
        leaving.close()
    log = server.log_text()
    assert log.count("shutting down") == 1, log[-3000:]
    assert "media engine stopped" in log, log[-3000:]
    assert log.index("shutting down") < log.index("media engine stopped"), "HTTP stops first, the media engine last"

    server.start()
    events = [(e["identity"], e["event"]) for e in ok(api(server, "GET", "/api/audit?room=closing"))]
    assert ("ravi", "left") in events and ("ravi", "joined") in events, events
    assert ("asha", "joined") in events, events


def _signal_and_time(server):
    server.proc.send_signal(signal.SIGTERM)
    return time.monotonic()


def test_sigterm_drains_tells_everyone_refuses_joins_and_exits_0_when_the_drain_time_is_up(start_server):
    server = start_server("--drain-timeout", "4")
    ok(api(server, "POST", "/api/rooms", {"name": "draining", "title": "Draining"}), 201)
    assert requests.get(server.base_url + "/readyz", timeout=5).status_code == 200
    staying = MeetingSocket(server.base_url)
    leaving = MeetingSocket(server.base_url)
    try:
        staying.join(link_for(server, "draining", "asha")["token"])
        leaving.join(link_for(server, "draining", "ravi")["token"])
        sent = _signal_and_time(server)
        for sock in (staying, leaving):
            told = sock.next_type("server-shutdown", timeout=5)
            assert 4 <= told["retryAfter"] <= 4 + 5 + 1, told
        # The process serves what it has, but a load balancer sees it leaving, and nobody new gets in.
        ready = requests.get(server.base_url + "/readyz", timeout=5)
        assert ready.status_code == 503 and 1 <= int(ready.headers["Retry-After"]) <= 10, (ready.status_code, ready.headers)
        assert requests.get(server.base_url + "/healthz", timeout=5).status_code == 200
        late = MeetingSocket(server.base_url)
        late.send({"type": "join", "version": 1, "token": link_for(server, "draining", "meera")["token"]})
        refused = late.next_type("server-shutdown", timeout=5)
        assert refused["retryAfter"] >= 1, refused
        wait_for(lambda: late.closed.is_set(), 5, "the refused joiner's socket to be closed")
        assert not any(m.get("type") in ("joined", "error") for m in late.history), late.history
        whip = requests.post(server.base_url + "/whip/draining", data="v=0\r\n",
                             headers={"Content-Type": "application/sdp", "Authorization": "Bearer " + server.token("draining", "cam", "publisher")},
                             timeout=5)
        assert whip.status_code == 503 and whip.json()["code"] == "server-shutdown" and int(whip.headers["Retry-After"]) >= 1, whip.text
        # One leaves; the meeting of the other goes on until the drain time is up, then the server closes it and exits 0.
        leaving.send({"type": "leave"})
        wait_for(lambda: leaving.closed.is_set(), 5, "the leaver's socket to close")
        time.sleep(1.0)
        assert server.alive() and not staying.closed.is_set(), "a meeting with someone in it is not cut before the drain time"
        assert server.proc.wait(timeout=4 + 6 + 2) == 0, server.log_text()[-3000:]
        took = time.monotonic() - sent
        assert 3.5 <= took <= 4 + 6 + 2, took
        wait_for(lambda: staying.closed.is_set(), 5, "the remaining participant's socket to be closed")
    finally:
        staying.close()
        leaving.close()
    log = server.log_text()
    assert "draining before shutdown" in log and "drain time is up; closing the meetings" in log, log[-3000:]
    assert log.index("drain time is up") < log.index("media engine stopped"), "the media engine stops after the drain"


def test_sigterm_exits_as_soon_as_the_last_participant_leaves(start_server):
    server = start_server("--drain-timeout", "30")
    ok(api(server, "POST", "/api/rooms", {"name": "quick", "title": "Quick"}), 201)
    sock = MeetingSocket(server.base_url)
    try:
        sock.join(link_for(server, "quick", "asha")["token"])
        sent = _signal_and_time(server)
        sock.next_type("server-shutdown", timeout=5)
        sock.send({"type": "leave"})
        assert server.proc.wait(timeout=10) == 0, server.log_text()[-3000:]
        assert time.monotonic() - sent < 8, "the drain ends when the meetings do, not at --drain-timeout"
    finally:
        sock.close()
    assert "drained: no meeting connection left" in server.log_text()


def test_an_idle_server_stops_at_once_and_a_bad_drain_timeout_is_refused(start_server, sabha_bin, tmp_path):
    server = start_server("--drain-timeout", "30")
    sent = _signal_and_time(server)
    assert server.proc.wait(timeout=10) == 0
    assert time.monotonic() - sent < 5
    bad = subprocess.run([str(sabha_bin), "serve", "--data-dir", str(tmp_path / "bad"), "--drain-timeout", "soon"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "--drain-timeout 'soon' is not a duration" in bad.stderr, bad.stderr

"""`sabha serve` on SIGTERM: one service group stops its parts in order (the HTTP server first, closing the meeting
sockets; the media engine last), the process exits 0 within the harness's 10 s, and what a participant did just
before is in the audit trail after a restart."""

from __future__ import annotations

import pytest

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

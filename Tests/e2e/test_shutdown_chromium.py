"""A restart during a meeting, as the people in it see it: on SIGTERM the pages say the server is restarting, the
meeting goes on until the drain time is up, the server exits 0, and when it is back (same address, same data) both
pages rejoin by themselves and see and hear each other again."""

from __future__ import annotations

import signal
import time

import pytest

from e2ekit.wait import wait_for
from test_meeting_chromium import join, meeting_state, wait_receiving

pytestmark = pytest.mark.server

BANNER_JS = "const b = document.getElementById('banner'); return b.hidden ? '' : b.textContent"


@pytest.mark.timeout(240)
def test_pages_are_told_of_a_restart_and_rejoin_when_the_server_is_back(start_server, browsers):
    server = start_server("--drain-timeout", "3")
    room = "e2e-restart"
    people = {name: join(browsers, server, room, identity, name) for identity, name in (("asha", "Asha"), ("ravi", "Ravi"))}
    ids = {name: pid for name, (_, pid) in people.items()}
    for name, (driver, _) in people.items():
        wait_receiving(driver, name, {n: p for n, p in ids.items() if n != name}, 60)

    server.proc.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    for name, (driver, _) in people.items():
        wait_for(lambda d=driver: "restarting" in d.execute_script(BANNER_JS), 5, f"{name}'s page to say the server restarts")
    # Until the drain time is up the meeting goes on: media still flows.
    before = {name: meeting_state(driver)["perParticipant"][ids["Ravi" if name == "Asha" else "Asha"]]["framesDecoded"]
              for name, (driver, _) in people.items()}
    time.sleep(1.5)
    for name, (driver, _) in people.items():
        other = ids["Ravi" if name == "Asha" else "Asha"]
        assert meeting_state(driver)["perParticipant"][other]["framesDecoded"] > before[name], f"{name}'s media stopped during the drain"
    assert server.proc.wait(timeout=3 + 6 + 3) == 0, server.log_text()[-3000:]
    assert time.monotonic() - stopped_at >= 2.5

    # Down for a few seconds, as an upgrade would be; the pages keep the banner and keep trying.
    time.sleep(3)
    for name, (driver, _) in people.items():
        state = meeting_state(driver)
        assert state["screen"] == "meeting", (name, state["screen"])
        assert "restarting" in driver.execute_script(BANNER_JS), name
    server.start()
    back_at = time.monotonic()
    new_ids = {}
    for name, (driver, old) in people.items():
        me = wait_for(lambda d=driver, o=old: (m := meeting_state(d).get("me")) and m["id"] != o and m, 30, f"{name} to rejoin")
        new_ids[name] = me["id"]
    for name, (driver, _) in people.items():
        wait_receiving(driver, name, {n: p for n, p in new_ids.items() if n != name}, 40)
        assert driver.execute_script(BANNER_JS) == "", f"{name}'s banner cleared once back"
        assert meeting_state(driver)["tiles"] == 1
    assert time.monotonic() - back_at < 45

"""The invited list on the meeting page: a host of a scheduled meeting sees, in the People panel, each invitee's
answer (here from the organizer's calendar copy in Radicale) beside who is present, and an answer that changes while
the meeting runs updates the panel. Participants see no such list. The protocol side is in test_attendance.py."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By

from e2ekit.groupware import link_token, sabha_env
from e2ekit.wait import wait_for
from test_attendance import answer_in_calendar, answers
from test_groupware import ASHA, MEERA, RAVI, api, meeting_body, now, ok
from test_meeting_controls_chromium import state, texts

pytestmark = pytest.mark.server


@pytest.mark.timeout(150)
def test_a_host_sees_who_answered_what_and_who_is_missing(start_server, radicale, browsers, screenshot):
    srv = start_server(env=sabha_env(None, radicale, SABHA_REPLY_INTERVAL="1s"))
    meeting = ok(api(srv, "POST", "/api/meetings", meeting_body("Flood relief review", now() - dt.timedelta(minutes=5),
                                                                  attendees=(dict(ASHA, role="participant"), RAVI, MEERA))), 201)
    mid = meeting["id"]
    links = {a["email"]: a["link"] for a in meeting["attendees"]}
    wait_for(lambda: any(h.endswith(f"{mid}.ics") for h in radicale.objects("organizer")), 20, "the organizer's copy")
    answer_in_calendar(radicale, mid, RAVI["email"], "DECLINED")
    wait_for(lambda: answers(srv, mid)[RAVI["email"]][0] == "declined", 20, "Ravi's answer from the calendar")

    host = browsers("collector")
    host.get(f"{srv.base_url}/m/{mid}?t={quote(link_token(meeting['organizer']['link']))}&autojoin=1&quality=low")
    wait_for(lambda: (s := state(host)).get("me") and s["pc"], 30, "the host in the meeting")
    asha = browsers("asha")
    asha.get(f"{srv.base_url}/m/{mid}?t={quote(link_token(links[ASHA['email']]))}&autojoin=1&quality=low")
    wait_for(lambda: (s := state(asha)).get("me") and s["pc"], 30, "Asha in the meeting")

    if not host.find_element(By.ID, "people").is_displayed():
        host.find_element(By.ID, "people-button").click()
    wait_for(lambda: host.find_element(By.ID, "people").is_displayed(), 10, "the host's People panel")
    # Asha is present (no answer yet); Ravi declined and Meera has not answered, and neither is here.
    wait_for(lambda: texts(host, "#people-list li.invited .name") == ["Ravi Kumar", "Meera Iyer"], 15,
             "the absent invitees after the present people")
    assert texts(host, "#people-list li.invited .answer") == ["declined", "no answer"]
    assert texts(host, "#people-list li.invited .absent") == ["not here", "not here"]
    present = texts(host, "#people-list li:not(.invited) .answer")
    assert present == ["no answer"], present

    answer_in_calendar(radicale, mid, ASHA["email"], "ACCEPTED")
    wait_for(lambda: texts(host, "#people-list li:not(.invited) .answer") == ["accepted"], 20,
             "Asha's new answer in the host's panel while the meeting runs")
    screenshot(host, "meeting-invited")

    if not asha.find_element(By.ID, "people").is_displayed():
        asha.find_element(By.ID, "people-button").click()
    wait_for(lambda: len(texts(asha, "#people-list li")) == 2, 10, "Asha's People panel")
    assert texts(asha, "#people-list .answer") == [] and texts(asha, "#people-list li.invited") == []

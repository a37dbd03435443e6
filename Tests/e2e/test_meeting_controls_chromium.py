"""The meeting controls on the meeting page (/m/{room}) in headless Chromium: a joiner waits in the lobby until the
host admits them from the Waiting list, hands go up in order and a host lowers them, chat goes both ways as plain
text, the host lets everyone share a screen, locks the meeting (a late joiner is refused in words) and makes a
co-host. The protocol itself is tested in test_meeting_controls.py; this is what people see and click."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

STATE_JS = """
const m = window.sabhaMeeting;
if (!m) return { ready: false };
return { ready: true, me: m.me(), screen: document.getElementById('app').dataset.screen, pc: !!m.pc,
         controls: m.controls(), events: m.events.slice(-20) };
"""

# A message that would be markup if it went in as HTML: it must show as these very characters.
HTML_LOOKING = '<b>bold?</b> <img src=x onerror="window.__chatXSS = 1"> & done'


def state(driver) -> dict:
    return driver.execute_script(STATE_JS)


def open_page(browsers, server, room: str, identity: str, name: str, role: str):
    token = server.token(room, identity, role, name=name)
    driver = browsers(identity)
    driver.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low")
    return driver, token


def css(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, selector)


def texts(driver, selector: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent.trim())", selector)


@pytest.mark.timeout(150)
def test_lobby_hands_chat_and_lock_on_the_meeting_page(server, browsers, screenshot):
    room = "council"
    key = (server.data_dir / "admin.key").read_text().strip()
    created = requests.post(f"{server.base_url}/api/rooms", json={"name": room, "lobby": True},
                            headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert created.status_code == 201, created.text

    host, host_token = open_page(browsers, server, room, "collector", "Collector", "host")
    h = wait_for(lambda: (s := state(host)).get("me") and s["pc"] and s, 30, "the host to be in the meeting")
    assert h["screen"] == "meeting" and h["me"]["role"] == "host", h
    assert css(host, "#host-controls").is_displayed()

    # The participant waits in the lobby: a waiting screen with the server's words and a Leave button, no media.
    guest, _ = open_page(browsers, server, room, "ravi", "Ravi Kumar", "participant")
    g = wait_for(lambda: (s := state(guest)).get("screen") == "lobby" and s, 30, "Ravi to see the waiting screen")
    assert g["pc"] is False and g["controls"]["lobby"] == {"waiting": True, "reason": "lobby"}, g
    assert "host will let you in" in css(guest, "#lobby-text").text
    assert css(guest, "#lobby-leave-button").is_displayed()
    ravi = g["me"]["id"]

    # The host sees Ravi in the Waiting list (with a count on the People button) and admits him.
    wait_for(lambda: texts(host, "#waiting-list .name") == ["Ravi Kumar"], 10, "Ravi in the host's Waiting list")
    assert css(host, "#people-badge").text == "1"
    admit = css(host, "#waiting-list button.admit")
    assert admit.get_attribute("aria-label") == "Admit Ravi Kumar"
    admit.click()
    g = wait_for(lambda: (s := state(guest)).get("screen") == "meeting" and s["pc"] and s, 20, "Ravi to enter the meeting")
    assert g["me"]["id"] == ravi and g["controls"]["lobby"]["waiting"] is False, g
    wait_for(lambda: not css(host, "#waiting").is_displayed(), 10, "the host's Waiting list to empty")
    wait_for(lambda: ravi in [p["id"] for p in host.execute_script("return window.sabhaMeeting.participants()")], 10,
             "the host to see Ravi in the room")
    collector = h["me"]["id"]

    # Non-hosts may not share a screen until the host lets everyone: the button says why, and then it works.
    share = css(guest, "#share-button")
    assert share.get_attribute("aria-disabled") == "true" and "Only hosts" in share.get_attribute("title")
    assert css(host, "#allow-share-button").get_attribute("aria-pressed") == "false"
    css(host, "#allow-share-button").click()
    wait_for(lambda: css(guest, "#share-button").get_attribute("aria-disabled") == "false", 10,
             "Ravi's Share screen button to be enabled")
    assert css(host, "#allow-share-button").get_attribute("aria-pressed") == "true"

    # Hands: Ravi first, then the host; everyone sees the queue in that order; the host lowers Ravi's hand.
    css(guest, "#hand-button").click()
    wait_for(lambda: state(host)["controls"]["hands"] == [ravi], 10, "Ravi's hand at the host")
    css(host, "#hand-button").send_keys(Keys.ENTER)   # keyboard works too
    for driver in (host, guest):
        wait_for(lambda d=driver: state(d)["controls"]["hands"] == [ravi, collector], 10, "both hands, in order")
    assert texts(host, "#hands-list .name") == ["Ravi Kumar", "Collector (you)"]
    assert texts(guest, "#hands-list .name") == ["Ravi Kumar (you)", "Collector"]
    assert css(guest, "#hand-button").get_attribute("aria-pressed") == "true"
    badge = f'#grid .tile[data-participant="{ravi}"] .badge.hand'
    wait_for(lambda: host.execute_script(f"const b = document.querySelector('{badge}'); return b && b.textContent"), 10,
             "a hand on Ravi's tile")
    assert css(host, badge).text == "1"
    assert css(host, f'#people-list li[data-participant="{ravi}"] .hand').text == "1"
    lower = css(host, f'#hands-list li[data-participant="{ravi}"] button.lower-hand')
    assert lower.get_attribute("aria-label") == "Lower Ravi Kumar's hand"
    assert not guest.find_elements(By.CSS_SELECTOR, f'#hands-list li[data-participant="{collector}"] button')
    lower.click()
    for driver in (host, guest):
        wait_for(lambda d=driver: state(d)["controls"]["hands"] == [collector], 10, "Ravi's hand lowered")
    wait_for(lambda: css(guest, "#hand-button").get_attribute("aria-pressed") == "false", 5, "Ravi's button unpressed")
    assert not host.find_elements(By.CSS_SELECTOR, badge)

    # Chat: Ravi writes (Enter sends) while the host's panel is closed: an unread count, then the message as text.
    if css(host, "#chat").is_displayed():
        css(host, "#chat-button").click()
    css(guest, "#chat-button").click()
    assert css(guest, "#chat-button").get_attribute("aria-pressed") == "true"
    chat_input = css(guest, "#chat-input")
    assert chat_input.get_attribute("maxlength") == "2000"
    chat_input.send_keys(HTML_LOOKING)
    chat_input.send_keys(Keys.ENTER)
    wait_for(lambda: css(host, "#chat-badge").is_displayed() and css(host, "#chat-badge").text == "1", 10,
             "an unread count on the host's Chat button")
    css(host, "#chat-button").click()
    assert not css(host, "#chat-badge").is_displayed()
    wait_for(lambda: texts(host, "#chat-list .chat-text") == [HTML_LOOKING], 10, "Ravi's message at the host")
    assert texts(host, "#chat-list .chat-name") == ["Ravi Kumar"]
    assert host.execute_script("return document.querySelectorAll('#chat-list img, #chat-list b').length") == 0
    assert host.execute_script("return window.__chatXSS === undefined")
    assert texts(host, "#chat-list time")[0], "a local time next to the message"
    host_input = css(host, "#chat-input")
    host_input.send_keys("Welcome, Ravi. Item 3 next.")
    css(host, "#chat-send-button").click()
    wait_for(lambda: texts(guest, "#chat-list .chat-text") == [HTML_LOOKING, "Welcome, Ravi. Item 3 next."], 10,
             "the host's reply at Ravi")
    assert texts(guest, "#chat-list .chat-name") == ["You", "Collector"]
    # An empty message is refused inline, without a round trip.
    css(guest, "#chat-input").send_keys(Keys.ENTER)
    assert "Type a message" in css(guest, "#chat-error").text
    # Hosts can download the chat (their own join token authorises it); others do not see the button.
    assert css(host, "#chat-download-button").is_displayed()
    assert not css(guest, "#chat-download-button").is_displayed()
    host.execute_script("""
      window.__downloads = [];
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () { window.__downloads.push(this.download); click.call(this); };""")
    css(host, "#chat-download-button").click()
    wait_for(lambda: host.execute_script("return window.__downloads")
             == [f"{room}-chat.txt"], 10, "the host's page to save the chat")
    assert not css(host, "#chat-error").is_displayed()
    exported = requests.get(f"{server.base_url}/api/rooms/{room}/chat", timeout=10,
                            headers={"Authorization": f"Bearer {host_token}", "Accept": "text/plain"})
    assert exported.status_code == 200 and HTML_LOOKING in exported.text, exported.text

    # Someone else waits: the host's page with the chat and the Waiting list, for docs/.
    kiran = MeetingSocket(server.base_url)
    try:
        kiran.send({"type": "join", "version": 1, "token": server.token(room, "kiran", "participant", name="Kiran Das")})
        assert kiran.next(10, lambda m: m["type"] in ("lobby", "joined", "error"))["type"] == "lobby"
        wait_for(lambda: texts(host, "#waiting-list .name") == ["Kiran Das"], 10, "Kiran in the Waiting list")
        host.set_window_size(1400, 900)
        wait_for(lambda: host.execute_script(
            "return [...document.querySelectorAll('#grid .tile.remote video')].every((v) => v.videoWidth > 0)"), 15,
            "the host's remote tiles to play")
        screenshot(host, "meeting-controls")
        css(host, "#waiting-list button.deny").click()
        assert kiran.next(10, lambda m: m.get("type") == "error")["code"] == "lobby-denied"
    finally:
        kiran.close()
    wait_for(lambda: not css(host, "#waiting").is_displayed(), 10, "the Waiting list to empty after Deny")

    # A late joiner waits; the host denies them: their page says so.
    late, _ = open_page(browsers, server, room, "late", "Late Comer", "participant")
    wait_for(lambda: state(late).get("screen") == "lobby", 30, "the late joiner to wait")
    wait_for(lambda: texts(host, "#waiting-list .name") == ["Late Comer"], 10, "the late joiner in the Waiting list")
    css(host, "#waiting-list button.deny").click()
    wait_for(lambda: state(late).get("screen") == "notice", 10, "the late joiner to be turned away")
    assert css(late, "#notice-title").text == "Not let in"
    assert css(late, "#notice-text").text == "A host did not let you in."

    # The host locks the meeting: everyone sees it; the late joiner tries again, is refused and told why.
    lock = css(host, "#lock-button")
    assert lock.get_attribute("aria-pressed") == "false"
    lock.click()
    for driver in (host, guest):
        wait_for(lambda d=driver: state(d)["controls"]["room"]["locked"] is True, 10, "the meeting locked")
    assert css(host, "#lock-button").get_attribute("aria-pressed") == "true"
    css(late, "#rejoin-button").click()
    wait_for(lambda: state(late).get("screen") == "notice" and css(late, "#notice-title").text == "Meeting locked", 30,
             "the late joiner to be refused")
    assert "locked this meeting" in css(late, "#notice-text").text
    assert state(late)["me"] is None

    # The host makes Ravi a co-host: Ravi gets the host controls.
    assert not css(guest, "#host-controls").is_displayed()
    host.execute_script("window.confirm = () => true")
    make = css(host, f'#people-list li[data-participant="{ravi}"] button.make-host')
    assert make.get_attribute("aria-label") == "Make Ravi Kumar a co-host"
    make.click()
    wait_for(lambda: state(guest)["me"]["role"] == "host" and css(guest, "#host-controls").is_displayed(), 10,
             "Ravi to become a co-host")
    assert css(guest, "#lock-button").get_attribute("aria-pressed") == "true"
    assert not host.find_elements(By.CSS_SELECTOR, f'#people-list li[data-participant="{ravi}"] button.make-host')

    for driver in (host, guest):
        assert not any("error handling" in e for e in state(driver)["events"])

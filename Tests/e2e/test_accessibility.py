"""Accessibility of the three pages a person meets (issue 16 item 6, WCAG 2.1 AA): the landing page, the pre-join
screen and the meeting with another participant in it, each checked in headless Chromium by axe-core (the copy that
the `axe-selenium-python` package ships) against the WCAG 2.0 and 2.1 A and AA rules. A finding of impact serious or
critical fails the test; the others are printed. A second test walks the pages with the Tab key alone: focus reaches
the join button and the meeting's microphone, camera and leave buttons, every focused control shows a visible focus
style, and Enter on the focused Join button joins. docs/accessibility.md says what is checked and what is left.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from axe_selenium_python import Axe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

# The rule sets of WCAG 2.0 and 2.1, levels A and AA, as axe-core tags them.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}

# Only the tags this axe-core has rules for (the package's 3.1 has no rule tagged wcag21a, and refuses unknown tags),
# plus axe's best practices, which are printed but never fail the test. "incomplete" lists what axe could not decide
# (text over video, for one): printed, for a person to look at.
AXE_RUN_JS = """
const done = arguments[arguments.length - 1];
const known = new Set(axe.getRules().flatMap((r) => r.tags));
const tags = arguments[0].filter((t) => known.has(t));
axe.run(document, { runOnly: { type: 'tag', values: [...tags, 'best-practice'] }, resultTypes: ['violations', 'incomplete'] })
  .then((r) => done({ violations: r.violations,
                      incomplete: r.incomplete.map((i) => ({ id: i.id, count: i.nodes.length, targets: i.nodes.map((n) => n.target.join(' ')) })),
                      version: axe.version, tags }),
        (e) => done({ error: String(e) }));
"""

# The focused element, and whether it shows a focus indicator: an outline or a box-shadow (WCAG 2.4.7).
FOCUSED_JS = """
const el = document.activeElement;
if (!el || el === document.body) return { id: null, tag: el ? el.tagName : null };
const s = getComputedStyle(el);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
const shadow = s.boxShadow && s.boxShadow !== 'none';
return { id: el.id, tag: el.tagName, text: (el.innerText || el.value || '').trim().slice(0, 40),
         visible: !!(outline || shadow), outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
         boxShadow: s.boxShadow, focusVisible: el.matches(':focus-visible') };
"""

MEETING_STATE_JS = """
const m = window.sabhaMeeting;
return { screen: document.getElementById('app').dataset.screen, me: m && m.me(),
         participants: m ? m.participants().length : 0 };
"""


def axe_check(driver, page: str) -> list[dict]:
    """Runs axe-core on the page as it is now; prints every finding; returns the WCAG ones of impact serious or
    critical."""
    Axe(driver).inject()
    result = driver.execute_async_script(AXE_RUN_JS, WCAG_TAGS)
    assert "error" not in result, result
    violations = result["violations"]
    undecided = ", ".join(f"{i['id']} ({'; '.join(i['targets'][:4])})" for i in result["incomplete"]) or "none"
    print(f"\naxe-core {result['version']} ({' '.join(result['tags'])} + best-practice) on the {page}: "
          f"{len(violations)} rule(s) violated; undecided: {undecided}")
    for v in violations:
        kind = "WCAG" if is_wcag(v) else "best practice, not failing"
        targets = [", ".join(n["target"]) for n in v["nodes"]]
        print(f"  [{v['impact']}, {kind}] {v['id']}: {v['help']} ({len(targets)} element(s): {'; '.join(targets[:6])})")
        for n in v["nodes"][:3]:
            summary = (n.get("failureSummary") or "").replace("\n", " ")
            print(f"      {', '.join(n['target'])}: {summary[:300]}")
    return [v for v in violations if is_wcag(v) and v["impact"] in FAILING_IMPACTS]


def is_wcag(violation: dict) -> bool:
    return any(t in WCAG_TAGS for t in violation["tags"])


class Findings:
    """Collects the serious and critical findings of every page checked, so one run reports them all."""

    def __init__(self) -> None:
        self.bad: list[str] = []

    def check(self, driver, page: str) -> None:
        self.bad += [f"{page}: {v['id']} ({v['impact']}) on {[', '.join(n['target']) for n in v['nodes']]}"
                     for v in axe_check(driver, page)]

    def assert_none(self) -> None:
        assert not self.bad, "axe-core: serious or critical findings:\n" + "\n".join(self.bad)


def screen(driver) -> str:
    return driver.execute_script("return document.getElementById('app').dataset.screen")


def open_meeting(browsers, server, room: str, identity: str, name: str, *, autojoin: bool, role: str = "publisher"):
    token = server.token(room, identity, role, name=name)
    driver = browsers(identity)
    extra = "&autojoin=1" if autojoin else ""
    driver.get(f"{server.base_url}/m/{room}?t={quote(token)}&quality=low&name={quote(name)}{extra}")
    return driver


def wait_joined_with(driver, others: int, who: str) -> None:
    wait_for(lambda: (s := driver.execute_script(MEETING_STATE_JS))["me"] and s["participants"] >= others and s,
             30, f"{who} to be in the meeting with {others} other(s)")


@pytest.mark.timeout(240)
def test_axe_finds_nothing_serious_on_the_landing_prejoin_and_meeting_pages(server, browsers):
    findings = Findings()
    # (a) The landing page, then its administrator console opened (rooms and join links).
    landing = browsers("landing")
    landing.get(f"{server.base_url}/")
    findings.check(landing, "landing page")
    landing.find_element("id", "admin-key").send_keys((server.data_dir / "admin.key").read_text().strip())
    landing.find_element("id", "admin-unlock").click()
    wait_for(lambda: landing.find_element("id", "admin").is_displayed(), 10, "the admin console to open")
    landing.find_element("id", "room-name").send_keys("a11y-room")
    landing.find_element("id", "room-create").click()
    wait_for(lambda: landing.find_elements("css selector", '#rooms li[data-room="a11y-room"]'), 10, "the new room")
    landing.find_element("css selector", '#rooms li[data-room="a11y-room"] button.room-links').click()
    wait_for(lambda: landing.find_element("id", "links-panel").is_displayed(), 10, "the links panel")
    landing.find_element("id", "link-identity").send_keys("ravi@dept.example")
    landing.find_element("id", "link-make").click()
    wait_for(lambda: landing.find_elements("css selector", "#links li .link-url"), 10, "the join link")
    findings.check(landing, "landing page with its admin console open")

    # (b) The pre-join screen: preview, device lists, name.
    room = "a11y-meeting"
    ravi = open_meeting(browsers, server, room, "ravi", "Ravi", autojoin=False)
    wait_for(lambda: screen(ravi) == "prejoin" and ravi.execute_script(
        "return document.getElementById('camera-select').options.length > 0"), 20, "the pre-join screen with its devices")
    findings.check(ravi, "pre-join page")

    # (c) The meeting, with another participant in it (tile, People list, control bar), then the data menu open.
    asha = open_meeting(browsers, server, room, "asha", "Asha", autojoin=True)
    wait_joined_with(asha, 0, "Asha")
    ravi.find_element("id", "join-button").click()
    wait_joined_with(ravi, 1, "Ravi")
    wait_joined_with(asha, 1, "Asha")
    wait_for(lambda: ravi.find_elements("css selector", "#grid .tile.remote"), 20, "Asha's tile on Ravi's page")
    findings.check(ravi, "meeting page")
    ravi.find_element("id", "data-button").click()
    assert ravi.find_element("id", "data-menu").is_displayed()
    findings.check(ravi, "meeting page with the data menu open")

    # The host's view: the People list carries the host's buttons.
    host = open_meeting(browsers, server, room, "meena", "Meena", autojoin=True, role="host")
    wait_joined_with(host, 2, "Meena (host)")
    wait_for(lambda: host.find_elements("css selector", "#people-list .host-actions button"), 20, "the host's buttons")
    findings.check(host, "meeting page as a host")

    # The meeting controls: Ravi's raised hand and a chat message, seen on the host's page with People and chat open.
    ravi.find_element("id", "hand-button").click()
    controls = "return window.sabhaMeeting.controls()"
    wait_for(lambda: len(host.execute_script(controls)["hands"]) == 1, 10, "Ravi's hand on the host's page")
    ravi.find_element("id", "chat-button").click()
    ravi.find_element("id", "chat-input").send_keys("Agenda item 2, please", Keys.ENTER)
    wait_for(lambda: len(host.execute_script(controls)["chat"]) == 1, 10, "the message on the host's page")
    host.find_element("id", "chat-button").click()
    wait_for(lambda: host.find_element("id", "chat").is_displayed(), 10, "the host's chat panel")
    findings.check(host, "meeting page as a host, a hand raised and the chat panel open")

    # The lobby: someone waiting, and the host's Waiting list.
    lobby_room = "a11y-lobby"
    created = requests.post(f"{server.base_url}/api/rooms", json={"name": lobby_room, "lobby": True}, timeout=10,
                            headers={"Authorization": f"Bearer {(server.data_dir / 'admin.key').read_text().strip()}"})
    assert created.status_code == 201, created.text
    chair = open_meeting(browsers, server, lobby_room, "chair", "Chair", autojoin=True, role="host")
    wait_joined_with(chair, 0, "the chair")
    guest = open_meeting(browsers, server, lobby_room, "guest", "Guest", autojoin=True)
    wait_for(lambda: screen(guest) == "lobby", 20, "the guest's waiting screen")
    findings.check(guest, "lobby waiting screen")
    wait_for(lambda: len(chair.execute_script(controls)["waiting"]) == 1, 10, "the guest in the chair's Waiting list")
    if not chair.find_element("id", "people").is_displayed():
        chair.find_element("id", "people-button").click()
    findings.check(chair, "meeting page as a host with someone waiting")

    # The notice after leaving.
    ravi.find_element("id", "leave-button").click()
    wait_for(lambda: screen(ravi) == "notice", 10, "the notice after leaving")
    findings.check(ravi, "notice after leaving")
    findings.assert_none()


def tab_until(driver, target_id: str, seen: list[dict], limit: int = 30) -> dict:
    """Presses Tab until `target_id` has the focus; every focused control on the way must show its focus."""
    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        f = driver.execute_script(FOCUSED_JS)
        seen.append(f)
        if f["id"] is not None or f["tag"] not in (None, "BODY"):
            assert f["visible"], f"no visible focus on {f}"
        if f["id"] == target_id:
            return f
    raise AssertionError(f"Tab never reached #{target_id}; focus went through {[x.get('id') or x.get('tag') for x in seen]}")


@pytest.mark.timeout(120)
def test_the_keyboard_alone_reaches_join_and_the_meeting_controls_with_a_visible_focus(server, browsers):
    room = "a11y-keyboard"
    asha = open_meeting(browsers, server, room, "asha", "Asha", autojoin=True)
    wait_joined_with(asha, 0, "Asha")

    landing = browsers("landing")
    landing.get(f"{server.base_url}/")
    seen: list[dict] = []
    tab_until(landing, "open-link", seen)
    tab_until(landing, "admin-unlock", seen)
    print("landing page focus order:", [f.get("id") or f.get("tag") for f in seen])

    ravi = open_meeting(browsers, server, room, "ravi", "Ravi", autojoin=False)
    # The preview has its camera and microphone (joining before that joins without them: controls disabled).
    wait_for(lambda: screen(ravi) == "prejoin" and ravi.execute_script(
        "return document.getElementById('camera-select').options.length > 0"), 20, "the pre-join screen with its devices")
    seen = []
    join = tab_until(ravi, "join-button", seen)
    assert join["focusVisible"], join
    print("pre-join focus order:", [f.get("id") or f.get("tag") for f in seen])
    ActionChains(ravi).send_keys(Keys.ENTER).perform()
    wait_joined_with(ravi, 1, "Ravi (joined with Enter)")

    seen = []
    for target in ("mic-button", "camera-button", "leave-button"):
        tab_until(ravi, target, seen)
    print("meeting focus order:", [f.get("id") or f.get("tag") for f in seen])
    # The data menu by keyboard: Enter opens it on the chosen mode, an arrow key chooses another, which closes the
    # menu and gives the focus back to its button.
    ravi.execute_script("document.getElementById('data-button').focus()")
    ActionChains(ravi).send_keys(Keys.ENTER).perform()
    chosen = wait_for(lambda: ravi.execute_script("return document.activeElement.name === 'data-mode' && document.activeElement.value"),
                      5, "Enter on the data button to put the focus on the chosen mode")
    assert chosen == "auto", chosen
    ActionChains(ravi).send_keys(Keys.ARROW_DOWN).perform()
    wait_for(lambda: ravi.execute_script("return document.getElementById('data-menu').hidden && "
                                         "document.activeElement.id === 'data-button' && document.getElementById('data-button').dataset.mode === 'low'"),
             5, "an arrow key to choose low video, close the menu and focus its button")
    # Space on the focused microphone button mutes; Enter on Leave leaves.
    ravi.execute_script("document.getElementById('mic-button').focus()")
    ActionChains(ravi).send_keys(Keys.SPACE).perform()
    wait_for(lambda: ravi.find_element("id", "mic-button").get_attribute("aria-pressed") == "true", 5, "Space to mute")
    ravi.execute_script("document.getElementById('leave-button').focus()")
    ActionChains(ravi).send_keys(Keys.ENTER).perform()
    wait_for(lambda: screen(ravi) == "notice", 10, "Enter on Leave to leave")


ANNOUNCED_JS = "return [...document.querySelectorAll('#announcer p')].map((p) => p.textContent)"


@pytest.mark.timeout(120)
def test_joins_and_leaves_are_announced_in_a_polite_live_region(server, browsers):
    room = "a11y-announce"
    asha = open_meeting(browsers, server, room, "asha", "Asha", autojoin=True)
    wait_joined_with(asha, 0, "Asha")
    assert asha.execute_script("const a = document.getElementById('announcer'); "
                               "return a.getAttribute('aria-live') + ' ' + getComputedStyle(a).display") == "polite block"
    wait_for(lambda: "You joined the meeting. Nobody else is here yet." in asha.execute_script(ANNOUNCED_JS), 5,
             "Asha to be told she joined an empty meeting")
    # Focus went from the vanished Join button to the meeting's heading, the room's name.
    assert asha.execute_script("return document.activeElement.id") == "room-name"

    ravi = open_meeting(browsers, server, room, "ravi", "Ravi", autojoin=True)
    wait_joined_with(ravi, 1, "Ravi")
    wait_for(lambda: "You joined the meeting. 1 other person is here." in ravi.execute_script(ANNOUNCED_JS), 5,
             "Ravi to be told Asha is there")
    wait_for(lambda: "Ravi joined" in asha.execute_script(ANNOUNCED_JS), 10, "Asha to hear that Ravi joined")

    ravi.find_element("id", "leave-button").click()
    wait_for(lambda: "Ravi left" in asha.execute_script(ANNOUNCED_JS), 10, "Asha to hear that Ravi left")
    assert ravi.execute_script("return document.activeElement.id") == "notice-title"
    assert asha.execute_script(ANNOUNCED_JS).count("Ravi joined") == 1   # a participant update is not a second join

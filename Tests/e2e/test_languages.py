"""The pages in English, Hindi and Odia (issue 16 item 5), in headless Chromium: the three tables in lang/ have the
same keys and the same {placeholders}; with ?lang=hi and ?lang=or the landing page, the pre-join screen and the
meeting (with another participant, a raised hand and a chat message) show no English text from the tables, neither
as visible text nor in aria-label, title or placeholder; the browser's own language chooses the table when the
address does not, and the pre-join screen's language picker switches it and keeps the join token. Screenshots of
the pages in Hindi and Odia go to docs/img/ (landing-hi, meeting-hi, prejoin-or, meeting-or) with
SABHA_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import requests
from selenium.webdriver.support.ui import Select

from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server

TABLES_JS = """
const done = arguments[arguments.length - 1];
Promise.all(['en', 'hi', 'or'].map((l) => import(`/lang/${l}.js`)))
  .then(([en, hi, or]) => done({ en: en.default, hi: hi.default, or: or.default }), (e) => done({ error: String(e) }));
"""

# Every text a person can meet on the page as it is now: the text nodes of rendered elements (visually hidden ones
# included: screen readers read them), and the aria-label, title and placeholder of rendered elements.
PAGE_TEXTS_JS = """
const out = [];
const rendered = (el) => el && el.checkVisibility ? el.checkVisibility() : !!(el && el.getClientRects().length);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const text = n.nodeValue.trim();
  const el = n.parentElement;
  if (!text || !el || ['SCRIPT', 'STYLE'].includes(el.tagName)) continue;
  if (!rendered(el)) continue;
  out.push({ text, where: el.id || el.className || el.tagName });
}
for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
  if (!rendered(el)) continue;
  for (const attr of ['aria-label', 'title', 'placeholder']) {
    const v = el.getAttribute(attr);
    if (v && v.trim()) out.push({ text: v.trim(), where: `${el.id || el.className || el.tagName}[${attr}]` });
  }
}
out.push({ text: document.title, where: 'title' });
return out;
"""

MEETING_STATE_JS = """
const m = window.sabhaMeeting;
return { screen: document.getElementById('app').dataset.screen, me: m && m.me(),
         participants: m ? m.participants().length : 0, state: m && m.pc ? m.pc.connectionState : 'new',
         chat: m ? m.controls().chat.length : 0, hands: m ? m.controls().hands.length : 0 };
"""

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def tables(driver) -> dict:
    result = driver.execute_async_script(TABLES_JS)
    assert "error" not in result, result
    return result


def pattern(text: str) -> re.Pattern:
    """A table text as a pattern for a whole text on the page: {name} matches anything."""
    return re.compile("^" + "".join(".+?" if i % 2 else re.escape(part)
                                    for i, part in enumerate(PLACEHOLDER.split(text.strip()))) + "$", re.S)


def english_patterns(tabs: dict, lang: str) -> list[tuple[str, re.Pattern]]:
    """The English texts that must not show in `lang`: those that differ from the language's own, as patterns;
    texts of placeholders and punctuation alone are left out."""
    out = []
    for key, en in tabs["en"].items():
        if en.strip() == tabs[lang][key].strip():
            continue
        if not re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", en)):
            continue
        out.append((key, pattern(en)))
    return out


def assert_no_english(driver, tabs: dict, lang: str, page: str) -> int:
    assert driver.execute_script("return document.documentElement.lang") == lang, page
    patterns = english_patterns(tabs, lang)
    texts = driver.execute_script(PAGE_TEXTS_JS)
    found = [f"{t['where']}: {t['text']!r} (English of {key})"
             for t in texts for key, p in patterns if p.match(t["text"])]
    assert not found, f"English on the {page} in {lang}:\n" + "\n".join(found)
    return len(texts)


def screen(driver) -> str:
    return driver.execute_script("return document.getElementById('app').dataset.screen")


def prejoin_ready(driver) -> bool:
    return screen(driver) == "prejoin" and driver.execute_script(
        "return document.getElementById('camera-select').options.length > 0")


def test_the_three_tables_have_the_same_keys_and_placeholders(server, browsers):
    driver = browsers("tables")
    driver.get(f"{server.base_url}/")
    # Chromium's language in the suite is English: the pages are English unless asked otherwise.
    assert driver.execute_script("return document.documentElement.lang") == "en"
    tabs = tables(driver)
    keys = set(tabs["en"])
    assert len(keys) > 200, len(keys)
    for lang in ("hi", "or"):
        assert set(tabs[lang]) == keys, (lang, sorted(keys ^ set(tabs[lang])))
    for lang, table in tabs.items():
        for key, text in table.items():
            assert isinstance(text, str) and text.strip(), f"{lang} {key} is empty"
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(tabs["en"][key])), (lang, key, text)
    # The scripts are the languages' own: most of each Hindi text is Devanagari, of each Odia text Odia.
    for lang, script in (("hi", r"[\u0900-\u097F]"), ("or", r"[\u0B00-\u0B7F]")):
        untranslated = [k for k, v in tabs[lang].items() if not re.search(script, v) and re.search(r"[A-Za-z]{3}", v)
                        and k not in ("help.turnTls", "announce.chat")]
        assert not untranslated, (lang, untranslated)


def open_landing_console(driver, server, lang: str) -> None:
    driver.get(f"{server.base_url}/?lang={lang}")
    driver.find_element("id", "admin-key").send_keys((server.data_dir / "admin.key").read_text().strip())
    driver.find_element("id", "admin-unlock").click()
    wait_for(lambda: driver.find_element("id", "admin").is_displayed(), 10, "the admin console to open")
    wait_for(lambda: driver.find_elements("css selector", "#rooms li"), 10, "the rooms listed")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("lang", ["hi", "or"])
def test_pages_show_no_english_in_hindi_and_odia(server, browsers, screenshot, lang):
    room = f"zilla-{lang}"
    key = (server.data_dir / "admin.key").read_text().strip()
    created = requests.post(f"{server.base_url}/api/rooms", json={"name": room},
                            headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert created.status_code == 201, created.text

    # (a) The landing page, with its administrator console open.
    landing = browsers(f"landing-{lang}")
    open_landing_console(landing, server, lang)
    tabs = tables(landing)
    assert tabs[lang]["landing.joinTitle"] in landing.find_element("id", "join-title").text
    n = assert_no_english(landing, tabs, lang, "landing page")
    print(f"{lang}: landing page, {n} texts checked")
    if lang == "hi":
        screenshot(landing, "landing-hi")

    # (b) The pre-join screen of a host's link.
    token = server.token(room, "collector", "host", name="Sujata Mohanty")
    page = browsers(f"meeting-{lang}")
    page.get(f"{server.base_url}/m/{room}?t={quote(token)}&quality=low&lang={lang}")
    wait_for(lambda: prejoin_ready(page), 20, "the pre-join screen with its devices")
    assert page.find_element("id", "prejoin-title").text == tabs[lang]["prejoin.title"].replace("{room}", room)
    assert Select(page.find_element("id", "language-select")).first_selected_option.get_attribute("value") == lang
    n = assert_no_english(page, tabs, lang, "pre-join screen")
    print(f"{lang}: pre-join screen, {n} texts checked")
    if lang == "or":
        screenshot(page, "prejoin-or")

    # (c) The meeting with someone else in it (a WebSocket participant) who raises a hand and writes.
    other = MeetingSocket(server.base_url)
    try:
        joined = other.join(server.token(room, "ravi", "participant", name="Ravi Kumar"))
        assert joined["type"] == "joined", joined
        page.find_element("id", "join-button").click()
        wait_for(lambda: (s := page.execute_script(MEETING_STATE_JS))["me"] and s["participants"] >= 1
                 and s["state"] == "connected" and s, 30, "the page to be in the meeting, media connected")
        other.send({"type": "raise-hand"})
        other.send({"type": "chat", "text": "नमस्ते / ନମସ୍କାର — item 3 next"})
        wait_for(lambda: (s := page.execute_script(MEETING_STATE_JS))["chat"] == 1 and s["hands"] == 1, 10,
                 "the hand and the message on the page")
        page.find_element("id", "chat-button").click()
        wait_for(lambda: page.find_element("id", "chat").is_displayed(), 5, "the chat panel")
        if not page.find_element("id", "people").is_displayed():
            page.find_element("id", "people-button").click()
        wait_for(lambda: page.find_elements("css selector", "#people-list .host-actions button"), 10,
                 "the host's buttons in the People list")
        wait_for(lambda: page.find_element("id", "quality").is_displayed(), 10, "the connection quality hint")
        # Chat times in the page's locale, counts in its digits.
        assert page.find_element("css selector", "#chat-list time").text
        n = assert_no_english(page, tabs, lang, "meeting page")
        print(f"{lang}: meeting page, {n} texts checked")
        page.execute_script("document.activeElement.blur()")
        screenshot(page, f"meeting-{lang}")
    finally:
        other.close()

    # (d) The notice after leaving.
    page.find_element("id", "leave-button").click()
    wait_for(lambda: screen(page) == "notice", 10, "the notice after leaving")
    assert page.find_element("id", "notice-title").text == tabs[lang]["notice.left"]
    assert_no_english(page, tabs, lang, "notice after leaving")


@pytest.mark.timeout(150)
def test_the_browser_language_chooses_and_the_prejoin_picker_switches(server, browsers):
    # A browser in Hindi gets the pages in Hindi without ?lang=.
    browser = browsers("hindi-browser", lang="hi")
    assert browser.execute_script("return navigator.language").startswith("hi")
    browser.get(f"{server.base_url}/")
    assert browser.execute_script("return document.documentElement.lang") == "hi"
    tabs = tables(browser)
    assert browser.find_element("id", "join-title").text == tabs["hi"]["landing.joinTitle"]

    room = "picker"
    token = server.token(room, "asha", "participant", name="Asha")
    browser.get(f"{server.base_url}/m/{room}?t={quote(token)}&quality=low")
    wait_for(lambda: prejoin_ready(browser), 20, "the pre-join screen in Hindi")
    assert browser.execute_script("return document.documentElement.lang") == "hi"
    assert browser.find_element("id", "join-button").text == tabs["hi"]["prejoin.join"]
    # The token left the address bar (lib/token.js); the picker reloads in Odia and the page still joins.
    assert "t=" not in browser.current_url
    Select(browser.find_element("id", "language-select")).select_by_value("or")
    wait_for(lambda: browser.execute_script("return document.documentElement.lang") == "or" and prejoin_ready(browser),
             20, "the pre-join screen again, in Odia")
    assert "lang=or" in browser.current_url
    assert browser.find_element("id", "join-button").text == tabs["or"]["prejoin.join"]
    browser.find_element("id", "join-button").click()
    s = wait_for(lambda: (s := browser.execute_script(MEETING_STATE_JS))["me"] and s, 30, "the page to join")
    assert s["screen"] == "meeting" and s["me"]["identity"] == "asha", s
    assert browser.find_element("css selector", "#leave-button").text == tabs["or"]["common.leave"]
    # The picker is on the pre-join screen only (a change reloads the page): not in the meeting.
    assert not browser.find_element("id", "language-select").is_displayed()
    # The choice is kept on this device: the landing page, without ?lang=, is in Odia too.
    browser.get(f"{server.base_url}/")
    assert browser.execute_script("return document.documentElement.lang") == "or"

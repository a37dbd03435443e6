"""Issue 13 item 7, browser hardening, against a real `sabha serve` and headless Chromium: the security headers on
every route, no Content-Security-Policy violation on the real pages while a meeting runs (and the policy really
blocks inline script and `javascript:` navigation), the token gone from the address bar once the page has read it,
the landing page opening only links to this server, and a self-chosen name shown as such next to the token's."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from urllib.parse import quote

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for
from test_meeting_chromium import meeting_state

pytestmark = pytest.mark.server

# Installed before any page script runs: every CSP violation the page meets is kept for the test to read.
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile});
});
"""


def watched(browsers, name: str):
    d = browsers(name)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_WATCH})
    return d


def violations(driver) -> list:
    return driver.execute_script("return window.__csp || null")


def csp_console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def check_headers(resp: requests.Response, what: str) -> None:
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (what, csp)
    assert directives.get("script-src") == "script-src 'self'", (what, csp)
    assert directives.get("default-src") == "default-src 'none'", (what, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
    assert h.get("X-Content-Type-Options") == "nosniff", (what, dict(h))
    assert h.get("X-Frame-Options") == "DENY", (what, dict(h))
    assert h.get("Referrer-Policy") == "no-referrer", (what, dict(h))


def test_every_route_carries_the_security_headers(server, repo_root):
    key = (server.data_dir / "admin.key").read_text().strip()
    token = server.token("r", "alice", "publisher")
    base = server.base_url
    requests_to_make = [
        ("GET", "/", {}), ("GET", "/index.html", {}), ("GET", "/landing.js", {}), ("GET", "/m/r", {}),
        ("GET", "/meeting.js", {}), ("GET", "/meeting.css", {}), ("GET", "/demo.html", {}), ("GET", "/sabha.js", {}),
        ("GET", "/healthz", {}), ("GET", "/metrics", {}), ("GET", "/nowhere", {}), ("GET", "/ws", {}),
        ("GET", "/api/rooms", {}), ("GET", "/api/rooms", {"Authorization": f"Bearer {key}"}),
        ("POST", "/whip/r", {"Content-Type": "application/sdp"}),
        ("POST", "/whip/r", {"Content-Type": "text/plain", "Authorization": f"Bearer {token}"}),
        ("OPTIONS", "/whip/r", {}), ("PATCH", "/whip/r/x", {}), ("DELETE", "/api/rooms/nowhere", {"Authorization": f"Bearer {key}"}),
    ]
    for method, path, headers in requests_to_make:
        resp = requests.request(method, base + path, headers=headers, data=b"v=0" if method == "POST" else None, timeout=10)
        check_headers(resp, f"{method} {path} -> {resp.status_code}")
    # JavaScript and CSS are served as such (nosniff makes the type matter; a module script of another type does
    # not run at all), the ES modules in the client's subfolders too.
    public = repo_root / "Sources/Signalling/Public"
    scripts = sorted(p.relative_to(public).as_posix() for p in public.rglob("*.js"))
    assert any("/" in s for s in scripts), scripts
    for script in scripts:
        resp = requests.get(f"{base}/{script}", timeout=10)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/javascript"), (script, resp.status_code, dict(resp.headers))
        check_headers(resp, f"GET /{script}")
    assert requests.get(base + "/meeting.css", timeout=10).headers["Content-Type"].startswith("text/css")

    # The WebSocket upgrade answer too.
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as s:
        ws_key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.http_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {ws_key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101"), lines
    fields = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    accept = base64.b64encode(hashlib.sha1((ws_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    assert fields["sec-websocket-accept"] == accept
    assert fields.get("x-frame-options") == "DENY" and "frame-ancestors 'none'" in fields.get("content-security-policy", ""), fields


@pytest.mark.timeout(180)
def test_the_real_pages_run_a_meeting_without_a_policy_violation_and_the_policy_blocks_inline_script(server, browsers):
    room = "csp-room"
    asha = watched(browsers, "asha")
    asha.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'asha', 'host', name='Asha'))}&autojoin=1&quality=low")
    ravi = watched(browsers, "ravi")
    ravi.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'ravi', 'participant', name='Ravi'))}&autojoin=1&quality=low")

    def both_decoding():
        states = [meeting_state(d) for d in (asha, ravi)]
        return all(s.get("perParticipant") and all(v["framesDecoded"] > 5 and v["audioPackets"] > 10
                                                   for v in s["perParticipant"].values()) for s in states) and states
    wait_for(both_decoding, 60, "both pages to decode each other")
    # The page's controls and panels (people list, a host's buttons, mute) work under the policy too.
    asha.find_element("id", "people-button").click()
    asha.find_element("id", "mic-button").click()
    wait_for(lambda: asha.find_element("id", "mic-button").get_attribute("aria-pressed") == "true", 10, "the mute button to work")

    landing = watched(browsers, "landing")
    landing.get(f"{server.base_url}/")
    landing.find_element("id", "admin-key").send_keys((server.data_dir / "admin.key").read_text().strip())
    landing.find_element("id", "admin-unlock").click()
    wait_for(lambda: landing.find_element("id", "admin").is_displayed(), 10, "the admin console to open")

    demo = watched(browsers, "demo")
    demo.get(f"{server.base_url}/demo.html?room=demo&t={quote(server.token('demo', 'cam', 'publisher'))}&publish=1")
    wait_for(lambda: "Publishing" in demo.find_element("id", "publish-status").text, 30, "the demo page to publish")

    for name, d in [("asha", asha), ("ravi", ravi), ("landing", landing), ("demo", demo)]:
        assert violations(d) == [], f"{name}: {violations(d)}"
        assert csp_console_errors(d) == [], f"{name}: {csp_console_errors(d)}"

    # The watcher sees violations, and the policy blocks inline script and javascript: navigation.
    landing.execute_script("""
      const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s);
      const a = document.createElement('a'); a.href = 'javascript:window.__navigated = 1'; a.id = 'evil'; a.textContent = 'evil link'; document.body.prepend(a);
      const b = document.createElement('button'); b.setAttribute('onclick', 'window.__handler = 1'); b.id = 'evil-button'; b.textContent = 'evil button'; document.body.prepend(b);
    """)
    landing.find_element("id", "evil").click()
    landing.find_element("id", "evil-button").click()
    blocked = wait_for(lambda: len(violations(landing)) >= 3 and violations(landing), 10, "three violations reported")
    assert {v["directive"] for v in blocked} <= {"script-src", "script-src-elem", "script-src-attr"}, blocked
    assert landing.execute_script("return [window.__inline, window.__navigated, window.__handler]") == [None, None, None]


@pytest.mark.timeout(90)
def test_the_token_leaves_the_address_bar_and_a_reload_still_joins(server, browsers):
    room = "address-bar"
    token = server.token(room, "asha", "participant", name="Asha")
    d = browsers("asha")
    d.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low")
    wait_for(lambda: (s := meeting_state(d)).get("me") and s, 30, "the page to join")
    assert "t=" not in d.current_url and token not in d.current_url, d.current_url
    assert d.current_url == f"{server.base_url}/m/{room}?autojoin=1&quality=low", d.current_url
    assert d.execute_script("return history.length >= 1 && !location.href.includes('eyJ')")
    d.refresh()
    joined = wait_for(lambda: (s := meeting_state(d)).get("me") and s, 30, "the reloaded page to join again")
    assert joined["me"]["identity"] == "asha"

    demo = browsers("demo")
    demo.get(f"{server.base_url}/demo.html?room={room}&t={quote(server.token(room, 'cam', 'publisher'))}&publish=1")
    wait_for(lambda: "Publishing" in demo.find_element("id", "publish-status").text, 30, "the demo page to publish")
    assert "t=" not in demo.current_url, demo.current_url


@pytest.mark.timeout(60)
def test_the_landing_page_opens_only_links_to_this_server(server, browsers):
    d = browsers("landing")
    home = f"{server.base_url}/"
    for bad, says in [("https://evil.example/m/r?t=abc", "evil.example"),
                      ("http://127.0.0.2:1/m/r?t=abc", "127.0.0.2"),
                      ("javascript:alert(document.domain)//m/r?t=x", "not for this server")]:
        d.get(home)
        d.find_element("id", "open-link").send_keys(bad)
        d.find_element("css selector", "#open-form button").click()
        wait_for(lambda: says in d.find_element("id", "open-error").text, 10, f"{bad} refused")
        assert d.current_url == home, d.current_url
    token = server.token("r", "asha", "participant")
    d.get(home)
    d.find_element("id", "open-link").send_keys(f"{server.base_url}/m/r?t={token}")
    d.find_element("css selector", "#open-form button").click()
    wait_for(lambda: d.current_url.startswith(f"{server.base_url}/m/r") and "t=" not in d.current_url, 15,
             "the meeting page, with the token out of the address bar")


@pytest.mark.timeout(120)
def test_a_self_chosen_name_is_shown_as_such_never_as_the_tokens(server, browsers):
    room = "names"
    watcher = browsers("watcher")
    watcher.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'asha', 'host', name='Asha Patil'))}&autojoin=1&quality=low")
    wait_for(lambda: meeting_state(watcher).get("me"), 30, "the watcher to join")

    # Ravi's link says "Ravi Kumar"; he types "District Collector" as his name.
    ravi = browsers("ravi")
    ravi.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'ravi@dept.gov.in', 'participant', name='Ravi Kumar'))}"
             f"&autojoin=1&quality=low&name={quote('District Collector')}")
    me = wait_for(lambda: meeting_state(ravi).get("me"), 30, "Ravi to join")
    assert me["name"] == "Ravi Kumar" and me["chosenName"] == "District Collector", me

    def ravi_as_seen():
        people = meeting_state(watcher)["participants"]
        return people and people[0]
    seen = wait_for(ravi_as_seen, 20, "the watcher to see Ravi")
    assert seen["name"] == "Ravi Kumar" and seen["chosenName"] == "District Collector", seen
    tile = watcher.find_element("css selector", f'#grid .tile[data-participant="{seen["id"]}"] .label')
    assert tile.find_element("css selector", ".name").text == "Ravi Kumar"
    assert tile.find_element("css selector", ".chosen").text == "“District Collector” (self-chosen)"
    if not watcher.find_element("id", "people").is_displayed():
        watcher.find_element("id", "people-button").click()
    people = watcher.find_element("id", "people-list").text
    assert "Ravi Kumar" in people and "“District Collector” (self-chosen)" in people, people
    names = [e.text for e in watcher.find_elements("css selector", "#grid .tile .name")]
    assert "District Collector" not in names, names

    # Over the protocol: the token's name is the name; what was typed comes separately.
    ws = MeetingSocket(server.base_url)
    try:
        joined = ws.join(server.token(room, "eve", "participant", name="Eve"), name="Asha Patil (Host)")
        assert joined["you"]["name"] == "Eve" and joined["you"]["chosenName"] == "Asha Patil (Host)", joined["you"]
        plain = [p for p in joined["participants"] if p["identity"] == "asha"]
        assert plain and "chosenName" not in plain[0], plain
    finally:
        ws.close()

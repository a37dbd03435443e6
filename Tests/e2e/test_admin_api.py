"""The admin API (/api) and `sabha room` against a real `sabha serve`: rooms, personal join links, ending a
meeting, the audit trail in the SQLite store, every refusal as a problem document, and data surviving a restart."""

from __future__ import annotations

import csv
import io
import json
import stat
import time
import subprocess

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.server import free_tcp_port
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server


def admin_key(server) -> str:
    return (server.data_dir / "admin.key").read_text().strip()


def api(server, method: str, path: str, body=None, key: str | None = "", raw: bytes | None = None) -> requests.Response:
    """An admin request; key="" means the server's own key, None means no Authorization header."""
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key or admin_key(server)}"
    if raw is not None:
        headers["Content-Type"] = "application/json"
        return requests.request(method, server.base_url + path, data=raw, headers=headers, timeout=10)
    return requests.request(method, server.base_url + path, json=body, headers=headers, timeout=10)


def problem(resp: requests.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, f"{resp.status_code}: {resp.text}"
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["title"] and body["detail"], body
    return body


def ok(resp: requests.Response, status: int = 200):
    assert resp.status_code == status, f"{resp.status_code}: {resp.text}"
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    return resp.json()


def link_for(server, room: str, identity: str, role: str = "participant", **extra) -> dict:
    body = ok(api(server, "POST", f"/api/rooms/{room}/links",
                  {"participants": [{"identity": identity, "role": role, **extra}]}))
    (link,) = body["links"]
    return link


def test_the_admin_key_is_created_private_and_printed_once(start_server):
    server = start_server()
    path = server.data_dir / "admin.key"
    key = admin_key(server)
    assert len(key) == 43 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"Admin key (shown once, stored in {path}): {key}" in server.log_text()
    server.stop()
    server.start()
    assert server.log_text().count("Admin key (shown once") == 1, "printed again after a restart"
    assert admin_key(server) == key
    ok(api(server, "GET", "/api/rooms"))


def test_the_admin_key_can_come_from_the_command_line_or_the_environment(start_server):
    server = start_server("--admin-key", "operator-chosen-key-0123456789")
    assert not (server.data_dir / "admin.key").exists()
    ok(api(server, "GET", "/api/rooms", key="operator-chosen-key-0123456789"))
    problem(api(server, "GET", "/api/rooms", key="operator-chosen-key-012345678"), 401, "admin-key-invalid")


def test_missing_or_wrong_admin_keys_get_401_everywhere(server):
    for method, path in [("GET", "/api/rooms"), ("POST", "/api/rooms"), ("GET", "/api/rooms/x"), ("DELETE", "/api/rooms/x"),
                         ("POST", "/api/rooms/x/links"), ("GET", "/api/audit")]:
        resp = api(server, method, path, key=None)
        problem(resp, 401, "admin-key-missing")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        problem(api(server, method, path, key="not-the-key"), 401, "admin-key-invalid")
    # A join token is not an admin key.
    problem(api(server, "GET", "/api/rooms", key=server.token("r", "alice", "host")), 401, "admin-key-invalid")


def test_rooms_are_created_listed_shown_and_refused_twice(server):
    created = ok(api(server, "POST", "/api/rooms", {"name": "weekly-review", "title": "Weekly review"}), 201)
    assert created["name"] == "weekly-review" and created["title"] == "Weekly review" and created["createdAt"]
    assert created["url"] == f"{server.base_url}/m/weekly-review"
    generated = ok(api(server, "POST", "/api/rooms", raw=b""), 201)
    assert generated["name"].startswith("room-") and len(generated["name"]) == 11 and generated["title"] == generated["name"]

    rooms = {r["name"]: r for r in ok(api(server, "GET", "/api/rooms"))}
    assert set(rooms) == {"weekly-review", generated["name"]}
    assert rooms["weekly-review"] | {} == {"name": "weekly-review", "title": "Weekly review", "createdAt": created["createdAt"],
                                          "source": "api", "endedAt": None, "closedAt": None, "participants": 0,
                                          "url": f"{server.base_url}/m/weekly-review", "lobby": False, "waitForHost": False}
    shown = ok(api(server, "GET", "/api/rooms/weekly-review"))
    assert shown["participants"] == [] and shown["source"] == "api" and shown["endedAt"] is None

    body = problem(api(server, "POST", "/api/rooms", {"name": "weekly-review"}), 409, "room-exists")
    assert "weekly-review" in body["detail"]
    for bad in ["has space", "a" * 65, "..", "slash/name", "ümlaut", ""]:
        problem(api(server, "POST", "/api/rooms", {"name": bad}), 400, "bad-room-name")
    assert ok(api(server, "POST", "/api/rooms", {"name": "a" * 64}), 201)["name"] == "a" * 64


def test_bad_json_and_bad_fields_get_400_with_the_reason(server):
    body = problem(api(server, "POST", "/api/rooms", raw=b"{not json"), 400, "bad-json")
    assert "JSON" in body["detail"]
    body = problem(api(server, "POST", "/api/rooms", {"name": 5}), 400, "bad-json")
    assert "'name'" in body["detail"], body
    problem(api(server, "POST", "/api/rooms", raw=b"[1,2]"), 400, "bad-json")
    problem(api(server, "POST", "/api/rooms", raw=b'{"name":"' + b"x" * 70000 + b'"}'), 413, "body-too-large")

    ok(api(server, "POST", "/api/rooms", {"name": "r"}), 201)
    problem(api(server, "POST", "/api/rooms/r/links", raw=b""), 400, "bad-json")
    body = problem(api(server, "POST", "/api/rooms/r/links", {"participants": [{"identity": "a"}]}), 400, "bad-json")
    assert "participants[0].role" in body["detail"], body
    for bad in [{"participants": []},
                {"participants": [{"identity": "a", "role": "emperor"}]},
                {"participants": [{"identity": "", "role": "viewer"}]},
                {"participants": [{"identity": "a", "role": "viewer"}], "ttl": 31 * 86400},
                {"participants": [{"identity": "a", "role": "viewer"}], "ttl": 0}]:
        problem(api(server, "POST", "/api/rooms/r/links", bad), 400, "invalid-field")
    problem(api(server, "GET", "/api/audit?limit=lots"), 400, "invalid-field")


def test_unknown_rooms_are_404(server):
    problem(api(server, "GET", "/api/rooms/nowhere"), 404, "room-not-found")
    problem(api(server, "DELETE", "/api/rooms/nowhere"), 404, "room-not-found")
    problem(api(server, "POST", "/api/rooms/nowhere/links", {"participants": [{"identity": "a", "role": "host"}]}),
            404, "room-not-found")


def test_links_join_the_meeting_with_their_identity_and_role(server):
    ok(api(server, "POST", "/api/rooms", {"name": "standup"}), 201)
    body = ok(api(server, "POST", "/api/rooms/standup/links", {
        "participants": [{"identity": "asha@dept.gov.in", "name": "Asha", "role": "host"},
                         {"identity": "ravi@dept.gov.in", "role": "viewer"}],
        "ttl": 3600}))
    host, viewer = body["links"]
    assert host["identity"] == "asha@dept.gov.in" and host["role"] == "host" and viewer["role"] == "viewer"
    assert host["url"] == f"{server.base_url}/m/standup?t={host['token']}" and host["expiresAt"]

    a, r = MeetingSocket(server.base_url), MeetingSocket(server.base_url)
    try:
        joined = a.join(host["token"])
        assert joined["room"] == "standup" and joined["you"]["role"] == "host" and joined["you"]["name"] == "Asha"
        joined = r.join(viewer["token"])
        assert joined["you"]["identity"] == "ravi@dept.gov.in" and joined["you"]["role"] == "viewer"
        shown = ok(api(server, "GET", "/api/rooms/standup"))
        assert [(p["identity"], p["role"], p["connected"], p["tracks"]) for p in shown["participants"]] == [
            ("asha@dept.gov.in", "host", True, []), ("ravi@dept.gov.in", "viewer", True, [])]
        listed = {x["name"]: x for x in ok(api(server, "GET", "/api/rooms"))}
        assert listed["standup"]["participants"] == 2
    finally:
        a.close()
        r.close()


def test_the_audit_trail_records_joins_and_leaves_with_the_address(server):
    ok(api(server, "POST", "/api/rooms", {"name": "audited"}), 201)
    ws = MeetingSocket(server.base_url)
    try:
        you = ws.join(link_for(server, "audited", "asha")["token"])["you"]
        ws.send({"type": "leave"})
        wait_for(lambda: ws.closed.is_set(), 10, "the server to close the socket after leave")
    finally:
        ws.close()
    trail = wait_for(lambda: (t := ok(api(server, "GET", "/api/audit?room=audited"))) and len(t) >= 2 and t, 10,
                     "joined and left in the audit trail")
    assert [e["event"] for e in trail] == ["left", "joined"], "newest first"
    for entry in trail:
        assert entry["room"] == "audited" and entry["identity"] == "asha" and entry["participant"] == you["id"]
        assert entry["address"] == "127.0.0.1" and entry["at"] and entry["id"]
    assert trail[0]["at"] >= trail[1]["at"]
    assert [e["event"] for e in ok(api(server, "GET", "/api/audit?limit=1"))] == ["left"]
    assert ok(api(server, "GET", "/api/audit?room=elsewhere")) == []


def test_the_audit_trail_exports_a_time_range_as_csv_or_json_for_an_auditor(server):
    """Issue 18 item 4: GET /api/audit?from=&to= as CSV or JSON, oldest first on request; names that a spreadsheet
    would run as formulas are disarmed; bad times are refused with the reason."""
    ok(api(server, "POST", "/api/rooms", {"name": "export"}), 201)
    for identity in ["asha", "=HYPERLINK(\"http://x\",\"y\")", "ravi, the clerk"]:
        ws = MeetingSocket(server.base_url)
        try:
            ws.join(link_for(server, "export", identity)["token"])
            ws.send({"type": "leave"})
            wait_for(lambda: ws.closed.is_set(), 10, "the server to close the socket after leave")
        finally:
            ws.close()
        time.sleep(1.1)  # times are given to the second: each person in a second of their own
    trail = wait_for(lambda: (t := ok(api(server, "GET", "/api/audit?room=export&order=oldest"))) and len(t) == 6 and t, 10,
                     "three joins and three leaves")
    assert [(e["identity"][:4], e["event"]) for e in trail] == [
        ("asha", "joined"), ("asha", "left"), ("=HYP", "joined"), ("=HYP", "left"), ("ravi", "joined"), ("ravi", "left")]

    # A window: from the second person's join (inclusive) to the third's join (exclusive).
    start, end = trail[2]["at"], trail[4]["at"]
    window = ok(api(server, "GET", f"/api/audit?room=export&order=oldest&from={start}&to={end}"))
    assert [e["id"] for e in window] == [trail[2]["id"], trail[3]["id"]]
    newest = ok(api(server, "GET", f"/api/audit?room=export&from={start}"))
    assert [e["id"] for e in newest] == [e["id"] for e in reversed(trail[2:])]

    # The same rows as CSV (Accept or ?format=csv), one line each, in a spreadsheet's terms.
    for resp in [api(server, "GET", "/api/audit?room=export&order=oldest&format=csv"),
                 requests.get(server.base_url + "/api/audit?room=export&order=oldest", timeout=10,
                              headers={"Authorization": f"Bearer {admin_key(server)}", "Accept": "text/csv"})]:
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in resp.headers.get("Content-Disposition", "")
        assert resp.text.count("\r\n") == 7
        rows = list(csv.reader(io.StringIO(resp.text)))
        assert rows[0] == ["id", "at", "room", "identity", "participant", "event", "address", "actor", "detail"]
        assert [r[0] for r in rows[1:]] == [str(e["id"]) for e in trail]
        assert [r[3] for r in rows[1:3]] == ["asha", "asha"]
        assert rows[3][3] == "'=HYPERLINK(\"http://x\",\"y\")", "a formula is disarmed with a leading apostrophe"
        assert rows[5][3] == "ravi, the clerk" and rows[5][5] == "joined" and rows[5][6] == "127.0.0.1"

    for query, words in [("from=yesterday", "'from' must be a time"), ("to=2026-13-01T00:00:00Z", "'to' must be a time"),
                         (f"from={end}&to={start}", "'from' must be before 'to'"), ("order=random", "'order' is newest or oldest")]:
        assert words in problem(api(server, "GET", f"/api/audit?{query}"), 400, "invalid-field")["detail"]


def test_a_valid_token_creates_its_room_on_first_join_and_the_store_records_it(server):
    ws = MeetingSocket(server.base_url)
    try:
        ws.join(server.token("walk-in", "asha", "participant"))
        room = wait_for(lambda: {r["name"]: r for r in ok(api(server, "GET", "/api/rooms"))}.get("walk-in"), 10, "walk-in listed")
        assert room["source"] == "join" and room["participants"] == 1
        stored = wait_for(lambda: ok(api(server, "GET", "/api/rooms/walk-in"))["createdAt"], 10, "walk-in stored")
        assert stored
        # Stored now, so links can be made for it and its name is taken.
        link = link_for(server, "walk-in", "ravi")
        assert link["url"] == f"{server.base_url}/m/walk-in?t={link['token']}"
        problem(api(server, "POST", "/api/rooms", {"name": "walk-in"}), 409, "room-exists")
    finally:
        ws.close()


def test_delete_ends_a_live_meeting_for_everyone(server):
    ok(api(server, "POST", "/api/rooms", {"name": "ending"}), 201)
    a, b = MeetingSocket(server.base_url), MeetingSocket(server.base_url)
    try:
        a.join(link_for(server, "ending", "asha", "host")["token"])
        b.join(link_for(server, "ending", "ravi")["token"])
        assert ok(api(server, "DELETE", "/api/rooms/ending")) == {"ended": True, "participants": 2, "closed": True}
        for ws in (a, b):
            assert ws.next_type("meeting-ended")["reason"] == "ended"
            wait_for(lambda ws=ws: ws.closed.is_set(), 10, "the server to close the socket")
        shown = ok(api(server, "GET", "/api/rooms/ending"))
        assert shown["participants"] == [] and shown["endedAt"]
        events = wait_for(lambda: [e["event"] for e in ok(api(server, "GET", "/api/audit?room=ending"))].count("ended") == 2,
                          10, "two 'ended' audit records")
        assert events
        # Ending a room nobody is in still works (it is stored), and says so.
        assert ok(api(server, "DELETE", "/api/rooms/ending")) == {"ended": True, "participants": 0, "closed": True}
    finally:
        a.close()
        b.close()


def test_rooms_and_the_audit_trail_survive_a_restart(start_server):
    server = start_server()
    ok(api(server, "POST", "/api/rooms", {"name": "durable", "title": "Durable"}), 201)
    ws = MeetingSocket(server.base_url)
    try:
        ws.join(link_for(server, "durable", "asha")["token"])
        ws.send({"type": "leave"})
        wait_for(lambda: ws.closed.is_set(), 10, "the server to close the socket after leave")
    finally:
        ws.close()
    wait_for(lambda: len(ok(api(server, "GET", "/api/audit?room=durable"))) == 2, 10, "joined and left recorded")
    key = admin_key(server)
    server.stop()
    server.start()
    assert admin_key(server) == key
    room = ok(api(server, "GET", "/api/rooms/durable"))
    assert room["title"] == "Durable" and room["source"] == "api"
    assert [e["event"] for e in ok(api(server, "GET", "/api/audit?room=durable"))] == ["left", "joined"]
    assert (server.data_dir / "sabha.sqlite").is_file()


def sabha_room(server, *args: str, key_from_dir: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(server.binary), "room", *args, "--server", f"127.0.0.1:{server.http_port}"]
    if key_from_dir:
        cmd += ["--data-dir", str(server.data_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check:
        assert out.returncode == 0, f"{cmd} failed ({out.returncode}): {out.stderr}"
    return out


def test_the_sabha_room_command_creates_lists_links_and_ends(server):
    out = sabha_room(server, "create", "--name", "cli-room", "--title", "CLI room")
    assert f"{server.base_url}/m/cli-room" in out.stdout and "cli-room" in out.stdout
    generated = json.loads(sabha_room(server, "create", "--json").stdout)
    assert generated["name"].startswith("room-")

    table = sabha_room(server, "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "TITLE", "SOURCE", "PEOPLE", "CREATED", "ENDED"]
    row = next(line for line in table if line.startswith("cli-room"))
    assert "CLI room" in row and " api " in row
    assert {r["name"] for r in json.loads(sabha_room(server, "list", "--json").stdout)} == {"cli-room", generated["name"]}

    url = sabha_room(server, "link", "cli-room", "--identity", "asha", "--role", "host", "--name", "Asha", "--ttl", "2h").stdout.strip()
    assert url.startswith(f"{server.base_url}/m/cli-room?t=")
    two = sabha_room(server, "link", "cli-room", "--identity", "ravi", "--identity", "meera", "--role", "viewer").stdout.splitlines()
    assert [line.split()[0] for line in two] == ["ravi", "meera"]

    ws = MeetingSocket(server.base_url)
    try:
        joined = ws.join(url.split("?t=", 1)[1])
        assert joined["you"]["role"] == "host" and joined["you"]["name"] == "Asha"
        out = sabha_room(server, "end", "cli-room")
        assert "1 participant" in out.stdout and "sabha room reopen cli-room" in out.stdout
        assert ws.next_type("meeting-ended")["reason"] == "ended"
    finally:
        ws.close()
    assert "Reopened 'cli-room'" in sabha_room(server, "reopen", "cli-room").stdout
    assert "was not closed" in sabha_room(server, "reopen", "cli-room").stdout
    out = sabha_room(server, "link", "cli-room", "--identity", "dev")
    link_id = out.stderr.strip().rsplit(" ", 1)[-1]
    assert "sabha room revoke cli-room" in out.stderr and len(link_id) == 32, out.stderr
    assert "Withdrew link " + link_id in sabha_room(server, "revoke", "cli-room", link_id).stdout
    out = sabha_room(server, "readmit", "cli-room", "--identity", "dev", check=False)
    assert out.returncode != 0 and "not-removed" in out.stderr, out.stderr


def test_the_sabha_room_command_explains_a_wrong_key_an_unknown_room_and_an_unreachable_server(server, tmp_path):
    out = sabha_room(server, "list", "--admin-key", "wrong-key-wrong-key", key_from_dir=False, check=False)
    assert out.returncode != 0 and "admin-key-invalid" in out.stderr, out.stderr
    out = sabha_room(server, "list", "--data-dir", str(tmp_path / "empty"), key_from_dir=False, check=False)
    assert out.returncode != 0 and "admin.key" in out.stderr, out.stderr
    out = sabha_room(server, "end", "nowhere", check=False)
    assert out.returncode != 0 and "room-not-found" in out.stderr, out.stderr
    cmd = [str(server.binary), "room", "list", "--server", f"127.0.0.1:{free_tcp_port()}", "--data-dir", str(server.data_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "cannot reach" in out.stderr, out.stderr


def test_an_empty_room_closes_after_the_grace_period(start_server):
    server = start_server("--resume-grace", "1")
    ok(api(server, "POST", "/api/rooms", {"name": "short-meeting"}), 201)
    ws = MeetingSocket(server.base_url)
    try:
        ws.join(link_for(server, "short-meeting", "alice")["token"])
        assert ok(api(server, "GET", "/api/rooms/short-meeting"))["endedAt"] is None
        ws.send({"type": "leave"})
        assert ws.closed.wait(10)
    finally:
        ws.close()
    wait_for(lambda: ok(api(server, "GET", "/api/rooms/short-meeting"))["endedAt"] is not None, 10,
             "the empty room to be marked closed")
    events = [r["event"] for r in ok(api(server, "GET", "/api/audit?room=short-meeting"))]
    assert events[0] == "closed" and "left" in events and "joined" in events, events

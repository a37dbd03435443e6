"""`sabha serve --database postgres://…`: the store in a real PostgreSQL 15 (a scratch cluster on 127.0.0.1,
tools/dev/scratch-postgres.sh, one fresh database per test) instead of the data directory's SQLite file. Rooms, a
meeting with real aiortc media and its audit trail live in PostgreSQL and survive a restart; two servers sharing one
database see each other's rooms and send each invitation once between them; a database that cannot be reached or a
URL that is not PostgreSQL stops `sabha serve` with the reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from e2ekit.groupware import sabha_env
from e2ekit.peers import wait_connected
from e2ekit.postgres import database_url, postgres_cluster, psql  # noqa: F401 (fixtures)
from e2ekit.server import free_tcp_port, free_udp_port
from e2ekit.wait import wait_for
from test_groupware import ASHA, DEV, MEERA, RAVI, meeting_body, minute, now
from test_meeting_protocol import Participant, frames_rise

pytestmark = pytest.mark.server

FIXTURES = Path(__file__).resolve().parents[1] / "Fixtures" / "sdp"

SHARED_ADMIN_KEY = "postgres-cluster-admin-key-0123456789"   # both nodes of a cluster answer the same key


def admin_key(server) -> str:
    args = server.extra_args
    if "--admin-key" in args:
        return args[args.index("--admin-key") + 1]
    return (server.data_dir / "admin.key").read_text().strip()


def api(server, method: str, path: str, body=None) -> requests.Response:
    return requests.request(method, server.base_url + path, json=body, timeout=10,
                            headers={"Authorization": f"Bearer {admin_key(server)}"})


def ok(resp: requests.Response, status: int = 200):
    assert resp.status_code == status, f"{resp.request.method} {resp.request.path_url}: {resp.status_code} {resp.text}"
    return resp.json()


def link_token(server, room: str, identity: str, role: str) -> str:
    (link,) = ok(api(server, "POST", f"/api/rooms/{room}/links",
                     {"participants": [{"identity": identity, "role": role}]}))["links"]
    return link["token"]


def stored_rooms(url: str) -> list[dict]:
    """Every row of the table `room` in the database at `url`, as JSON objects."""
    return [json.loads(row[0]) for row in psql(url, "SELECT row_to_json(r)::text FROM room r")]


def joins(server, room: str) -> set[str]:
    return {e["identity"] for e in ok(api(server, "GET", f"/api/audit?room={room}&limit=1000")) if e["event"] == "joined"}


def no_sqlite(server) -> None:
    found = sorted(p.name for p in server.data_dir.glob("*.sqlite*"))
    assert not found, f"a server on PostgreSQL made SQLite files in its data directory: {found}"


async def both_see_each_other(server, room: str) -> None:
    """Asha and Ravi join through admin API links, each publishing camera and microphone, and each receives the
    other's video and audio."""
    asha = Participant(server.base_url, link_token(server, room, "asha", "host"), publish=True)
    ravi = Participant(server.base_url, link_token(server, room, "ravi", "participant"), publish=True)
    try:
        await asha.join()
        await wait_connected(asha.pc)
        await ravi.join()
        await wait_connected(ravi.pc)
        reneg = await asyncio.to_thread(asha.ws.next, 10, lambda m: m.get("type") == "renegotiate" and len(m["receive"]) == 2)
        for entry in reneg["receive"]:
            asha.pc.addTransceiver(entry["kind"], direction="recvonly")
        await asha.negotiate()
        await frames_rise(asha, ravi.id, 30, 30)
        await frames_rise(ravi, asha.id, 30, 30)
        deadline = time.monotonic() + 15
        while not (asha.audio.get(ravi.id, 0) >= 25 and ravi.audio.get(asha.id, 0) >= 25):
            assert time.monotonic() < deadline, f"audio: asha got {asha.audio}, ravi got {ravi.audio}"
            await asyncio.sleep(0.1)
        for p in (ravi, asha):
            p.ws.send({"type": "leave"})
    finally:
        await ravi.close()
        await asha.close()


@pytest.mark.timeout(150)
def test_rooms_media_and_the_audit_trail_live_in_postgres_and_survive_a_restart(start_server, database_url):
    server = start_server("--database", database_url)
    assert ok(api(server, "GET", "/api/rooms")) == [], "a fresh database has no rooms"
    ok(api(server, "POST", "/api/rooms", {"name": "pg-review", "title": "Review on PostgreSQL"}), 201)
    rows = stored_rooms(database_url)
    assert any("pg-review" in row.values() for row in rows), f"no row for pg-review in table room: {rows}"

    asyncio.run(both_see_each_other(server, "pg-review"))
    wait_for(lambda: joins(server, "pg-review") >= {"asha", "ravi"}, 10, "both joins in the audit trail")

    server.stop()
    server.start()
    room = ok(api(server, "GET", "/api/rooms/pg-review"))
    assert room["title"] == "Review on PostgreSQL" and room["source"] == "api", room
    assert joins(server, "pg-review") == {"asha", "ravi"}, "the audit trail after the restart"
    no_sqlite(server)

    # The data is in the database, not the data directory: a server with an empty one sees the same.
    server.stop()
    fresh = start_server("--database", database_url)
    assert ok(api(fresh, "GET", "/api/rooms/pg-review"))["title"] == "Review on PostgreSQL"
    assert joins(fresh, "pg-review") == {"asha", "ravi"}
    no_sqlite(fresh)


@pytest.mark.timeout(120)
def test_two_servers_on_one_database_share_rooms_and_send_each_invitation_once(start_server, database_url, smtp_maildir):
    env = sabha_env(smtp_maildir, None)   # both relays may send, retrying every second
    a = start_server("--database", database_url, "--admin-key", SHARED_ADMIN_KEY, env=env)
    b = start_server("--database", database_url, "--admin-key", SHARED_ADMIN_KEY, env=env)

    ok(api(a, "POST", "/api/rooms", {"name": "made-on-a", "title": "Made on A"}), 201)
    assert "made-on-a" in {r["name"] for r in ok(api(b, "GET", "/api/rooms"))}
    assert ok(api(b, "GET", "/api/rooms/made-on-a"))["title"] == "Made on A"
    ok(api(b, "POST", "/api/rooms", {"name": "made-on-b"}), 201)
    assert {"made-on-a", "made-on-b"} <= {r["name"] for r in ok(api(a, "GET", "/api/rooms"))}
    assert api(b, "POST", "/api/rooms", {"name": "made-on-a"}).status_code == 409, "the name is taken on every node"

    # Meetings scheduled on either node: every invitation leaves exactly once between the two relays.
    start = minute(now()) + dt.timedelta(days=1)
    scheduled = time.monotonic()
    on_a = ok(api(a, "POST", "/api/meetings", meeting_body("Shared review", start, attendees=(ASHA, RAVI, MEERA))), 201)
    on_b = ok(api(b, "POST", "/api/meetings", meeting_body("Second review", start, attendees=(DEV,))), 201)
    seen_on_b = ok(api(b, "GET", f"/api/meetings/{on_a['id']}"))
    assert (seen_on_b["uid"], seen_on_b["room"], seen_on_b["title"]) == (on_a["uid"], on_a["room"], "Shared review")
    want = {p["email"]: uid for p, uid in [(ASHA, on_a["uid"]), (RAVI, on_a["uid"]), (MEERA, on_a["uid"]), (DEV, on_b["uid"])]}

    def counts() -> dict[str, int]:
        got = {email: len(smtp_maildir.messages(email)) for email in want}
        assert all(n <= 1 for n in got.values()), f"an invitation was sent more than once: {got}"
        return got

    wait_for(lambda: all(n == 1 for n in counts().values()), 20, "one invitation for each attendee")
    while time.monotonic() < scheduled + 12:   # time for a second relay to send them again
        counts()
        time.sleep(0.5)
    assert counts() == {email: 1 for email in want}
    for email, uid in want.items():
        (mail,) = smtp_maildir.messages(email)
        assert mail.calendar_method == "REQUEST" and f"UID:{uid}" in (mail.calendar or "").replace("\r\n ", ""), mail.calendar

    for server in (a, b):   # both nodes list the same outbox, every mail sent
        items = [i for i in ok(api(server, "GET", "/api/outbox"))["items"] if i["kind"] == "mail"]
        assert sorted(i["recipient"] for i in items) == sorted(want), items
        assert all(i["state"] == "sent" for i in items), items
    no_sqlite(a)
    no_sqlite(b)


@pytest.mark.timeout(120)
def test_copy_store_moves_a_server_that_ran_alone_into_an_empty_database_with_its_links_and_keys(start_server, database_url, sabha_bin,
                                                                                                   smtp_maildir):
    """A server on its SQLite file (a room with a meeting held in it, a withdrawn link, a scheduled meeting with its
    outbox) is stopped and `sabha copy-store` fills an empty database: a node started on that database with an empty
    data directory answers the old admin key, admits a link minted before the move, lists the same rooms, audit
    trail, meeting and outbox, and takes new rows after the copied ids. A second copy into the filled database is
    refused and changes nothing."""
    env = sabha_env(smtp_maildir, None)
    alone = start_server(env=env)
    ok(api(alone, "POST", "/api/rooms", {"name": "moving-review", "title": "Review before the move"}), 201)
    asyncio.run(both_see_each_other(alone, "moving-review"))
    wait_for(lambda: joins(alone, "moving-review") >= {"asha", "ravi"}, 10, "both joins in the audit trail")
    kept_link = link_token(alone, "moving-review", "meera", "participant")
    withdrawn = ok(api(alone, "POST", "/api/rooms/moving-review/links", {"participants": [{"identity": "dev", "role": "participant"}]}))["links"][0]
    ok(api(alone, "DELETE", f"/api/rooms/moving-review/links/{withdrawn['id']}"))
    start = minute(now()) + dt.timedelta(days=2)
    meeting = ok(api(alone, "POST", "/api/meetings", meeting_body("Moved meeting", start, attendees=(ASHA, RAVI))), 201)
    wait_for(lambda: len(smtp_maildir.messages(RAVI["email"])) == 1, 20, "the invitations sent before the move")
    audit_before = ok(api(alone, "GET", "/api/audit?order=oldest&limit=1000"))
    outbox_before = ok(api(alone, "GET", "/api/outbox"))["items"]
    old_admin = admin_key(alone)
    alone.stop()

    copy = subprocess.run([str(sabha_bin), "copy-store", "--database", database_url, "--data-dir", str(alone.data_dir)],
                          capture_output=True, text=True, timeout=60)
    assert copy.returncode == 0, copy.stdout + copy.stderr
    for line in ("meeting: 1 row", "meetingAttendee: 2 rows", "outbox: 2 rows", "revokedLink: 1 row", "keys: token-hs256, admin-key"):
        assert line in copy.stdout, copy.stdout

    node = start_server("--database", database_url, env=env)
    assert admin_key(node) == old_admin, "the node took the moved server's admin key from the database"
    assert ok(api(node, "GET", "/api/rooms/moving-review"))["title"] == "Review before the move"
    assert joins(node, "moving-review") == {"asha", "ravi"}
    audit_after = ok(api(node, "GET", "/api/audit?order=oldest&limit=1000"))
    assert [(e.get("id"), e["at"], e["event"], e["identity"]) for e in audit_after] == \
        [(e.get("id"), e["at"], e["event"], e["identity"]) for e in audit_before], "the audit trail, ids and times as they were"
    moved = ok(api(node, "GET", f"/api/meetings/{meeting['id']}"))
    assert (moved["uid"], moved["room"], moved["title"]) == (meeting["uid"], meeting["room"], "Moved meeting")
    assert sorted(a["email"] for a in moved["attendees"]) == sorted(a["email"] for a in meeting["attendees"])
    assert [(i["id"], i["kind"], i["recipient"]) for i in ok(api(node, "GET", "/api/outbox"))["items"]] == \
        [(i["id"], i["kind"], i["recipient"]) for i in outbox_before]

    # Links minted before the move still open the room; the withdrawn one stays withdrawn.
    offer = (FIXTURES / "chromium156-sendonly-offer.sdp").read_bytes()
    def whip(token: str) -> requests.Response:
        return requests.post(node.base_url + "/whip/moving-review", data=offer, timeout=10,
                             headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"})
    assert whip(kept_link).status_code == 201
    refused = whip(withdrawn["token"])
    assert refused.status_code == 403 and refused.json()["code"] == "link-revoked", refused.text

    # New rows continue after the copied ids.
    again = ok(api(node, "POST", "/api/meetings", meeting_body("After the move", start, attendees=(MEERA,))), 201)
    new_items = [i for i in ok(api(node, "GET", "/api/outbox"))["items"] if i["meeting"] == again["id"]]
    assert new_items and min(i["id"] for i in new_items) > max(i["id"] for i in outbox_before), new_items
    no_sqlite(node)

    node.stop()
    second = subprocess.run([str(sabha_bin), "copy-store", "--database", database_url, "--data-dir", str(alone.data_dir)],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode != 0 and "not empty" in second.stderr + second.stdout, second.stdout + second.stderr


def serve_until_exit(sabha_bin, data_dir, args: list[str], env: dict[str, str] | None = None, within: float = 15) -> tuple[int, str]:
    """Runs `sabha serve` that is expected to stop by itself within `within` seconds: (exit status, its output)."""
    cmd = [str(sabha_bin), "serve", "--data-dir", str(data_dir), "--http", f"127.0.0.1:{free_tcp_port()}",
           "--rtc", f"127.0.0.1:{free_udp_port()}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            env={**os.environ, "SABHA_DRAIN_TIMEOUT": "1", **(env or {})})
    try:
        out, _ = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
        raise AssertionError(f"{cmd} still ran after {within}s; its output:\n{out}")
    return proc.returncode, out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("given_as", ["flag", "environment"])
def test_a_database_that_cannot_be_reached_stops_serve_with_the_reason(sabha_bin, tmp_path, given_as):
    url = "postgres://nobody@127.0.0.1:1/x"   # nothing listens on port 1
    args, env = (["--database", url], None) if given_as == "flag" else ([], {"SABHA_DATABASE": url})
    status, out = serve_until_exit(sabha_bin, tmp_path / "data", args, env)
    text = out.lower()
    assert status != 0, f"exit {status}:\n{out}"
    assert "database" in text and ("connect" in text or "refused" in text), f"the reason is not given:\n{out}"
    assert not (tmp_path / "data" / "sabha.sqlite").exists(), "fell back to SQLite"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("given_as", ["flag", "environment"])
def test_a_database_url_that_is_not_postgres_is_refused(sabha_bin, tmp_path, given_as):
    args, env = (["--database", "mysql://x"], None) if given_as == "flag" else ([], {"SABHA_DATABASE": "mysql://x"})
    status, out = serve_until_exit(sabha_bin, tmp_path / "data", args, env)
    text = out.lower()
    assert status != 0, f"exit {status}:\n{out}"
    assert "database" in text and "postgres" in text, f"the refusal does not say what is accepted:\n{out}"
    assert not (tmp_path / "data" / "sabha.sqlite").exists(), "fell back to SQLite"

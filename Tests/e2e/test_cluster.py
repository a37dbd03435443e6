"""Several `sabha serve` nodes sharing one PostgreSQL database form a cluster (a scratch PostgreSQL 15 cluster on
127.0.0.1, a fresh database per test; e2ekit/cluster.py): they share the token key and the admin key through the
database, each writes a heartbeat every 2 s (GET /api/cluster lists who is alive and which rooms each holds), and a
room's meeting runs on one node at a time, the first that admitted someone to it. A join at another node is sent
there (`redirect` on /ws, 307 for WHIP/WHEP); when the holder dies, its lease runs out within 6 s and the next join
on a surviving node takes the room. Every server and peer is on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest
import requests
from aiortc import RTCPeerConnection

from e2ekit.cluster import (ClusterParticipant, api, cluster_nodes, cluster_view, create_room, join_everyone,  # noqa: F401
                            kill_and_rejoin, link_token, ok, same_url)
from e2ekit.groupware import sabha_env
from e2ekit.meeting import MeetingSocket
from e2ekit.metrics import fetch as metrics
from e2ekit.peers import MovingPatternTrack, SineTrack, rtc_configuration
from e2ekit.postgres import database_url, postgres_cluster  # noqa: F401 (fixtures)
from e2ekit.wait import wait_for
from test_groupware import ASHA, MEERA, RAVI, meeting_body, minute, now

pytestmark = pytest.mark.server

CLUSTER_ADMIN_KEY = "cluster-admin-key-0123456789abcdef"


def run(coro):
    """asyncio.run with a default executor large enough for every participant's encoders and blocking socket
    waits at once (the default is 6 threads on this 2-CPU machine)."""
    async def main():
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=48))
        return await coro
    return asyncio.run(main())


def assert_cluster(view: dict, asked, nodes, alive: dict[str, bool], rooms: dict[str, str]) -> None:
    """`view` (GET /api/cluster on node `asked`) names `asked` and lists exactly `nodes`, each alive as `alive` says
    (by base URL), each room of `rooms` held by the node given (by base URL) and by no other."""
    assert same_url(view["node"], asked.base_url), f"/api/cluster on {asked.base_url} names itself {view['node']!r}"
    listed = {e["id"].rstrip("/"): e for e in view["nodes"]}
    assert set(listed) == {n.base_url for n in nodes}, f"nodes listed {sorted(listed)}, started {[n.base_url for n in nodes]}"
    for url, entry in listed.items():
        assert same_url(entry["url"], url), entry
        assert entry["startedAt"] and entry["heartbeatAt"], entry
        assert entry["alive"] is alive[url], f"{url} alive={entry['alive']}, expected {alive[url]}: {view}"
        for room, holder in rooms.items():
            assert (room in entry["rooms"]) == (url == holder), f"room {room} should be held by {holder} only: {view}"


@pytest.mark.timeout(150)
def test_participants_joining_through_three_nodes_meet_on_the_room_owner(cluster_nodes, database_url):
    nodes = cluster_nodes(database_url, 3)   # no --admin-key: the nodes share the first node's through the database
    keys = {n.base_url: (n.data_dir / "admin.key").read_text().strip() for n in nodes}
    assert len(set(keys.values())) == 1, f"each node has its own admin key: {keys}"
    room = "cluster-meeting"
    create_room(nodes[0], room)
    # Each participant's link is minted by the node it enters through, and checked by the node holding the room.
    entries = [nodes[i % 3] for i in range(5)]
    people = [ClusterParticipant(f"p{i}", link_token(entries[i], room, f"p{i}"), entries[i].base_url) for i in range(5)]

    async def meeting():
        try:
            await join_everyone(people)

            where = {p.name: p.node for p in people}
            assert all(same_url(url, nodes[0].base_url) for url in where.values()), f"not all on node 0 ({nodes[0].base_url}): {where}"
            for p, entry in zip(people, entries):
                expected = [] if entry is nodes[0] else [f"ws://127.0.0.1:{nodes[0].http_port}/ws"]
                assert p.redirects == expected, f"{p.name} entered at {entry.base_url}, was sent to {p.redirects}"
                assert not p.errors, f"{p.name}: {p.errors}"
            assert [metrics(n.base_url).value("sabha_meeting_participants") for n in nodes] == [5, 0, 0]

            for asked in nodes:
                assert_cluster(cluster_view(asked), asked, nodes, alive={n.base_url: True for n in nodes},
                               rooms={room: nodes[0].base_url})

            # Every node's room list counts the meeting's people, the others from node 0's heartbeat (≤ 2 s old).
            def counted() -> list[int]:
                return [next(r["participants"] for r in ok(api(n, "GET", "/api/rooms")) if r["name"] == room) for n in nodes]
            wait_for(lambda: counted() == [5, 5, 5], 6, "the room list of every node to count the 5 people on node 0")
        finally:
            for p in people:
                await p.close()

    run(meeting())
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


async def offers() -> tuple[str, str]:
    """A WHIP offer (camera and microphone, sendonly) and a WHEP offer (recvonly) from aiortc, candidates gathered."""
    sdps = []
    for publish in (True, False):
        pc = RTCPeerConnection(rtc_configuration())
        if publish:
            pc.addTransceiver(SineTrack(), direction="sendonly")
            pc.addTransceiver(MovingPatternTrack(), direction="sendonly")
        else:
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdps.append(pc.localDescription.sdp)
        await pc.close()
    return sdps[0], sdps[1]


@pytest.mark.timeout(120)
def test_a_whip_post_to_another_node_is_redirected_to_the_owner(cluster_nodes, database_url):
    nodes = cluster_nodes(database_url, 3, "--admin-key", CLUSTER_ADMIN_KEY)
    room = "cluster-whip"
    create_room(nodes[1], room)
    # Links minted by the nodes the requests go to, before anyone holds the room (then the admin API's requests
    # about the room would go to the holder too).
    host_token = link_token(nodes[0], room, "host", "host")
    token = link_token(nodes[2], room, "whip-pub")
    viewer = link_token(nodes[1], room, "viewer", "viewer")
    sdp, watch_sdp = run(offers())
    # Node 0 holds the room: someone is in the meeting there.
    host = MeetingSocket(nodes[0].base_url)
    try:
        joined = host.join(host_token)
        assert joined["room"] == room

        def post(url: str) -> requests.Response:
            return requests.post(url, data=sdp.encode(), allow_redirects=False, timeout=10,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"})

        resp = post(f"{nodes[2].base_url}/whip/{room}")
        assert resp.status_code == 307, f"WHIP at node 2: {resp.status_code} {resp.headers} {resp.text[:300]}"
        location = urljoin(resp.url, resp.headers.get("Location", ""))
        assert location == f"{nodes[0].base_url}/whip/{room}", f"307 to {location!r}, room held by {nodes[0].base_url}"
        assert metrics(nodes[2].base_url).value("sabha_transports") == 0, "the redirecting node opened a transport"

        # The same offer and token at the Location are taken by the owner.
        created = post(location)
        assert created.status_code == 201, f"WHIP at the Location: {created.status_code} {created.text[:300]}"
        assert "a=ice-lite" in created.text and f"127.0.0.1 {nodes[0].udp_port} typ host" in created.text, created.text

        # WHEP too: a viewer at node 1 is sent to node 0's URL of the same path.
        whep = requests.post(f"{nodes[1].base_url}/whep/{room}/whip-pub", data=watch_sdp.encode(), allow_redirects=False, timeout=10,
                             headers={"Authorization": f"Bearer {viewer}", "Content-Type": "application/sdp"})
        assert whep.status_code == 307, f"WHEP at node 1: {whep.status_code} {whep.headers} {whep.text[:300]}"
        assert urljoin(whep.url, whep.headers.get("Location", "")) == f"{nodes[0].base_url}/whep/{room}/whip-pub", whep.headers

        # And the admin API's requests about the room (docs/cluster.md).
        shown = api(nodes[2], "GET", f"/api/rooms/{room}")
        assert [(r.status_code, urljoin(r.url, r.headers["Location"])) for r in shown.history] == \
            [(307, f"{nodes[0].base_url}/api/rooms/{room}")], [(r.status_code, r.headers) for r in shown.history]
        assert ok(shown)["name"] == room

        session = urljoin(location, created.headers["Location"])
        assert requests.delete(session, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code in (200, 204)
    finally:
        host.close()


@pytest.mark.timeout(150)
def test_when_the_owner_is_killed_everyone_is_back_within_ten_seconds(cluster_nodes, database_url, capsys, record_property):
    nodes = cluster_nodes(database_url, 3, "--admin-key", CLUSTER_ADMIN_KEY)
    room = "cluster-failover"
    create_room(nodes[0], room)
    entries = [nodes[1], nodes[2], nodes[1], nodes[2]]   # the first through node 1: it holds the room
    people = [ClusterParticipant(f"p{i}", link_token(entries[i], room, f"p{i}"), entries[i].base_url) for i in range(4)]
    survivors = [nodes[0], nodes[2]]
    report: dict = {}

    async def scenario():
        try:
            await join_everyone(people)
            assert all(same_url(p.node, nodes[1].base_url) for p in people), [(p.name, p.node) for p in people]
            report.update(await kill_and_rejoin(people, nodes[1], survivors))
            report["lease"] = min(t for p in people for t, _, outcome in p.attempts if outcome.startswith("joined"))
        finally:
            for p in people:
                await p.close()

    run(scenario())
    back = report["back"]
    record_property("failover_seconds", round(back, 2))
    name = {n.base_url: f"node {i}" for i, n in enumerate(nodes)}
    tries = {who: len(attempts) for who, attempts in report["attempts"].items()}
    with capsys.disabled():
        print(f"\n[cluster failover] SIGKILL of node 1, which held the room: the first rejoin admitted at "
              f"{report['lease']:.2f} s (attempts once a second), all 4 joined again at {report['joined']} s "
              f"(attempts {tries}) on {sorted({name.get(u.rstrip('/'), u) for u in report['node'].values()})}, "
              f"everyone receiving everyone's audio and video {back:.2f} s after the kill")

    holders = set(report["node"].values())
    assert len(holders) == 1, f"the participants are split over several nodes after the failover: {report['node']}"
    (holder,) = holders
    assert any(same_url(holder, s.base_url) for s in survivors), f"rejoined at {holder}, not a survivor"
    assert back <= 10, f"everyone was back {back:.2f} s after the kill (allowed: 10 s); joined at {report['joined']} s"

    holder = next(s.base_url for s in survivors if same_url(holder, s.base_url))

    def dead_node_shown(asked) -> dict | None:
        view = cluster_view(asked)
        entry = next((e for e in view["nodes"] if same_url(e["id"], nodes[1].base_url)), None)
        return view if entry is not None and entry["alive"] is False else None

    for asked in survivors:   # node 1 is dead by now (its last heartbeat is over 6 s old): at most a moment's wait
        view = wait_for(lambda: dead_node_shown(asked), 8, f"/api/cluster on {asked.base_url} to show node 1 dead")
        assert_cluster(view, asked, nodes, alive={nodes[0].base_url: True, nodes[1].base_url: False, nodes[2].base_url: True},
                       rooms={room: holder})
    for n in survivors:
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(120)
def test_a_meeting_scheduled_during_an_outage_sends_every_invitation_once(cluster_nodes, database_url, smtp_maildir):
    env = sabha_env(smtp_maildir, None)   # every node's relay may send, retrying every second
    nodes = cluster_nodes(database_url, 3, "--admin-key", CLUSTER_ADMIN_KEY, env=env)
    nodes[0].kill()   # the first node (it made the cluster's keys and took the job leases) dies without a word
    survivor = nodes[1]

    start = minute(now()) + dt.timedelta(days=1)
    scheduled = time.monotonic()
    meeting = ok(api(survivor, "POST", "/api/meetings", meeting_body("Review during an outage", start,
                                                                    attendees=(ASHA, RAVI, MEERA))), 201)
    want = [a["email"] for a in (ASHA, RAVI, MEERA)]

    def counts() -> dict[str, int]:
        got = {email: len(smtp_maildir.messages(email)) for email in want}
        assert all(n <= 1 for n in got.values()), f"an invitation was sent more than once: {got}"
        return got

    wait_for(lambda: all(n == 1 for n in counts().values()), 20, "one invitation for each attendee")
    while time.monotonic() < scheduled + 12:   # time for another relay to send them again
        counts()
        time.sleep(0.5)
    assert counts() == {email: 1 for email in want}
    for email in want:
        (mail,) = smtp_maildir.messages(email)
        assert mail.calendar_method == "REQUEST" and f"UID:{meeting['uid']}" in (mail.calendar or "").replace("\r\n ", ""), mail.calendar
    for n in nodes[1:]:
        items = [i for i in ok(api(n, "GET", "/api/outbox"))["items"] if i["kind"] == "mail"]
        assert sorted(i["recipient"] for i in items) == sorted(want), items
        assert all(i["state"] == "sent" for i in items), items
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(120)
def test_a_calendar_edit_sends_out_a_dropped_attendee_from_the_node_holding_the_meeting(cluster_nodes, database_url,
                                                                                        smtp_maildir, radicale):
    """The calendar watcher runs on node A (the only one given the resource calendar); the booking's meeting runs on
    node B, where Asha and Ravi joined. When the booking drops Ravi, A's watcher applies it and asks B (a signed
    request to the node holding the room): B sends Ravi out at once, with the fatal link-revoked, not when he
    leaves. Cancelling the booking then ends the meeting on B for Asha."""
    from test_groupware import attendee, booking_ics, edit_event, join_message

    (a,) = cluster_nodes(database_url, 1, env=sabha_env(smtp_maildir, radicale))
    (b,) = cluster_nodes(database_url, 1)
    uid = f"cluster-booking-{time.time_ns()}@calendar.pune.gov.in"
    start = minute(now()) + dt.timedelta(minutes=5)
    radicale.calendar("resource").save_event(booking_ics(uid, "Cluster review", start, [ASHA, RAVI]))
    meeting = wait_for(lambda: next((m for m in ok(api(a, "GET", "/api/meetings"))["meetings"] if m["uid"] == uid), None),
                       15, "the booking to become a meeting")
    people = {}
    for person in (ASHA, RAVI):
        ws = MeetingSocket(b.base_url)
        ws.send(join_message(attendee(meeting, person["email"])["link"]))
        reply = ws.next(10, lambda m: m.get("type") in ("joined", "error", "redirect", "lobby"))
        assert reply["type"] == "joined", f"{person['email']} at node B: {reply}"
        people[person["email"]] = ws
    holders = {n["id"]: n["rooms"] for n in cluster_view(a)["nodes"]}
    assert meeting["room"] in holders[b.base_url], f"node B holds the meeting's room: {holders}"

    # Ravi taken off the booking, as a calendar client does it.
    import icalendar
    ev = radicale.calendar("resource").event_by_uid(uid)
    ev.load()
    cal = icalendar.Calendar.from_ical(ev.data)
    (vevent,) = cal.walk("VEVENT")
    vevent["ATTENDEE"] = [x for x in vevent.get("ATTENDEE") if RAVI["email"] not in str(x)]
    vevent["SEQUENCE"] = int(vevent.get("SEQUENCE", 0)) + 1
    ev.data = cal.to_ical().decode()
    ev.save()
    sent_out = people[RAVI["email"]].next(20, lambda m: m.get("type") == "error")
    assert sent_out["code"] == "link-revoked" and sent_out["fatal"] is True, sent_out
    assert people[RAVI["email"]].closed.wait(10), "node B closed Ravi's socket"
    wait_for(lambda: "meeting action done by the node holding the room" in a.log_text(), 5, "node A's log: it asked node B")
    assert "meeting action asked by another node" in b.log_text()

    # Cancelled in the calendar: the meeting ends on node B for Asha.
    edit_event(radicale, "resource", uid, "STATUS", "CANCELLED")
    ended = people[ASHA["email"]].next(20, lambda m: m.get("type") in ("meeting-ended", "error"))
    assert ended == {"type": "meeting-ended", "reason": "cancelled"} or ended.get("type") == "meeting-ended", ended
    for ws in people.values():
        ws.close()


@pytest.mark.timeout(120)
def test_a_recording_made_on_one_node_is_listed_and_fetched_through_another(cluster_nodes, database_url):
    """A meeting recorded on node B (its files in B's data directory): node A's GET /api/recordings lists it with
    `node` B, and A sends a request about it on to B (307, followed with the admin key sent again)."""
    from test_meeting_protocol import pair

    a, b = cluster_nodes(database_url, 2)
    room = "recorded-on-b"
    create_room(b, room)

    async def record() -> str:
        alice, bob = await pair(b, room)
        try:
            started = ok(api(b, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 201)
            await asyncio.sleep(3)
            ok(api(b, "POST", f"/api/rooms/{room}/recording", {"action": "stop"}))
            return started["id"]
        finally:
            for who in (alice, bob):
                await who.close()

    recording = run(record())
    listed = ok(api(a, "GET", "/api/recordings"))
    (entry,) = [e for e in listed if e["id"] == recording]
    assert entry["node"] == b.base_url and entry["room"] == room, entry
    assert [e["id"] for e in ok(api(b, "GET", "/api/recordings"))] == [recording], "node B lists it too"
    shown = api(a, "GET", f"/api/recordings/{recording}")
    assert shown.status_code == 200 and shown.json()["id"] == recording, shown.text
    assert [r.status_code for r in shown.history] == [307] and shown.history[0].headers["Location"].startswith(b.base_url)
    manifest = api(a, "GET", f"/api/recordings/{recording}/file?name=recording.json")
    assert manifest.status_code == 200 and manifest.json()["room"] == room, manifest.text[:300]
    missing = api(a, "GET", "/api/recordings/r-nowhere")
    assert missing.status_code == 404 and not missing.history, "a recording no node has is not sent anywhere"

"""A meeting spanning the nodes of a cluster (docs/cluster.md): viewer-role participants beyond what the node holding
the room serves (`--max-viewers`) have their media served by other nodes.

Two or three `sabha serve` nodes on 127.0.0.1 share one scratch PostgreSQL (e2ekit/cluster.py). A host (aiortc, a
moving pattern and a tone) joins the meeting through node 0, which so holds the room, and publishes. Viewer-role
participants join through any node and follow the `redirect` to node 0, where their signalling stays. Node 0 places a
viewer's media transport (on its first offer) on itself while it has room, else on the live node with the fewest
viewers that has room (an *edge*): the answer the viewer gets over /ws names that node's media address and DTLS
fingerprint, and its media flows with that node only, which receives each of the host's tracks once over a relay from
node 0 (one per track per edge, shared by the edge's viewers). `GET /api/cluster` counts viewers per node and lists the
answering node's relays (`out`, `in` with their viewers) and `relays.meetingMedia` (the meeting viewers' transports it
serves for other nodes). When no node has room, the viewer's offer gets the non-fatal error `cluster-full`
(`server-full` on a server alone) and no answer. Room events (chat, mute, track-unpublished) reach edge-served viewers
as any other; a track the host stops publishing ends its relays. When an edge dies, node 0 tells its viewers
`transport-closed` (reason `node-lost`) once the edge's heartbeat is stale, and their new peer connection's offer is
placed anew; when an edge's last viewer leaves, the edge closes its relays about 10 s later.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from e2ekit.cascade import viewers_by_node
from e2ekit.cluster import (ClusterParticipant, cluster_nodes, cluster_view, create_room, link_token,  # noqa: F401 (fixture)
                            wait_everyone_receives_everyone)
from e2ekit.cluster_netns import run
from e2ekit.meeting_cascade import (answer_of, flows, media_node, meeting_media, meeting_relays, place_meeting_viewers,
                                    place_publishers, receiving, sdp_fingerprint, wait_flows_rise, wait_message,
                                    wait_receiving)
from e2ekit.peers import wait_connected
from e2ekit.postgres import database_url, postgres_cluster  # noqa: F401 (fixtures)
from e2ekit.wait import wait_until

pytestmark = pytest.mark.server

ADMIN_KEY = "meeting-cascade-admin-key-0123456789"


def viewer(name: str, nodes, room: str, entry) -> ClusterParticipant:
    """A viewer-role participant (receives only) entering through `entry`; its link is minted by node 0."""
    return ClusterParticipant(name, link_token(nodes[0], room, name, "viewer"), entry.base_url, publish=False)


def host_of(nodes, room: str) -> ClusterParticipant:
    """The meeting's host (publishes camera and microphone), entering through node 0."""
    return ClusterParticipant("host", link_token(nodes[0], room, "host", "host"), nodes[0].base_url)


async def start_meeting(nodes, host: ClusterParticipant, viewers: list[ClusterParticipant]) -> dict[str, str]:
    """The host joins through node 0 (which so holds the room) and publishes; then the viewers join one after the
    other, each placed once the heartbeats count the ones before, and all decode the host's video and audio.
    Returns the host's track ids by kind, as the viewers were told in `joined`."""
    await host.join()
    await host.wait_answered()
    await wait_connected(host.pc)
    await place_meeting_viewers(viewers, nodes[0])
    await wait_receiving(viewers, host, video=20, audio=25, timeout=40)
    tracks = {t["kind"]: t["id"] for t in viewers[0].joined_message.get("tracks", []) if t.get("participant") == host.id}
    assert sorted(tracks) == ["audio", "video"], f"{viewers[0].name}'s joined lists the host's tracks as {tracks}"
    for v in viewers:
        assert v.node == nodes[0].base_url, f"{v.name}'s signalling is at {v.node}, expected node 0 (holding the room)"
        expected = [] if v.entry == nodes[0].base_url else [f"ws://127.0.0.1:{nodes[0].http_port}/ws"]
        assert v.redirects == expected, f"{v.name} entered at {v.entry}, followed {v.redirects}, expected {expected}"
    return tracks


async def close_all(people: list[ClusterParticipant]) -> None:
    for p in people:
        await p.close()


def out_relays(host: ClusterParticipant, tracks: dict[str, str], to: list, kinds=("audio", "video")) -> set[tuple]:
    return {(host.id, tracks[k], n.base_url) for n in to for k in kinds}


def in_relays(host: ClusterParticipant, tracks: dict[str, str], holder, viewers: int, kinds=("audio", "video")) -> set[tuple]:
    return {(host.id, tracks[k], holder.base_url, viewers) for k in kinds}


@pytest.mark.timeout(150)
def test_meeting_viewers_beyond_the_holders_limit_watch_through_other_nodes(cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 3, "--admin-key", ADMIN_KEY, "--max-viewers", "2")
    room = "meeting-cascade"
    create_room(nodes[0], room)
    viewers = [viewer(f"v{i}", nodes, room, nodes[i % 3]) for i in range(6)]   # through nodes 0,1,2,0,1,2
    seventh = viewer("v6", nodes, room, nodes[1])
    host = host_of(nodes, room)
    report: dict = {}

    async def scenario():
        try:
            tracks = await start_meeting(nodes, host, viewers)

            # Placement: two on the holder, then each on the edge with the fewer viewers (2 each in the end).
            served = [media_node(nodes, v) for v in viewers]
            report["served"] = served
            assert served[:2] == [0, 0], f"viewer -> media node {served}: the first two should be on node 0 (the holder)"
            assert {served[2], served[3]} == {1, 2} and {served[4], served[5]} == {1, 2}, \
                f"viewer -> media node {served}: with node 0 full, each should go to the edge with the fewer viewers"
            host_fp = sdp_fingerprint(answer_of(host))
            fps = {i: {sdp_fingerprint(answer_of(v)) for v, at in zip(viewers, served) if at == i} for i in range(3)}
            assert fps[0] == {host_fp}, f"the holder's viewers' answers name the fingerprints {fps[0]}, the host's {host_fp}"
            assert len(fps[1]) == 1 and len(fps[2]) == 1 and len(fps[0] | fps[1] | fps[2]) == 3, \
                f"each node's viewers should be answered with that node's own DTLS fingerprint: {fps}"

            views = await asyncio.to_thread(lambda: [cluster_view(n) for n in nodes])
            for i, view in enumerate(views):
                counts = viewers_by_node(view)
                assert counts == {n.base_url: 2 for n in nodes}, f"/api/cluster on node {i}: viewers {counts}, expected 2 on each"
                maxes = {e["id"].rstrip("/"): e.get("maxViewers") for e in view["nodes"]}
                assert maxes == {n.base_url: 2 for n in nodes}, f"/api/cluster on node {i}: maxViewers {maxes}"
            assert meeting_relays(views[0], "out", room) == out_relays(host, tracks, nodes[1:]), \
                f"node 0's relays {views[0]['relays']}: expected one per host track to each of node 1 and node 2"
            assert meeting_relays(views[0], "in", room) == set(), f"node 0 (the holder) has relays in: {views[0]['relays']}"
            assert meeting_media(views[0]) == [], f"node 0 serves meeting media for others: {meeting_media(views[0])}"
            for k in (1, 2):
                assert meeting_relays(views[k], "in", room) == in_relays(host, tracks, nodes[0], 2), \
                    f"node {k}'s relays {views[k]['relays']}: expected one per host track from node 0, each with 2 viewers"
                assert meeting_relays(views[k], "out", room) == set(), f"node {k}'s relays out: {views[k]['relays']}"
                media = meeting_media(views[k], room)
                mine = sorted(v.id for v, at in zip(viewers, served) if at == k)
                assert sorted(m.get("participant") for m in media) == mine, \
                    f"node {k}'s meetingMedia {media}: expected the participants {mine} placed there"
                assert all(m.get("origin", "").rstrip("/") == nodes[0].base_url and m.get("consumers") == 2 for m in media), \
                    f"node {k}'s meetingMedia {media}: each should have origin node 0 and 2 consumers (audio, video)"
                assert "meeting participant's media served here for the node holding the meeting" in nodes[k].log_text(), \
                    f"node {k}'s log does not say 'meeting participant's media served here for the node holding the meeting'"
            assert "meeting participant's media placed on another node" in nodes[0].log_text(), \
                "node 0's log does not say 'meeting participant's media placed on another node'"

            # A seventh viewer: no node has room.
            await seventh.join()
            refusal = await wait_message(seventh, lambda m: m.get("type") == "error", 10, "error in reply to its offer")
            report["refusal"] = refusal
            assert refusal.get("code") == "cluster-full" and not refusal.get("fatal"), \
                f"the 7th viewer's offer got {refusal}, expected the non-fatal error cluster-full"
            await asyncio.sleep(2.5)   # a heartbeat later: still no answer, nothing counted
            assert seventh.answers == 0, f"the 7th viewer got an answer after cluster-full: {seventh.errors}"
            assert not seventh.ws.closed.is_set(), "the 7th viewer's socket was closed after cluster-full (non-fatal)"
            counts = await asyncio.to_thread(lambda: viewers_by_node(cluster_view(nodes[0])))
            assert counts == {n.base_url: 2 for n in nodes}, f"after the 7th viewer's refusal: viewers {counts}"

            # Room events reach the edge-served viewers: the signalling is on the holder.
            host.ws.send({"type": "chat", "text": "Please share the circular."})
            host.ws.send({"type": "mute", "kind": "audio", "muted": True})
            for v in viewers:
                await wait_message(v, lambda m: m.get("type") == "chat" and m.get("text") == "Please share the circular."
                                   and m.get("from") == host.id, 5, "the host's chat message")
                await wait_message(v, lambda m: m.get("type") == "muted" and m.get("track") == tracks["audio"]
                                   and m.get("muted") is True, 5, "the host's audio muted")

            # The host stops publishing video: everyone is told, the video relays go, audio flows on.
            audio_before = {v.name: v.audio.get(host.id, 0) for v in viewers}
            stopped = time.monotonic()
            host.stop_sending("video")
            for v in viewers:
                await wait_message(v, lambda m: m.get("type") == "track-unpublished" and m.get("track") == tracks["video"],
                                   10, "track-unpublished for the host's video")
            report["unpublished"] = time.monotonic() - stopped

            def only_audio_relays():
                now = [cluster_view(n) for n in nodes]
                state = (meeting_relays(now[0], "out", room), meeting_relays(now[1], "in", room), meeting_relays(now[2], "in", room))
                only_audio_relays.last = state
                return state == (out_relays(host, tracks, nodes[1:], ("audio",)),
                                 in_relays(host, tracks, nodes[0], 2, ("audio",)), in_relays(host, tracks, nodes[0], 2, ("audio",)))

            only_audio_relays.last = None
            try:
                await wait_until(only_audio_relays, 15, "only the audio relays left")
            except AssertionError:
                raise AssertionError(f"15 s after the host stopped its video the relays (node 0 out, node 1 in, node 2 in) "
                                     f"are {only_audio_relays.last}; expected only those of the audio track {tracks['audio']}") from None
            report["video_relays_gone"] = time.monotonic() - stopped
            deadline = time.monotonic() + 10
            while not all(v.audio.get(host.id, 0) >= audio_before[v.name] + 50 for v in viewers):
                assert time.monotonic() < deadline, \
                    f"audio after the host's video stopped: {receiving(viewers, host)} (before: {audio_before})"
                await asyncio.sleep(0.1)
        finally:
            await close_all([host, *viewers, seventh])

    run(asyncio.wait_for(scenario(), 130))
    with capsys.disabled():
        print(f"\n[meeting cascade] 6 viewers through nodes 0,1,2,0,1,2 with --max-viewers 2: media on nodes "
              f"{report['served']}; 7th viewer: {report['refusal']}; after the host stopped its video: track-unpublished "
              f"at every viewer {report['unpublished']:.1f} s, video relays gone {report['video_relays_gone']:.1f} s")
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(150)
def test_an_edge_dying_sends_its_meeting_viewers_media_elsewhere(cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 3, "--admin-key", ADMIN_KEY, "--max-viewers", "1")
    room = "meeting-edge-dies"
    create_room(nodes[0], room)
    local, moved = viewer("local", nodes, room, nodes[0]), viewer("moved", nodes, room, nodes[1])
    host = host_of(nodes, room)
    report: dict = {}

    async def scenario():
        try:
            tracks = await start_meeting(nodes, host, [local, moved])
            assert media_node(nodes, local) == 0, "the first viewer's media should be on node 0 (the holder)"
            x = media_node(nodes, moved)
            assert x in (1, 2), f"the second viewer's media is on node {x}, expected an edge (node 0 is full)"
            y = 3 - x
            report["edges"] = (x, y)
            before = sdp_fingerprint(answer_of(moved))

            killed = time.monotonic()
            local_at_kill = local.frames.get(host.id, 0)
            nodes[x].kill()
            closed = await wait_message(moved, lambda m: m.get("type") == "transport-closed", 10,
                                        f"transport-closed after node {x} (its media's node) was killed")
            report["closed"] = time.monotonic() - killed
            assert closed.get("reason") == "node-lost", f"after the edge's SIGKILL: {closed}, expected reason node-lost"

            # What the page does: a new peer connection offers again on the same socket.
            again = time.monotonic()
            await moved.new_peer_connection()
            await moved.wait_answered(10)
            await wait_receiving([moved], host, video=20, audio=25, timeout=max(1.0, again + 10 - time.monotonic()))
            report["back"] = time.monotonic() - again
            assert media_node(nodes, moved) == y, f"the new transport's media is on node {media_node(nodes, moved)}, " \
                                                  f"expected node {y} (the live node with room)"
            assert sdp_fingerprint(answer_of(moved)) != before, "the new answer names the dead node's fingerprint"
            assert moved.node == nodes[0].base_url and not moved.lost.is_set() and not moved.ws.closed.is_set(), \
                f"the viewer's signalling on node 0 should have carried on: node {moved.node}, errors {moved.errors}"
            assert not any(m.get("type") == "participant-left" for m in host.ws.history), \
                f"the host saw someone leave: {[m for m in host.ws.history if m.get('type') == 'participant-left']}"
            report["local"] = local.frames.get(host.id, 0) - local_at_kill
            assert report["local"] >= 30, \
                f"the holder's own viewer decoded {report['local']} video frames in the {time.monotonic() - killed:.1f} s after the kill"

            def relays_to_y_only():
                view = cluster_view(nodes[0])
                relays_to_y_only.last = (meeting_relays(view, "out", room), meeting_media(cluster_view(nodes[y]), room))
                return relays_to_y_only.last[0] == out_relays(host, tracks, [nodes[y]]) and \
                    [m.get("participant") for m in relays_to_y_only.last[1]] == [moved.id]

            relays_to_y_only.last = None
            try:
                await wait_until(relays_to_y_only, max(1.0, killed + 20 - time.monotonic()),
                                 f"node 0's relays out to node {y} only")
            except AssertionError:
                raise AssertionError(f"20 s after node {x}'s SIGKILL node 0's relays out and node {y}'s meetingMedia are "
                                     f"{relays_to_y_only.last}; expected one relay per host track to node {y} only and "
                                     f"the moved viewer served there") from None
            report["relays_moved"] = time.monotonic() - killed
        finally:
            await close_all([host, local, moved])

    run(asyncio.wait_for(scenario(), 130))
    x, y = report["edges"]
    with capsys.disabled():
        print(f"\n[meeting cascade, edge killed] viewer on node {x}; SIGKILL of node {x}: transport-closed (node-lost) "
              f"{report['closed']:.1f} s later; its new peer connection decoded the host on node {y} "
              f"{report['back']:.1f} s after offering; the holder's viewer decoded {report['local']} frames meanwhile; "
              f"node 0's relays went to node {y} only {report['relays_moved']:.1f} s after the kill")
    for i, n in enumerate(nodes):
        assert n.alive() or i == x, f"node {n.base_url} died"


@pytest.mark.timeout(120)
def test_an_edge_closes_its_meeting_relays_after_its_last_viewer_leaves(cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 2, "--admin-key", ADMIN_KEY, "--max-viewers", "1")
    room = "meeting-edge-empties"
    create_room(nodes[0], room)
    local, leaving = viewer("local", nodes, room, nodes[0]), viewer("leaving", nodes, room, nodes[1])
    host = host_of(nodes, room)
    report: dict = {}

    async def scenario():
        try:
            tracks = await start_meeting(nodes, host, [local, leaving])
            assert [media_node(nodes, local), media_node(nodes, leaving)] == [0, 1], \
                "with --max-viewers 1 the first viewer's media should be on node 0, the second's on node 1"
            views = await asyncio.to_thread(lambda: [cluster_view(n) for n in nodes])
            assert meeting_relays(views[0], "out", room) == out_relays(host, tracks, [nodes[1]]), \
                f"node 0's relays {views[0]['relays']}: expected one per host track to node 1"
            assert meeting_relays(views[1], "in", room) == in_relays(host, tracks, nodes[0], 1), \
                f"node 1's relays {views[1]['relays']}: expected one per host track from node 0, each with 1 viewer"
            assert [m.get("participant") for m in meeting_media(views[1], room)] == [leaving.id], \
                f"node 1's meetingMedia {meeting_media(views[1])}: expected the viewer {leaving.id}"

            left = time.monotonic()
            local_at_leave = local.frames.get(host.id, 0)
            leaving.ws.send({"type": "leave"})
            await leaving.close()
            await wait_message(host, lambda m: m.get("type") == "participant-left" and m.get("participant") == leaving.id,
                               5, "participant-left for the viewer who left")
            await wait_until(lambda: meeting_media(cluster_view(nodes[1]), room) == [], 5,
                             "node 1's meetingMedia without the viewer who left (its transport closed)")
            report["media_gone"] = time.monotonic() - left

            def relays_gone():
                now = [cluster_view(n) for n in nodes]
                relays_gone.last = (meeting_relays(now[0], "out", room), meeting_relays(now[1], "in", room),
                                    viewers_by_node(now[0]))
                return relays_gone.last[:2] == (set(), set()) and relays_gone.last[2] == {nodes[0].base_url: 1, nodes[1].base_url: 0}

            relays_gone.last = None
            try:
                await wait_until(relays_gone, 15, "no relays between the nodes")
            except AssertionError:
                raise AssertionError(f"15 s after the edge's last viewer left: node 0's relays out, node 1's in and the "
                                     f"viewers by node are {relays_gone.last}") from None
            report["relays_gone"] = time.monotonic() - left
            assert "meeting participant's media closed" in nodes[1].log_text(), "node 1's log does not say 'meeting participant's media closed'"
            report["local"] = local.frames.get(host.id, 0) - local_at_leave
            assert report["local"] >= 30, f"the holder's viewer decoded {report['local']} frames after the other left"
        finally:
            await close_all([host, local, leaving])

    run(asyncio.wait_for(scenario(), 100))
    with capsys.disabled():
        print(f"\n[meeting cascade, last edge viewer leaves] its transport on node 1 gone {report['media_gone']:.1f} s, "
              f"the relays {report['relays_gone']:.1f} s after its leave")
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


# ------------------------------------------------------------------------------------------- publishers on other nodes


def publisher(name: str, nodes, room: str, entry, role: str = "participant") -> ClusterParticipant:
    """A participant who publishes camera and microphone, entering through `entry`; its link is minted by node 0."""
    return ClusterParticipant(name, link_token(nodes[0], room, name, role), entry.base_url)


@pytest.mark.timeout(180)
def test_publishers_beyond_the_holders_limit_publish_through_another_node_and_everyone_sees_and_hears_everyone(
        cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 2, "--admin-key", ADMIN_KEY, "--max-publishers", "2")
    room = "meeting-publishers-spread"
    create_room(nodes[0], room)
    people = [publisher(f"p{i}", nodes, room, nodes[i % 2], "host" if i == 0 else "participant") for i in range(4)]
    report: dict = {}

    async def scenario():
        try:
            await place_publishers(people, nodes[0])
            report["everyone"] = await wait_everyone_receives_everyone(people, video=20, audio=25, timeout=60)
            served = [media_node(nodes, p) for p in people]
            report["served"] = served
            assert served == [0, 0, 1, 1], f"participant -> media node {served}: two on node 0 (--max-publishers 2), then node 1"
            on_b = {p.id for p in people[2:]}
            tracks = {p.id: {t["id"] for t in people[0 if p is not people[0] else 1].tracks_now() if t["participant"] == p.id}
                      for p in people}
            assert all(len(v) == 2 for v in tracks.values()), f"each publishes audio and video: {tracks}"

            views = await asyncio.to_thread(lambda: [cluster_view(n) for n in nodes])
            counts = {e["id"].rstrip("/"): (e.get("publishers"), e.get("maxPublishers")) for e in views[0]["nodes"]}
            assert counts == {nodes[0].base_url: (2, 2), nodes[1].base_url: (2, 2)}, f"/api/cluster publishers: {counts}"
            # Node 1's publishers' tracks come to the holder once each...
            into_a = meeting_relays(views[0], "in", room)
            assert {(pub, track, peer) for pub, track, peer, _ in into_a} == \
                {(pid, t, nodes[1].base_url) for pid in on_b for t in tracks[pid]}, f"node 0's relays in: {into_a}"
            # ...and every track goes to node 1 once: node 0's publishers' for both there, each of node 1's for the other.
            out_of_a = meeting_relays(views[0], "out", room)
            assert out_of_a == {(p.id, t, nodes[1].base_url) for p in people for t in tracks[p.id]}, f"node 0's relays out: {out_of_a}"
            assert meeting_relays(views[1], "out", room) == {(pid, t, nodes[0].base_url) for pid in on_b for t in tracks[pid]}
            media = meeting_media(views[1], room)
            assert sorted(m["participant"] for m in media) == sorted(on_b), f"node 1's meetingMedia: {media}"

            # One of node 1's publishers stops its video: everyone is told and its relay goes; the rest flows on.
            sharer = people[2]
            video = next(t["id"] for t in people[0].tracks_now() if t["participant"] == sharer.id and t["kind"] == "video")
            stopped = time.monotonic()
            sharer.stop_sending("video")
            for p in people:
                if p is not sharer:
                    await wait_message(p, lambda m: m.get("type") == "track-unpublished" and m.get("track") == video, 10,
                                       "track-unpublished for a node-1 publisher's video")
            await wait_until(lambda: not any(track == video for _, track, _, _ in meeting_relays(cluster_view(nodes[0]), "in", room)),
                             10, "node 0's relay of the stopped video gone")
            report["unpublished"] = time.monotonic() - stopped
            since = flows(people)
            await wait_flows_rise(people, since, {(p.name, q.name) for p in people for q in people if q is not p and q is not sharer},
                                  15)

            # Node 1's other publisher leaves: the others are told, its relays go.
            leaver = people[3]
            leaver.ws.send({"type": "leave"})
            await leaver.close()
            await wait_message(people[0], lambda m: m.get("type") == "participant-left" and m.get("participant") == leaver.id, 5,
                               "participant-left")
            await wait_until(lambda: not any(pub == leaver.id for pub, _, _, _ in meeting_relays(cluster_view(nodes[0]), "in", room)),
                             10, "node 0's relays of the leaver's tracks gone")
            await wait_until(lambda: [m["participant"] for m in meeting_media(cluster_view(nodes[1]), room)] == [sharer.id], 10,
                             "node 1's meetingMedia without the leaver")
        finally:
            await close_all(people)

    run(asyncio.wait_for(scenario(), 160))
    with capsys.disabled():
        print(f"\n[meeting cascade, publishers] 4 publishers through nodes 0,1,0,1 with --max-publishers 2: media on nodes "
              f"{report['served']}; everyone received everyone {report['everyone']:.1f} s after the last joined; a node-1 "
              f"publisher's video stopped: told and relay gone in {report['unpublished']:.1f} s")
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(180)
def test_a_publisher_whose_node_dies_publishes_again_through_another_and_everyone_sees_it(cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 3, "--admin-key", ADMIN_KEY, "--max-publishers", "2")
    room = "meeting-publisher-edge-dies"
    create_room(nodes[0], room)
    people = [publisher(f"p{i}", nodes, room, nodes[0], "host" if i == 0 else "participant") for i in range(4)]
    report: dict = {}

    async def scenario():
        try:
            await place_publishers(people, nodes[0])
            await wait_everyone_receives_everyone(people, video=20, audio=25, timeout=60)
            served = [media_node(nodes, p) for p in people]
            assert served[:2] == [0, 0] and sorted(served[2:]) == [1, 2], f"participant -> media node {served}"
            moved = people[2]
            x = served[2]
            y = 3 - x
            killed = time.monotonic()
            nodes[x].kill()
            closed = await wait_message(moved, lambda m: m.get("type") == "transport-closed", 10,
                                        f"transport-closed after node {x} (its media's node) was killed")
            report["closed"] = time.monotonic() - killed
            assert closed.get("reason") == "node-lost", closed
            again = time.monotonic()
            await moved.new_peer_connection()
            await moved.wait_answered(10)
            others = [p for p in people if p is not moved]
            report["back"] = await wait_flows_rise([moved, *others], {}, {(moved.name, q.name) for q in others},
                                                   max(1.0, again + 15 - time.monotonic()))
            assert media_node(nodes, moved) == y, f"the new transport is on node {media_node(nodes, moved)}, expected node {y}"
            # Its new tracks reach the meeting: a newcomer (fresh peer connection, media on node 0) decodes all four.
            # (The others' own peer connections get them on the m-lines its old tracks had, which aiortc does not
            # start receiving on again once they went inactive; browsers do.)
            newcomer = viewer("newcomer", nodes, room, nodes[0])
            people.append(newcomer)
            await newcomer.join()
            await newcomer.wait_answered()
            await wait_flows_rise([newcomer, *people[:4]], {}, {(newcomer.name, q.name) for q in people[:4]}, 20)
            assert not any(m.get("type") == "participant-left" for m in people[0].ws.history), "the host saw someone leave"
        finally:
            await close_all(people)

    run(asyncio.wait_for(scenario(), 160))
    with capsys.disabled():
        print(f"\n[meeting cascade, publisher's node killed] transport-closed (node-lost) {report['closed']:.1f} s after the "
              f"SIGKILL; it decoded everyone again {report['back']:.1f} s after its new offer, and a newcomer decoded it")

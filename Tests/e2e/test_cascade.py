"""Cascading between cluster nodes (docs/cluster.md): a broadcast's WHEP viewers spread over the nodes of a cluster.

Three (or two) `sabha serve` nodes on 127.0.0.1 share one scratch PostgreSQL (e2ekit/cluster.py). An aiortc publisher
sends a moving pattern and a tone over WHIP through node 0, which so holds the room. With `--max-viewers 2` on every
node, the holder serves two viewers itself; a viewer reaching a full holder is sent (307, `cascade=1`) to the live
node with the fewest viewers that has room, and a node that does not hold the room serves a viewer itself, through
one relay from the holder per publisher, when the holder's heartbeat says it is full (or the query says `cascade=1`).
Each viewer's answer names only its serving node's media address. When every node is full, a viewer gets 503
`cluster-full`. When the publisher stops, every viewer's session ends, on the holder at once and on the other nodes
within a few seconds; an edge node closes its relay about 10 s after its last viewer left; an edge node dying does
not disturb the holder's own viewers, and the holder closes the relay the dead node no longer asks after (10 s);
the holder dying ends its relayed viewers' sessions on the other nodes (their clients must POST again).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from e2ekit.cascade import (CascadeViewer, peer_of, place_viewers, post_following, relays, serving_index,
                            viewers_by_node, wait_decoding)
from e2ekit.cluster import cluster_nodes, cluster_view, create_room, link_token, same_url  # noqa: F401 (fixture)
from e2ekit.cluster_netns import run, sdp_candidates, selected_pair
from e2ekit.peers import MovingPatternTrack, Publisher, delete_session, wait_connected
from e2ekit.postgres import database_url, postgres_cluster  # noqa: F401 (fixtures)
from e2ekit.wait import wait_until

pytestmark = pytest.mark.server

ADMIN_KEY = "cascade-admin-key-0123456789abcdef"
PUBLISHER = "speaker"


def whep_path(room: str) -> str:
    return f"/whep/{room}/{PUBLISHER}"


def small_publisher() -> Publisher:
    """The e2ekit publisher with a 320x240 pattern at 15 fps (fewer frames to encode and decode on 2 CPUs)."""
    p = Publisher()
    p.video = MovingPatternTrack(width=320, height=240, fps=15)
    return p


def assert_answer_names_only(viewer: CascadeViewer, node) -> None:
    """The viewer's answer offers only `node`'s media address, and the ICE pair in use ends there."""
    cands = sdp_candidates(viewer.session.answer)
    assert cands and {(a, p) for a, p, _ in cands} == {("127.0.0.1", node.udp_port)}, \
        f"{viewer.name} (served by {viewer.served_by}): the answer's candidates are {cands}, expected only " \
        f"127.0.0.1:{node.udp_port} (that node's media port)"
    pair = selected_pair(viewer.pc)
    assert pair is not None and pair[1] == ("127.0.0.1", node.udp_port), \
        f"{viewer.name}: ICE pair in use {pair}, expected one ending at 127.0.0.1:{node.udp_port}"


def cascade_query(url: str) -> bool:
    return parse_qs(urlsplit(url).query).get("cascade") == ["1"]


@pytest.mark.timeout(120)
def test_six_viewers_spread_over_three_full_nodes_a_seventh_is_refused_and_all_end_with_the_publisher(
        cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 3, "--admin-key", ADMIN_KEY, "--max-viewers", "2")
    room = "cascade-broadcast"
    create_room(nodes[0], room)
    pub_token = link_token(nodes[0], room, PUBLISHER)
    tokens = [link_token(nodes[0], room, f"viewer{i}", "viewer") for i in range(7)]
    entries = [nodes[i % 3] for i in range(6)]
    name = {n.base_url: f"node {i}" for i, n in enumerate(nodes)}
    report: dict = {}

    async def scenario():
        publisher = small_publisher()
        viewers = [CascadeViewer(f"v{i}") for i in range(6)]
        seventh = CascadeViewer("v6")
        try:
            pub = await publisher.publish(f"{nodes[0].base_url}/whip/{room}", pub_token)
            assert pub.location.startswith(f"{nodes[0].base_url}/whip/{room}/"), \
                f"WHIP through node 0 of an unheld room should be served there; Location {pub.location}"
            await wait_connected(publisher.pc)

            # One after the other through nodes 0,1,2,0,1,2, each once the heartbeats count the ones before.
            await place_viewers(viewers, entries, tokens, whep_path(room), nodes[0])
            report["decoding"] = await wait_decoding(viewers, video=30, audio=25, timeout=30)
            report["hops"] = {v.name: [name.get(u.split("/whep")[0], u) + ("?cascade=1" if cascade_query(u) else "")
                                       for u in v.hops] for v in viewers}

            served = [serving_index(nodes, v) for v in viewers]
            per_node = [served.count(i) for i in range(3)]
            assert per_node == [2, 2, 2], f"viewers served per node {per_node} (viewer -> node {served}), expected 2 each"
            # The rules with up-to-date heartbeats: v0 on the holder; v1 sent to the holder (not full yet); v2 served
            # by node 2 (holder full); v3 sent by the full holder to node 1, the node with the fewest viewers, with
            # cascade=1; v4 and v5 served where they entered.
            assert served == [0, 0, 2, 1, 1, 2], f"viewer -> serving node {served}, expected [0, 0, 2, 1, 1, 2]; hops {report['hops']}"
            expected_hops = [[nodes[0].base_url], [nodes[1].base_url, nodes[0].base_url], [nodes[2].base_url],
                             [nodes[0].base_url, nodes[1].base_url], [nodes[1].base_url], [nodes[2].base_url]]
            for v, want in zip(viewers, expected_hops):
                assert [u.split("/whep")[0] for u in v.hops] == want, f"{v.name} went through {v.hops}, expected {want}"
            assert cascade_query(viewers[3].hops[1]), f"the full holder's 307 for v3 lacks cascade=1: {viewers[3].hops}"
            for v, i in zip(viewers, served):
                assert_answer_names_only(v, nodes[i])

            views = await asyncio.to_thread(lambda: [cluster_view(n) for n in nodes])
            for asked, view in zip(nodes, views):
                counts = viewers_by_node(view)
                assert counts == {n.base_url: 2 for n in nodes}, f"/api/cluster on {asked.base_url}: viewers {counts}, expected 2 on each"
                maxes = {e["id"].rstrip("/"): e.get("maxViewers") for e in view["nodes"]}
                assert maxes == {n.base_url: 2 for n in nodes}, f"/api/cluster on {asked.base_url}: maxViewers {maxes}"
            out = relays(views[0], "out", room, PUBLISHER)
            assert sorted(peer_of(r, "out") for r in out) == sorted([nodes[1].base_url, nodes[2].base_url]), \
                f"node 0's relays out {views[0]['relays']}: expected one to node 1 and one to node 2"
            assert relays(views[0], "in") == [], f"node 0 (the holder) has relays in: {views[0]['relays']}"
            for k in (1, 2):
                ins = relays(views[k], "in", room, PUBLISHER)
                assert [(peer_of(r, "in"), r.get("viewers")) for r in ins] == [(nodes[0].base_url, 2)], \
                    f"node {k}'s relays in {views[k]['relays']}: expected one from node 0 with 2 viewers"
                assert relays(views[k], "out") == [], f"node {k} relays out: {views[k]['relays']}"
                assert "viewer served through a relay from" in nodes[k].log_text(), \
                    f"node {k}'s log does not say 'viewer served through a relay from'"
            assert "relay opened" in nodes[0].log_text(), "node 0's log does not say 'relay opened'"

            # A seventh viewer, through any node: every node is full.
            offer = await seventh.offer()
            refusals = {}
            for i, entry in enumerate(nodes):
                resp, urls = await asyncio.to_thread(post_following, entry.base_url + whep_path(room), tokens[6], offer)
                body = resp.json() if resp.headers.get("Content-Type", "").endswith("json") else {}
                refusals[f"node {i}"] = (resp.status_code, body.get("code"), [name.get(u.split("/whep")[0], u) for u in urls])
                assert resp.status_code == 503 and body.get("code") == "cluster-full", \
                    f"a 7th viewer through node {i} (hops {urls}): {resp.status_code} {resp.text[:300]}; expected 503 cluster-full"
            report["refusals"] = refusals

            # The publisher stops: every viewer's session ends.
            stopped = time.monotonic()
            status = await asyncio.to_thread(delete_session, pub.location, pub_token)
            assert status in (200, 204), f"DELETE of the WHIP session: {status}"
            deadline = stopped + 8
            while not all(v.ended() for v in viewers) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            ended = {v.name: (round(v.closed_at - stopped, 2) if v.closed_at else None) for v in viewers}
            report["ended"] = ended
            for v, i in zip(viewers, served):
                limit = 2 if i == 0 else 6
                assert v.closed_at is not None and v.closed_at - stopped <= limit, \
                    f"{v.name} (on node {i}) ended {ended[v.name]} s after the publisher's DELETE (allowed {limit} s; " \
                    f"None = still {v.pc.connectionState} after 8 s); all: {ended}"
            for v, token in zip(viewers, tokens):
                status = await asyncio.to_thread(delete_session, v.session.location, token)
                assert status == 404, f"{v.name}'s session {v.session.location} still answers DELETE with {status} (ended: 404)"

            def all_clear():
                now = [cluster_view(n) for n in nodes]
                counts = [viewers_by_node(view) for view in now]
                left = [(relays(view, "out"), relays(view, "in")) for view in now]
                if all(sum(v or 0 for v in c.values()) == 0 for c in counts) and all(o == [] and i == [] for o, i in left):
                    return time.monotonic() - stopped
                all_clear.last = (counts, left)
                return None

            # The heartbeats (every 2 s) drop the viewers; an edge node closes a relay ~10 s after its last viewer.
            all_clear.last = None
            try:
                report["clear"] = await wait_until(all_clear, 20, "no viewers and no relays on any node")
            except AssertionError:
                raise AssertionError(f"20 s after the publisher's DELETE the nodes still show (viewers by node, per node "
                                     f"asked; (relays out, in) per node): {all_clear.last}") from None
        finally:
            for v in [*viewers, seventh]:
                await v.close()
            await publisher.close()

    run(asyncio.wait_for(scenario(), 110))
    with capsys.disabled():
        print(f"\n[cascade] 6 viewers through nodes 0,1,2,0,1,2 with --max-viewers 2: hops {report['hops']}; all decoding "
              f"{report['decoding']:.1f} s after the last was placed; 7th viewer: {report['refusals']}; after the "
              f"publisher's DELETE the sessions ended at {report['ended']} s, no viewers nor relays left at {report['clear']:.1f} s")
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(120)
def test_a_forced_relay_closes_after_its_last_viewer_and_an_edge_dying_leaves_the_holders_viewer_undisturbed(
        cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 2, "--admin-key", ADMIN_KEY)
    room = "cascade-forced"
    create_room(nodes[0], room)
    pub_token = link_token(nodes[0], room, PUBLISHER)
    tokens = [link_token(nodes[0], room, f"viewer{i}", "viewer") for i in range(3)]
    path = whep_path(room)
    report: dict = {}

    async def relay_out(present: bool) -> bool:
        """Node 0's relays out of the publisher are exactly one to node 1 (present) or none."""
        view = await asyncio.to_thread(cluster_view, nodes[0])
        out = [peer_of(r, "out") for r in relays(view, "out", room, PUBLISHER)]
        return out == [nodes[1].base_url] if present else out == []

    async def scenario():
        publisher = small_publisher()
        local, relayed, again = CascadeViewer("local"), CascadeViewer("relayed"), CascadeViewer("relayed-again")
        try:
            pub = await publisher.publish(f"{nodes[0].base_url}/whip/{room}", pub_token)
            await wait_connected(publisher.pc)
            await local.watch_following(nodes[0].base_url + path, tokens[0])
            await relayed.watch_following(nodes[1].base_url + path + "?cascade=1", tokens[1])
            assert local.hops == [nodes[0].base_url + path], f"the holder's own viewer went through {local.hops}"
            assert relayed.hops == [nodes[1].base_url + path + "?cascade=1"], \
                f"?cascade=1 on node 1 should be served there, without a redirect; went through {relayed.hops}"
            await wait_decoding([local, relayed], video=30, audio=25, timeout=30)
            assert_answer_names_only(local, nodes[0])
            assert_answer_names_only(relayed, nodes[1])
            views = await asyncio.to_thread(lambda: [cluster_view(n) for n in nodes])
            assert [peer_of(r, "out") for r in relays(views[0], "out", room, PUBLISHER)] == [nodes[1].base_url], \
                f"node 0's relays: {views[0]['relays']}; expected one out to node 1"
            assert [(peer_of(r, "in"), r.get("viewers")) for r in relays(views[1], "in", room, PUBLISHER)] == [(nodes[0].base_url, 1)], \
                f"node 1's relays: {views[1]['relays']}; expected one in from node 0 with 1 viewer"
            assert f"viewer served through a relay from {nodes[0].base_url}" in nodes[1].log_text(), \
                f"node 1's log does not say 'viewer served through a relay from {nodes[0].base_url}'"

            # The relayed viewer leaves: the relay is closed about 10 s later.
            left = time.monotonic()
            status = await asyncio.to_thread(delete_session, relayed.session.location, tokens[1])
            assert status in (200, 204), f"DELETE of the relayed viewer's session on node 1: {status}"
            deadline = left + 15
            while not await relay_out(present=False):
                assert time.monotonic() < deadline, \
                    f"node 0 still shows its relay out to node 1 15 s after the relay's last viewer left: " \
                    f"{(await asyncio.to_thread(cluster_view, nodes[0]))['relays']}"
                await asyncio.sleep(0.25)
            report["relay_closed"] = time.monotonic() - left
            view1 = await asyncio.to_thread(cluster_view, nodes[1])
            assert relays(view1, "in") == [], f"node 0 closed its relay out, node 1 still has it in: {view1['relays']}"
            assert local.pc.connectionState == "connected", f"the holder's viewer is {local.pc.connectionState}"

            # A new relayed viewer opens a relay again.
            await again.watch_following(nodes[1].base_url + path + "?cascade=1", tokens[2])
            await wait_decoding([again], video=20, audio=25, timeout=20)
            assert await relay_out(present=True), "node 0 shows no relay out to node 1 for the new relayed viewer"

            # Node 1 dies: the holder's own viewer goes on without a gap.
            samples = [(time.monotonic(), local.counts.video_frames, local.counts.audio_frames)]
            nodes[1].kill()
            while time.monotonic() < samples[0][0] + 4:
                await asyncio.sleep(0.2)
                samples.append((time.monotonic(), local.counts.video_frames, local.counts.audio_frames))
                assert local.pc.connectionState == "connected", \
                    f"the holder's viewer became {local.pc.connectionState} {samples[-1][0] - samples[0][0]:.1f} s after node 1's kill"
            video = samples[-1][1] - samples[0][1]
            audio = samples[-1][2] - samples[0][2]
            # The longest time without a new video frame: between the kill (or a frame) and the next frame.
            frame_times = [samples[0][0]] + [t for (t, v, _), (_, prev, _) in zip(samples[1:], samples) if v > prev] + [samples[-1][0]]
            longest = max(b - a for a, b in zip(frame_times, frame_times[1:]))
            report["after_kill"] = (video, audio, round(longest, 2))
            assert video >= 30 and audio >= 100, \
                f"the holder's viewer decoded {video} video and {audio} audio frames in the 4 s after node 1's kill " \
                f"(expected about 60 and 200; at least 30 and 100)"
            assert longest < 1.0, f"the holder's viewer got no new video frame for {longest:.1f} s after node 1's kill " \
                                  f"(frames sampled every 0.2 s: {[v for _, v, _ in samples]})"
            assert publisher.pc.connectionState == "connected", f"the publisher became {publisher.pc.connectionState}"

            # The dead edge no longer asks after its relay (it did every heartbeat): the holder closes it after 10 s.
            killed = samples[0][0]
            while not await relay_out(present=False):
                assert time.monotonic() < killed + 16, \
                    f"node 0 still sends a relay to the killed node 1 16 s after the kill: " \
                    f"{(await asyncio.to_thread(cluster_view, nodes[0]))['relays']}"
                await asyncio.sleep(0.25)
            report["abandoned"] = time.monotonic() - killed
            assert "reason=the edge stopped asking for it" in nodes[0].log_text(), \
                "node 0's log does not say its relay to node 1 was closed because 'the edge stopped asking for it'"
            assert local.pc.connectionState == "connected" and local.counts.video_frames > samples[-1][1], \
                f"the holder's viewer is {local.pc.connectionState} with {local.counts.video_frames} video frames " \
                f"(had {samples[-1][1]}) after the dead edge's relay was closed"

            status = await asyncio.to_thread(delete_session, local.session.location, tokens[0])
            assert status in (200, 204), f"DELETE of the holder's viewer: {status}"
            status = await asyncio.to_thread(delete_session, pub.location, pub_token)
            assert status in (200, 204), f"DELETE of the WHIP session: {status}"
        finally:
            for v in (local, relayed, again):
                await v.close()
            await publisher.close()

    run(asyncio.wait_for(scenario(), 110))
    with capsys.disabled():
        video, audio, longest = report["after_kill"]
        print(f"\n[cascade, forced relay] relay out closed {report['relay_closed']:.1f} s after its last viewer left; "
              f"after SIGKILL of node 1 the holder's viewer decoded {video} video / {audio} audio frames in 4 s "
              f"(longest stall {longest} s); node 0 closed its relay to the dead node {report['abandoned']:.1f} s after the kill")
    assert nodes[0].alive(), "node 0 died"


@pytest.mark.timeout(90)
def test_when_the_holder_dies_its_relayed_viewers_sessions_end(cluster_nodes, database_url, capsys):
    nodes = cluster_nodes(database_url, 2, "--admin-key", ADMIN_KEY)
    room = "cascade-holder-dies"
    create_room(nodes[0], room)
    pub_token = link_token(nodes[0], room, PUBLISHER)
    tokens = [link_token(nodes[0], room, f"viewer{i}", "viewer") for i in range(2)]
    report: dict = {}

    async def scenario():
        publisher = small_publisher()
        viewers = [CascadeViewer(f"relayed{i}") for i in range(2)]
        try:
            await publisher.publish(f"{nodes[0].base_url}/whip/{room}", pub_token)
            await wait_connected(publisher.pc)
            for v, token in zip(viewers, tokens):
                await v.watch_following(nodes[1].base_url + whep_path(room) + "?cascade=1", token)
                assert same_url(v.served_by, nodes[1].base_url), f"{v.name} with ?cascade=1 on node 1 went through {v.hops}"
            await wait_decoding(viewers, video=30, audio=25, timeout=30)
            view = await asyncio.to_thread(cluster_view, nodes[1])
            assert [(peer_of(r, "in"), r.get("viewers")) for r in relays(view, "in", room, PUBLISHER)] == [(nodes[0].base_url, 2)], \
                f"node 1's relays {view['relays']}: expected one in from node 0 shared by the 2 viewers"

            # SIGKILL of the holder: node 1 cannot reach it (it asks after the relay every heartbeat) and ends the copy
            # and its viewers' sessions; their clients must POST again.
            killed = time.monotonic()
            nodes[0].kill()
            while not all(v.ended() for v in viewers) and time.monotonic() < killed + 15:
                await asyncio.sleep(0.1)
            report["ended"] = {v.name: (round(v.closed_at - killed, 2) if v.closed_at else None) for v in viewers}
            assert all(v.closed_at is not None for v in viewers), \
                f"15 s after the holder's SIGKILL the relayed viewers' connections are " \
                f"{[v.pc.connectionState for v in viewers]} (ended at {report['ended']} s); expected their sessions ended"
            for v, token in zip(viewers, tokens):
                status = await asyncio.to_thread(delete_session, v.session.location, token)
                assert status == 404, f"{v.name}'s session on node 1 still answers DELETE with {status} (ended: 404)"
            view = await asyncio.to_thread(cluster_view, nodes[1])
            assert relays(view, "in") == [], f"node 1 still shows a relay in from the dead holder: {view['relays']}"
            assert "relay ended: the node holding the room cannot be reached" in nodes[1].log_text(), \
                "node 1's log does not say 'relay ended: the node holding the room cannot be reached'"
        finally:
            for v in viewers:
                await v.close()
            await publisher.close()

    run(asyncio.wait_for(scenario(), 80))
    with capsys.disabled():
        print(f"\n[cascade, holder killed] the 2 relayed viewers on node 1 ended {report['ended']} s after the holder's SIGKILL")
    assert nodes[1].alive(), "node 1 died"

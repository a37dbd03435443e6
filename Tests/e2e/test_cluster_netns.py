"""The cluster in network namespaces on one machine with one PostgreSQL (e2ekit/cluster_netns.py): three `sabha serve`
nodes, each in a namespace of its own at its own address (10.77.<k>.11-13, all on port 8080 with media on 20000, each
`--public-url http://<its address>:8080`), one scratch PostgreSQL listening on the hub's address 10.77.<k>.1 in the
test's namespace, and aiortc participants there too, all joined through a bridge by veth links the test makes.

A participant enters through any node; a node that does not hold the room sends it on (`redirect` on /ws) to the
node's --public-url that does, and the media flow between the participant's address 10.77.<k>.1 and that node's
address: the ICE pair aiortc nominates and the byte counters of the veth ends show it. When the holding node is
killed, every participant joins again through a surviving node (once a second, the same token, following redirects)
and everyone receives everyone again within 10 s of the kill.

A broadcast spreads over the nodes (cascading, each node `--max-viewers 2`): a WHIP publisher at the holder, six WHEP
viewers entering through every node end up two on each, every viewer's media flows between T and its serving node, and
the holder feeds the other two nodes by relays that cross the bridge between the nodes' links, not T's."""

from __future__ import annotations

import asyncio
import time

import pytest

from e2ekit.cascade import CascadeViewer, peer_of, place_viewers, relays, serving_index, wait_decoding
from e2ekit.cluster import (ClusterParticipant, cluster_view, create_room, join_everyone, kill_and_rejoin, link_token,
                            same_url)
from e2ekit.cluster_netns import RTC_PORT, netns_cluster, run, sdp_candidates, selected_pair  # noqa: F401 (fixture)
from e2ekit.meeting_cascade import flows, media_node, place_meeting_viewers, place_publishers, wait_flows_rise
from e2ekit.metrics import fetch as metrics
from e2ekit.peers import MovingPatternTrack, Publisher, wait_connected
from e2ekit.wait import wait_for

pytestmark = pytest.mark.server


def ws_url(node) -> str:
    return f"ws://{node.host}:{node.http_port}/ws"


def assert_media_through(people: list[ClusterParticipant], holder, hub_addr: str) -> None:
    """Each participant's peer connection was answered with the holder's address as the only candidate, and the ICE
    pair in use joins the hub's address to the holder's media address."""
    for p in people:
        cands = sdp_candidates(p.pc.remoteDescription.sdp)
        assert cands and {(a, port) for a, port, _ in cands} == {(holder.host, RTC_PORT)}, \
            f"{p.name}: the answer's candidates are {cands}, expected only {holder.host}:{RTC_PORT}"
        pair = selected_pair(p.pc)
        assert pair is not None, f"{p.name}: no nominated ICE pair"
        (local, _), remote = pair
        assert local == hub_addr and remote == (holder.host, RTC_PORT), \
            f"{p.name}: media between {local} and {remote}, expected {hub_addr} and {holder.host}:{RTC_PORT}"


def link_traffic(before: dict, after: dict) -> dict[str, tuple[int, int]]:
    return {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in after}


def assert_traffic_on(traffic: dict[str, tuple[int, int]], holder_index: int, count: int) -> None:
    """The holder's link carried the media both ways (well over what the others carry: the database's traffic)."""
    rx, tx = traffic[f"node{holder_index}"]
    assert rx > 200_000 and tx > 200_000, f"node {holder_index}'s link carried {rx} bytes in, {tx} out: {traffic}"
    for i in range(count):
        if i != holder_index:
            orx, otx = traffic[f"node{i}"]
            assert orx + otx < (rx + tx) / 10, f"node {i} (not holding the room) carried {orx}+{otx} bytes: {traffic}"


def holder_in_cluster_view(view: dict, room: str) -> list[str]:
    return [e["id"].rstrip("/") for e in view["nodes"] if room in e["rooms"]]


@pytest.mark.timeout(150)
def test_participants_entering_through_three_namespaced_nodes_meet_on_one_and_receive_each_other(netns_cluster, capsys):
    c = netns_cluster
    nodes, net = c.nodes, c.net
    room = "netns-meeting"
    create_room(nodes[0], room)
    # The first participant enters through node 2, which so takes the room; the others through every node.
    entries = [nodes[2], nodes[0], nodes[1], nodes[2], nodes[0]]
    people = [ClusterParticipant(f"p{i}", link_token(entries[i], room, f"p{i}"), entries[i].base_url) for i in range(len(entries))]
    holder = nodes[2]
    report: dict = {}

    async def meeting():
        try:
            await join_everyone(people)
            before = net.link_bytes()
            t0 = time.monotonic()
            await asyncio.sleep(3)
            report["traffic"] = link_traffic(before, net.link_bytes())
            report["window"] = time.monotonic() - t0

            where = {p.name: p.node for p in people}
            assert all(same_url(url, holder.base_url) for url in where.values()), f"not all on node 2 ({holder.base_url}): {where}"
            for p, entry in zip(people, entries):
                expected = [] if entry is holder else [ws_url(holder)]
                assert p.redirects == expected, f"{p.name} entered at {entry.base_url}, was sent to {p.redirects}"
                assert not p.errors, f"{p.name}: {p.errors}"
            assert_media_through(people, holder, net.hub_addr)
            report["pairs"] = {p.name: selected_pair(p.pc) for p in people}
            counted = await asyncio.to_thread(lambda: [metrics(n.base_url).value("sabha_meeting_participants") for n in nodes])
            assert counted == [0, 0, 5], f"participants counted by node: {counted}"
            for asked in nodes:   # every node, asked at its own address, says node 2 holds the room
                view = await asyncio.to_thread(cluster_view, asked)
                assert holder_in_cluster_view(view, room) == [holder.base_url], f"/api/cluster on {asked.base_url}: {view}"
                assert sorted(e["id"].rstrip("/") for e in view["nodes"] if e["alive"]) == sorted(n.base_url for n in nodes), view
        finally:
            for p in people:
                await p.close()

    run(meeting())
    assert_traffic_on(report["traffic"], 2, len(nodes))
    with capsys.disabled():
        kbps = {k: (round(rx * 8 / report["window"] / 1000), round(tx * 8 / report["window"] / 1000))
                for k, (rx, tx) in report["traffic"].items()}
        print(f"\n[cluster in namespaces] 5 participants entering through nodes 2,0,1,2,0 all on node 2 ({holder.host}); "
              f"ICE pairs {sorted(set(report['pairs'].values()))}; veth kbit/s (in, out) over {report['window']:.1f} s: {kbps}")
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(150)
def test_when_the_namespaced_holder_is_killed_everyone_is_back_through_a_survivor_within_ten_seconds(
        netns_cluster, capsys, record_property):
    c = netns_cluster
    nodes, net = c.nodes, c.net
    room = "netns-failover"
    create_room(nodes[0], room)
    entries = [nodes[1], nodes[2], nodes[0], nodes[1]]   # the first through node 1: it holds the room
    people = [ClusterParticipant(f"p{i}", link_token(entries[i], room, f"p{i}"), entries[i].base_url) for i in range(4)]
    holder = nodes[1]
    survivors = [nodes[0], nodes[2]]
    report: dict = {}

    async def scenario():
        try:
            await join_everyone(people)
            assert all(same_url(p.node, holder.base_url) for p in people), [(p.name, p.node) for p in people]
            assert_media_through(people, holder, net.hub_addr)
            report.update(await kill_and_rejoin(people, holder, survivors))   # SIGKILL in namespace N1
            holders = set(report["node"].values())
            assert len(holders) == 1, f"the participants are split over several nodes after the failover: {report['node']}"
            (new_url,) = holders
            new = next((s for s in survivors if same_url(new_url, s.base_url)), None)
            assert new is not None, f"rejoined at {new_url}, not a survivor"
            report["new"] = new
            assert_media_through(people, new, net.hub_addr)
            before = net.link_bytes()
            await asyncio.sleep(2)
            report["traffic"] = link_traffic(before, net.link_bytes())
        finally:
            for p in people:
                await p.close()

    run(scenario())
    back, new = report["back"], report["new"]
    new_index = nodes.index(new)
    record_property("failover_seconds", round(back, 2))
    record_property("rejoined_seconds", report["joined"])
    first = min(t for attempts in report["attempts"].values() for t, _, outcome in attempts if outcome.startswith("joined"))
    name = {n.base_url: f"node {i}" for i, n in enumerate(nodes)}

    def brief(entry: str, outcome: str) -> str:   # "via node 0: sent to node 1, refused" / "via node 2: joined at node 2"
        for url, label in name.items():
            outcome = outcome.replace(url, label)
        refused = "ConnectionError: cannot connect to "
        if outcome.startswith(refused):
            target = outcome[len(refused):].split("/ws")[0]
            outcome = f"{'' if target == name.get(entry) else f'sent to {target}, '}connection refused"
        return f"via {name.get(entry, entry)}: {outcome[:100]}"

    tries = {who: [(t, brief(entry, outcome)) for t, entry, outcome in attempts] for who, attempts in report["attempts"].items()}
    with capsys.disabled():
        print(f"\n[cluster in namespaces, failover] SIGKILL of node 1 ({holder.host}) holding the room: first rejoin admitted "
              f"at {first:.2f} s, all 4 joined at {report['joined']} s on node {new_index} ({new.host}); everyone receiving "
              f"everyone's audio and video {back:.2f} s after the kill. Attempts (s after the kill, outcome): {tries}")
    assert back <= 10, f"everyone was back {back:.2f} s after the kill (allowed: 10 s); joined at {report['joined']} s"
    assert_traffic_on({k: v for k, v in report["traffic"].items() if k != "node1"} | {"node1": (0, 0)}, new_index, len(nodes))

    def shows_new_holder(asked):
        view = cluster_view(asked)
        dead = next((e for e in view["nodes"] if same_url(e["id"], holder.base_url)), None)
        return view if dead is not None and dead["alive"] is False and holder_in_cluster_view(view, room) == [new.base_url] else None

    for asked in survivors:   # node 1's last heartbeat is over 6 s old by now: at most a moment's wait
        wait_for(lambda: shows_new_holder(asked), 8, f"/api/cluster on {asked.base_url} to show node 1 dead and the room on {new.base_url}")
    for n in survivors:
        assert n.alive(), f"node {n.base_url} died"


def assert_broadcast_traffic(traffic: dict[str, tuple[int, int]]) -> None:
    """One publisher (in T) into node 0, two viewers (in T) on each node, nodes 1 and 2 fed by one relay each from
    node 0. In stream units S (the publisher's media): node 0 takes in S and sends 4 S (two viewers, two relays);
    nodes 1 and 2 each take in S (their relay) and send 2 S; T sends S and takes in 6 S. The relays cross the bridge
    between the nodes' links only: what the nodes take in together (3 S) is far more than T sends (S)."""
    (h_rx, h_tx), (n0_rx, n0_tx) = traffic["hub"], traffic["node0"]
    floor = 100_000
    assert n0_rx > floor and n0_tx > 2.5 * n0_rx, \
        f"node 0 (holder) took in {n0_rx} bytes and sent {n0_tx}; expected the publisher's stream in and about 4 times " \
        f"that out (2 viewers, 2 relays): {traffic}"
    for i in (1, 2):
        rx, tx = traffic[f"node{i}"]
        assert rx > 0.5 * n0_rx and tx > 1.4 * rx, \
            f"node {i} took in {rx} bytes and sent {tx}; expected its relay in (about node 0's {n0_rx} in) and about " \
            f"twice that out to its 2 viewers: {traffic}"
    nodes_rx = sum(traffic[f"node{i}"][0] for i in range(3))
    assert h_tx < 0.6 * nodes_rx, \
        f"T sent {h_tx} bytes while the nodes took in {nodes_rx}: the relays should reach nodes 1 and 2 from node 0 " \
        f"over the bridge, not from T: {traffic}"
    assert h_rx > 3 * h_tx, f"T (the 6 viewers) took in {h_rx} bytes, sent {h_tx}; expected about 6 times more in: {traffic}"


@pytest.mark.timeout(150)
@pytest.mark.parametrize("netns_cluster", [{"node_args": ["--max-viewers", "2"]}], indirect=True, ids=["max-viewers-2"])
def test_a_broadcasts_viewers_spread_over_three_namespaced_nodes_each_node_carrying_its_own(netns_cluster, capsys):
    c = netns_cluster
    nodes, net = c.nodes, c.net
    room = "netns-broadcast"
    create_room(nodes[0], room)
    pub_token = link_token(nodes[0], room, "speaker")
    tokens = [link_token(nodes[0], room, f"viewer{i}", "viewer") for i in range(6)]
    entries = [nodes[i % 3] for i in range(6)]   # each node --max-viewers 2: the holder (node 0) fills first
    report: dict = {}

    async def broadcast():
        publisher = Publisher()
        publisher.video = MovingPatternTrack(width=320, height=240, fps=15)
        viewers = [CascadeViewer(f"v{i}") for i in range(6)]
        try:
            pub = await publisher.publish(f"{nodes[0].base_url}/whip/{room}", pub_token)
            assert pub.location.startswith(f"{nodes[0].base_url}/whip/{room}/"), pub.location
            await wait_connected(publisher.pc)
            await place_viewers(viewers, entries, tokens, f"/whep/{room}/speaker", nodes[0])
            report["decoding"] = await wait_decoding(viewers, video=30, audio=25, timeout=30)

            served = [serving_index(nodes, v) for v in viewers]
            report["served"] = served
            assert [served.count(i) for i in range(3)] == [2, 2, 2], f"viewer -> serving node {served}, expected 2 on each node"
            for v, i in zip(viewers, served):
                cands = sdp_candidates(v.session.answer)
                assert cands and {(a, p) for a, p, _ in cands} == {(nodes[i].host, RTC_PORT)}, \
                    f"{v.name} (served by node {i}): the answer's candidates are {cands}, expected only {nodes[i].host}:{RTC_PORT}"
                pair = selected_pair(v.pc)
                assert pair is not None and pair[0][0] == net.hub_addr and pair[1] == (nodes[i].host, RTC_PORT), \
                    f"{v.name}: media between {pair}, expected {net.hub_addr} and node {i}'s {nodes[i].host}:{RTC_PORT}"
            view = await asyncio.to_thread(cluster_view, nodes[0])
            out = sorted(peer_of(r, "out") for r in relays(view, "out", room, "speaker"))
            assert out == sorted([nodes[1].base_url, nodes[2].base_url]), \
                f"node 0's relays {view.get('relays')}: expected one out to node 1 and one to node 2"

            before = await asyncio.to_thread(net.link_bytes)
            frames = [v.counts.video_frames for v in viewers]
            t0 = time.monotonic()
            await asyncio.sleep(4)
            report["traffic"] = link_traffic(before, await asyncio.to_thread(net.link_bytes))
            report["window"] = time.monotonic() - t0
            report["frames"] = [v.counts.video_frames - f for v, f in zip(viewers, frames)]
            assert all(n >= 20 for n in report["frames"]), \
                f"video frames decoded per viewer in the {report['window']:.1f} s window: {report['frames']} (expected about 60)"
        finally:
            for v in viewers:
                await v.close()
            await publisher.close()

    run(asyncio.wait_for(broadcast(), 120))
    with capsys.disabled():
        kbps = {k: (round(rx * 8 / report["window"] / 1000), round(tx * 8 / report["window"] / 1000))
                for k, (rx, tx) in report["traffic"].items()}
        print(f"\n[cluster in namespaces, broadcast] 6 viewers through nodes 0,1,2,0,1,2 with --max-viewers 2 served by "
              f"nodes {report['served']}, all decoding {report['decoding']:.1f} s after the last was placed; frames in "
              f"{report['window']:.1f} s {report['frames']}; veth kbit/s (in, out): {kbps}")
    assert_broadcast_traffic(report["traffic"])
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"


@pytest.mark.timeout(150)
@pytest.mark.parametrize("netns_cluster", [{"node_args": ["--max-publishers", "1", "--max-viewers", "1"]}], indirect=True,
                         ids=["one-of-each-per-node"])
def test_a_meetings_media_spreads_over_three_namespaced_nodes_and_everyone_sees_and_hears_the_speakers(netns_cluster, capsys):
    """A meeting spanning nodes (docs/cluster.md, "A meeting across nodes"): each node serves one speaker's and one
    viewer's media; three speakers and three viewers enter through nodes 0, 1, 2. Every one's media flows with the
    node it was placed on, the speakers' tracks go to the holder and on to the others over relays across the bridge,
    and everyone decodes every speaker."""
    c = netns_cluster
    nodes, net = c.nodes, c.net
    room = "netns-spread-meeting"
    create_room(nodes[0], room)
    speakers = [ClusterParticipant(f"s{i}", link_token(nodes[0], room, f"s{i}", "host" if i == 0 else "participant"),
                                   nodes[i].base_url) for i in range(3)]
    watchers = [ClusterParticipant(f"w{i}", link_token(nodes[0], room, f"w{i}", "viewer"), nodes[i].base_url, publish=False)
                for i in range(3)]
    everyone = speakers + watchers
    report: dict = {}

    async def meeting():
        try:
            await place_publishers(speakers, nodes[0])
            await place_meeting_viewers(watchers, nodes[0])
            pairs = {(p.name, q.name) for p in everyone for q in speakers if q is not p}
            report["decoding"] = await wait_flows_rise(everyone, {}, pairs, 40)
            placed = {p.name: media_node(nodes, p) for p in everyone}
            report["placed"] = placed
            assert placed["s0"] == 0 and placed["w0"] == 0, f"participant -> media node {placed}: s0 and w0 on the holder"
            assert sorted([placed["s1"], placed["s2"]]) == [1, 2] and sorted([placed["w1"], placed["w2"]]) == [1, 2], \
                f"participant -> media node {placed}: one speaker and one viewer on each other node"
            for p in everyone:
                pair = selected_pair(p.pc)
                assert pair is not None and pair[0][0] == net.hub_addr, f"{p.name}: media between {pair}, expected from {net.hub_addr}"
            assert all(same_url(p.node, nodes[0].base_url) for p in everyone), \
                f"signalling: {[(p.name, p.node) for p in everyone]}, expected everyone's on node 0 (the holder)"

            before = await asyncio.to_thread(net.link_bytes)
            since = flows(everyone)
            t0 = time.monotonic()
            await asyncio.sleep(4)
            report["traffic"] = link_traffic(before, await asyncio.to_thread(net.link_bytes))
            report["window"] = time.monotonic() - t0
            await wait_flows_rise(everyone, since, pairs, 5)
        finally:
            for p in everyone:
                await p.close()

    run(asyncio.wait_for(meeting(), 130))
    traffic = report["traffic"]
    with capsys.disabled():
        kbps = {k: (round(rx * 8 / report["window"] / 1000), round(tx * 8 / report["window"] / 1000)) for k, (rx, tx) in traffic.items()}
        print(f"\n[cluster in namespaces, meeting across nodes] 3 speakers and 3 viewers through nodes 0,1,2 with "
              f"--max-publishers 1 --max-viewers 1: media on {report['placed']}, everyone decoding every speaker "
              f"{report['decoding']:.1f} s after the last was placed; veth kbit/s (in, out): {kbps}")
    # In speaker streams S: T sends 3 S (one speaker to each node); each node takes in its speaker's S and the other two
    # by relay (3 S), so the nodes take in 9 S together, most of it over the bridge between their links, not from T.
    nodes_rx = sum(traffic[f"node{i}"][0] for i in range(3))
    for i in range(3):
        rx, tx = traffic[f"node{i}"]
        assert rx > 100_000 and tx > 100_000, f"node {i}'s link carried {rx} bytes in, {tx} out: every node serves media: {traffic}"
    assert traffic["hub"][1] < 0.6 * nodes_rx, \
        f"T sent {traffic['hub'][1]} bytes while the nodes took in {nodes_rx}: the speakers' tracks should reach the other " \
        f"nodes over relays across the bridge, not from T: {traffic}"
    for n in nodes:
        assert n.alive(), f"node {n.base_url} died"

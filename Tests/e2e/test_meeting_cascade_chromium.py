"""A meeting across two nodes with browsers (docs/cluster.md, "A meeting across nodes"): the meeting page in headless
Chromium, unchanged.

- Viewers: a host publishes through node A, which holds the room and serves at most one viewer (`--max-viewers 1`);
  the first viewer's media is on A, the second viewer opens the page at node B, its socket is sent to A (the meeting
  is there), and A places its media on B: its answer names B's media port, its browser's ICE pair ends there, B
  relays the host's two tracks from A and forwards them, and the page shows the host as on one server. When it
  leaves, B closes its transport and, 10 s later, the relays.
- Speakers: with `--max-publishers 1`, a second speaker's media (simulcast camera and microphone) is on B, relayed to
  A once per track; the host on A and the speaker on B see and hear each other.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from e2ekit.cascade import peer_of, relays, wait_viewer_total
from e2ekit.cluster import cluster_nodes, cluster_view  # noqa: F401 (fixture)
from e2ekit.cluster_netns import sdp_candidates
from e2ekit.postgres import database_url, postgres_cluster  # noqa: F401 (fixtures)
from e2ekit.wait import wait_for
from test_meeting_chromium import join, meeting_state, wait_receiving

pytestmark = pytest.mark.server

ROOM = "e2e-meeting-across-nodes"

# The remote end of the ICE pair the page's peer connection uses, and the answer it applied.
MEDIA_PATH_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const pc = window.sabhaMeeting && window.sabhaMeeting.pc;
  if (!pc || !pc.remoteDescription) return null;
  const stats = await pc.getStats();
  let remote = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = stats.get(s.selectedCandidatePairId);
      const candidate = pair && stats.get(pair.remoteCandidateId);
      if (candidate) remote = { address: candidate.address || candidate.ip, port: candidate.port };
    }
  });
  return { remote, answer: pc.remoteDescription.sdp };
})().then(done, (e) => done({ error: String(e) }));
"""


def open_viewer(browsers, entry, token_node, identity: str, name: str):
    """A viewer's meeting page opened at `entry` (whatever node the link names); returns (driver, participant id)."""
    token = token_node.token(ROOM, identity, "viewer", name=name)
    driver = browsers(identity)
    driver.get(f"{entry.base_url}/m/{ROOM}?t={quote(token)}&autojoin=1&name={quote(name)}")
    joined = wait_for(lambda: (s := meeting_state(driver)).get("me") and s, 30, f"{identity} to be joined")
    assert joined["me"]["role"] == "viewer", joined["me"]
    return driver, joined["me"]["id"]


def media_path(driver, node) -> dict:
    """Waits until the page's media flows with `node`: the answer's candidates name only its media port, and the ICE
    pair in use ends there."""
    def on_node():
        path = driver.execute_async_script(MEDIA_PATH_JS)
        if not path or not path.get("remote"):
            return None
        return path if (path["remote"]["address"], path["remote"]["port"]) == node.media_address else None

    path = wait_for(on_node, 20, f"the page's ICE pair to end at {node.media_address}")
    ports = {(address, port) for address, port, _ in sdp_candidates(path["answer"])}
    assert ports == {node.media_address}, f"the answer names {ports}, expected only {node.media_address}"
    return path


@pytest.mark.timeout(240)
def test_a_chromium_viewer_beyond_the_holders_limit_watches_the_host_through_another_node(cluster_nodes, database_url, browsers):
    a, b = cluster_nodes(database_url, 2, "--max-viewers", "1")
    host_driver, host = join(browsers, a, ROOM, "collector", "Collector", role="host")

    first, first_id = open_viewer(browsers, a, a, "district-1", "District 1")
    wait_receiving(first, "the first viewer", {"Collector": host}, 60)
    media_path(first, a)
    wait_viewer_total(a, 1)

    second, second_id = open_viewer(browsers, b, a, "district-2", "District 2")
    wait_receiving(second, "the second viewer (media on B)", {"Collector": host}, 60)
    media_path(second, b)

    # Signalling stays with the holder: both viewers and the host see the same meeting.
    state = meeting_state(second)
    assert {p["id"] for p in state["participants"]} == {host, first_id}, state["participants"]
    host_state = wait_for(lambda: (s := meeting_state(host_driver)) and len(s["participants"]) == 2 and s, 10,
                          "the host to list both viewers")
    assert {p["id"] for p in host_state["participants"]} == {first_id, second_id}

    # B serves the second viewer's media and receives the host's two tracks once each from A.
    view_b = cluster_view(b)
    hosted = view_b["relays"]["meetingMedia"]
    assert [(m["room"], m["participant"], m["consumers"]) for m in hosted] == [(ROOM, second_id, 2)], hosted
    assert peer_of({"from": hosted[0]["origin"]}, "in") == a.base_url
    incoming = relays(view_b, "in", room=ROOM, publisher=host)
    assert len(incoming) == 2 and all(peer_of(r, "in") == a.base_url and r["viewers"] == 1 and r["track"] for r in incoming), incoming
    outgoing = relays(cluster_view(a), "out", room=ROOM, publisher=host)
    assert sorted(r["track"] for r in outgoing) == sorted(r["track"] for r in incoming), (outgoing, incoming)
    counts = wait_viewer_total(a, 2)
    assert counts == {a.base_url: 1, b.base_url: 1}, counts

    # The second viewer leaves: B closes its transport at once, and the unused relays after 10 s.
    second.get("about:blank")
    wait_for(lambda: not cluster_view(b)["relays"]["meetingMedia"], 15, "B to close the viewer's transport")
    wait_for(lambda: not relays(cluster_view(b), "in", room=ROOM), 25, "B to close the relays nobody uses")
    wait_for(lambda: not relays(cluster_view(a), "out", room=ROOM), 10, "A to close its end of the relays")
    # The first viewer, on A, never noticed.
    wait_receiving(first, "the first viewer after the second left", {"Collector": host}, 20)


@pytest.mark.timeout(240)
def test_a_chromium_speaker_beyond_the_holders_publisher_limit_publishes_through_another_node(cluster_nodes, database_url, browsers):
    a, b = cluster_nodes(database_url, 2, "--max-publishers", "1")
    room = ROOM + "-speakers"
    host_driver, host = join(browsers, a, room, "collector", "Collector", role="host")
    media_path(host_driver, a)

    # The second speaker opens the page at node B: its socket goes to A (the meeting), its media to B, whose copy of
    # its simulcast camera and microphone goes to A once each.
    speaker_driver, speaker = join(browsers, b, room, "bdo", "BDO", role="participant")
    media_path(speaker_driver, b)
    wait_receiving(host_driver, "the host (media on A)", {"BDO": speaker}, 60)
    wait_receiving(speaker_driver, "the speaker (media on B)", {"Collector": host}, 60)

    view_a, view_b = cluster_view(a), cluster_view(b)
    counts = {e["id"].rstrip("/"): e.get("publishers") for e in view_a["nodes"]}
    assert counts == {a.base_url: 1, b.base_url: 1}, counts
    into_a = relays(view_a, "in", room=room, publisher=speaker)
    assert len(into_a) == 2 and all(peer_of(r, "in") == b.base_url for r in into_a), into_a
    into_b = relays(view_b, "in", room=room, publisher=host)
    assert len(into_b) == 2 and all(peer_of(r, "in") == a.base_url for r in into_b), into_b
    assert [m["participant"] for m in view_b["relays"]["meetingMedia"]] == [speaker]


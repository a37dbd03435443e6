"""A meeting across the nodes of a cluster (docs/cluster.md): the meeting's signalling stays on the node holding the
room, and a viewer-role participant's media transport is placed on that node while it has room (`--max-viewers`),
else on the live node with the fewest viewers that has room (an *edge*), which receives each published track once
over a relay from the holder. Helpers for test_meeting_cascade.py, on top of e2ekit/cluster.py's ClusterParticipant
and e2ekit/cascade.py's readers of `GET /api/cluster`:

- `media_node`: which node a participant's media flows with, from its answer's candidates (all on one node's media
  port) and its ICE pair in use;
- `place_meeting_viewers`: viewers joining one after the other (following redirects to the holder), each offering
  only once every node's heartbeat counts the viewers before it, so the placement is what the rules give;
- `wait_receiving`: bounded wait until participants decode a publisher's video and audio;
- `wait_message`: bounded wait for a message on a participant's socket (its pump reads them all);
- `meeting_relays`, `meeting_media`: a node's meeting relays and the meeting viewers' transports it serves for
  other nodes (`relays.meetingMedia`), from its /api/cluster.
- `place_publishers`, `flows`, `wait_flows_rise`: publishing participants placed one after the other, and who
  decodes whom.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from e2ekit.cascade import peer_of, relays, wait_viewer_total
from e2ekit.cluster import ClusterParticipant
from e2ekit.cluster_netns import sdp_candidates, selected_pair
from e2ekit.server import SabhaServer


def answer_of(p: ClusterParticipant) -> str:
    assert p.pc is not None and p.pc.remoteDescription is not None, f"{p.name} has no answer"
    return p.pc.remoteDescription.sdp


def sdp_fingerprint(sdp: str) -> str:
    """The a=fingerprint value(s) of an SDP (session or media level), one string; every m-line of a BUNDLE names the
    same certificate."""
    values = sorted({line.split(":", 1)[1].strip() for line in sdp.splitlines() if line.startswith("a=fingerprint:")})
    assert values, f"no a=fingerprint in {sdp[:400]!r}"
    return " | ".join(values)


def media_node(nodes: list[SabhaServer], p: ClusterParticipant) -> int:
    """The index of the node `p`'s media flows with: its answer's candidates name that node's media address only,
    and the ICE pair aiortc nominated ends there."""
    cands = sdp_candidates(answer_of(p))
    addresses = {(a, port) for a, port, _ in cands}
    by_address = {n.media_address: i for i, n in enumerate(nodes)}
    assert len(addresses) == 1 and addresses <= by_address.keys(), \
        f"{p.name}: the answer's candidates are {cands}, expected one node's media address of {sorted(by_address)}"
    (address,) = addresses
    pair = selected_pair(p.pc)
    assert pair is not None and pair[1] == address, f"{p.name}: ICE pair in use {pair}, the answer names {address}"
    return by_address[address]


async def place_meeting_viewers(viewers: list[ClusterParticipant], asked: SabhaServer, before: int = 0) -> None:
    """Viewer i joins through its entry (following the redirect to the holder) and offers; once answered, `asked`'s
    /api/cluster must count `before` + i + 1 viewers in all before the next joins, so each placement sees up-to-date
    heartbeats (every 2 s)."""
    for i, v in enumerate(viewers):
        await v.join()
        await v.wait_answered()
        await asyncio.to_thread(wait_viewer_total, asked, before + i + 1)


def receiving(people: list[ClusterParticipant], publisher: ClusterParticipant) -> dict[str, tuple[int, int]]:
    """{name: (video, audio frames decoded from `publisher`)} since each one's current peer connection began."""
    return {p.name: (p.frames.get(publisher.id, 0), p.audio.get(publisher.id, 0)) for p in people}


async def wait_receiving(people: list[ClusterParticipant], publisher: ClusterParticipant, video: int, audio: int,
                         timeout: float) -> float:
    """Waits until each of `people` decoded at least `video` video and `audio` audio frames of `publisher`'s; returns
    the seconds it took."""
    start = time.monotonic()
    while not all(v >= video and a >= audio for v, a in receiving(people, publisher).values()):
        if time.monotonic() - start > timeout:
            raise AssertionError(
                f"not everyone decoded {video} video and {audio} audio frames of {publisher.name} within {timeout}s: "
                f"{receiving(people, publisher)}; connections {[(p.name, p.pc.connectionState) for p in people]}; "
                f"errors {[(p.name, p.errors) for p in people if p.errors]}")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def wait_message(p: ClusterParticipant, match: Callable[[dict], bool], timeout: float, what: str) -> dict:
    """The first message on `p`'s current socket that `match`es, waiting at most `timeout` seconds for it."""
    deadline = time.monotonic() + timeout
    while True:
        found = next((m for m in list(p.ws.history) if match(m)), None)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{p.name} got no {what} within {timeout}s; its last messages "
                                 f"{[m.get('type') for m in p.ws.history[-25:]]}, errors {p.errors}")
        await asyncio.sleep(0.05)


def meeting_relays(view: dict, direction: str, room: str) -> set[tuple]:
    """The answering node's relays of `room` in `direction`: {(publisher, track, peer node)} ("out": the node sent to;
    "in": the node received from, with the relay's viewers as a fourth element)."""
    out = set()
    for r in relays(view, direction, room):
        entry = (r.get("publisher"), r.get("track"), peer_of(r, direction))
        out.add(entry if direction == "out" else (*entry, r.get("viewers")))
    return out


def meeting_media(view: dict, room: str | None = None) -> list[dict]:
    """The answering node's `relays.meetingMedia` (the meeting viewers' transports it serves for other nodes), of
    `room`."""
    media = (view.get("relays") or {}).get("meetingMedia")
    assert isinstance(media, list), f"/api/cluster of {view.get('node')}: no relays.meetingMedia list in {view}"
    return [m for m in media if room is None or m.get("room") == room]


async def place_publishers(people: list[ClusterParticipant], asked) -> None:
    """Each joins (following the redirect to the holder) and publishes once every node's heartbeat counts the
    publishers before it, so each placement sees up-to-date counts."""
    for i, p in enumerate(people):
        await p.join()
        await p.wait_answered()
        await asyncio.to_thread(wait_viewer_total, asked, i + 1, 8.0, "publishers")


def flows(people: list[ClusterParticipant]) -> dict[tuple[str, str], tuple[int, int]]:
    """{(receiver, sender): (video, audio frames)}."""
    return {(p.name, q.name): (p.frames.get(q.id, 0), p.audio.get(q.id, 0)) for p in people for q in people if q is not p}


async def wait_flows_rise(people: list[ClusterParticipant], since: dict, pairs: set[tuple[str, str]], timeout: float) -> float:
    """Waits until every (receiver, sender) in `pairs` decoded 20 more video and 25 more audio frames than `since`."""
    start = time.monotonic()
    while True:
        now = flows(people)
        late = {k: (now[k], since.get(k, (0, 0))) for k in pairs
                if now[k][0] < since.get(k, (0, 0))[0] + 20 or now[k][1] < since.get(k, (0, 0))[1] + 25}
        if not late:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"within {timeout}s these flows did not rise by 20 video / 25 audio frames (now, before): {late}")
        await asyncio.sleep(0.1)

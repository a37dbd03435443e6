"""Cascading between cluster nodes (docs/cluster.md): a broadcast's WHEP viewers are served by several nodes, each
edge node fed by one relay from the node holding the room. Helpers shared by test_cascade.py (loopback) and
test_cluster_netns.py (namespaces):

- `post_following`: a WHIP/WHEP POST that follows 307s itself, sending `Authorization` again on every hop (requests
  drops it when the port or host changes), at most 5 hops;
- `CascadeViewer`: an aiortc WHEP viewer (e2ekit/peers.py) that enters through any node and remembers which node
  served it (`served_by`) and the URLs it went through (`hops`);
- `place_viewers`: viewers entering one after the other through given nodes, each placed only once every node's
  heartbeat counts the viewers before it (so the placement is what the rules give, not a race with the heartbeat);
- readers of `GET /api/cluster`: viewers per node, relays out and in.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urljoin, urlsplit

import requests
from aiortc import RTCSessionDescription

from e2ekit.cluster import cluster_view, same_url
from e2ekit.peers import HTTPFailure, Session, Viewer
from e2ekit.server import SabhaServer

MAX_HOPS = 5


def origin_of(url: str) -> str:
    """http://host:port of a URL (a node's base URL)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def post_following(url: str, token: str, body: str, max_hops: int = MAX_HOPS,
                   content_type: str = "application/sdp") -> tuple[requests.Response, list[str]]:
    """POSTs `body` to `url` and to every 307/308 Location after it (the same body, Authorization sent again), at most
    `max_hops` redirects. Returns the first answer that is not a redirect and every URL posted to, in order."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    urls = [url]
    for _ in range(max_hops + 1):
        resp = requests.post(urls[-1], data=body.encode(), headers=headers, timeout=10, allow_redirects=False)
        if resp.status_code not in (307, 308):
            return resp, urls
        location = resp.headers.get("Location")
        assert location, f"POST {urls[-1]}: {resp.status_code} without a Location header"
        urls.append(urljoin(urls[-1], location))
    raise AssertionError(f"POST {url}: more than {max_hops} redirects: {urls}")


class CascadeViewer(Viewer):
    """A WHEP viewer (audio and video, recvonly; decodes and counts frames) that follows 307s from node to node."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.hops: list[str] = []
        self.served_by = ""           # base URL of the node that answered 201
        self.closed_at: float | None = None   # time.monotonic() when its connection was first seen closed or failed

    async def offer(self) -> str:
        self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.addTransceiver("video", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def watch_following(self, url: str, token: str) -> Session:
        offer = await self.offer()
        resp, self.hops = await asyncio.to_thread(post_following, url, token, offer)
        if resp.status_code != 201:
            raise HTTPFailure(resp)
        location = resp.headers.get("Location")
        assert location, f"{self.name}: 201 from {self.hops[-1]} without a Location header"
        self.served_by = origin_of(self.hops[-1])
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=resp.text, type="answer"))
        self.session = Session(location=urljoin(self.hops[-1], location), answer=resp.text, offer=offer)
        return self.session

    def ended(self) -> bool:
        """Its peer connection is closed or failed (the server's DTLS close_notify closes an aiortc connection)."""
        if self.pc.connectionState in ("closed", "failed"):
            if self.closed_at is None:
                self.closed_at = time.monotonic()
            return True
        return False


# ------------------------------------------------------------------------------------------- GET /api/cluster


def viewers_by_node(view: dict) -> dict[str, int]:
    """{node id (base URL, no trailing slash): viewers from its last heartbeat}."""
    return {e["id"].rstrip("/"): e.get("viewers") for e in view["nodes"]}


def relays(view: dict, direction: str, room: str | None = None, publisher: str | None = None) -> list[dict]:
    """The answering node's relays `direction` ("out" or "in"), of `room` and `publisher` when given."""
    out = (view.get("relays") or {}).get(direction)
    assert isinstance(out, list), f"/api/cluster of {view.get('node')}: no relays.{direction} list in {view}"
    return [r for r in out if (room is None or r.get("room") == room) and (publisher is None or r.get("publisher") == publisher)]


def peer_of(relay: dict, direction: str) -> str:
    return (relay.get("to" if direction == "out" else "from") or "").rstrip("/")


def wait_viewer_total(node: SabhaServer, total: int, timeout: float = 8.0, field: str = "viewers") -> dict[str, int]:
    """Waits until `node`'s /api/cluster (the nodes' last heartbeats, every 2 s) counts `total` viewers (or another
    per-node `field`, e.g. "publishers") in all."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {e["id"].rstrip("/"): e.get(field) for e in cluster_view(node)["nodes"]}
        if sum(v or 0 for v in counts.values()) == total:
            return counts
        time.sleep(0.2)
    raise AssertionError(f"/api/cluster on {node.base_url} still counts {counts} {field} after {timeout}s, expected {total} in all")


async def place_viewers(viewers: list[CascadeViewer], entries: list[SabhaServer], tokens: list[str], path: str,
                        asked: SabhaServer) -> None:
    """Viewer i POSTs its offer to entries[i] + `path` (/whep/{room}/{publisher}), following redirects; before the next
    one enters, `asked`'s /api/cluster must count i + 1 viewers, so each placement sees up-to-date heartbeats."""
    for i, (v, entry, token) in enumerate(zip(viewers, entries, tokens)):
        await v.watch_following(entry.base_url + path, token)
        await asyncio.to_thread(wait_viewer_total, asked, i + 1)


async def wait_decoding(viewers: list[CascadeViewer], video: int, audio: int, timeout: float) -> float:
    """Waits until each viewer decoded at least `video` video and `audio` audio frames; returns the seconds taken."""
    start = time.monotonic()
    while not all(v.counts.video_frames >= video and v.counts.audio_frames >= audio for v in viewers):
        if time.monotonic() - start > timeout:
            raise AssertionError(
                f"not every viewer decoded {video} video and {audio} audio frames within {timeout}s: "
                + "; ".join(f"{v.name} at {v.served_by}: {v.counts.video_frames} video, {v.counts.audio_frames} audio, "
                            f"{v.pc.connectionState}, {v.counts.errors}" for v in viewers))
        await asyncio.sleep(0.1)
    return time.monotonic() - start


def serving_index(nodes: list[SabhaServer], viewer: CascadeViewer) -> int:
    for i, n in enumerate(nodes):
        if same_url(n.base_url, viewer.served_by):
            return i
    raise AssertionError(f"{viewer.name} was served by {viewer.served_by}, none of {[n.base_url for n in nodes]}")

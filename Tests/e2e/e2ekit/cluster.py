"""A Sabha cluster for the end-to-end tests: several `sabha serve` nodes on 127.0.0.1 sharing one PostgreSQL
database (`--database`), each with its own data directory, ports and `--public-url` (its identity in the cluster),
and an aiortc meeting participant that follows the `redirect` a node answers a join with when another node holds
the room (docs/protocol.md), handles `renegotiate` by itself, can rejoin through other nodes after its node died, and
can offer again from a new peer connection on the same socket after `transport-closed`.

Use the fixture by importing it into the test module, beside the database ones:
    from e2ekit.cluster import cluster_nodes  # noqa: F401 (fixture)
    from e2ekit.postgres import database_url, postgres_cluster  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import asyncio
import queue
import time
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from aiortc import RTCPeerConnection, RTCSessionDescription

from e2ekit.meeting import MeetingSocket
from e2ekit.peers import MovingPatternTrack, SineTrack, rtc_configuration
from e2ekit.server import SabhaServer, free_tcp_port
from test_meeting_protocol import Participant   # its frame counting by participant (a=msid) is reused as it is


# ------------------------------------------------------------------------------------------------------ nodes


@pytest.fixture
def cluster_nodes(request, sabha_bin, tmp_path):
    """Factory: cluster_nodes(database_url, count, *extra_args, env=None, host="127.0.0.1") -> [SabhaServer, ...],
    started one after the other (each ready on /healthz), node i with data directory tmp_path/node<i>, log
    tmp_path/node<i>.log, HTTP and media on `host` (another address of the test's namespace, e.g. its end of a veth
    link to a viewer's namespace) and `--public-url http://<host>:<its HTTP port>` (so node.base_url is its id in the
    cluster). Every node is stopped after the test (SIGTERM; those killed already are left as they are); their logs
    go in failure reports."""
    nodes: list[SabhaServer] = []
    sources = log_sources(request)

    def start(database_url: str, count: int, *extra_args: str, env: dict[str, str] | None = None,
              host: str = "127.0.0.1") -> list[SabhaServer]:
        started = []
        for _ in range(count):
            i = len(nodes)
            port = free_tcp_port()
            srv = SabhaServer(binary=sabha_bin, data_dir=tmp_path / f"node{i}", log_path=tmp_path / f"node{i}.log",
                              extra_args=["--database", database_url, "--public-url", f"http://{host}:{port}", *extra_args],
                              env=dict(env or {}), http_port=port, host=host)
            nodes.append(srv)
            sources.append((f"sabha serve log of node {i} ({srv.log_path.name})", srv.log_text))
            srv.start()
            started.append(srv)
        return started

    yield start
    stop_nodes(nodes)


def log_sources(request) -> list:
    """The test's list of (title, text getter) that failure reports show (conftest.py)."""
    if not hasattr(request.node, "_log_sources"):
        request.node._log_sources = []
    return request.node._log_sources


def stop_nodes(nodes: list[SabhaServer]) -> None:
    """SIGTERM to every node still running (those killed already are left as they are)."""
    for srv in nodes:
        try:
            srv.stop()
        except Exception:   # a node that will not stop must not hide the test's own result
            if srv.proc is not None and srv.proc.poll() is None:
                srv.proc.kill()


def admin_key(node: SabhaServer) -> str:
    """The admin key the node answers: its --admin-key, else <data-dir>/admin.key (in a cluster, the shared one)."""
    args = node.extra_args
    if "--admin-key" in args:
        return args[args.index("--admin-key") + 1]
    return (node.data_dir / "admin.key").read_text().strip()


def api(node: SabhaServer, method: str, path: str, body=None, max_hops: int = 3) -> requests.Response:
    """An admin API request to `node`. A request about one room is sent on (307) to the node holding its meeting
    (docs/cluster.md): it is followed with the Authorization header sent again, which requests itself drops when the
    port changes. `.history` of the answer holds the redirects."""
    headers = {"Authorization": f"Bearer {admin_key(node)}"}
    url, history = node.base_url + path, []
    for _ in range(max_hops + 1):
        resp = requests.request(method, url, json=body, timeout=10, headers=headers, allow_redirects=False)
        if resp.status_code not in (307, 308):
            resp.history = history
            return resp
        history.append(resp)
        url = urljoin(url, resp.headers["Location"])
    raise AssertionError(f"{method} {node.base_url}{path}: more than {max_hops} redirects: "
                         f"{[r.headers.get('Location') for r in history]}")


def ok(resp: requests.Response, status: int = 200):
    assert resp.status_code == status, f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:500]}"
    return resp.json()


def create_room(node: SabhaServer, room: str) -> None:
    ok(api(node, "POST", "/api/rooms", {"name": room, "title": room}), 201)


def link_token(node: SabhaServer, room: str, identity: str, role: str = "participant") -> str:
    """A personal join link's token for `identity`, minted by `node` (POST /api/rooms/{room}/links)."""
    (link,) = ok(api(node, "POST", f"/api/rooms/{room}/links",
                     {"participants": [{"identity": identity, "role": role}]}))["links"]
    return link["token"]


def cluster_view(node: SabhaServer) -> dict:
    """GET /api/cluster on `node`."""
    return ok(api(node, "GET", "/api/cluster"))


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def http_base_of_ws(url: str) -> str:
    """ws://127.0.0.1:PORT/ws -> http://127.0.0.1:PORT (what MeetingSocket takes)."""
    parts = urlsplit(url)
    assert parts.scheme in ("ws", "wss") and parts.path == "/ws" and not parts.query, f"not a /ws URL: {url!r}"
    return ("https" if parts.scheme == "wss" else "http") + "://" + parts.netloc


# ------------------------------------------------------------------------------------------------ participants


class JoinRefused(AssertionError):
    """A join was answered with something other than `joined` or `redirect` (an error, the lobby, a drain)."""

    def __init__(self, node: str, reply: dict) -> None:
        super().__init__(f"join at {node} answered {reply}")
        self.reply = reply


class ClusterParticipant(Participant):
    """A meeting participant (aiortc, one peer connection, publishing a small camera and a tone) that enters through
    one node and follows redirects to the node holding the room, like the page does. After `join()` a pump task reads
    every message: it answers `renegotiate` with an offer (enough recvonly transceivers for the tracks listed, one
    offer in flight at a time) and applies answers, so any number of participants can meet without the test driving
    each renegotiation. `.node` is the base URL of the node it is in, `.redirects` the redirect URLs it followed."""

    def __init__(self, name: str, token: str, entry: str, publish: bool = True, size: tuple[int, int] = (160, 120),
                 fps: int = 15) -> None:
        # Not Participant.__init__: that connects at once, and an idle socket is closed after --join-timeout.
        self.name = name
        self.token = token
        self.entry = entry
        self.publish = publish
        self.size, self.fps = size, fps
        self.ws: MeetingSocket | None = None
        self.pc: RTCPeerConnection | None = None
        self.id = ""
        self.node = ""
        self.resume: str | None = None
        self.redirects: list[str] = []
        self.errors: list[dict] = []
        self.attempts: list[tuple[float, str, str]] = []   # rejoin attempts: (seconds since asked, entry, outcome)
        self.joined_message: dict = {}
        self.frames: dict[str, int] = {}
        self.audio: dict[str, int] = {}
        self.tasks: list[asyncio.Task] = []
        self.stream_of: dict[str, str] = {}
        self.answers = 0
        self.lost = asyncio.Event()
        self._pump: asyncio.Task | None = None
        self._want: list[dict] | None = None     # the latest `receive` list not yet offered for
        self._in_flight = False

    # -- joining

    def _join_following_redirects(self, entry: str, timeout: float, max_hops: int = 3) -> dict:
        """Connects to `entry` and joins, following redirects (a fresh socket and the same join each time)."""
        base = entry
        for _ in range(max_hops + 1):
            try:
                self.ws = MeetingSocket(base, timeout=timeout)
            except Exception as exc:
                raise ConnectionError(f"cannot connect to {base}/ws ({type(exc).__name__}: {exc})") from exc
            join = {"type": "join", "version": 1, "token": self.token}
            if self.resume:   # as the page does after a drop; a node that does not know it answers an ordinary join
                join["resume"] = self.resume
            self.ws.send(join)
            reply = self.ws.next(timeout, lambda m: m.get("type") in ("joined", "redirect", "error", "lobby", "server-shutdown"))
            if reply["type"] == "joined":
                self.node = base
                return reply
            if reply["type"] != "redirect":
                self.ws.close()
                raise JoinRefused(base, reply)
            self.redirects.append(reply["url"])
            self.ws.close()
            base = http_base_of_ws(reply["url"])
        raise AssertionError(f"{self.name}: more than {max_hops} redirects: {self.redirects}")

    def _fresh_pc(self) -> None:
        self.pc = RTCPeerConnection(rtc_configuration())
        self.frames, self.audio = {}, {}
        self.answers = 0
        self._want, self._in_flight = None, False

        @self.pc.on("track")
        def on_track(track) -> None:
            self.tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _start_media(self, joined: dict) -> dict:
        self.joined_message = joined
        self.id = joined["you"]["id"]
        self.resume = joined.get("resume") or self.resume
        self.lost = asyncio.Event()
        await self._begin_media(joined.get("tracks", []))
        return joined

    async def _begin_media(self, tracks: list[dict]) -> None:
        """A fresh peer connection (publishing when `publish`) offers to receive `tracks`; the pump starts."""
        self._fresh_pc()
        if self.publish:
            w, h = self.size
            self.pc.addTransceiver(MovingPatternTrack(width=w, height=h, fps=self.fps), direction="sendonly")
            self.pc.addTransceiver(SineTrack(), direction="sendonly")
        self._want = list(tracks)
        await self._offer()
        self._pump = asyncio.ensure_future(self._run_pump())

    async def join(self, timeout: float = 15) -> dict:
        joined = await asyncio.to_thread(self._join_following_redirects, self.entry, timeout)
        return await self._start_media(joined)

    # -- the message pump

    async def _offer(self) -> None:
        receive, self._want = self._want or [], None
        for kind in ("audio", "video"):
            need = sum(1 for entry in receive if entry.get("kind") == kind)
            have = sum(1 for t in self.pc.getTransceivers() if t.kind == kind and t.direction == "recvonly")
            for _ in range(need - have):
                self.pc.addTransceiver(kind, direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._in_flight = True
        self.ws.send({"type": "offer", "sdp": self.pc.localDescription.sdp})

    async def _run_pump(self) -> None:
        ws, pc = self.ws, self.pc
        try:
            while True:
                try:
                    msg = ws.messages.get_nowait()   # no thread per participant: aiortc's encoders need the executor
                except queue.Empty:
                    if self._want is not None and not self._in_flight:
                        await self._offer()
                    await asyncio.sleep(0.02)
                    continue
                if msg is None:
                    self.lost.set()
                    return
                kind = msg.get("type")
                if kind == "renegotiate":
                    self._want = msg.get("receive", [])
                elif kind == "answer":
                    await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))
                    self._in_flight = False
                    self.answers += 1
                elif kind in ("error", "transport-closed", "server-shutdown", "meeting-ended", "redirect"):
                    self.errors.append(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # a dead socket on send, a refused description: the participant is lost
            self.errors.append({"type": "pump-failed", "error": repr(exc)})
            self.lost.set()

    async def wait_answered(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.answers == 0:
            assert time.monotonic() < deadline, f"{self.name}: no answer to its offer within {timeout}s; errors {self.errors}"
            await asyncio.sleep(0.05)

    # -- what the meeting has, and changes of one's own media

    def tracks_now(self) -> list[dict]:
        """The others' tracks in the meeting now, as this participant's socket was told (`joined`, then
        `track-published` and `track-unpublished`)."""
        tracks: dict[str, dict] = {}
        for msg in list(self.ws.history if self.ws is not None else []):
            kind = msg.get("type")
            if kind == "joined":
                tracks = {t["id"]: t for t in msg.get("tracks", [])}
            elif kind == "track-published":
                tracks[msg["track"]["id"]] = msg["track"]
            elif kind == "track-unpublished":
                tracks.pop(msg.get("track"), None)
        return [t for t in tracks.values() if t.get("participant") != self.id]

    def stop_sending(self, kind: str) -> None:
        """Stops publishing its `kind` track: that sendonly m-line is offered `inactive` (docs/protocol.md), by the
        pump's next offer."""
        (sender,) = [t for t in self.pc.getTransceivers() if t.kind == kind and t.direction == "sendonly"]
        sender.direction = "inactive"
        if self._want is None:
            self._want = []

    async def new_peer_connection(self) -> None:
        """What the page does on `transport-closed`: on the same socket, a new RTCPeerConnection (new ICE and DTLS)
        offers again, publishing afresh (when `publish`) and receiving the tracks the meeting has now. Frame counts
        and `answers` start again from zero."""
        self._stop_tasks()
        await self.pc.close()
        await self._begin_media(self.tracks_now())

    def _stop_tasks(self) -> None:
        """Stops the message pump and the frame counters."""
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        for t in self.tasks:
            t.cancel()
        self.tasks = []

    # -- losing the node, and coming back

    async def _drop(self) -> None:
        self._stop_tasks()
        if self.ws is not None:
            self.ws.close()
        if self.pc is not None:
            await self.pc.close()

    async def rejoin(self, entries: list[str], since: float, deadline: float, interval: float = 1.0) -> float:
        """What the page does when its node is gone: every `interval` seconds it joins again with the same token
        (and its resume secret) through the next of `entries` (a load balancer sending it to a live node), following
        redirects, until one admits it; then a new peer connection publishes and receives afresh. Returns the
        seconds from `since` (time.monotonic()) to its `joined`."""
        await self._drop()
        n = 0
        while True:
            started = time.monotonic()
            entry = entries[n % len(entries)]
            n += 1
            try:
                joined = await asyncio.to_thread(self._join_following_redirects, entry, 3)
            except Exception as exc:   # refused connection (a redirect to the dead node), a refusal, a timeout
                self.attempts.append((round(started - since, 2), entry, f"{type(exc).__name__}: {str(exc)[:200]}"))
                if self.ws is not None:
                    self.ws.close()
                if time.monotonic() >= deadline:
                    raise AssertionError(f"{self.name} could not rejoin; attempts {self.attempts}") from exc
                await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
                continue
            at = time.monotonic() - since
            self.attempts.append((round(started - since, 2), entry, f"joined at {self.node}"))
            await self._start_media(joined)
            return at

    async def close(self) -> None:
        await self._drop()


def media_matrix(people: list[ClusterParticipant]) -> dict[str, dict[str, tuple[int, int]]]:
    """For each participant, (video frames, audio frames) decoded from each other one, by name."""
    return {p.name: {q.name: (p.frames.get(q.id, 0), p.audio.get(q.id, 0)) for q in people if q is not p} for p in people}


def everyone_receives_everyone(people: list[ClusterParticipant], video: int, audio: int) -> bool:
    return all(v >= video and a >= audio for row in media_matrix(people).values() for v, a in row.values())


async def wait_everyone_receives_everyone(people: list[ClusterParticipant], video: int, audio: int, timeout: float) -> float:
    """Waits until every participant has decoded at least `video` video and `audio` audio frames from every other
    one (counted since its current peer connection began); returns the seconds it took."""
    start = time.monotonic()
    while not everyone_receives_everyone(people, video, audio):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not everyone receives everyone ({video} video / {audio} audio frames) within {timeout}s: "
                                 f"{media_matrix(people)}; nodes {[(p.name, p.node) for p in people]}; "
                                 f"errors {[(p.name, p.errors) for p in people if p.errors]}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def join_everyone(people: list[ClusterParticipant]) -> None:
    """Joins each in turn (following redirects) and waits until everyone receives everyone."""
    for p in people:
        await p.join()
        await p.wait_answered()
    await wait_everyone_receives_everyone(people, video=10, audio=25, timeout=60)


async def kill_and_rejoin(people: list[ClusterParticipant], holder: SabhaServer, survivors: list[SabhaServer]) -> dict:
    """SIGKILL of `holder` (no goodbye to the database: its lease stays until it runs out); each participant sees its
    socket drop, then retries every second through a survivor (participant i starting at survivor i % 2) with the same
    token, following redirects, as a page behind a load balancer would. Returns, in seconds after the kill: `back`
    (everyone receives everyone again), `joined` (each one's join), with `attempts` and the `node` each is on."""
    killed_at = time.monotonic()
    holder.kill()
    await asyncio.gather(*(asyncio.wait_for(p.lost.wait(), 5) for p in people))
    joined_at = await asyncio.gather(*(
        p.rejoin([survivors[i % 2].base_url, survivors[(i + 1) % 2].base_url], since=killed_at, deadline=killed_at + 30)
        for i, p in enumerate(people)))
    await wait_everyone_receives_everyone(people, video=5, audio=10, timeout=max(1.0, killed_at + 30 - time.monotonic()))
    return {"back": time.monotonic() - killed_at,
            "joined": {p.name: round(t, 2) for p, t in zip(people, joined_at)},
            "attempts": {p.name: p.attempts for p in people},
            "node": {p.name: p.node for p in people}}

"""aiortc peers for the end-to-end tests: a WHIP publisher and a WHEP viewer.

Each test runs inside a loopback-only network namespace, so aioice's host-address lookup is pointed at
127.0.0.1 and no STUN server is configured (see shared/notes/test-network.md).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urljoin

import aioice.ice
import numpy as np
import requests
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from av import AudioFrame, VideoFrame

# Only loopback exists in the test namespace; aioice would otherwise enumerate every interface.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000


def rtc_configuration() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class MovingPatternTrack(MediaStreamTrack):
    """Synthetic camera: a gradient with a moving bar, so every frame differs and VP8 has real work."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._start: Optional[float] = None
        self._count = 0
        ys, xs = np.mgrid[0:height, 0:width]
        self._base = np.stack(
            [(xs * 255 // width), (ys * 255 // height), ((xs + ys) * 255 // (width + height))], axis=-1
        ).astype(np.uint8)

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._count / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        img = self._base.copy()
        x = (self._count * 4) % self.width
        img[:, x : x + 16, :] = 255
        img[(self._count * 2) % self.height, :, :] = 0
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self._count * (VIDEO_CLOCK // self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class SineTrack(MediaStreamTrack):
    """Synthetic microphone: a 440 Hz tone in 20 ms frames."""

    kind = "audio"

    def __init__(self, freq: float = 440.0) -> None:
        super().__init__()
        self.freq = freq
        self._start: Optional[float] = None
        self._samples = 0
        self._per_frame = AUDIO_RATE // 50

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._samples / AUDIO_RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(self._per_frame) + self._samples) / AUDIO_RATE
        pcm = (np.sin(2 * math.pi * self.freq * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += self._per_frame
        return frame


@dataclass
class Session:
    """One WHIP/WHEP resource on the server."""

    location: str
    answer: str
    offer: str
    links: list[str] = field(default_factory=list)   # the 201's Link header values (RFC 9725 section 4.4)

    def sdp_attribute(self, sdp: str, name: str) -> Optional[str]:
        for line in sdp.splitlines():
            if line.startswith(f"a={name}:"):
                return line.split(":", 1)[1].strip()
        return None

    @property
    def server_ufrag(self) -> Optional[str]:
        return self.sdp_attribute(self.answer, "ice-ufrag")

    @property
    def client_ufrag(self) -> Optional[str]:
        return self.sdp_attribute(self.offer, "ice-ufrag")


class HTTPFailure(AssertionError):
    def __init__(self, resp: requests.Response) -> None:
        super().__init__(f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text[:500]}")
        self.response = resp


async def post_offer(url: str, token: str, pc: RTCPeerConnection) -> Session:
    """Non-trickle WHIP/WHEP: aiortc's setLocalDescription already gathered every candidate."""
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp

    def post() -> requests.Response:
        return requests.post(
            url,
            data=offer.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
            timeout=10,
        )

    resp = await asyncio.to_thread(post)
    if resp.status_code != 201:
        raise HTTPFailure(resp)
    location = resp.headers.get("Location")
    assert location, "201 without a Location header"
    await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.text, type="answer"))
    return Session(location=urljoin(url, location), answer=resp.text, offer=offer, links=resp.raw.headers.getlist("Link"))


def delete_session(location: str, token: str) -> int:
    resp = requests.delete(location, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return resp.status_code


async def wait_connected(pc: RTCPeerConnection, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed"):
            raise AssertionError(f"peer connection {pc.connectionState} before connecting")
        if time.monotonic() > deadline:
            raise AssertionError(f"peer connection still {pc.connectionState} after {timeout}s")
        await asyncio.sleep(0.05)


class Publisher:
    """aiortc WHIP publisher with a synthetic camera and microphone."""

    def __init__(self, configuration: Optional[RTCConfiguration] = None) -> None:
        self.pc = RTCPeerConnection(configuration or rtc_configuration())
        self.video = MovingPatternTrack()
        self.audio = SineTrack()
        self.session: Optional[Session] = None
        self.last_rtp: dict[int, int] = {}   # SSRC -> last plaintext RTP sequence number sent

    async def publish(self, url: str, token: str) -> Session:
        self.pc.addTransceiver(self.audio, direction="sendonly")
        self.pc.addTransceiver(self.video, direction="sendonly")
        self.session = await post_offer(url, token, self.pc)
        self._record_rtp()
        return self.session

    def _record_rtp(self) -> None:
        """Remember the newest sequence number per SSRC, so a spoofed packet can look current."""
        dtls = self.pc.getTransceivers()[0].sender.transport
        original = dtls._send_rtp
        last = self.last_rtp

        async def send_rtp(data: bytes) -> None:
            if len(data) >= 12 and not (192 <= data[1] <= 223):
                last[int.from_bytes(data[8:12], "big")] = int.from_bytes(data[2:4], "big")
            await original(data)

        dtls._send_rtp = send_rtp

    def local_address(self) -> tuple[str, int]:
        """The 5-tuple's local end of the selected ICE pair (what the server sees as our source)."""
        ice = self.pc.getTransceivers()[0].sender.transport.transport
        conn = ice._connection
        pair = conn._nominated.get(1)
        assert pair is not None, "no nominated ICE pair yet"
        cand = pair.local_candidate
        return cand.host, cand.port

    def video_ssrc(self) -> int:
        for t in self.pc.getTransceivers():
            if t.kind == "video":
                return t.sender._ssrc
        raise AssertionError("no video sender")

    async def close(self) -> None:
        await self.pc.close()


@dataclass
class ViewerCounts:
    video_frames: int = 0
    audio_frames: int = 0
    last_video_size: tuple[int, int] = (0, 0)
    errors: list[str] = field(default_factory=list)


class Viewer:
    """aiortc WHEP viewer that decodes everything it receives and counts frames."""

    def __init__(self, configuration: Optional[RTCConfiguration] = None) -> None:
        self.pc = RTCPeerConnection(configuration or rtc_configuration())
        self.counts = ViewerCounts()
        self.session: Optional[Session] = None
        self._tasks: list[asyncio.Task] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.counts.video_frames += 1
                    self.counts.last_video_size = (frame.width, frame.height)
                else:
                    self.counts.audio_frames += 1
        except Exception as exc:  # MediaStreamError when the track ends: expected at teardown
            self.counts.errors.append(f"{track.kind}: {type(exc).__name__} {exc}")

    async def watch(self, url: str, token: str) -> Session:
        self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.addTransceiver("video", direction="recvonly")
        self.session = await post_offer(url, token, self.pc)
        return self.session

    async def wait_video_frames(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.counts.video_frames < n:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"decoded {self.counts.video_frames} video frames (wanted {n}) in {timeout}s; "
                    f"audio {self.counts.audio_frames}; state {self.pc.connectionState}; {self.counts.errors}"
                )
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.pc.close()

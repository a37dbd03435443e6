"""Known pictures and tones in, and what a composed recording shows and sounds like out (issue 19).

Inputs: aiortc tracks of one solid colour (with a small moving square, so the encoder always has work) and of one
pure tone whose loudness a test changes while it runs (to drive the server's active-speaker detection), and the same
as files for Chromium's fake devices (a Y4M picture, a WAV tone).

Outputs: ffprobe/ffmpeg readers (streams, frames as RGB arrays, mono PCM), the colour of a patch, the amplitude of a
tone in a stretch of PCM, and the layout the composition spec asks for, worked out from recording.json alone
(`ExpectedLayout`), to hold against composition.json and the decoded frames.
"""

from __future__ import annotations

import asyncio
import fractions
import itertools
import json
import math
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame, VideoFrame

from e2ekit.meeting import MeetingSocket
from e2ekit.peers import rtc_configuration, wait_connected

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000

# Saturated and far apart from each other and from black, so VP8 twice over and two colour conversions cannot
# turn one into another.
RED = (220, 40, 40)
BLUE = (40, 60, 220)
GREEN = (40, 190, 60)
YELLOW = (230, 200, 30)
BLACK = (0, 0, 0)
PALETTE = {"red": RED, "blue": BLUE, "green": GREEN, "yellow": YELLOW, "black": BLACK}

CANVAS = (1280, 720)


def dbov_amplitude(dbov: float) -> float:
    """Peak amplitude (int16) of a sine whose RMS level is `dbov` (RFC 6464's level, as aiortc computes it)."""
    return 32767 * math.sqrt(2) * 10 ** (dbov / 20)


# ---------------------------------------------------------------------------------------------------------------
# Inputs


def solid_picture(rgb: tuple[int, int, int], width: int, height: int, frame: int) -> np.ndarray:
    """One solid-colour frame with a white square moving along the top eighth (never near the middle)."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:, :] = rgb
    side = max(4, height // 10)
    x = (frame * 6) % max(1, width - side)
    img[2:2 + side, x:x + side] = 255
    return img


class SolidColourTrack(MediaStreamTrack):
    """Synthetic camera (or screen): one colour with a small moving white square."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.rgb, self.width, self.height, self.fps = rgb, width, height, fps
        self._start: Optional[float] = None
        self._count = 0
        self._frames = [solid_picture(rgb, width, height, i) for i in range(64)]

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._count / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = VideoFrame.from_ndarray(self._frames[self._count % len(self._frames)], format="rgb24")
        frame.pts = self._count * (VIDEO_CLOCK // self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """Synthetic microphone: a pure tone in 20 ms frames; set `amplitude` (int16 peak) to make it louder or quieter."""

    kind = "audio"

    def __init__(self, freq: float, amplitude: float) -> None:
        super().__init__()
        self.freq = freq
        self.amplitude = amplitude
        self._start: Optional[float] = None
        self._samples = 0
        self._per_frame = AUDIO_RATE // 50

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._samples / AUDIO_RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(self._per_frame) + self._samples) / AUDIO_RATE
        pcm = (np.sin(2 * math.pi * self.freq * t) * self.amplitude).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += self._per_frame
        return frame


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, what a camera (and Chromium's Y4M reader) means by I420."""
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    return round(y), round(u), round(v)


def write_y4m(path: Path, rgb: tuple[int, int, int], width: int, height: int, fps: int = 15, frames: int = 60) -> Path:
    """A Y4M file (I420) of `solid_picture` frames, for Chromium's --use-file-for-fake-video-capture (it loops it)."""
    y0, u0, v0 = rgb_to_yuv(rgb)
    yw, uw, vw = rgb_to_yuv((255, 255, 255))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            white = solid_picture((0, 0, 0), width, height, i)[:, :, 0] == 255
            y = np.where(white, yw, y0).astype(np.uint8)
            cw = white[::2, ::2]
            u = np.where(cw, uw, u0).astype(np.uint8)
            v = np.where(cw, vw, v0).astype(np.uint8)
            out.write(b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes())
    return path


def write_tone_wav(path: Path, freq: float, amplitude: float, seconds: float = 4.0) -> Path:
    """A mono 48 kHz WAV of a pure tone, a whole number of periods long so that Chromium's loop has no click."""
    n = int(AUDIO_RATE * seconds)
    periods = round(freq * n / AUDIO_RATE)
    t = np.arange(n)
    pcm = (np.sin(2 * math.pi * periods * t / n) * amplitude).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AUDIO_RATE)
        w.writeframes(pcm.tobytes())
    return path


class MeetingPublisher:
    """An aiortc meeting participant over /ws that only publishes: a camera (e.g. SolidColourTrack) and a tone, and on request a
    screen share (a video m-line declared `screen` in the offer's `sources`) that it stops again (the m-line made
    inactive). It never subscribes: the server's `renegotiate` requests are left unanswered."""

    def __init__(self, server, room: str, identity: str, role: str, name: str, camera: MediaStreamTrack,
                 freq: float, amplitude: float) -> None:
        """`server`: anything with .token(room, identity, role, name=) and .base_url (e2ekit.server.SabhaServer)."""
        self.identity = identity
        self.token = server.token(room, identity, role, name=name)
        self.ws = MeetingSocket(server.base_url)
        self.pc = RTCPeerConnection(rtc_configuration())
        self.camera = camera
        self.tone = ToneTrack(freq, amplitude)
        self.screen = None  # the screen's transceiver, once shared
        self.id = ""

    async def join(self) -> dict:
        joined = await asyncio.to_thread(self.ws.join, self.token)
        self.id = joined["you"]["id"]
        self.pc.addTransceiver(self.camera, direction="sendonly")
        self.pc.addTransceiver(self.tone, direction="sendonly")
        await self.negotiate()
        await wait_connected(self.pc)
        return joined

    async def negotiate(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sources = {self.screen.mid: "screen"} if self.screen is not None else {}
        self.ws.send({"type": "offer", "sdp": self.pc.localDescription.sdp, **({"sources": sources} if sources else {})})
        answer = await asyncio.to_thread(self.ws.next_type, "answer", 15)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def share_screen(self, picture: MediaStreamTrack) -> None:
        self.screen = self.pc.addTransceiver(picture, direction="sendonly")
        await self.negotiate()

    async def stop_screen(self) -> None:
        self.screen.direction = "inactive"
        await self.negotiate()

    async def record(self, active: bool) -> dict:
        """As the host: starts or stops recording; returns the room's `recording` message."""
        self.ws.send({"type": "record", "active": active})
        return await asyncio.to_thread(self.ws.next, 15, lambda m: m.get("type") in ("recording", "error"))

    async def leave(self) -> None:
        try:
            self.ws.send({"type": "leave"})
        except Exception:
            pass
        self.ws.close()
        await self.pc.close()


# ---------------------------------------------------------------------------------------------------------------
# Outputs


def probe(path: Path, count_frames: bool = False) -> dict:
    cmd = ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)]
    if count_frames:
        cmd.insert(3, "-count_frames")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"ffprobe {path}: {out.stderr}"
    return json.loads(out.stdout)


def decodes_cleanly(path: Path) -> str:
    """ffmpeg's complaints while decoding every stream of `path` ('' when none)."""
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    return out.stderr.strip() if out.returncode == 0 or out.stderr.strip() else f"exit {out.returncode}"


def frames_at(path: Path, step: float, width: int = CANVAS[0], height: int = CANVAS[1]) -> list[tuple[float, np.ndarray]]:
    """Every `step` seconds of the video (from 0, the file's own timestamps): (t, H x W x 3 RGB). The fps filter takes
    the frame nearest each point, so a check should keep a frame interval away from where the picture changes."""
    fps = fractions.Fraction(1) / fractions.Fraction(step).limit_denominator(1000)
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
                          "-vf", f"fps={fps.numerator}/{fps.denominator}:start_time=0",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, timeout=300)
    assert out.returncode == 0, f"ffmpeg frames of {path}: {out.stderr.decode(errors='replace')[-2000:]}"
    size = width * height * 3
    assert len(out.stdout) % size == 0, f"{len(out.stdout)} bytes of RGB is not a whole number of {width}x{height} frames"
    frames = np.frombuffer(out.stdout, dtype=np.uint8).reshape(-1, height, width, 3)
    return [(i * step, frames[i]) for i in range(len(frames))]


def mono_pcm(path: Path) -> np.ndarray:
    """The first audio stream, decoded to mono 48 kHz int16 samples from the file's time 0."""
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
                          "-af", "aresample=48000:first_pts=0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                         capture_output=True, timeout=300)
    assert out.returncode == 0, f"ffmpeg audio of {path}: {out.stderr.decode(errors='replace')[-2000:]}"
    return np.frombuffer(out.stdout, dtype="<i2").astype(np.float64)


def tone_amplitude(pcm: np.ndarray, freq: float, start: float, seconds: float, rate: int = AUDIO_RATE) -> float:
    """Peak amplitude of the `freq` component over [start, start + seconds) (a Hann-windowed single DFT bin); 0 past
    the end."""
    a, b = int(start * rate), int((start + seconds) * rate)
    x = pcm[max(0, a):min(len(pcm), b)]
    if len(x) < rate // 20:
        return 0.0
    w = np.hanning(len(x))
    n = np.arange(len(x)) + max(0, a)
    s = np.sum(x * w * np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(s) / np.sum(w))


def patch_mean(img: np.ndarray, x: float, y: float, w: float, h: float, keep: float = 0.5) -> np.ndarray:
    """Mean RGB of the middle `keep` fraction (each way) of the rectangle."""
    cx, cy = x + w / 2, y + h / 2
    x0, x1 = int(cx - w * keep / 2), int(math.ceil(cx + w * keep / 2))
    y0, y1 = int(cy - h * keep / 2), int(math.ceil(cy + h * keep / 2))
    return img[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64).mean(axis=0)


def colour_name(rgb) -> tuple[str, float]:
    """The nearest colour of PALETTE and how far from it (Euclidean, in RGB units)."""
    best = min(PALETTE, key=lambda k: float(np.linalg.norm(np.asarray(rgb) - PALETTE[k])))
    return best, float(np.linalg.norm(np.asarray(rgb) - PALETTE[best]))


def colour_fraction(img: np.ndarray, rgb, within: float = 50.0) -> float:
    """The fraction of the picture's pixels within `within` of `rgb`."""
    d = np.linalg.norm(img.reshape(-1, 3).astype(np.int32) - np.asarray(rgb, dtype=np.int32), axis=1)
    return float(np.count_nonzero(d < within)) / d.size


# ---------------------------------------------------------------------------------------------------------------
# The layout the spec asks for


def fit(region: tuple[int, int, int, int], width: int, height: int) -> tuple[float, float, float, float]:
    """A width x height picture drawn into region, aspect ratio kept, centred."""
    rx, ry, rw, rh = region
    scale = min(rw / width, rh / height)
    w, h = width * scale, height * scale
    return rx + (rw - w) / 2, ry + (rh - h) / 2, w, h


SPEAKER_MAIN = (0, 0, 1280, 540)
SPEAKER_ALONE = (0, 0, 1280, 720)
SPEAKER_STRIP = [(240 * i, 540, 240, 180) for i in range(5)]
SCREEN_MAIN = (0, 0, 960, 720)
SCREEN_SPEAKER = (960, 0, 320, 240)
SCREEN_OTHERS = [(960, 240, 320, 240), (960, 480, 320, 240)]


@dataclass
class Expected:
    layout: str                                    # "speaker" | "screen"
    regions: dict[str, tuple[int, int, int, int]]  # track id -> the region its picture is fitted into
    main: Optional[str]                            # the main speaker's participant id (None: nobody, or not known)


class ExpectedLayout:
    """The composition spec's layout rules, worked out from recording.json alone.

    recording.json places tracks by `from` (when the recorder took them), the spec by when their first frame was
    decoded, which recording.json does not hold: tracks taken within `within` ms of each other (those there when
    the recording started) may have appeared in any order. `tie_breaks` lists the orders that leaves open; `at`
    works out the layout for one of them (the composition must keep to one throughout). The first camera of the
    order is the main speaker until a `speaker` event names someone with a live camera. Checks keep away from the
    edges (`from`, `to`, events), where the picture may change a frame early or late."""

    def __init__(self, manifest: dict, within: float = 1000) -> None:
        self.video = sorted((t for t in manifest["tracks"] if t["kind"] == "video"), key=lambda t: (t["from"], t["track"]))
        self.speakers = [e for e in manifest["timeline"] if e["type"] == "speaker"]
        self.groups: list[list[dict]] = []
        for track in self.video:
            if self.groups and track["from"] - self.groups[-1][0]["from"] < within:
                self.groups[-1].append(track)
            else:
                self.groups.append([track])
        self.by_track = {t["track"]: t for t in self.video}

    def tie_breaks(self, limit: int = 720) -> list[list[str]]:
        """Every appearance order (track ids) that recording.json allows, the spec's own (from, track id) first."""
        combos = itertools.product(*(itertools.permutations(g) for g in self.groups))
        return [[t["track"] for group in combo for t in group] for combo in itertools.islice(combos, limit)]

    def live(self, t: float, source: str, order: list[str]) -> list[dict]:
        tracks = [self.by_track[x] for x in order]
        return [v for v in tracks if v["source"] == source and v["from"] <= t < v["to"]]

    def has_camera(self, participant: Optional[str], t: float) -> bool:
        return any(v["participant"] == participant and v["source"] == "camera" and v["from"] <= t < v["to"] for v in self.video)

    def main_speaker(self, t: float, order: list[str]) -> Optional[str]:
        group_from = {v["track"]: g[0]["from"] for g in self.groups for v in g}
        cameras = [self.by_track[x] for x in order if self.by_track[x]["source"] == "camera"]
        main = None
        points = sorted([(group_from[v["track"]], 0) for v in cameras] + [(e["at"], 1, e) for e in self.speakers],
                        key=lambda p: (p[0], p[1]))
        for point in points:
            at = point[0]
            if at > t:
                break
            if point[1] == 0 and main is None:
                main = next(v["participant"] for v in cameras if group_from[v["track"]] <= at)
            elif point[1] == 1 and point[2].get("participant") and self.has_camera(point[2]["participant"], at):
                main = point[2]["participant"]
        if main is not None and not self.has_camera(main, t):
            return None  # the spec does not say who follows a main speaker who left
        return main

    def at(self, t: float, order: list[str]) -> Expected:
        main = self.main_speaker(t, order)
        cameras = self.live(t, "camera", order)
        screens = self.live(t, "screen", order)
        main_track = next((v["track"] for v in cameras if v["participant"] == main), None)
        others = [v["track"] for v in cameras if v["participant"] != main]
        regions: dict[str, tuple[int, int, int, int]] = {}
        if screens:
            regions[screens[0]["track"]] = SCREEN_MAIN
            if main_track:
                regions[main_track] = SCREEN_SPEAKER
            for track, region in zip(others, SCREEN_OTHERS):
                regions[track] = region
            return Expected("screen", regions, main)
        if main_track:
            regions[main_track] = SPEAKER_MAIN if others else SPEAKER_ALONE
        for track, region in zip(others, SPEAKER_STRIP):
            regions[track] = region
        return Expected("speaker", regions, main)


def layout_at(composition: dict, t: float) -> Optional[dict]:
    for entry in composition["layouts"]:
        if entry["from"] <= t < entry["to"]:
            return entry
    return None

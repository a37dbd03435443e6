"""A recorded meeting composed into one file (issue 19, "must show"): three publishers meet for 30 s, the host records,
and the server composes the recording when it stops.

- Alice (aiortc, host): a red camera and a 440 Hz tone; she shares a yellow "screen" in the middle.
- Chandra (Chromium, its fake devices fed from files): a green camera and a 1700 Hz tone; she leaves before the end.
- Bob (aiortc): a blue camera and a 1000 Hz tone; he joins after the recording started.
Alice's tone is loud at first, then Bob's, then Alice's again, so the server's active-speaker detection (RFC 6464
levels, which aiortc sends) names the main speaker; Chandra's stays quiet.

Then: composition.json's layouts are the spec's rules applied to recording.json; ffprobe reads composed.webm as
VP8 1280x720 + Opus of the recording's duration and audio.opus as Ogg Opus, mono, 48 kHz; frames decoded from
composed.webm show each tile's publisher's colour where composition.json says it was drawn (and nobody's colour
where nobody should be: Bob before he joined, Chandra after she left, the screen outside the share); both audio
files hold each publisher's tone while they were there (and not otherwise), loud and quiet when it was; every
per-track file still decodes; the API reports the composition and serves the files (kind=composed|audio|tracks).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from e2ekit.composition import (
    BLUE, GREEN, PALETTE, RED, SCREEN_OTHERS, SPEAKER_MAIN, SPEAKER_STRIP, YELLOW,
    ExpectedLayout, MeetingPublisher, SolidColourTrack, colour_fraction, colour_name, dbov_amplitude, decodes_cleanly, fit, frames_at,
    layout_at, mono_pcm, patch_mean, probe, tone_amplitude, write_tone_wav, write_y4m,
)
from e2ekit.wait import wait_for
from test_admin_api import api, ok
from test_meeting_chromium import meeting_state

pytestmark = pytest.mark.server

ROOM = "composed"
LOUD = dbov_amplitude(-9)        # the active speaker's tone
QUIET = dbov_amplitude(-27)      # 18 dB down: well under the detector's 3 dB takeover margin, well over its -60 dBov floor
CHROMIUM_LEVEL = dbov_amplitude(-24)
TONES = {"alice": 440.0, "bob": 1000.0, "chandra": 1700.0}
COLOURS = {("alice", "camera"): "red", ("alice", "screen"): "yellow", ("bob", "camera"): "blue", ("chandra", "camera"): "green"}

# The meeting's script, in seconds after the recording started.
BOB_JOINS = 4.0
BOB_SPEAKS = 9.0
SCREEN_ON = 13.0
SCREEN_OFF = 21.0
CHANDRA_LEAVES = 23.0
ALICE_SPEAKS = 25.0
STOP = 30.0

# Chromium's fake microphone plays the WAV as it is only without its speech processing (echo cancellation, noise
# suppression and gain control would treat a steady tone as noise); the page asks for the defaults, so the test
# turns them off in getUserMedia before the page's own script runs.
NO_AUDIO_PROCESSING_JS = """
(() => {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => {
    if (constraints && constraints.audio) {
      const audio = constraints.audio === true ? {} : constraints.audio;
      constraints = { ...constraints, audio: { ...audio, echoCancellation: false, noiseSuppression: false, autoGainControl: false } };
    }
    return original(constraints);
  };
})();
"""


def chandra_joins(browsers, server, folder: Path):
    y4m = write_y4m(folder / "green.y4m", GREEN, 320, 180)
    wav = write_tone_wav(folder / "tone-1700.wav", TONES["chandra"], CHROMIUM_LEVEL)
    driver = browsers("chandra", extra_flags=[f"--use-file-for-fake-video-capture={y4m}",
                                               f"--use-file-for-fake-audio-capture={wav}"])
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_AUDIO_PROCESSING_JS})
    token = server.token(ROOM, "chandra", "participant", name="Chandra")
    driver.get(f"{server.base_url}/m/{ROOM}?t={quote(token)}&autojoin=1&quality=low")
    joined = wait_for(lambda: (s := meeting_state(driver)).get("me") and s, 30, "Chandra to be joined")
    assert joined["screen"] == "meeting", joined
    return driver


def room_tracks(server) -> dict[str, list[str]]:
    room = ok(api(server, "GET", f"/api/rooms/{ROOM}"))
    return {p["identity"]: sorted(t["source"] for t in p["tracks"]) for p in room["participants"]}


async def run_meeting(server, chandra) -> tuple[str, dict[str, float]]:
    """The script above; returns the recording's id and when (s after the recording started) each step happened."""
    alice = MeetingPublisher(server, ROOM, "alice", "host", "Alice", SolidColourTrack(RED), TONES["alice"], LOUD)
    bob = MeetingPublisher(server, ROOM, "bob", "participant", "Bob", SolidColourTrack(BLUE), TONES["bob"], QUIET)
    marks: dict[str, float] = {}
    try:
        await alice.join()
        await asyncio.to_thread(wait_for, lambda: room_tracks(server) == {"alice": ["camera", "microphone"],
                                                                          "chandra": ["camera", "microphone"]},
                                20, "Alice's and Chandra's tracks to be published")
        await asyncio.sleep(2)   # media flows; Alice, loud, is the active speaker before the recording starts
        sent = time.monotonic()
        told = await alice.record(True)
        assert told == {"type": "recording", "active": True}, told
        t0 = (sent + time.monotonic()) / 2
        status = await asyncio.to_thread(lambda: ok(api(server, "GET", f"/api/rooms/{ROOM}/recording")))
        assert status["recording"] is True, status

        async def at(seconds: float, mark: str) -> None:
            await asyncio.sleep(max(0.0, t0 + seconds - time.monotonic()))
            marks[mark] = time.monotonic() - t0

        await at(BOB_JOINS, "bob-joins")
        await bob.join()
        await at(BOB_SPEAKS, "bob-speaks")
        bob.tone.amplitude, alice.tone.amplitude = LOUD, QUIET
        await at(SCREEN_ON, "screen-on")
        await alice.share_screen(SolidColourTrack(YELLOW, 640, 360, fps=10))
        await at(SCREEN_OFF, "screen-off")
        await alice.stop_screen()
        await at(CHANDRA_LEAVES, "chandra-leaves")
        await asyncio.to_thread(lambda: chandra.find_element("id", "leave-button").click())
        await at(ALICE_SPEAKS, "alice-speaks")
        alice.tone.amplitude, bob.tone.amplitude = LOUD, QUIET
        await at(STOP, "stop")
        told = await alice.record(False)
        assert told == {"type": "recording", "active": False}, told
        return status["id"], marks
    finally:
        await bob.leave()
        await alice.leave()


def wait_composed(server, rec_id: str) -> tuple[dict, list[float]]:
    """Polls GET /api/recordings/{id} until the composition is done or failed; returns the last answer and the
    progress figures seen."""
    progress: list[float] = []

    def finished():
        body = ok(api(server, "GET", f"/api/recordings/{rec_id}"))
        composition = body["composition"]
        assert composition["state"] in ("pending", "running", "done", "failed"), composition
        progress.append(composition["progress"])
        return body if composition["state"] in ("done", "failed") else None

    body = wait_for(finished, 150, "the composition to finish", interval=0.5)
    return body, progress


def edges(manifest: dict) -> list[float]:
    """Where (ms) the picture is allowed to change: a video track starting or ending, the speaker changing, a screen
    share starting or stopping."""
    out = []
    for track in manifest["tracks"]:
        if track["kind"] == "video":
            out += [track["from"], track["to"]]
    out += [e["at"] for e in manifest["timeline"] if e["type"] in ("speaker", "screen-started", "screen-stopped")]
    return sorted(out)


def near_an_edge(t: float, marks: list[float]) -> bool:
    # A track is live from its first decoded frame, which comes after `from` (a keyframe is asked for); a frame
    # sampled with the fps filter may be one frame off.
    return t < 1500 or any(e - 400 <= t <= e + 1500 for e in marks)


@pytest.mark.timeout(240)
def test_a_recorded_meeting_is_composed_into_one_video_and_one_audio_file(server, browsers, tmp_path):
    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        pytest.fail("ffprobe/ffmpeg are missing: tools/setup.sh installs Debian ffmpeg")
    started = time.monotonic()
    ok(api(server, "POST", "/api/rooms", {"name": ROOM, "title": "Composed"}), 201)
    chandra = chandra_joins(browsers, server, tmp_path)
    rec_id, marks = asyncio.run(run_meeting(server, chandra))
    met = time.monotonic()

    body, progress = wait_composed(server, rec_id)
    composed_in = time.monotonic() - met
    composition_status = body["composition"]
    assert composition_status["state"] == "done", composition_status
    assert all(0 <= p <= 1 for p in progress) and progress == sorted(progress), progress
    assert composition_status["progress"] == 1, composition_status
    assert {"composed.webm", "audio.opus"} <= set(body["files"]), body["files"]

    (folder,) = [d for d in (server.data_dir / "recordings").iterdir() if d.name.endswith(rec_id)]
    manifest = json.loads((folder / "recording.json").read_text())
    composition = json.loads((folder / "composition.json").read_text())
    duration = manifest["duration"]
    assert abs(duration - STOP * 1000) < 2000, (duration, marks)
    people = {t["identity"] for t in manifest["tracks"]}
    assert people == {"alice", "bob", "chandra"}, manifest["tracks"]
    speakers = [(e["at"], e.get("identity")) for e in manifest["timeline"] if e["type"] == "speaker"]
    # The loud tone moved the active speaker: to Bob while he was loud, back to Alice at the end.
    assert any(marks["bob-speaks"] * 1000 <= at <= marks["screen-on"] * 1000 and who == "bob" for at, who in speakers), (speakers, marks)
    assert any(marks["alice-speaks"] * 1000 <= at <= duration and who == "alice" for at, who in speakers), (speakers, marks)

    check_composition_json(composition, manifest)
    check_files(folder, manifest, composition)
    sizes = {t["track"]: picture_size(folder / t["file"]) for t in manifest["tracks"] if t["kind"] == "video"}
    covered = check_layouts_and_pictures(folder, manifest, composition, sizes)
    check_audio(folder, manifest, marks)
    check_api_and_cli(server, rec_id, folder, manifest)
    print(f"meeting {met - started:.0f} s, composition {composed_in:.1f} s (elapsedMs {composition['elapsedMs']}), "
          f"whole test {time.monotonic() - started:.0f} s; frames checked: {covered}")


def check_composition_json(composition: dict, manifest: dict) -> None:
    assert composition["state"] == "done" and not composition.get("error"), composition
    assert (composition["width"], composition["height"], composition["fps"]) == (1280, 720, 15), composition
    assert abs(composition["duration"] - manifest["duration"]) <= 1000 / 15 + 1, (composition["duration"], manifest["duration"])
    assert composition["elapsedMs"] > 0, composition
    layouts = composition["layouts"]
    assert layouts and layouts[0]["from"] == 0, layouts[:1]
    for a, b in zip(layouts, layouts[1:]):
        assert a["to"] == b["from"] and a["from"] < a["to"], (a, b)
        assert (a["layout"], a["tiles"]) != (b["layout"], b["tiles"]), f"two intervals with the same arrangement: {a} {b}"
    assert abs(layouts[-1]["to"] - composition["duration"]) <= 1000 / 15 + 1, (layouts[-1], composition["duration"])
    by_track = {t["track"]: t for t in manifest["tracks"]}
    for entry in layouts:
        assert entry["layout"] in ("speaker", "screen"), entry
        for tile in entry["tiles"]:
            track = by_track.get(tile["track"])
            assert track and track["kind"] == "video", tile
            for key in ("participant", "identity", "name", "source"):
                assert tile[key] == track[key], (key, tile, track)


def check_files(folder: Path, manifest: dict, composition: dict) -> None:
    info = probe(folder / "composed.webm")
    assert "webm" in info["format"]["format_name"], info["format"]
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1 and len(info["streams"]) == 2, info["streams"]
    (v,), (a,) = video, audio
    assert v["codec_name"] == "vp8" and (v["width"], v["height"]) == (1280, 720), v
    assert v["r_frame_rate"] == "15/1", v
    assert a["codec_name"] == "opus" and a["sample_rate"] == "48000" and a["channels"] == 1, a
    assert abs(float(info["format"]["duration"]) - manifest["duration"] / 1000) <= 1.0, (info["format"]["duration"], manifest["duration"])

    ogg = probe(folder / "audio.opus")
    assert ogg["format"]["format_name"] == "ogg", ogg["format"]
    (o,) = ogg["streams"]
    assert o["codec_name"] == "opus" and o["sample_rate"] == "48000" and o["channels"] == 1, o
    assert abs(float(ogg["format"]["duration"]) - manifest["duration"] / 1000) <= 1.0, (ogg["format"]["duration"], manifest["duration"])

    for name in ["composed.webm", "audio.opus"] + [t["file"] for t in manifest["tracks"]]:
        complaints = decodes_cleanly(folder / name)
        assert complaints == "", (name, complaints)


def picture_size(path: Path) -> tuple[int, int]:
    (stream,) = probe(path)["streams"]
    return stream["width"], stream["height"]


def close(a, b, within: float = 2.0) -> bool:
    return all(abs(x - y) <= within for x, y in zip(a, b))


def check_layouts_and_pictures(folder: Path, manifest: dict, composition: dict, sizes: dict) -> str:
    model = ExpectedLayout(manifest)
    by_track = {t["track"]: t for t in manifest["tracks"]}
    colour_of = {tr: COLOURS[(t["identity"], t["source"])] for tr, t in by_track.items() if t["kind"] == "video"}
    who = {t["participant"]: t["identity"] for t in manifest["tracks"]}

    def names(tracks) -> list[str]:
        return sorted(f"{by_track[x]['identity']}/{by_track[x]['source']}" for x in tracks)

    frames = frames_at(folder / "composed.webm", 0.5)
    assert abs(len(frames) * 0.5 - manifest["duration"] / 1000) <= 1.0, (len(frames), manifest["duration"])
    marks = edges(manifest)
    samples = [(t_s * 1000, img) for t_s, img in frames
               if t_s * 1000 < manifest["duration"] - 500 and not near_an_edge(t_s * 1000, marks)]

    def arrangement(t: float, order: list[str]) -> tuple[object, list[str]]:
        """(what the spec asks for at t, how composition.json differs from it); None when the spec cannot say."""
        expected = model.at(t, order)
        if expected.main is None and model.live(t, "camera", order):
            return None, []   # a main speaker who left: the spec does not say who follows
        entry = layout_at(composition, t)
        if entry is None:
            return expected, [f"{t:.0f} ms: composition.json has no layout"]
        tiles = {tile["track"]: tile for tile in entry["tiles"]}
        if entry["layout"] != expected.layout or set(tiles) != set(expected.regions):
            return expected, [f"{t:.0f} ms: composition.json has {entry['layout']} {names(tiles)}, the spec asks for "
                              f"{expected.layout} {names(expected.regions)} (main speaker {who.get(expected.main)})"]
        out = []
        for track, region in expected.regions.items():
            tile = tiles[track]
            rect = (tile["x"], tile["y"], tile["width"], tile["height"])
            want = fit(region, *sizes[track])
            if not close(rect, want):
                out.append(f"{t:.0f} ms: {names([track])} drawn at {rect}, the spec asks for "
                           f"{tuple(round(v) for v in want)} (region {region}, picture {sizes[track]})")
        return expected, out

    # The one way of breaking recording.json's ties (whose first frame came first) that the composition kept to.
    orders = model.tie_breaks()
    order = min(orders, key=lambda o: sum(1 for t, _ in samples if arrangement(t, o)[1]))
    seen: dict[tuple, int] = {}
    problems: list[str] = []
    for t, img in samples:
        expected, wrong = arrangement(t, order)
        problems += wrong
        if expected is None or wrong:
            continue
        entry = layout_at(composition, t)
        tiles = {tile["track"]: tile for tile in entry["tiles"]}
        present = set()
        for track, region in expected.regions.items():
            tile = tiles[track]
            rect = (tile["x"], tile["y"], tile["width"], tile["height"])
            mean = patch_mean(img, *rect)
            colour, distance = colour_name(mean)
            present.add(colour_of[track])
            if colour != colour_of[track] or distance > 60:
                problems.append(f"{t:.0f} ms: the middle of {names([track])}'s tile at {rect} is {colour} "
                                f"({mean.round()}), not {colour_of[track]}")
            # What is left of the region around the picture is black.
            x, y, w, h = rect
            rx, ry, rw, rh = region
            for margin in ((rx, ry, x - rx, rh), (x + w, ry, rx + rw - x - w, rh), (rx, ry, rw, y - ry),
                           (rx, y + h, rw, ry + rh - y - h)):
                if margin[2] >= 16 and margin[3] >= 16 and colour_name(patch_mean(img, *margin))[0] != "black":
                    problems.append(f"{t:.0f} ms: beside {names([track])}'s picture, {margin} is not black")
        # Empty places of the strip (or of the column beside a screen) are black.
        used = set(expected.regions.values())
        empty = SCREEN_OTHERS if expected.layout == "screen" else (SPEAKER_STRIP if SPEAKER_MAIN in used else [])
        for region in empty:
            if region not in used and colour_name(patch_mean(img, *region))[0] != "black":
                problems.append(f"{t:.0f} ms: the empty place {region} is not black")
        # Nobody else's colour anywhere: Bob before he joined, Chandra after she left, the screen outside the share.
        for name, rgb in PALETTE.items():
            if name != "black" and name not in present and colour_fraction(img, rgb) > 0.002:
                problems.append(f"{t:.0f} ms: {colour_fraction(img, rgb):.2%} of the picture is {name}, which nobody shows then")
        phase = (expected.layout, who.get(expected.main), frozenset(by_track[x]["identity"] for x in expected.regions))
        seen[phase] = seen.get(phase, 0) + 1
    assert not problems, f"appearance order {names(order)}:\n" + "\n".join(problems[:40])
    # The checks covered every part of the meeting: before Bob came, the screen share, Bob as the main speaker
    # with Chandra and after she left, and Alice as the main speaker again.
    covered = "; ".join(f"{p[0]} main={p[1]} shown={sorted(p[2])}: {n}" for p, n in seen.items())
    everyone = frozenset({"alice", "bob", "chandra"})
    assert any(p[0] == "speaker" and "bob" not in p[2] for p in seen), covered
    assert any(p[0] == "screen" and p[1] == "bob" and p[2] == everyone for p in seen), covered
    assert ("speaker", "bob", everyone) in seen, covered
    assert ("speaker", "bob", frozenset({"alice", "bob"})) in seen, covered
    assert ("speaker", "alice", frozenset({"alice", "bob"})) in seen, covered
    return covered


def check_audio(folder: Path, manifest: dict, marks: dict[str, float]) -> None:
    """Both files hold each publisher's tone while their microphone track was recorded (and not otherwise), loud
    while they were the loud one."""
    mics = {t["identity"]: (t["from"] / 1000, t["to"] / 1000) for t in manifest["tracks"] if t["kind"] == "audio"}
    end = manifest["duration"] / 1000
    loud = {  # (identity, from s, to s): loud (True) or quiet (False), a margin inside each switch
        ("alice", 0.5, marks["bob-speaks"] - 0.3): True,
        ("alice", marks["bob-speaks"] + 0.5, marks["alice-speaks"] - 0.3): False,
        ("alice", marks["alice-speaks"] + 0.5, end - 0.5): True,
        ("bob", mics["bob"][0] + 0.5, marks["bob-speaks"] - 0.3): False,
        ("bob", marks["bob-speaks"] + 0.5, marks["alice-speaks"] - 0.3): True,
        ("bob", marks["alice-speaks"] + 0.5, end - 0.5): False,
    }
    presence = {"alice": QUIET, "bob": QUIET, "chandra": CHROMIUM_LEVEL}
    between = math.sqrt(LOUD * QUIET)   # aiortc sends mono as stereo at -3 dB each side: loud arrives at ~0.7 LOUD
    for name in ("audio.opus", "composed.webm"):
        pcm = mono_pcm(folder / name)
        assert abs(len(pcm) / 48000 - end) <= 1.0, (name, len(pcm) / 48000, end)
        problems = []
        for s in [i * 0.5 for i in range(int(end / 0.5))]:
            for identity, freq in TONES.items():
                a, b = mics[identity]
                amplitude = tone_amplitude(pcm, freq, s, 0.5)
                if a + 0.5 <= s and s + 0.5 <= b - 0.3 and amplitude < 0.3 * presence[identity]:
                    problems.append(f"{name} {s:.1f}-{s + 0.5:.1f} s: {identity}'s {freq:.0f} Hz at {amplitude:.0f}, "
                                    f"but {identity} was there ({a:.1f}-{b:.1f} s)")
                if (s + 0.5 <= a - 0.3 or s >= b + 0.5) and amplitude > 100:
                    problems.append(f"{name} {s:.1f}-{s + 0.5:.1f} s: {identity}'s {freq:.0f} Hz at {amplitude:.0f}, "
                                    f"but {identity} was not there ({a:.1f}-{b:.1f} s)")
                for (who, lo, hi), is_loud in loud.items():
                    if who == identity and lo <= s and s + 0.5 <= hi and (amplitude > between) != is_loud:
                        problems.append(f"{name} {s:.1f}-{s + 0.5:.1f} s: {identity}'s {freq:.0f} Hz at {amplitude:.0f}, "
                                        f"should be {'loud' if is_loud else 'quiet'} (sent at {LOUD:.0f} / {QUIET:.0f})")
        assert not problems, "\n".join(problems[:40])


def check_api_and_cli(server, rec_id: str, folder: Path, manifest: dict) -> None:
    listed = [r for r in ok(api(server, "GET", "/api/recordings")) if r["id"] == rec_id]
    assert len(listed) == 1 and listed[0]["composition"]["state"] == "done", listed
    assert {"composed.webm", "audio.opus"} <= set(listed[0]["files"]), listed[0]["files"]

    key = (server.data_dir / "admin.key").read_text().strip()
    url = f"{server.base_url}/api/recordings/{rec_id}/file"

    def download(**params) -> requests.Response:
        return requests.get(url, params=params, headers={"Authorization": f"Bearer {key}"}, timeout=60)

    composed = download(kind="composed")
    assert composed.status_code == 200 and composed.headers["Content-Type"] == "video/webm", (composed.status_code, composed.headers)
    assert composed.content == (folder / "composed.webm").read_bytes()
    assert download(name="composed.webm").content == composed.content
    audio = download(kind="audio")
    assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/ogg", (audio.status_code, audio.headers)
    assert audio.content == (folder / "audio.opus").read_bytes()
    tracks = download(kind="tracks")
    assert tracks.status_code == 200 and tracks.headers["Content-Type"] == "application/x-tar", (tracks.status_code, tracks.headers)
    with tarfile.open(fileobj=io.BytesIO(tracks.content)) as tar:
        members = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}
        names = {re.sub(r"^[^/]*/(?=recording\.json$|tracks/)", "", n): n for n in members}  # an optional top folder
        assert {"recording.json"} | {t["file"] for t in manifest["tracks"]} <= set(names), sorted(members)
        assert tar.extractfile(members[names["recording.json"]]).read() == (folder / "recording.json").read_bytes()
        for track in manifest["tracks"]:
            assert tar.extractfile(members[names[track["file"]]]).read() == (folder / track["file"]).read_bytes(), track["file"]
    assert requests.get(url, params={"kind": "composed"}, timeout=10).status_code == 401

    sabha = str(server.binary)
    status = subprocess.run([sabha, "recording", "status", rec_id, "--server", server.base_url, "--admin-key", key],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0 and "done" in status.stdout, (status.returncode, status.stdout, status.stderr)
    listing = subprocess.run([sabha, "recording", "list", "--server", server.base_url, "--admin-key", key],
                             capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0 and rec_id in listing.stdout, (listing.returncode, listing.stdout, listing.stderr)

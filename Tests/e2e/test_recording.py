"""Recording a meeting (issue 19, first part): two aiortc participants publish a moving picture and a tone; an
administrator starts recording, everyone in the room is told and a late joiner sees it in `joined`; the host stops
it from the meeting. Every track is in its own WebM file, which ffprobe (Debian ffmpeg) reads as VP8 or Opus of the
right length and ffmpeg decodes without an error; recording.json says which file is whose; the audit trail says
who started and stopped it."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from urllib.parse import quote

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.wait import wait_for
from test_admin_api import api, link_for, ok, problem
from test_meeting_protocol import pair

pytestmark = pytest.mark.server


def probe(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.timeout(150)
def test_a_recorded_meeting_leaves_one_playable_file_per_track(server):
    if shutil.which("ffprobe") is None:
        pytest.fail("ffprobe is missing: tools/setup.sh installs Debian ffmpeg")
    room = "recorded"
    ok(api(server, "POST", "/api/rooms", {"name": room, "title": "Recorded"}), 201)
    problem(api(server, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 409, "recording-refused")  # nobody there

    async def meeting():
        alice, bob = await pair(server, room)
        try:
            assert ok(api(server, "GET", f"/api/rooms/{room}/recording"))["recording"] is False
            started = ok(api(server, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 201)
            assert started["recording"] is True and started["id"].startswith("r-"), started
            problem(api(server, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 409, "recording-refused")
            for who in (alice, bob):
                told = await asyncio.to_thread(who.ws.next, 10, lambda m: m.get("type") == "recording")
                assert told == {"type": "recording", "active": True}
            wait_for(lambda: ok(api(server, "GET", f"/api/rooms/{room}/recording"))["tracks"] == 4, 10, "all four tracks to be recorded")
            late = MeetingSocket(server.base_url)
            try:
                assert late.join(link_for(server, room, "meera")["token"])["recording"] is True
                late.send({"type": "chat", "text": "Minutes, please"})
                await asyncio.to_thread(late.next_type, "chat")
                late.send({"type": "leave"})
                await asyncio.to_thread(wait_for, lambda: late.closed.is_set(), 10, "meera to leave")
            finally:
                late.close()
            bob.ws.send({"type": "record", "active": False})
            refused = await asyncio.to_thread(bob.ws.next, 10, lambda m: m.get("type") == "error")
            assert refused["code"] == "not-host", refused
            await asyncio.sleep(5)
            alice.ws.send({"type": "record", "active": False})
            for who in (alice, bob):
                told = await asyncio.to_thread(who.ws.next, 10, lambda m: m.get("type") == "recording")
                assert told == {"type": "recording", "active": False}
            return started
        finally:
            await alice.close()
            await bob.close()

    started = asyncio.run(meeting())
    assert ok(api(server, "GET", f"/api/rooms/{room}/recording"))["recording"] is False
    directory = server.data_dir / "recordings"
    (folder,) = [d for d in directory.iterdir() if d.name.endswith(started["id"])]
    manifest = json.loads((folder / "recording.json").read_text())
    assert manifest["room"] == room and manifest.get("problem") is None, manifest
    assert 4_500 <= manifest["duration"] <= 12_000, manifest["duration"]
    timeline = [(e["type"], e.get("identity"), e.get("text")) for e in manifest["timeline"] if e["type"] != "speaker"]
    assert timeline[:2] in ([("present", "alice", None), ("present", "bob", None)], [("present", "bob", None), ("present", "alice", None)]), timeline
    assert timeline[2:5] == [("joined", "meera", None), ("chat", "meera", "Minutes, please"), ("left", "meera", None)], timeline
    assert sorted(timeline[5:]) == [("left", "alice", None), ("left", "bob", None)], "still there when it stopped"
    assert all(a["at"] <= b["at"] for a, b in zip(manifest["timeline"], manifest["timeline"][1:])), "in time order"
    tracks = manifest["tracks"]
    assert sorted((t["identity"], t["kind"]) for t in tracks) == [("alice", "audio"), ("alice", "video"), ("bob", "audio"), ("bob", "video")], tracks
    # aiortc sends sender reports: each person's audio and video are lined up by them. The track that arrived with
    # the least delay keeps its place (offset 0); the other moves earlier, by less than the network could delay it.
    for person in ("alice", "bob"):
        offsets = sorted(t.get("offset") for t in tracks if t["identity"] == person)
        assert None not in offsets and offsets[-1] == 0 and -500 <= offsets[0] <= 0, (person, offsets)
    for track in tracks:
        path = folder / track["file"]
        info = probe(path)
        (stream,) = info["streams"]
        seconds = (track["to"] - track["from"]) / 1000
        duration = float(info["format"]["duration"]) - float(stream.get("start_time", "0"))
        if track["kind"] == "video":
            assert stream["codec_name"] == "vp8" and (stream["width"], stream["height"]) == (320, 240), stream
            assert int(stream["nb_read_frames"]) >= 15 * seconds, (track, stream["nb_read_frames"])
        else:
            assert stream["codec_name"] == "opus" and stream["sample_rate"] == "48000", stream
            assert int(stream["nb_read_frames"]) >= 40 * seconds, (track, stream["nb_read_frames"])
        assert abs(duration - seconds) <= 1.0, (track, duration, seconds)
        decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        assert decoded.returncode == 0 and decoded.stderr == "", (track["file"], decoded.stderr)

    events = [(e["event"], e["actor"]) for e in ok(api(server, "GET", f"/api/audit?room={room}")) if e["event"].startswith("recording")]
    assert events == [("recording-stopped", "alice"), ("recording-started", "admin")], events

    # Administrators list, download and delete it, once it is composed (test_recording_composition checks the result).
    wait_for(lambda: ok(api(server, "GET", f"/api/recordings/{started['id']}"))["composition"]["state"] == "done", 60, "the composition")
    (listed,) = ok(api(server, "GET", "/api/recordings"))
    assert listed["id"] == started["id"] and listed["room"] == room, listed
    assert sorted(listed["files"]) == sorted([t["file"] for t in tracks] + ["composed.webm", "audio.opus"]), listed["files"]
    assert listed["composition"] == {"state": "done", "progress": 1}, listed["composition"]
    assert listed["bytes"] == sum((folder / f).stat().st_size for f in listed["files"])
    name = tracks[0]["file"]
    key = (server.data_dir / "admin.key").read_text().strip()
    download = requests.get(f"{server.base_url}/api/recordings/{started['id']}/file", params={"name": name}, timeout=10,
                            headers={"Authorization": f"Bearer {key}"})
    assert download.status_code == 200 and download.headers["Content-Type"] == "video/webm"
    assert download.content == (folder / name).read_bytes()
    assert requests.get(f"{server.base_url}/api/recordings/{started['id']}/file", params={"name": name}, timeout=10).status_code == 401
    for bad in ("../../sabha.sqlite", "tracks/../../../admin.key", "recording.json/.."):
        problem(api(server, "GET", f"/api/recordings/{started['id']}/file?name={bad}"), 404, "recording-not-found")
    problem(api(server, "GET", "/api/recordings/r-..%2F..%2Fx/file"), 404, "recording-not-found")
    assert api(server, "DELETE", f"/api/recordings/{started['id']}").status_code == 204
    assert not folder.exists() and ok(api(server, "GET", "/api/recordings")) == []
    problem(api(server, "DELETE", f"/api/recordings/{started['id']}"), 404, "recording-not-found")
    assert [e["detail"] for e in ok(api(server, "GET", "/api/audit")) if e["event"] == "recording-deleted"] == [started["id"]]


def test_recordings_past_their_retention_are_deleted(start_server, tmp_path):
    data = tmp_path / "data0"
    for name, started in (("old-2020-r-01d001", "2020-01-01T00:00:00Z"), ("new-2026-r-0e0002", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))):
        folder = data / "recordings" / name
        (folder / "tracks").mkdir(parents=True)
        (folder / "tracks" / "a.webm").write_bytes(b"x" * 10)
        (folder / "recording.json").write_text(json.dumps({"id": name.rsplit("-", 2)[-2] + "-" + name.rsplit("-", 1)[-1], "room": "r",
                                                            "startedAt": started, "duration": 1000, "tracks": [
                                                                {"file": "tracks/a.webm", "track": "t", "participant": "p", "identity": "i",
                                                                 "name": "n", "kind": "audio", "source": "microphone", "from": 0, "to": 1000,
                                                                 "frames": 1, "packetsLost": 0}], "timeline": []}))
    server = start_server("--recording-retention-days", "30")
    wait_for(lambda: "deleted recordings past their retention" in server.log_text(), 10, "the retention to run at start")
    assert not (data / "recordings" / "old-2020-r-01d001").exists()
    assert [r["id"] for r in ok(api(server, "GET", "/api/recordings"))] == ["r-0e0002"]


@pytest.mark.timeout(150)
def test_a_host_records_from_the_meeting_page_and_the_browsers_tracks_are_recorded(server, browsers):
    from test_meeting_chromium import join

    room = "recorded-browser"
    ok(api(server, "POST", "/api/rooms", {"name": room, "title": "Recorded"}), 201)
    driver, _ = join(browsers, server, room, "asha", "Asha", role="host")
    indicator = "const e = document.getElementById('recording-indicator'); return !e.hidden && e.textContent"
    button = "const b = document.getElementById('record-button'); return [b.getAttribute('aria-pressed'), b.textContent]"
    assert not driver.execute_script(indicator)
    assert driver.execute_script(button) == ["false", "Record meeting"]
    if not driver.find_element("id", "record-button").is_displayed():  # the people panel is closed on narrow windows
        driver.find_element("id", "people-button").click()
    wait_for(lambda: driver.find_element("id", "record-button").is_displayed(), 10, "the host controls to show")
    driver.find_element("id", "record-button").click()
    assert wait_for(lambda: driver.execute_script(indicator), 10, "the page to show that it records") == "Recording"
    assert driver.execute_script(button) == ["true", "Stop recording"]
    wait_for(lambda: ok(api(server, "GET", f"/api/rooms/{room}/recording"))["tracks"] == 2, 15, "the page's two tracks to be recorded")
    # Someone about to join is told on the pre-join page, before joining.
    guest = browsers("ravi")
    guest.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'ravi', 'participant', name='Ravi'))}")
    notice = "const e = document.getElementById('prejoin-recording'); return !e.hidden && e.textContent"
    assert wait_for(lambda: guest.execute_script(notice), 15, "the pre-join page to say it records") == "This meeting is being recorded."
    other = requests.get(f"{server.base_url}/api/rooms/{room}/notice", timeout=10,
                         headers={"Authorization": f"Bearer {server.token('elsewhere', 'ravi', 'participant')}"})
    assert other.status_code == 401, "a link to another room learns nothing"
    assert requests.get(f"{server.base_url}/api/rooms/{room}/notice", timeout=10).status_code == 401
    time.sleep(3)
    driver.find_element("id", "record-button").click()
    wait_for(lambda: not driver.execute_script(indicator), 10, "the indicator to go")
    assert ok(api(server, "GET", f"/api/rooms/{room}/recording"))["recording"] is False
    (folder,) = list((server.data_dir / "recordings").iterdir())
    manifest = json.loads((folder / "recording.json").read_text())
    kinds = {}
    for track in manifest["tracks"]:
        (stream,) = probe(folder / track["file"])["streams"]
        kinds[track["kind"]] = stream
    assert kinds["video"]["codec_name"] == "vp8" and int(kinds["video"]["nb_read_frames"]) >= 30, kinds["video"]
    assert kinds["audio"]["codec_name"] == "opus" and int(kinds["audio"]["nb_read_frames"]) >= 150, kinds["audio"]
    events = [(e["event"], e["actor"]) for e in ok(api(server, "GET", f"/api/audit?room={room}")) if e["event"].startswith("recording")]
    assert events == [("recording-stopped", "asha"), ("recording-started", "asha")], events

    # The host finds it under Recordings in the host controls: being prepared, then two download buttons; the video
    # button saves the composed file, byte for byte, with the host's own link.
    recording_id = manifest["id"]
    entries = "return window.sabhaMeeting.controls().recordings"
    assert wait_for(lambda: driver.execute_script(entries), 15, "the recording to be listed")[0]["id"] == recording_id
    wait_for(lambda: driver.execute_script(entries)[0]["state"] == "done", 60, "the composition, as the page sees it")
    buttons = f"return [...document.querySelectorAll('#recordings-list li[data-recording=\"{recording_id}\"] button')].map(b => [b.dataset.kind, b.textContent])"
    assert wait_for(lambda: driver.execute_script(buttons), 10, "the download buttons") == [["composed", "Download video"], ["audio", "Download audio"]]
    assert driver.execute_script("return !document.getElementById('recordings').hidden")
    driver.execute_script("window.__saved = []; const make = URL.createObjectURL; URL.createObjectURL = (b) => { window.__saved.push(b.size); return make(b); };")
    driver.execute_script(f"document.querySelector('#recordings-list li[data-recording=\"{recording_id}\"] button[data-kind=composed]').click()")
    saved = wait_for(lambda: driver.execute_script("return window.__saved.length && window.__saved"), 15, "the page to save the video")
    assert saved == [(folder / "composed.webm").stat().st_size], saved
    # Only the room's hosts: a participant's link is refused, and so is a host's link to another room.
    for token, status in ((server.token(room, "ravi", "participant"), 403), (server.token("elsewhere", "asha", "host"), 401)):
        refused = requests.get(f"{server.base_url}/api/rooms/{room}/recordings", timeout=10, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == status, (refused.status_code, refused.text)
        refused = requests.get(f"{server.base_url}/api/rooms/{room}/recordings/{recording_id}/file?kind=composed", timeout=10,
                               headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == status, (refused.status_code, refused.text)


@pytest.mark.timeout(120)
def test_a_recording_stops_cleanly_when_the_disk_is_nearly_full(start_server, tmp_path):
    """The disk keeps --recording-min-free free: once less is left, the recording stops by itself, everyone is told
    why, its files end cleanly and play, the audit trail says so, and no new recording starts until there is room."""
    free = shutil.disk_usage(tmp_path).free
    keep = free - 300 * 2**20
    server = start_server("--recording-min-free", str(keep))
    room = "nearly-full"
    ok(api(server, "POST", "/api/rooms", {"name": room}), 201)
    filler = tmp_path / "filler"

    async def meeting():
        alice, bob = await pair(server, room)
        try:
            started = ok(api(server, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 201)
            wait_for(lambda: ok(api(server, "GET", f"/api/rooms/{room}/recording"))["tracks"] == 4, 10, "all four tracks to be recorded")
            await asyncio.sleep(2)
            with open(filler, "wb") as f:  # the disk fills up: 600 MiB more used, 300 MiB below what must stay free
                os.posix_fallocate(f.fileno(), 0, 600 * 2**20)
            for who in (alice, bob):
                told = await asyncio.to_thread(who.ws.next, 15, lambda m: m.get("type") == "recording" and not m.get("active"))
                assert told == {"type": "recording", "active": False, "reason": "disk-nearly-full"}, told
            refused = problem(api(server, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 507, "recording-refused")
            assert "nearly full" in refused["detail"], refused
            alice.ws.send({"type": "record", "active": True})
            error = await asyncio.to_thread(alice.ws.next, 10, lambda m: m.get("type") == "error")
            assert error["code"] == "recording-refused" and "nearly full" in error["message"], error
            return started
        finally:
            await alice.close()
            await bob.close()

    try:
        started = asyncio.run(meeting())
    finally:
        filler.unlink(missing_ok=True)
    assert "recording stopped: the disk is nearly full" in server.log_text()
    (folder,) = [d for d in (server.data_dir / "recordings").iterdir() if d.name.endswith(started["id"])]
    manifest = json.loads((folder / "recording.json").read_text())
    assert "the disk is nearly full" in manifest["problem"], manifest["problem"]
    assert len(manifest["tracks"]) == 4, manifest["tracks"]
    for track in manifest["tracks"]:
        decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(folder / track["file"]), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        assert decoded.returncode == 0 and decoded.stderr == "", (track["file"], decoded.stderr)
    events = [(e["event"], e["actor"]) for e in ok(api(server, "GET", f"/api/audit?room={room}")) if e["event"].startswith("recording")]
    assert events == [("recording-stopped", "disk-nearly-full"), ("recording-started", "admin")], events

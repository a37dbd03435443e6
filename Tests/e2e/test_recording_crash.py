"""A recording survives the server being killed in the middle of it (issue 19: "a crash loses at most the last
seconds"): while recording, the server rewrites recording.partial.json every 2 s and syncs every track's clusters;
after SIGKILL and a new start, the recording is finished from what was saved, listed with a problem that says
what happened, audited, composed, and every file plays."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from e2ekit.wait import wait_for
from test_admin_api import api, ok
from test_meeting_protocol import pair

pytestmark = pytest.mark.server


@pytest.mark.timeout(150)
def test_a_recording_the_server_was_killed_in_is_finished_and_composed_at_the_next_start(start_server):
    server = start_server()
    room = "killed-mid-recording"
    ok(api(server, "POST", "/api/rooms", {"name": room}), 201)

    async def meeting() -> str:
        alice, bob = await pair(server, room)
        try:
            started = ok(api(server, "POST", f"/api/rooms/{room}/recording", {"action": "start"}), 201)
            wait_for(lambda: ok(api(server, "GET", f"/api/rooms/{room}/recording"))["tracks"] == 4, 10, "all four tracks to be recorded")
            await asyncio.sleep(6)
            server.kill()
            return started["id"]
        finally:
            for who in (alice, bob):
                try:
                    await asyncio.wait_for(who.close(), 10)
                except Exception:  # noqa: BLE001 - the server is gone; the peers only need to stop
                    pass

    recording_id = asyncio.run(meeting())
    (folder,) = [d for d in (server.data_dir / "recordings").iterdir() if d.name.endswith(recording_id)]
    assert not (folder / "recording.json").exists(), "killed: no final manifest"
    partial = json.loads((folder / "recording.partial.json").read_text())
    assert len(partial["tracks"]) == 4 and partial["duration"] >= 4_000, partial

    server.start()
    wait_for(lambda: "finished a recording the server was stopped in" in server.log_text(), 15, "the recording to be finished at start")
    entry = wait_for(lambda: (e := ok(api(server, "GET", f"/api/recordings/{recording_id}")))["composition"]["state"] in ("done", "failed") and e,
                     90, "the recording to be composed")
    assert entry["composition"]["state"] == "done", entry
    assert "the server stopped while recording" in entry["problem"], entry
    assert not (folder / "recording.partial.json").exists()
    manifest = json.loads((folder / "recording.json").read_text())
    assert manifest["duration"] >= partial["duration"] and len(manifest["tracks"]) == 4, manifest
    for track in manifest["tracks"]:
        decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(folder / track["file"]), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        assert decoded.returncode == 0, (track["file"], decoded.stderr)
    probed = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(folder / "composed.webm")],
                                       capture_output=True, text=True, timeout=60).stdout)
    assert [s["codec_name"] for s in probed["streams"]] == ["vp8", "opus"], probed["streams"]
    assert abs(float(probed["format"]["duration"]) - manifest["duration"] / 1000) <= 1.0, (probed["format"], manifest["duration"])
    events = [(e["event"], e["actor"]) for e in ok(api(server, "GET", f"/api/audit?room={room}")) if e["event"].startswith("recording")]
    assert events == [("recording-stopped", "server-stopped"), ("recording-started", "admin")], events

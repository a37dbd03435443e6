"""For the state's log collectors and monitoring: --log-format json writes every line (the media workers' too) as
one JSON object with the room and participant as fields; --metrics keeps /metrics public, puts it behind the admin
key, or moves it to a listen address of its own (and off the HTTP port)."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.server import free_tcp_port
from e2ekit.wait import wait_for
from test_admin_api import admin_key, api, link_for, ok

pytestmark = pytest.mark.server


IDENTITY = 'asha "a.k.a." \\ rao\tdeo'


def test_json_log_lines_carry_the_room_and_participant_as_fields(start_server):
    server = start_server("--log-format", "json")
    ok(api(server, "POST", "/api/rooms", {"name": "logged", "title": "Logged \"quoted\"\nroom"}), 201)
    sock = MeetingSocket(server.base_url)
    try:
        me = sock.join(link_for(server, "logged", IDENTITY)["token"], name='Asha "A" \\ Rao')["you"]["id"]
        sock.send({"type": "leave"})
        wait_for(lambda: sock.closed.is_set(), 10, "the socket to close after leave")
    finally:
        sock.close()
    assert server.stop() == 0
    records = []
    for raw in server.log_text().splitlines():
        if raw.startswith("{"):
            records.append(json.loads(raw))  # every structured line parses
    assert len(records) >= 5, server.log_text()[-2000:]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert record["time"].endswith("Z") and record["level"] in ("trace", "debug", "info", "notice", "warning", "error", "critical")
    joined = [r for r in records if r["message"] == "participant joined"]
    assert joined and joined[0]["room"] == "logged" and joined[0]["participant"] == me, joined
    assert joined[0]["identity"] == IDENTITY, joined  # quotes, a backslash and a tab survive as JSON
    assert any(r["logger"] == "sabha" and r["message"] == "media workers listening" and "udp" in r for r in records)
    # No line of the server's own logging is left as plain text (the welcome text on stdout is not a log line).
    plain = [l for l in server.log_text().splitlines() if l and not l.startswith(("{", "$ ", "Admin key", "Sabha is running", "(that link",
                                                                                  " sabha token", " and send them", "Manage rooms"))]
    assert not plain, plain


def test_metrics_behind_the_admin_key_or_on_their_own_address(start_server, sabha_bin, tmp_path):
    guarded = start_server("--metrics", "admin-key")
    refused = requests.get(guarded.base_url + "/metrics", timeout=5)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer"), refused.status_code
    allowed = requests.get(guarded.base_url + "/metrics", timeout=5, headers={"Authorization": f"Bearer {admin_key(guarded)}"})
    assert allowed.status_code == 200 and "sabha_transports" in allowed.text

    port = free_tcp_port()
    apart = start_server("--metrics", f"127.0.0.1:{port}")
    assert requests.get(apart.base_url + "/metrics", timeout=5).status_code == 404
    own = wait_for(lambda: (r := requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).status_code == 200 and r, 10,
                   "metrics on their own port")
    assert "sabha_transports" in own.text and "text/plain" in own.headers["Content-Type"]
    assert requests.get(f"http://127.0.0.1:{port}/api/rooms", timeout=5).status_code == 404, "nothing else is served there"
    assert requests.get(apart.base_url + "/healthz", timeout=5).status_code == 200

    public = start_server()
    assert requests.get(public.base_url + "/metrics", timeout=5).status_code == 200

    for args, words in ((["--metrics", "everyone"], "--metrics 'everyone' is not public, admin-key or a HOST:PORT"),
                        (["--log-format", "xml"], "--log-format 'xml' is not text or json")):
        out = subprocess.run([str(sabha_bin), "serve", "--data-dir", str(tmp_path / "bad"), *args], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and words in out.stderr, out.stderr

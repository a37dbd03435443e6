"""The WHIP/WHEP HTTP surface of a real `sabha serve`: every refusal is a clear RFC 9457 problem, every option
also works as an environment variable, and the token key survives a restart."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from e2ekit.server import SabhaServer, free_tcp_port, free_udp_port

pytestmark = pytest.mark.server

FIXTURES = Path(__file__).resolve().parents[1] / "Fixtures" / "sdp"
SENDONLY = (FIXTURES / "chromium156-sendonly-offer.sdp").read_bytes()
RECVONLY = (FIXTURES / "chromium156-recvonly-offer.sdp").read_bytes()


def post(url: str, token: str | None, body: bytes = SENDONLY, content_type: str = "application/sdp") -> requests.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url, data=body, headers=headers, timeout=10)


def problem(resp: requests.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, f"{resp.status_code}: {resp.text}"
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["title"] and body["detail"], body
    return body


def test_tokens_that_are_missing_malformed_forged_expired_or_for_another_room_get_401(server, start_server):
    url = f"{server.base_url}/whip/room1"
    good = server.token("room1", "alice", "publisher")
    problem(post(url, None), 401, "token-missing")
    problem(post(url, "not-a-jwt"), 401, "token-malformed")
    header, payload, signature = good.split(".")
    problem(post(url, f"{header}.{payload}.{signature[:-4]}AAAA"), 401, "token-bad-signature")
    # A token signed by another server (another data directory, another key) is a forgery here.
    other = SabhaServer(binary=server.binary, data_dir=server.data_dir.parent / "other", log_path=server.log_path)
    problem(post(url, other.token("room1", "alice", "publisher")), 401, "token-bad-signature")
    short = server.token("room1", "alice", "publisher", ttl="1s")
    time.sleep(2.2)
    problem(post(url, short), 401, "token-expired")
    body = problem(post(f"{server.base_url}/whip/room2", good), 401, "token-wrong-room")
    assert "room1" in body["detail"] and "room2" in body["detail"]


def test_a_viewer_token_may_not_publish(server):
    viewer = server.token("r", "bob", "viewer")
    problem(post(f"{server.base_url}/whip/r", viewer), 403, "role-not-allowed")


def test_bad_offers_get_415_413_and_400_with_the_reason(server, metrics):
    url = f"{server.base_url}/whip/r"
    tok = server.token("r", "alice", "publisher")
    problem(post(url, tok, content_type="application/json"), 415, "unsupported-media-type")
    problem(post(url, tok, body=b"v=0\r\n" + b"a=x\r\n" * 20000), 413, "offer-too-large")
    assert metrics(server.base_url).value("sabha_limit_refusals_total", limit="offer-size") == 1
    body = problem(post(url, tok, body=b"hello, this is not SDP"), 400, "sdp-invalid")
    assert len(body["detail"]) > 10
    problem(post(url, tok, body=bytes(range(256)) * 4), 400, "sdp-invalid")
    # A watch offer sent to the publish endpoint is refused for its direction.
    problem(post(url, tok, body=RECVONLY), 400, "sdp-invalid")


def test_watching_someone_who_does_not_publish_is_404(server):
    tok = server.token("r", "bob", "viewer")
    problem(post(f"{server.base_url}/whep/r/nobody", tok, body=RECVONLY), 404, "not-publishing")


def test_whip_session_lifecycle_patch_options_and_owner_only_delete(server, metrics):
    tok = server.token("r", "alice", "publisher")
    resp = post(f"{server.base_url}/whip/r", tok)
    assert resp.status_code == 201, resp.text
    assert resp.headers["Content-Type"] == "application/sdp"
    location = resp.headers["Location"]
    assert location.startswith("/whip/r/")
    answer = resp.text
    for line in ("a=ice-lite", "a=setup:passive", "a=fingerprint:sha-256 ", "typ host", "a=group:BUNDLE"):
        assert line in answer, answer
    assert metrics(server.base_url).value("sabha_sessions", kind="whip") == 1
    assert metrics(server.base_url).value("sabha_transports") == 1

    # Viewers may watch (the publisher has not connected media yet, but its producers exist).
    bob = server.token("r", "bob", "viewer")
    watch = post(f"{server.base_url}/whep/r/alice", bob, body=RECVONLY)
    assert watch.status_code == 201, watch.text
    assert "a=sendonly" in watch.text and "a=ssrc:" in watch.text
    assert watch.headers["Location"].startswith("/whep/r/alice/")

    patch = requests.patch(server.base_url + location, data=b"a=candidate:1", headers={
        "Authorization": f"Bearer {tok}", "Content-Type": "application/trickle-ice-sdpfrag"}, timeout=10)
    problem(patch, 405, "trickle-not-supported")
    assert patch.headers["Allow"] == "DELETE"
    options = requests.options(f"{server.base_url}/whip/r", timeout=10)
    assert options.status_code == 204 and "application/sdp" in options.headers.get("Accept-Post", "")

    problem(requests.delete(server.base_url + location, headers={"Authorization": f"Bearer {bob}"}, timeout=10),
            403, "not-session-owner")
    assert requests.delete(server.base_url + location, headers={"Authorization": f"Bearer {tok}"}, timeout=10).status_code == 200
    problem(requests.delete(server.base_url + location, headers={"Authorization": f"Bearer {tok}"}, timeout=10),
            404, "session-not-found")
    # Ending the publisher ended its viewer too.
    m = metrics(server.base_url)
    assert m.value("sabha_sessions", kind="whip") == 0 and m.value("sabha_sessions", kind="whep") == 0
    deadline = time.monotonic() + 5
    while metrics(server.base_url).value("sabha_transports") != 0:
        assert time.monotonic() < deadline, "transports not closed"
        time.sleep(0.1)


def test_web_client_health_and_metrics_are_served(server):
    index = requests.get(server.base_url + "/", timeout=10)
    assert index.status_code == 200 and "text/html" in index.headers["Content-Type"] and "landing.js" in index.text
    for path in ("/sabha.js", "/landing.js", "/meeting.js", "/demo.html", "/m/some-room"):
        assert requests.get(server.base_url + path, timeout=10).status_code == 200, path
    assert requests.get(server.base_url + "/healthz", timeout=10).text.strip() == "ok"
    text = requests.get(server.base_url + "/metrics", timeout=10).text
    assert "# TYPE sabha_dropped_packets_total counter" in text


def test_environment_variables_configure_serve_and_the_key_survives_a_restart(sabha_bin, tmp_path):
    data = tmp_path / "envdata"
    http_port, udp_port = free_tcp_port(), free_udp_port()
    env = dict(os.environ, SABHA_HTTP=f"127.0.0.1:{http_port}", SABHA_RTC=f"127.0.0.1:{udp_port}",
               SABHA_DATA_DIR=str(data), SABHA_PUBLIC_URL="https://sabha.example.invalid/",
               SABHA_ANNOUNCE_IP="127.0.0.2")

    def serve() -> tuple[subprocess.Popen, str]:
        proc = subprocess.Popen([str(sabha_bin), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
        out = ""
        deadline = time.monotonic() + 20
        while "Sabha is running" not in out:
            assert proc.poll() is None and time.monotonic() < deadline, out
            out += proc.stdout.readline()
        return proc, out

    proc, out = serve()
    try:
        assert "Open https://sabha.example.invalid/m/demo?t=" in out, out
        key = data / "token-hs256.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        tok = subprocess.run([str(sabha_bin), "token", "--room", "r", "--identity", "alice", "--role", "publisher"],
                             env=env, capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        resp = post(f"http://127.0.0.1:{http_port}/whip/r", tok)
        assert resp.status_code == 201, resp.text
        # The candidate carries the announced address and the media port from SABHA_RTC.
        assert f"127.0.0.2 {udp_port} typ host" in resp.text, resp.text
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
    proc, _ = serve()
    try:
        assert post(f"http://127.0.0.1:{http_port}/whip/r", tok).status_code == 201, "token from before the restart still valid"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_serve_refuses_bad_options_with_a_clear_message(sabha_bin, tmp_path):
    cases = [
        (["--http", "nonsense"], "needs a port"),
        (["--rtc", "0.0.0.0:4000"], "--announce-ip"),
        (["--srtp-profiles", "rot13"], "unknown SRTP profile"),
    ]
    for args, message in cases:
        out = subprocess.run([str(sabha_bin), "serve", "--data-dir", str(tmp_path / "d"), *args],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and message in out.stderr, (args, out.stderr)


def test_out_of_range_numbers_in_options_are_refused_not_trapped_on(sabha_bin, tmp_path):
    """Issue 13 item 3 (config): values that once overflowed an addition or an Int conversion get a message."""
    serve = [str(sabha_bin), "serve", "--data-dir", str(tmp_path / "d"), "--http", "127.0.0.1:0"]
    cases = [
        (serve + ["--rtc", "127.0.0.1:65535", "--workers", "2"], {}, "65535"),
        (serve + ["--consent-timeout", "inf"], {}, "--consent-timeout"),
        (serve + ["--consent-timeout", "1e300"], {}, "--consent-timeout"),
        (serve + ["--resume-grace", "nan"], {}, "--resume-grace"),
        (serve + ["--join-closes-after", "1e300d"], {}, "longer than"),
        (serve, {"SABHA_WATCH_INTERVAL": "1e300"}, "longer than"),
        (serve, {"SABHA_OUTBOX_RETRY": "99999999999999999999d"}, "longer than"),
        ([str(sabha_bin), "room", "link", "r", "--identity", "x", "--ttl", "1e300d", "--server", "127.0.0.1:1",
          "--admin-key", "k" * 20], {}, "longer than"),
        ([str(sabha_bin), "token", "--data-dir", str(tmp_path / "d"), "--room", "r", "--identity", "x", "--ttl", "1e300d"],
         {}, "longer than"),
    ]
    for args, env, message in cases:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, env={**os.environ, **env})
        assert out.returncode > 0, f"{args} {env}: exit {out.returncode} (negative: killed by a signal, a trap)\n{out.stderr[-2000:]}"
        assert message in out.stderr, (args, env, out.stderr[-2000:])

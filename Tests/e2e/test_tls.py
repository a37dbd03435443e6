"""TLS built in (--tls-cert/--tls-key): HTTPS and WSS on one port with a certificate from a department's own CA,
HSTS, a plain-HTTP listener that redirects (--http-redirect), the certificate renewed during a meeting by SIGHUP
without dropping anyone, a broken renewal that changes nothing, and start-up refusals in words. Also --trusted-proxy:
behind a reverse proxy the audit trail records the officer's address from X-Forwarded-For/Forwarded, and only
when the proxy is trusted.

Chromium trusts the test CA as a department's desktops trust theirs: through the NSS database of its HOME
(e2ekit/turn.py CertificateAuthority), with nothing switched off (no --ignore-certificate-errors)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from urllib.parse import quote

import pytest
import requests

from e2ekit.meeting import MeetingSocket
from e2ekit.server import free_tcp_port
from e2ekit.turn import CertificateAuthority
from e2ekit.wait import wait_for
from test_admin_api import admin_key, api, link_for, ok
from test_meeting_chromium import meeting_state, wait_receiving

pytestmark = pytest.mark.server


@pytest.fixture
def ca(tmp_path):
    if shutil.which("openssl") is None or shutil.which("certutil") is None:
        pytest.skip("openssl and certutil (Debian openssl, libnss3-tools) are needed; tools/setup.sh installs them")
    return CertificateAuthority(tmp_path / "pki").make()


def peer_certificate(port: int, ca_file) -> bytes:
    """The DER certificate a fresh TLS connection to 127.0.0.1:port is shown (verified against the CA)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return tls.getpeercert(binary_form=True)


def der(pem_path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(open(pem_path).read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")


@pytest.fixture
def https_server(start_server, ca, tmp_path, request):
    """Factory: an HTTPS server (scheme https, CA-verified readiness) with extra arguments."""
    def make(*extra: str, cert=None, key=None):
        from e2ekit.server import SabhaServer
        n = len(list(tmp_path.glob("tlsdata*")))
        srv = SabhaServer(binary=request.getfixturevalue("sabha_bin"), data_dir=tmp_path / f"tlsdata{n}",
                          log_path=tmp_path / f"sabha-tls{n}.log", scheme="https", ca_file=ca.ca_cert,
                          extra_args=["--tls-cert", str(cert or ca.cert), "--tls-key", str(key or ca.key), *extra])
        request.node._log_sources.append((f"sabha serve log ({srv.log_path.name})", srv.log_text))
        made.append(srv)
        srv.start()
        return srv

    made = []
    yield make
    for srv in made:
        srv.stop()


def test_https_and_wss_with_hsts_and_a_redirect_from_plain_http(https_server, ca):
    redirect_port = free_tcp_port()
    server = https_server("--http-redirect", f"127.0.0.1:{redirect_port}")
    page = requests.get(server.base_url + "/", timeout=5, verify=str(ca.ca_cert))
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.base_url + "/healthz", timeout=5)  # the system's CAs do not know the department's CA
    # Plain HTTP on the TLS port is not answered as HTTP.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.http_port}/healthz", timeout=5)

    moved = requests.post(f"http://127.0.0.1:{redirect_port}/m/demo?t=abc&x=1", timeout=5, allow_redirects=False)
    assert moved.status_code == 308, moved.status_code
    assert moved.headers["Location"] == f"https://127.0.0.1:{server.http_port}/m/demo?t=abc&x=1"
    followed = requests.get(f"http://127.0.0.1:{redirect_port}/healthz", timeout=5, verify=str(ca.ca_cert))
    assert followed.status_code == 200 and followed.url == server.base_url + "/healthz"

    key = (server.data_dir / "admin.key").read_text().strip()
    made = requests.post(server.base_url + "/api/rooms", json={"name": "secure", "title": "Secure"}, timeout=5,
                         verify=str(ca.ca_cert), headers={"Authorization": f"Bearer {key}"})
    assert made.status_code == 201, made.text
    sock = MeetingSocket(server.base_url, ca_file=str(ca.ca_cert))
    try:
        joined = sock.join(server.token("secure", "asha", "participant"))
        assert joined["you"]["identity"] == "asha"
    finally:
        sock.close()
    assert "HTTPS and WSS on the HTTP port" in server.log_text()
    assert f"Open https://127.0.0.1:{server.http_port}/m/demo?t=" in server.log_text()


@pytest.mark.timeout(200)
def test_a_renewed_certificate_is_taken_on_sighup_during_a_meeting_and_a_broken_one_changes_nothing(https_server, ca, browsers):
    server = https_server()
    assert peer_certificate(server.http_port, ca.ca_cert) == der(ca.cert)
    room = "renewal"
    people = {}
    for identity, name in (("asha", "Asha"), ("ravi", "Ravi")):
        driver = browsers(identity, env={**os.environ, "HOME": str(ca.home)})
        token = server.token(room, identity, "publisher", name=name)
        driver.get(f"{server.base_url}/m/{room}?t={quote(token)}&autojoin=1&quality=low&name={quote(name)}")
        me = wait_for(lambda d=driver: meeting_state(d).get("me"), 30, f"{name} to join over https")
        people[name] = (driver, me["id"])
    ids = {n: p for n, (_, p) in people.items()}
    for name, (driver, _) in people.items():
        wait_receiving(driver, name, {n: p for n, p in ids.items() if n != name}, 60)

    # The renewal: new files in place, then SIGHUP (systemctl reload).
    cert, key = ca.issue("renewed")
    shutil.copy(cert, ca.cert)
    shutil.copy(key, ca.key)
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "TLS certificate reloaded" in server.log_text(), 10, "the reload to be logged")
    assert peer_certificate(server.http_port, ca.ca_cert) == der(cert), "a new connection gets the renewed certificate"
    # Nobody was dropped: the same participants, media still rising, no reconnect.
    for name, (driver, pid) in people.items():
        state = meeting_state(driver)
        assert state["me"]["id"] == pid and state["screen"] == "meeting", state
        wait_receiving(driver, name, {n: p for n, p in ids.items() if n != name}, 20)
        assert not any("socket closed" in e for e in state["events"]), state["events"]

    # A broken renewal (a truncated file) is refused and the renewed certificate stays in use.
    ca.cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "TLS certificate reload failed; the previous one stays in use" in server.log_text(), 10, "the failed reload to be logged")
    assert peer_certificate(server.http_port, ca.ca_cert) == der(cert)
    assert server.alive()
    # A third person joins after both reloads.
    late = browsers("meena", env={**os.environ, "HOME": str(ca.home)})
    late.get(f"{server.base_url}/m/{room}?t={quote(server.token(room, 'meena', 'publisher', name='Meena'))}&autojoin=1&quality=low&name=Meena")
    wait_receiving(late, "Meena", ids, 60)


def test_tls_refusals_at_start_are_in_words(sabha_bin, tmp_path, ca):
    other_cert, other_key = ca.issue("other")

    def refused(*args: str) -> str:
        out = subprocess.run([str(sabha_bin), "serve", "--data-dir", str(tmp_path / "d"), "--http", f"127.0.0.1:{free_tcp_port()}", *args],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0, out
        return out.stderr

    assert "does not belong to the certificate" in refused("--tls-cert", str(ca.cert), "--tls-key", str(other_key))
    assert "no such file" in refused("--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(ca.key))
    assert "--tls-cert needs --tls-key" in refused("--tls-cert", str(ca.cert))
    assert "not a PEM private key" in refused("--tls-cert", str(ca.cert), "--tls-key", str(ca.cert))
    assert "--http-redirect redirects to HTTPS: it needs --tls-cert" in refused("--http-redirect", "127.0.0.1:8081")
    assert "--trusted-proxy 'proxy.example' is not an IP address" in refused("--trusted-proxy", "proxy.example")


def joined_address(server, room: str, identity: str, headers: dict[str, str]) -> str | None:
    sock = MeetingSocket(server.base_url, headers=headers)
    try:
        sock.join(link_for(server, room, identity)["token"])
    finally:
        sock.close()
    rows = wait_for(lambda: [e for e in ok(api(server, "GET", f"/api/audit?room={room}"))
                             if e["identity"] == identity and e["event"] == "joined"], 10, f"{identity}'s join in the audit trail")
    return rows[0]["address"]


def test_a_trusted_proxy_names_the_client_and_an_untrusted_one_does_not(start_server):
    behind = start_server("--trusted-proxy", "127.0.0.0/8,10.0.0.0/8")
    ok(api(behind, "POST", "/api/rooms", {"name": "proxied", "title": "Proxied"}), 201)
    assert joined_address(behind, "proxied", "asha", {"X-Forwarded-For": "203.0.113.7"}) == "203.0.113.7"
    # A client that forges a first hop gets the address the trusted chain saw: the right-most untrusted one.
    assert joined_address(behind, "proxied", "ravi", {"X-Forwarded-For": "198.51.100.66, 203.0.113.9, 10.1.2.3"}) == "203.0.113.9"
    assert joined_address(behind, "proxied", "meera", {"Forwarded": 'for="[2001:db8::17]:4711";proto=https'}) == "2001:db8::17"
    assert joined_address(behind, "proxied", "dev", {}) == "127.0.0.1"

    direct = start_server()
    ok(api(direct, "POST", "/api/rooms", {"name": "direct", "title": "Direct"}), 201)
    assert joined_address(direct, "direct", "asha", {"X-Forwarded-For": "203.0.113.7"}) == "127.0.0.1", "headers of an untrusted peer are ignored"

"""`sabha doctor` checks a configuration the way a new operator needs, in plain words, and exits 1 when something
would break meetings: a wrong announce address, an expired certificate or one for another name, a taken port, a mail
server that is down, calendar credentials that are refused, a clock that is off (against an SNTP server on loopback).
A sound configuration passes with exit 0."""

from __future__ import annotations

import datetime
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from e2ekit.server import free_tcp_port, free_udp_port

pytestmark = pytest.mark.server


def doctor(sabha_bin, tmp_path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = ["--data-dir", str(tmp_path / "data"), "--http", f"127.0.0.1:{free_tcp_port()}", "--rtc", f"127.0.0.1:{free_udp_port()}"]
    out = subprocess.run([str(sabha_bin), "doctor", *base, *args], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", **(env or {})})
    return out.returncode, out.stdout + out.stderr


def line(output: str, check: str) -> str:
    found = [l for l in output.splitlines() if l[6:].startswith(check)]
    assert found, f"no '{check}' line in:\n{output}"
    return found[0]


def certificate(tmp_path, name: str, host: str, not_before: datetime.datetime, not_after: datetime.datetime):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    san = x509.IPAddress(__import__("ipaddress").ip_address(host)) if host[0].isdigit() else x509.DNSName(host)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([san]), critical=False).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class SNTPServer:
    """Answers SNTP requests on 127.0.0.1 with this machine's time plus `skew` seconds."""

    def __init__(self, skew: float) -> None:
        self.skew = skew
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def stamp(t: float) -> bytes:
        t += 2208988800
        return struct.pack("!II", int(t), int((t % 1) * 2**32))

    def serve(self) -> None:
        deadline = time.monotonic() + 60
        while self.running and time.monotonic() < deadline:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            now = time.time() + self.skew
            reply = bytes([0x24, 2, 0, 0]) + bytes(8) + b"LOCL" + self.stamp(now) + data[40:48] + self.stamp(now) + self.stamp(now)
            self.sock.sendto(reply, peer)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


def test_a_wrong_announce_address_and_an_expired_certificate_are_reported_in_plain_words(sabha_bin, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = certificate(tmp_path, "expired", "127.0.0.1", now - datetime.timedelta(days=400), now - datetime.timedelta(days=35))
    code, out = doctor(sabha_bin, tmp_path, "--announce-ip", "127.0.0.99", "--tls-cert", expired[0], "--tls-key", expired[1])
    assert code == 1, out
    announce = line(out, "announce address 127.0.0.99")
    assert announce.startswith("FAIL"), announce
    assert "clients are told to send media to 127.0.0.99" in announce and "127.0.0.99 is not an address of this machine" in announce
    assert "Set --announce-ip to the address clients reach this server at" in announce
    cert = line(out, "certificate:")
    assert cert.startswith("FAIL") and "expired on" in cert and "(35 days ago)" in cert and "browsers refuse it" in cert, cert
    assert "fix the FAIL lines before serving" in out.splitlines()[-1], out


def test_a_certificate_for_another_name_or_near_expiry_and_a_taken_port(sabha_bin, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    other = certificate(tmp_path, "other", "meet.other.example", now - datetime.timedelta(days=1), now + datetime.timedelta(days=10))
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        code, out = doctor(sabha_bin, tmp_path, "--tls-cert", other[0], "--tls-key", other[1], "--http", f"127.0.0.1:{port}")
    finally:
        taken.close()
    assert code == 1, out
    near = line(out, "certificate:")
    assert near.startswith("WARN") and ("in 9 days" in near or "in 10 days" in near) and "renew it" in near, near
    name = line(out, "certificate name")
    assert name.startswith("FAIL") and "it is for meet.other.example, not for 127.0.0.1" in name, name
    busy = line(out, "port --http")
    assert busy.startswith("FAIL") and f"cannot listen on TCP 127.0.0.1:{port}: in use by another process" in busy, busy


def test_less_free_disk_than_recordings_must_keep_is_a_warning(sabha_bin, tmp_path):
    code, out = doctor(sabha_bin, tmp_path, "--recording-min-free", str(shutil.disk_usage(tmp_path).free + 2**40))
    recordings = line(out, "recordings:")
    assert recordings.startswith("WARN") and "less than --recording-min-free" in recordings and "no recording can start" in recordings, recordings
    code, out = doctor(sabha_bin, tmp_path, "--recording-min-free", "1MiB")
    assert "recordings:" not in out, out


def test_mail_calendar_and_clock_problems_and_then_a_sound_configuration(sabha_bin, tmp_path, smtp_maildir, radicale):
    skewed = SNTPServer(skew=300)
    try:
        code, out = doctor(sabha_bin, tmp_path, "--ntp-server", f"127.0.0.1:{skewed.port}", "--caldav-url", radicale.organizer_url,
                           "--caldav-user", radicale.user, "--caldav-password", "wrong-password",
                           "--smtp-url", "smtp://127.0.0.1:1?starttls=off", "--smtp-from", "Sabha <meet@dept.example>")
    finally:
        skewed.close()
    assert code == 1, out
    assert line(out, "mail").startswith("FAIL") and "Invitations cannot go out until this works" in line(out, "mail"), out
    assert line(out, "organizer calendar").startswith("FAIL"), out
    clock = line(out, "clock")
    assert clock.startswith("FAIL") and "clock is 300." in clock and f"behind 127.0.0.1:{skewed.port}" in clock, clock

    good = SNTPServer(skew=0)
    try:
        code, out = doctor(sabha_bin, tmp_path, "--ntp-server", f"127.0.0.1:{good.port}", "--caldav-url", radicale.organizer_url,
                           "--caldav-user", radicale.user, "--caldav-password", radicale.password,
                           "--smtp-url", smtp_maildir.url, "--smtp-from", "Sabha <meet@dept.example>")
    finally:
        good.close()
    assert code == 0, out
    assert not [l for l in out.splitlines() if l.startswith(("FAIL", "WARN"))], out
    for check in ("configuration", "data directory", "disk", "port --http", "port --rtc (worker 0)", "announce address 127.0.0.1",
                  "TLS", "mail", "organizer calendar", "clock"):
        assert line(out, check).startswith("ok"), (check, out)
    assert out.splitlines()[-1] == "All checks passed."


def test_a_running_server_is_recognised_and_its_ports_not_reported_as_taken(sabha_bin, server):
    out = subprocess.run([str(sabha_bin), "doctor", "--data-dir", str(server.data_dir), "--http", f"127.0.0.1:{server.http_port}",
                          "--rtc", f"127.0.0.1:{server.udp_port}"], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    text = out.stdout
    assert line(text, "data directory").startswith("ok") and "a running 'sabha serve' (pid" in line(text, "data directory"), text
    assert line(text, "ports").startswith("skip"), text
    assert "FAIL" not in text, text

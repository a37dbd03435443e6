"""A TURN relay for one test: coturn (Debian `coturn`, binary `turnserver`) with TURN over TLS, the TURN REST shared
secret (`use-auth-secret`) that Sabha's `--turn-secret` names, and a firewall (nftables) in the test's network
namespace that lets a browser reach none of Sabha's media ports, only the relay's TLS port.

Chromium checks a TURN server's certificate as it checks a web server's: with a self-signed one it gathers no relay
candidate (icecandidateerror 701, "Failed to establish connection"; Chromium 156, December 2026). So
`CertificateAuthority` makes a throwaway CA that signs coturn's certificate for 127.0.0.1, and a HOME whose NSS
database (~/.pki/nssdb, made with `certutil` from Debian `libnss3-tools`) trusts that CA, as a department's desktops
trust its own CA. Chromium then verifies the certificate for real; nothing is switched off (no
--ignore-certificate-errors).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from e2ekit.netns import rule_counters


def _run(cmd: list[str], timeout: float = 30.0) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout


def unavailable_reason() -> str | None:
    """Why this machine cannot run the TURN tests (a skip reason), or None."""
    for tool, package in (("turnserver", "coturn"), ("certutil", "libnss3-tools"), ("openssl", "openssl"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian {package}; tools/setup.sh installs it)"
    if os.environ.get("SABHA_E2E_ALLOW_HOST_NETWORK") == "1":
        return "the TURN tests put firewall rules in the network namespace: run them in the test namespace (tools/test.sh)"
    return None


@dataclass
class CertificateAuthority:
    """A CA made for one test, a server certificate it signed for `host` (an IP address), and `home`: a HOME for
    Chromium whose NSS database trusts the CA."""

    directory: Path
    host: str = "127.0.0.1"

    @property
    def cert(self) -> Path:
        return self.directory / "turn-cert.pem"

    @property
    def key(self) -> Path:
        return self.directory / "turn-key.pem"

    @property
    def home(self) -> Path:
        return self.directory / "browser-home"

    def make(self) -> "CertificateAuthority":
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(["openssl", "req", "-x509", *ec, "-keyout", str(d / "ca-key.pem"), "-out", str(d / "ca.pem"), "-days", "2",
              "-subj", "/CN=Sabha e2e test CA", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        _run(["openssl", "req", *ec, "-keyout", str(self.key), "-out", str(d / "turn.csr"), "-subj", f"/CN={self.host}"])
        (d / "turn-ext.cnf").write_text(f"subjectAltName=IP:{self.host}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        _run(["openssl", "x509", "-req", "-in", str(d / "turn.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca-key.pem"),
              "-CAcreateserial", "-days", "2", "-extfile", str(d / "turn-ext.cnf"), "-out", str(self.cert)])
        nssdb = self.home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True, exist_ok=True)
        _run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"])
        # "C,,": a CA trusted to issue server certificates (SSL), nothing else.
        _run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "sabha-e2e-ca", "-t", "C,,", "-i", str(d / "ca.pem")])
        return self

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    def issue(self, name: str) -> tuple[Path, Path]:
        """Another server certificate for `host` signed by the same CA (a renewal): (certificate, key) in new files."""
        d = self.directory
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        cert, key = d / f"{name}-cert.pem", d / f"{name}-key.pem"
        _run(["openssl", "req", *ec, "-keyout", str(key), "-out", str(d / f"{name}.csr"), "-subj", f"/CN={self.host}"])
        _run(["openssl", "x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca-key.pem"),
              "-CAcreateserial", "-days", "2", "-extfile", str(d / "turn-ext.cnf"), "-out", str(cert)])
        return cert, key


@dataclass
class Coturn:
    """`turnserver` on 127.0.0.1 with its own configuration file: TLS on `tls_port`, plain TURN (UDP and TCP) on
    `plain_port`, relayed addresses from `relay_ports`, loopback peers allowed (Sabha is on 127.0.0.1 here; production
    denies private peers, docs/deploy.md)."""

    directory: Path
    secret: str
    ca: CertificateAuthority
    tls_port: int
    plain_port: int
    relay_ports: tuple[int, int]
    realm: str = "sabha.test"
    proc: subprocess.Popen | None = None
    _log: object = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.directory / "turnserver.log"

    def config(self) -> str:
        low, high = self.relay_ports
        return "\n".join([
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={self.plain_port}",
            f"tls-listening-port={self.tls_port}",
            # One port each: the alternative ports (+1) would be more to allow in a firewall, and nothing uses them.
            f"alt-listening-port=0",
            f"alt-tls-listening-port=0",
            f"min-port={low}",
            f"max-port={high}",
            "use-auth-secret",
            f"static-auth-secret={self.secret}",
            f"realm={self.realm}",
            f"cert={self.ca.cert}",
            f"pkey={self.ca.key}",
            "no-dtls",
            "no-tlsv1",
            "no-tlsv1_1",
            "fingerprint",
            "no-cli",
            "no-multicast-peers",
            # coturn refuses loopback peers unless told: Sabha listens on 127.0.0.1 in the test namespace.
            "allow-loopback-peers",
            f"userdb={self.directory / 'turndb'}",
            f"pidfile={self.directory / 'turnserver.pid'}",
            "log-file=stdout",
            "simple-log",
            "verbose",
            "",
        ])

    def start(self, timeout: float = 15.0) -> "Coturn":
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "turnserver.conf"
        conf.write_text(self.config())
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["turnserver", "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"turnserver exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.5):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"turnserver did not listen on TLS port {self.tls_port} within {timeout}s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class MediaFirewall:
    """nftables rules on the output hook of the test's namespace (every packet on lo passes it), standing for a
    network that lets a browser out only to TCP 443: UDP to Sabha's media port is dropped unless it comes from the
    relay's port range (coturn relaying), TCP to that port is dropped too (ICE-TCP), and so is plain TURN (UDP and
    TCP on the relay's `plain_port`). Counters show what was tried and what passed."""

    media_port: int
    relay_ports: tuple[int, int]
    plain_turn_port: int
    tls_port: int
    table: str = "sabha_e2e_turn"

    def _nft(self, *args: str) -> str:
        return _run(["nft", *args], timeout=10)

    def install(self) -> "MediaFirewall":
        t, low, high = self.table, *self.relay_ports
        self.remove()
        self._nft("add", "table", "inet", t)
        self._nft("add", "chain", "inet", t, "out", "{ type filter hook output priority 0 ; policy accept ; }")
        media = ["udp", "dport", str(self.media_port)]
        self._nft("add", "rule", "inet", t, "out", *media, "udp", "sport", f"{low}-{high}", "counter", "accept",
                  "comment", "media-via-relay")
        self._nft("add", "rule", "inet", t, "out", *media, "counter", "drop", "comment", "media-udp-direct")
        self._nft("add", "rule", "inet", t, "out", "tcp", "dport", str(self.media_port), "counter", "drop", "comment", "media-tcp-direct")
        self._nft("add", "rule", "inet", t, "out", "meta", "l4proto", "{ tcp, udp }", "th", "dport", str(self.plain_turn_port),
                  "counter", "drop", "comment", "plain-turn")
        self._nft("add", "rule", "inet", t, "out", "tcp", "dport", str(self.tls_port), "counter", "accept", "comment", "turn-tls")
        return self

    def remove(self) -> None:
        subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)

    def counters(self) -> dict[str, int]:
        """Packets per rule comment."""
        return rule_counters(self._nft("-j", "list", "table", "inet", self.table))

    def rules(self) -> str:
        try:
            return self._nft("list", "table", "inet", self.table)
        except RuntimeError as exc:
            return str(exc)

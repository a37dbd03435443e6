"""A real IMAP server for the end-to-end tests of the iMIP reply reader: Dovecot (Debian dovecot-imapd, installed by
tools/setup.sh) started as our own child, `dovecot -F -c <config>`, from a temporary folder that holds its config,
passwd-file, maildir, base and state folders, log, and a self-signed certificate for IMAPS and STARTTLS.

    server = DovecotIMAP(tmp_path / "imap")
    server.start()
    server.url                   # imap://collector:...@127.0.0.1:<port>/INBOX?starttls=off, for SABHA_IMAP_URL
    uid = server.append(raw)     # APPEND over IMAP (imaplib); returns the UID
    server.messages()            # every message in INBOX, raw bytes, by UID
    server.stop()

Dovecot will not run its login processes or mail access as root, so they run as `dovenull` and `nobody`. Those
users must reach the sockets, the passwd-file and the maildir, and pytest's tmp_path sits under a folder only root may
enter, so everything but the log and the certificate lives in a folder of its own under /tmp (mode 0755, the mail
folder 0777), removed by stop(). The system's Dovecot service is not used and need not run.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from e2ekit.process import terminate

DOVECOT = "/usr/sbin/dovecot"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user(*names: str) -> str:
    for name in names:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError(f"none of the users {names} exists")


class DovecotIMAP:
    """One Dovecot on 127.0.0.1 (IMAP on .port, IMAPS on .tls_port) with one user, mailbox INBOX."""

    user = "collector"
    password = "collector-imap-1"

    def __init__(self, root: Path, user: str | None = None, password: str | None = None) -> None:
        self.root = Path(root)
        self.user = user or self.user
        self.password = password or self.password
        self.port = 0
        self.tls_port = 0
        self.proc: subprocess.Popen | None = None
        self.runtime: Path | None = None

    @staticmethod
    def available() -> bool:
        return os.access(DOVECOT, os.X_OK) and shutil.which("openssl") is not None

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def ca_file(self) -> Path:
        """The self-signed server certificate, which is its own CA: SABHA_IMAP_CA_FILE or trustedCAFile."""
        return self.root / "cert.pem"

    @property
    def url(self) -> str:
        """Plain IMAP with the credentials in it, as SABHA_IMAP_URL."""
        return f"imap://{quote(self.user, safe='')}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/INBOX?starttls=off"

    def start(self, timeout: float = 20.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.root.mkdir(parents=True, exist_ok=True)
        if self.runtime is None:
            self.runtime = Path(tempfile.mkdtemp(prefix="sabha-dovecot-"))
            os.chmod(self.runtime, 0o755)
            for folder in ("base", "state", "mail"):
                (self.runtime / folder).mkdir()
            os.chmod(self.runtime / "mail", 0o777)
        if not self.ca_file.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(self.root / "key.pem"), "-out", str(self.ca_file), "-days", "2", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                check=True, capture_output=True)
        (self.runtime / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.port = self.port or _free_port()
        self.tls_port = self.tls_port or _free_port()
        config = self.runtime / "dovecot.conf"
        config.write_text(self._config())
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"dovecot exited with {self.proc.returncode}: {self.log_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"dovecot did not listen within {timeout}s: {self.log_text()[-3000:]}")
            time.sleep(0.1)

    def _config(self) -> str:
        r = self.runtime
        internal = _user("dovecot", "nobody")
        return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {r}/base
state_dir = {r}/state
instance_name = sabha-e2e-{self.port}
log_path = {self.log_path}
info_log_path = {self.log_path}
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{self.root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {"nogroup" if internal == "nobody" else internal}
default_login_user = {_user("dovenull", "nobody")}
mail_location = maildir:{r}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {r}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={r}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""

    def connect(self, tls: bool = False) -> imaplib.IMAP4:
        """A logged-in imaplib client (IMAPS with the server's certificate trusted when tls)."""
        if tls:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            imap = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=context, timeout=10)
        else:
            imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        credentials = b"\0" + self.user.encode() + b"\0" + self.password.encode()
        imap.authenticate("PLAIN", lambda _: credentials)  # login() cannot send a non-ASCII password
        return imap

    def append(self, raw: bytes, mailbox: str = "INBOX") -> int:
        """Stores one message (bytes as they are; CRLF line ends expected) and returns its UID."""
        imap = self.connect()
        try:
            typ, data = imap.append(mailbox, None, None, raw)
            assert typ == "OK", data
            code = data[0].decode()  # [APPENDUID <uidvalidity> <uid>] Append completed.
            return int(code.split()[2].rstrip("]"))
        finally:
            imap.logout()

    def messages(self, mailbox: str = "INBOX") -> list[bytes]:
        """Every message's raw bytes, by UID ascending; read with BODY.PEEK[] so no flag changes."""
        imap = self.connect()
        try:
            imap.select(mailbox, readonly=True)
            typ, data = imap.uid("SEARCH", None, "ALL")
            assert typ == "OK", data
            out = []
            for uid in data[0].split():
                typ, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                assert typ == "OK", fetched
                out.extend(item[1] for item in fetched if isinstance(item, tuple))
            return out
        finally:
            imap.logout()

    def flags(self, uid: int, mailbox: str = "INBOX") -> str:
        """The FLAGS of one message, e.g. '(\\Recent)': to check that a reader left \\Seen alone."""
        imap = self.connect()
        try:
            imap.select(mailbox, readonly=True)
            typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            assert typ == "OK", data
            return data[0].decode() if data and data[0] else ""
        finally:
            imap.logout()

    def stop(self) -> None:
        terminate(self.proc)
        if self.runtime is not None:
            shutil.rmtree(self.runtime, ignore_errors=True)
            self.runtime = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


if __name__ == "__main__":  # a smoke test: python Tests/e2e/imap_server.py
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        server = DovecotIMAP(Path(folder))
        server.start()
        try:
            uid = server.append(b"From: a@example.in\r\nSubject: hi\r\n\r\n\xe9t\xe9\r\n")
            assert server.messages() == [b"From: a@example.in\r\nSubject: hi\r\n\r\n\xe9t\xe9\r\n"], server.messages()
            assert "Seen" not in server.flags(uid)
            imaps = server.connect(tls=True)
            imaps.logout()
            print("ok", server.url)
        finally:
            server.stop()

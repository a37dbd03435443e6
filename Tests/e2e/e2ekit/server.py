"""Starting and stopping `sabha serve` for one test, on free ports, with its own data directory."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    """A media port: free for UDP and for TCP (ICE-TCP listens on the same number), and below the kernel's
    ephemeral range (32768-60999), so that no test's outgoing TCP connection can take its TCP twin before the
    server binds it (that happened: "cannot listen for ICE-TCP ... Address already in use"). Also below the TURN
    tests' relay ports (31000-31049)."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 30000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
                return port
        except OSError:
            continue
    raise RuntimeError("no port free for both UDP and TCP in 20000-29999")


@dataclass
class SabhaServer:
    binary: Path
    data_dir: Path
    log_path: Path
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)   # added to (and overriding) the test's environment
    http_port: int = 0
    udp_port: int = 0
    proc: subprocess.Popen | None = None
    host: str = "127.0.0.1"                            # --http and --rtc bind (and announce) this address
    prefix: list[str] = field(default_factory=list)    # run under this, e.g. ["ip", "netns", "exec", NS]
    # How /healthz is fetched: get(url) -> status code. Default: from this process (a server in another
    # network namespace needs a getter that runs there, e2ekit/netns.py Topology.call_in).
    http_status: Callable[[str], int] | None = None
    # With --tls-cert: "https", and the CA file that requests verifies the certificate with.
    scheme: str = "http"
    ca_file: Path | None = None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.http_port}"

    @property
    def media_address(self) -> tuple[str, int]:
        return (self.host, self.udp_port)

    def __iter__(self):
        """Unpacks as (base_url, udp_port, data_dir)."""
        return iter((self.base_url, self.udp_port, self.data_dir))

    def start(self, ready_timeout: float = 20.0) -> None:
        self.http_port = self.http_port or free_tcp_port()
        self.udp_port = self.udp_port or free_udp_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            *self.prefix,
            str(self.binary), "serve",
            "--http", f"{self.host}:{self.http_port}",
            "--rtc", f"{self.host}:{self.udp_port}",
            "--data-dir", str(self.data_dir),
            *self.extra_args,
        ]
        self._log = open(self.log_path, "ab")
        shown_env = "".join(f"{k}={v} " for k, v in sorted(self.env.items()) if "PASSWORD" not in k)
        self._log.write(("$ " + shown_env + " ".join(cmd) + "\n").encode())
        self._log.flush()
        # A short drain by default: a fixture's teardown must not wait out the server's 30 s for pages left open.
        env = {**os.environ, "SABHA_DRAIN_TIMEOUT": "1", **self.env}
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        verify = str(self.ca_file) if self.ca_file else True
        status = self.http_status or (lambda url: requests.get(url, timeout=1, verify=verify).status_code)
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"sabha serve exited with {self.proc.returncode} before /healthz answered")
            try:
                if status(f"{self.base_url}/healthz") == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz did not answer 200 within {ready_timeout}s")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        return self.proc.returncode

    def kill(self) -> int | None:
        """SIGKILL, as a crash would: nothing is flushed or closed. start() again reuses the ports and data dir."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode

    def token(self, room: str, identity: str, role: str, ttl: str | None = None, name: str | None = None) -> str:
        """A join token from `sabha token`; `name` is the display name others see (default: the identity)."""
        cmd = [str(self.binary), "token", "--data-dir", str(self.data_dir), "--room", room,
               "--identity", identity, "--role", role]
        if ttl:
            cmd += ["--ttl", ttl]
        if name:
            cmd += ["--name", name]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise AssertionError(f"sabha token failed ({out.returncode}): {out.stderr.strip()}")
        tok = out.stdout.strip().splitlines()[-1].strip()
        assert tok.count(".") == 2, f"sabha token printed no JWT: {out.stdout!r}"
        return tok

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

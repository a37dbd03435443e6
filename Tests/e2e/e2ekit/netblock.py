"""Blocking a server's media with nftables, as an office firewall that lets the web page through would: every UDP
datagram and TCP segment sent to the media port number is dropped (the output hook of the namespace the browser
runs in; the HTTP port, and with it the page and the WebSocket, stay open).

    with MediaBlock(port) as block:          # in this process's namespace
        ...
    block = MediaBlock(port, ns="sabha-e2e-...-V").start() ... block.stop()

The rules live in a table of their own, named after this process, and stop() (or leaving the `with`) deletes it,
whatever happened in between; stop() may be called more than once.
"""

from __future__ import annotations

import os
import subprocess


class MediaBlock:
    def __init__(self, port: int, ns: str | None = None) -> None:
        self.port = port
        self.ns = ns
        self.table = f"sabha_e2e_block_{os.getpid()}_{port}"
        self.log: list[str] = []
        self.active = False

    def _nft(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = (["ip", "netns", "exec", self.ns] if self.ns else []) + ["nft", *args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
        self.log.append(f"$ {' '.join(cmd)} -> {out.returncode} {out.stderr.strip()}")
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
        return out

    def start(self) -> "MediaBlock":
        try:
            self._nft("add", "table", "inet", self.table)
            self.active = True
            self._nft("add", "chain", "inet", self.table, "out", "{ type filter hook output priority 0 ; policy accept ; }")
            for proto in ("udp", "tcp"):
                self._nft("add", "rule", "inet", self.table, "out", proto, "dport", str(self.port), "counter", "drop")
        except BaseException:
            self.stop()
            raise
        return self

    def dropped(self) -> int:
        """Packets dropped so far (both rules)."""
        out = self._nft("list", "table", "inet", self.table, check=False).stdout
        return sum(int(word) for line in out.splitlines() if "counter packets" in line
                   for word in [line.split("counter packets", 1)[1].split()[0]])

    def stop(self) -> None:
        if self.active:
            self._nft("delete", "table", "inet", self.table, check=False)
            self.active = False

    def __enter__(self) -> "MediaBlock":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""A WebSocket client for Sabha's meeting protocol (docs/protocol.md), built on websocket-client."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any, Callable, Optional

import websocket


class MeetingSocket:
    """Connects to /ws; a reader thread queues every JSON message received."""

    def __init__(self, base_url: str, timeout: float = 10.0, headers: Optional[dict[str, str]] = None,
                 ca_file: Optional[str] = None) -> None:
        """`headers`: extra request headers of the upgrade; `ca_file`: the CA that signed a wss:// server's certificate."""
        self.url = base_url.replace("https://", "wss://").replace("http://", "ws://") + "/ws"
        sslopt = {"ca_certs": ca_file} if ca_file else None
        self.ws = websocket.create_connection(self.url, timeout=timeout, header=[f"{k}: {v}" for k, v in (headers or {}).items()],
                                              sslopt=sslopt)
        self.ws.settimeout(None)  # the reader thread blocks; next() applies the deadlines
        self.messages: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.history: list[dict] = []
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                text = self.ws.recv()
                if text is None or text == "":
                    break
                msg = json.loads(text)
                self.history.append(msg)
                self.messages.put(msg)
        except Exception:
            pass
        finally:
            self.closed.set()
            self.messages.put(None)

    def send(self, obj: Any) -> None:
        self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    def next(self, timeout: float = 10.0, match: Optional[Callable[[dict], bool]] = None) -> dict:
        """The next message (matching `match`, skipping others); AssertionError on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message within {timeout}s; history: {self.history[-10:]}")
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                self.messages.put(None)
                raise AssertionError(f"socket closed while waiting; history: {self.history[-10:]}")
            if match is None or match(msg):
                return msg

    def next_type(self, type_: str, timeout: float = 10.0) -> dict:
        return self.next(timeout, lambda m: m.get("type") == type_)

    def join(self, token: str, name: Optional[str] = None) -> dict:
        self.send({"type": "join", "version": 1, "token": token, **({"name": name} if name else {})})
        return self.next_type("joined")

    def cut(self) -> None:
        """Drop the TCP connection without a close frame, as a lost network would."""
        import socket as _socket
        sock = self.ws.sock  # the reader thread drops ws.sock once it sees the connection end
        if sock is None:
            return
        try:
            sock.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass

"""A stand-in WHIP/WHEP endpoint for the harness self-tests only: aiortc answers offers, a MediaRelay forwards the
published tracks to viewers, and the demo page's files are served from the same origin.

It proves the test peers and the demo page work, so that a failing server test points at the server. It is never
used against, or instead of, the real server.
"""

from __future__ import annotations

import asyncio
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from e2ekit.peers import rtc_configuration


class StandIn:
    def __init__(self, public_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._loop_thread.start()
        self.relay = MediaRelay()
        self.tracks: list = []
        self.sessions: dict[str, RTCPeerConnection] = {}
        standin = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                offer = self.rfile.read(int(self.headers["Content-Length"])).decode()
                sdp = asyncio.run_coroutine_threadsafe(standin._answer(self.path, offer), standin.loop).result(10)
                location = f"{self.path}/s{len(standin.sessions) + 1}"
                standin.sessions[location] = standin._last_pc
                body = sdp.encode()
                self.send_response(201)
                self.send_header("Location", location)
                self.send_header("Content-Type", "application/sdp")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_DELETE(self):
                pc = standin.sessions.pop(self.path, None)
                if pc is not None:
                    asyncio.run_coroutine_threadsafe(pc.close(), standin.loop).result(10)
                self.send_response(200 if pc else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(public_dir)))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    async def _answer(self, path: str, offer: str) -> str:
        pc = RTCPeerConnection(rtc_configuration())
        if path.startswith("/whip/"):
            pc.on("track", lambda t: self.tracks.append(t))
        else:
            for t in self.tracks:
                pc.addTrack(self.relay.subscribe(t))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self._last_pc = pc
        return pc.localDescription.sdp

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

        async def close_all():
            for pc in list(self.sessions.values()):
                await pc.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(5)

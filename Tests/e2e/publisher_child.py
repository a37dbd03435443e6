"""A WHIP publisher in its own process, so a test can SIGKILL it (no DELETE, no DTLS close: it just vanishes).

Usage: publisher_child.py URL TOKEN. Prints one JSON line {"location": ..., "port": ...} once connected,
then publishes until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from e2ekit.peers import Publisher, wait_connected  # noqa: E402


async def main(url: str, token: str) -> None:
    publisher = Publisher()
    session = await publisher.publish(url, token)
    await wait_connected(publisher.pc)
    host, port = publisher.local_address()
    print(json.dumps({"location": session.location, "host": host, "port": port}), flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

"""Polling with a deadline: every wait in the suite is bounded and says what it waited for."""

from __future__ import annotations

import asyncio
import time


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    """Calls predicate until it returns something truthy (returned) or the deadline passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")


async def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """wait_for inside an event loop (peers keep decoding meanwhile): `predicate` runs in a thread."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(predicate)
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")

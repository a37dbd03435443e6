"""Polling with a deadline: every wait in the suite is bounded and says what it waited for."""

from __future__ import annotations

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

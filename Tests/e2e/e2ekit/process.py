"""Ending the helper servers the tests start (Radicale, Dovecot): SIGTERM, then SIGKILL if it does not go."""

from __future__ import annotations

import subprocess


def terminate(proc: subprocess.Popen | None, grace: float = 10.0) -> None:
    """Stops `proc` if it still runs: SIGTERM, and SIGKILL after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)

"""Helpers for Sabha's end-to-end tests (aiortc peers, Chromium, metrics, raw packets, the server process)."""

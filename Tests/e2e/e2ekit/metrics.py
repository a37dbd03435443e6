"""A small parser for the Prometheus text exposition format served at /metrics."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Metrics:
    """Samples keyed by (name, sorted label pairs)."""

    samples: dict

    @classmethod
    def parse(cls, text: str) -> "Metrics":
        samples = {}
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = _LINE.match(line)
            if not m:
                raise ValueError(f"not a Prometheus sample line: {raw!r}")
            name, _, labels, value, _ = m.groups()
            pairs = tuple(sorted((k, v.replace('\\"', '"').replace("\\\\", "\\")) for k, v in _LABEL.findall(labels or "")))
            samples[(name, pairs)] = float(value)
        return cls(samples)

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels; 0 when absent (counters not yet incremented may be missing)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self.samples)

    def total(self, name: str) -> float:
        """Sum over every label set of a metric."""
        return sum(v for (n, _), v in self.samples.items() if n == name)

    def dropped(self, reason: str) -> float:
        return self.value("sabha_dropped_packets_total", reason=reason)


def fetch(base_url: str) -> Metrics:
    resp = requests.get(f"{base_url}/metrics", timeout=5)
    resp.raise_for_status()
    return Metrics.parse(resp.text)

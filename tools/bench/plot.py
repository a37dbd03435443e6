#!/usr/bin/env python3
"""Plots tools/bench/bench.sh's results.csv: CPU per forwarded packet (µs, from forwarded packets per CPU-second),
loss (%) and added latency p99 (ms) against subscribers, one line per server (the median of a step's repeats,
with the spread of the repeats as a band), the C ceiling's CPU per copy beside them. The format follows OUT's suffix (.png, .svg). Needs matplotlib (tools/setup.sh puts it in .venv).

    .venv/bin/python tools/bench/plot.py RESULTS.csv OUT.png [TITLE]
"""
import csv
import statistics
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("plot.py needs matplotlib: run tools/setup.sh (it installs it into .venv) or pip install matplotlib")

STYLE = {"sabha": ("#1f77b4", "o", "-"), "janus": ("#d62728", "s", "-"), "ceiling": ("#555555", "^", "--")}
LABEL = {"ceiling": "C ceiling (same fan-out)"}


def series(rows, server, column, scale=None):
    """(subscribers, median, min, max) over the repeats of each step."""
    values = {}
    for r in rows:
        if r["server"] == server and r[column]:
            value = float(r[column])
            value = scale(value) if scale else value
            if value is not None:
                values.setdefault(int(r["subscribers"]), []).append(value)
    return [(n, statistics.median(v), min(v), max(v)) for n, v in sorted(values.items())]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1])))
    if not rows:
        sys.exit(f"plot.py: {sys.argv[1]} has no rows")
    servers = list(dict.fromkeys(r["server"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    panels = [
        (axes[0], "CPU per forwarded packet", "µs of server CPU", "pkts_per_server_cpu_s", lambda v: 1e6 / v if v else None, servers),
        (axes[1], "loss", "%", "loss_pct", None, [s for s in servers if s != "ceiling"]),
        (axes[2], "added latency p99", "ms (log)", "p99_ms", None, [s for s in servers if s != "ceiling"]),
    ]
    for ax, title, ylabel, column, scale, names in panels:
        for name in names:
            points = series(rows, name, column, scale)
            if not points:
                continue
            colour, marker, line = STYLE.get(name, ("#2ca02c", "D", "-"))
            xs = [p[0] for p in points]
            ax.plot(xs, [p[1] for p in points], line, marker=marker, color=colour, label=LABEL.get(name, name))
            ax.fill_between(xs, [p[2] for p in points], [p[3] for p in points], color=colour, alpha=0.15)
        ax.set_title(title)
        ax.set_xlabel("subscribers (1 publisher)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_xlim(left=0)
        if column == "p99_ms":
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.legend(fontsize=9)
    if len(sys.argv) > 3:
        fig.suptitle(sys.argv[3])
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()

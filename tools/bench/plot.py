#!/usr/bin/env python3
"""Plots tools/bench/bench.sh's results.csv as an SVG (no matplotlib here): server CPU per forwarded packet
(µs, from forwarded packets per server CPU-second) and loss (%) against subscribers, one line per server.

    python3 tools/bench/plot.py RESULTS.csv OUT.svg
"""
import csv
import sys

COLOURS = {"sabha": "#1f77b4", "janus": "#d62728"}


def panel(x0, y0, w, h, title, ylabel, series, xmax, ymax):
    parts = [f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>',
             f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-size="14">{title}</text>',
             f'<text x="{x0 - 42}" y="{y0 + h / 2}" text-anchor="middle" font-size="12" '
             f'transform="rotate(-90 {x0 - 42} {y0 + h / 2})">{ylabel}</text>',
             f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">subscribers (1 publisher)</text>']
    for i in range(5):
        yv = ymax * i / 4
        y = y0 + h - h * i / 4
        parts.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + w}" y2="{y}" stroke="#ddd"/>')
        parts.append(f'<text x="{x0 - 5}" y="{y + 4}" text-anchor="end" font-size="10">{yv:.3g}</text>')
        xv = xmax * i / 4
        x = x0 + w * i / 4
        parts.append(f'<text x="{x}" y="{y0 + h + 15}" text-anchor="middle" font-size="10">{xv:.0f}</text>')
    for name, points in series.items():
        if not points:
            continue
        colour = COLOURS.get(name, "#2ca02c")
        coords = [(x0 + w * x / xmax, y0 + h - h * min(y, ymax) / ymax) for x, y in points]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords]
    return parts


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    servers = list(dict.fromkeys(r["server"] for r in rows))
    cpu = {s: [] for s in servers}
    loss = {s: [] for s in servers}
    for r in rows:
        n = int(r["subscribers"])
        if r["pkts_per_server_cpu_s"]:
            cpu[r["server"]].append((n, 1e6 / float(r["pkts_per_server_cpu_s"])))
        loss[r["server"]].append((n, float(r["loss_pct"] or 0)))
    xmax = max(int(r["subscribers"]) for r in rows) or 1
    cmax = max((y for s in cpu.values() for _, y in s), default=1) * 1.1 or 1
    lmax = max(2.0, max((y for s in loss.values() for _, y in s), default=0) * 1.1)
    width, height = 900, 380
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    parts += panel(70, 40, 330, 260, "server CPU per forwarded packet", "µs", cpu, xmax, cmax)
    parts += panel(530, 40, 330, 260, "loss", "%", loss, xmax, lmax)
    for i, name in enumerate(servers):
        colour = COLOURS.get(name, "#2ca02c")
        parts.append(f'<rect x="{80 + i * 110}" y="{height - 22}" width="14" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{100 + i * 110}" y="{height - 16}" font-size="12">{name}</text>')
    parts.append("</svg>")
    open(sys.argv[2], "w").write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rows, verdicts and the summary of tools/bench/bench.sh (the ladder against Janus and the C ceiling).

    ladder.py row SUMMARY.json SERVER STEP REPEAT SUBS TICKS HZ RSS_IDLE RSS_PEAK SMOKE CSV MAX_P99
        append the generator's run to CSV; print one line ending in "-> OK" or "-> FAIL <why>"
    ladder.py ceiling CEILING.txt STEP REPEAT SUBS CSV     append the C ceiling's run to CSV and describe it
    ladder.py summary CSV RESULTS.json MAX_P99 REPEATS     aggregate per server and step (min / median / max),
        the Sabha/ceiling and Sabha/Janus ratios, and the largest load held; print the headline lines

A run holds when every subscriber connected, loss < 1 % and latency p99 <= MAX_P99 ms. Loss is the generator's
window loss: every subscriber, every packet authenticated, a silent subscriber 100 %. A step holds when a
majority of its repeats hold; the ladder stops after a step that does not.
"""
import csv
import json
import statistics
import sys

COLUMNS = ["server", "step", "repeat", "publishers", "subscribers", "connected", "pkts_per_server_cpu_s",
           "server_cpu_s_window", "server_cpu_s_step", "loss_pct", "silent", "not_signalled", "auth_failures",
           "p50_ms", "p99_ms", "rss_kib_idle", "rss_kib_peak", "rss_kib_per_connected_sub", "rx_pkts_per_s",
           "rx_mbit_per_viewer", "generator_cpu_s", "window_s", "keyframe_requests", "keyframe_requests_throttled",
           "several_layers", "held"]


def append(csv_path, row):
    with open(csv_path, "a", newline="") as f:
        csv.writer(f).writerow("" if row.get(c) is None else row[c] for c in COLUMNS)


def run_row(args):
    path, name, step, repeat, subs, ticks, hz, idle, peak, smoke, csv_path, max_p99 = args
    s = json.load(open(path))
    subs, idle, peak = int(subs), int(idle), int(peak)
    t, w, setup = s["totals"], s["window"], s["setup"]
    lat = t["latency"]
    connected = setup["subscribersConnected"]
    problems = []
    if connected < subs:
        problems.append(f"{subs - connected} subscribers not connected ({(setup['failures'] or [''])[0]})")
    if t["authFailures"] or t["rtcpAuthFailures"]:
        problems.append(f"{t['authFailures']} RTP and {t['rtcpAuthFailures']} RTCP packets failed authentication")
    if smoke != "0":
        for p in s.get("perSubscriber") or []:
            if not p["connected"] or p["videoPackets"] == 0 or p["audioPackets"] == 0 or p["authenticated"] == 0:
                problems.append(f"subscriber {p['index']}: connected {p['connected']}, {p['videoPackets']} video / "
                                f"{p['audioPackets']} audio packets, {p['authenticated']} authenticated")
            # The window's accounting itself (send stamps, slots): a loose bound, CI machines are busy.
            if p["expected"] == 0 or p["received"] == 0 or p["lossPercent"] >= 5:
                problems.append(f"subscriber {p['index']}: window expected {p['expected']}, received {p['received']}, "
                                f"loss {p['lossPercent']}%")
    else:
        if t["lossPercent"] >= 1:
            problems.append(f"loss {t['lossPercent']}% >= 1% ({t['subscribersSilent']} silent)")
        if lat.get("p99Ms") is None or lat["p99Ms"] > float(max_p99):
            problems.append(f"p99 {lat.get('p99Ms')} ms > {max_p99} ms")
    generator_share = w["generatorCPUSeconds"] / max(w["seconds"], 1e-9)
    row = {
        "server": name, "step": step, "repeat": repeat, "publishers": s["config"]["publishers"], "subscribers": subs,
        "connected": connected, "pkts_per_server_cpu_s": w.get("serverPacketsPerCPUSecond"),
        "server_cpu_s_window": w.get("serverCPUSeconds"), "server_cpu_s_step": round(int(ticks) / int(hz), 2),
        "loss_pct": t["lossPercent"], "silent": t["subscribersSilent"], "not_signalled": t["subscribersNotSignalled"],
        "auth_failures": t["authFailures"] + t["rtcpAuthFailures"], "p50_ms": lat.get("p50Ms"), "p99_ms": lat.get("p99Ms"),
        "rss_kib_idle": idle, "rss_kib_peak": peak,
        "rss_kib_per_connected_sub": round((peak - idle) / connected, 1) if connected else None,
        "rx_pkts_per_s": w["packetsReceivedPerSecond"],
        "rx_mbit_per_viewer": round(w["mbitReceivedPerSecond"] / max(connected, 1), 3),
        "generator_cpu_s": w["generatorCPUSeconds"], "window_s": w["seconds"],
        "keyframe_requests": t["pliReceivedByPublishers"], "keyframe_requests_throttled": t["keyframeRequestsThrottled"],
        "several_layers": t["subscribersOnSeveralLayers"], "held": 0 if problems else 1,
    }
    append(csv_path, row)
    note = f" [generator busy: {generator_share:.0%} of its core]" if generator_share > 0.9 else ""
    print(f"{connected}/{subs} connected, {w.get('serverPacketsPerCPUSecond')} pkt per server CPU-s, loss {t['lossPercent']}% "
          f"({t['subscribersSilent']} silent), p50 {lat.get('p50Ms')} ms, p99 {lat.get('p99Ms')} ms, "
          f"RSS {row['rss_kib_per_connected_sub']} KiB per connected subscriber, "
          f"{row['rx_mbit_per_viewer']} Mbit/s per viewer, {t['pliReceivedByPublishers']} keyframe requests{note} -> "
          + (("FAIL " + "; ".join(problems)) if problems else "OK"))


def ceiling_row(args):
    path, step, repeat, subs, csv_path = args
    r = json.loads(open(path).read().strip().splitlines()[-1])
    append(csv_path, {
        "server": "ceiling", "step": step, "repeat": repeat, "publishers": 1, "subscribers": subs, "connected": subs,
        "pkts_per_server_cpu_s": round(r["forwarded_per_cpu_s"]), "server_cpu_s_window": round(r["cpu_s"], 2),
        "server_cpu_s_step": round(r["cpu_s"], 2), "loss_pct": round(100 * (1 - r["delivered"] / max(r["sent"], 1)), 3),
        "rx_pkts_per_s": round(r["forwarded"] / r["wall_s"]), "window_s": round(r["wall_s"], 2), "held": 1})
    print(f"ceiling 1 -> {subs} copies of {r['size']}-byte packets at {r['inputs'] / r['wall_s']:.0f} packets/s: "
          f"{r['forwarded_per_cpu_s']:.0f} copies per CPU-s ({r['ns_per_forwarded']:.0f} ns each, "
          f"{100 * r['sys_s'] / max(r['cpu_s'], 1e-9):.0f}% system time)")


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def number(value):
    return float(value) if value not in ("", None) else None


def summary(args):
    csv_path, json_path, max_p99, repeats = args
    rows = list(csv.DictReader(open(csv_path)))
    steps = {}
    for r in rows:
        steps.setdefault((r["server"], int(r["subscribers"])), []).append(r)
    aggregated = []
    for (server, subs), runs in sorted(steps.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        entry = {"server": server, "subscribers": subs, "repeats": len(runs),
                 "held": sum(int(r["held"] or 0) for r in runs)}
        for column in ("pkts_per_server_cpu_s", "loss_pct", "p50_ms", "p99_ms", "rss_kib_per_connected_sub",
                       "rx_mbit_per_viewer", "generator_cpu_s", "silent", "keyframe_requests"):
            entry[column] = spread([number(r[column]) for r in runs])
        aggregated.append(entry)
    by = {(e["server"], e["subscribers"]): e for e in aggregated}

    def ratio(a, b):
        a, b = by.get(a), by.get(b)
        if not a or not b or not a["pkts_per_server_cpu_s"] or not b["pkts_per_server_cpu_s"]:
            return None
        return round(a["pkts_per_server_cpu_s"]["median"] / b["pkts_per_server_cpu_s"]["median"], 3)

    subs_all = sorted({e["subscribers"] for e in aggregated})
    over_ceiling, over_janus = {}, {}
    for n in subs_all:
        # Per repeat as well: each Sabha run against the ceiling run right after it.
        pairs = [(number(a["pkts_per_server_cpu_s"]), number(b["pkts_per_server_cpu_s"]))
                 for a in rows if a["server"] == "sabha" and int(a["subscribers"]) == n
                 for b in rows if b["server"] == "ceiling" and int(b["subscribers"]) == n and b["repeat"] == a["repeat"]]
        per_repeat = [round(x / y, 3) for x, y in pairs if x and y]
        if per_repeat:
            over_ceiling[str(n)] = {"ofMedians": ratio(("sabha", n), ("ceiling", n)), "perRepeat": spread(per_repeat)}
        if ratio(("sabha", n), ("janus", n)) is not None:
            janus = by[("janus", n)]
            over_janus[str(n)] = {"ofMedians": ratio(("sabha", n), ("janus", n)),
                                  "janusHeld": f"{janus['held']} of {janus['repeats']}"}
    largest = {}
    for server in dict.fromkeys(e["server"] for e in aggregated if e["server"] != "ceiling"):
        held_all = [e["subscribers"] for e in aggregated if e["server"] == server and e["held"] == e["repeats"]]
        held_most = [e["subscribers"] for e in aggregated if e["server"] == server and 2 * e["held"] > e["repeats"]]
        largest[server] = {"inEveryRepeat": max(held_all, default=0), "inMostRepeats": max(held_most, default=0)}
    result = {"rule": f"every subscriber connected, loss < 1 % (window loss, every packet authenticated), p99 <= {max_p99} ms",
              "repeatsPerStep": int(repeats), "steps": aggregated, "sabhaOverCeiling": over_ceiling,
              "sabhaOverJanus": over_janus, "largestHeld": largest, "rows": rows}
    json.dump(result, open(json_path, "w"), indent=2)
    for n, r in over_ceiling.items():
        p = r["perRepeat"]
        print(f"bench: {n} subscribers: Sabha / C ceiling {r['ofMedians']:.2f} (per repeat {p['min']:.2f} .. {p['max']:.2f})"
              + (f", Sabha / Janus {over_janus[n]['ofMedians']:.2f} (Janus held {over_janus[n]['janusHeld']})" if n in over_janus else ""))
    for n, r in over_janus.items():
        if n not in over_ceiling:
            print(f"bench: {n} subscribers: Sabha / Janus {r['ofMedians']:.2f} (Janus held {r['janusHeld']})")
    for server, r in largest.items():
        print(f"bench: {server}: largest load held ({result['rule']}): {r['inEveryRepeat']} subscribers in every repeat, "
              f"{r['inMostRepeats']} in most")


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    {"row": run_row, "ceiling": ceiling_row, "summary": summary}[command](rest)

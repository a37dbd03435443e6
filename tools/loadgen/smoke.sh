#!/usr/bin/env bash
# Smoke test of the load generator: starts `sabha serve` (the main package's release build) on free loopback
# ports with a temporary data directory, runs 1 publisher + 3 subscribers for 5 s inside a network namespace
# that has only `lo`, and checks the JSON summary: every subscriber connected, received packets with < 5% loss,
# and got a keyframe; no authentication failures. Under 60 s once both are built (builds them if missing).
#
#   bash tools/loadgen/smoke.sh            # SABHA=path/to/sabha to use another server binary
#   bash tools/loadgen/smoke.sh --workers 2   # two media workers: the WHEP subscribers are spread over both, so
#                                             # some get the publisher through the cross-worker pipe (checked in /metrics)
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD

source "$here/server-lib.sh"
loadgen_enter_namespace "$here/smoke.sh" "$@"

workers=1
if [[ ${1:-} == --workers ]]; then workers=$2; fi
loadgen_build
loadgen_start_server --workers "$workers"

echo "smoke: sabha on 127.0.0.1:$http_port (media $rtc_port, $workers worker(s)), 1 publisher + 3 subscribers for 5 s"
timeout 50 "$loadgen" --server "http://127.0.0.1:$http_port" --data-dir "$data" --room smoke \
  --publishers 1 --subscribers 3 --duration 5s --video 640x360 --video-kbps 800 --clip 2s \
  --server-pid "$server_pid" --per-subscriber >"$data/summary.json"

curl -fsS "http://127.0.0.1:$http_port/metrics" >"$data/metrics.txt" || true
python3 - "$data/summary.json" "$workers" "$data/metrics.txt" <<'PY'
import json, re, sys
summary = json.load(open(sys.argv[1]))
problems = []
if int(sys.argv[2]) > 1:
    piped = re.search(r"^sabha_rtp_piped_total (\d+)", open(sys.argv[3]).read(), re.M)
    print(f"smoke: {piped.group(1) if piped else 'no'} packets piped between workers")
    if not piped or int(piped.group(1)) == 0:
        problems.append("with several workers nothing was piped: the subscribers were not spread")
subs = summary.get("perSubscriber") or []
if len(subs) != 3:
    problems.append(f"expected 3 subscribers in the summary, got {len(subs)}")
for s in subs:
    name = f"subscriber {s['index']}"
    if not s["connected"]:
        problems.append(f"{name} did not connect: {s.get('failure')}")
    if s["packets"] == 0 or s["videoPackets"] == 0 or s["audioPackets"] == 0:
        problems.append(f"{name} received {s['videoPackets']} video and {s['audioPackets']} audio packets")
    if s["lossPercent"] >= 5:
        problems.append(f"{name} lost {s['lossPercent']}%")
    if s.get("keyframeWaitMs") is None:
        problems.append(f"{name} never got a keyframe")
    if s["authenticated"] == 0 or s["authFailures"] != 0:
        problems.append(f"{name}: {s['authenticated']} packets authenticated, {s['authFailures']} failed")
    if s["latency"]["samples"] == 0:
        problems.append(f"{name} measured no latency")
t = summary["totals"]
print(f"smoke: {t['packetsSent']} packets sent, {t['packetsReceived']} received, loss {t['lossPercent']}%, "
      f"latency p50 {t['latency']['p50Ms']} ms p99 {t['latency']['p99Ms']} ms, "
      f"keyframe wait p50 {summary['subscribers']['keyframeWaitMs']['p50']} ms")
if problems:
    print("smoke: FAILED\n  " + "\n  ".join(problems))
    sys.exit(1)
print("smoke: passed")
PY

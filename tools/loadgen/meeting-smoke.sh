#!/usr/bin/env bash
# End-to-end test of a department-size meeting: starts `sabha serve` (one media worker) in a fresh network
# namespace with only `lo`, has the load generator's churn mode join 25 participants over /ws (each publishing
# Opus and three-layer simulcast VP8 and receiving everyone, as the web client does), checks that all
# 25·24·2 = 1200 directed audio and video flows arrive, runs 100 leave/rejoin cycles (clean leaves, dropped
# tab-and-socket, dropped socket then resume), checks all 1200 flows again, lets everyone leave and checks that
# /metrics returns to idle (no transports, producers or consumers; pool buffers back at the baseline).
# Bounded: the generator stops itself (--time-limit, 170 s) and is killed after 190 s. Prints the flows that did not
# arrive and the server's drop counters when it fails.
#
#   bash tools/loadgen/meeting-smoke.sh                          # SABHA=path/to/sabha for another server binary
#   bash tools/loadgen/meeting-smoke.sh --participants 14 --cycles 20   # further loadgen options override the defaults
#   LOADGEN_TIMEOUT=900 LOADGEN_SUMMARY=out.json bash tools/loadgen/meeting-smoke.sh --mode meeting --participants 50 ...
#                       # a longer bound for benchmark runs (docs/performance.md), and keep the JSON summary
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
source "$here/server-lib.sh"
loadgen_enter_namespace "$here/meeting-smoke.sh" "$@"

loadgen_build
loadgen_start_server --workers 1

echo "smoke: sabha on 127.0.0.1:$http_port (media $rtc_port), meeting + churn"
status=0
timeout "${LOADGEN_TIMEOUT:-190}" "$loadgen" --mode churn --server "http://127.0.0.1:$http_port" --data-dir "$data" --room meeting-smoke \
  --participants 25 --cycles 100 --churn-concurrency 4 --duration 4s --verify-window 3s --warmup 2s --time-limit 170s \
  --video 320x180 --video-kbps 300 --fps 15 --clip 2s --decrypt-every 8 --server-pid "$server_pid" "$@" \
  >"$data/summary.json" || status=$?
echo "smoke: sabha-loadgen exited with $status"
if [[ -n ${LOADGEN_SUMMARY:-} ]]; then cp "$data/summary.json" "$LOADGEN_SUMMARY"; fi

python3 - "$data/summary.json" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"smoke: FAILED: no summary ({e})")
    sys.exit(1)
c = s["config"]
def show(w):
    if not w:
        return
    print(f"smoke: {w['label']}: {w['flowsArrived']} of {w['flowsExpected']} flows arrived over {w['seconds']} s "
          f"({w['audioFlowsMissing']} audio and {w['videoFlowsMissing']} video missing, {w['flowsNotSignalled']} not signalled); "
          f"loss {w['lossPercent']}%, latency p50 {w['latency']['p50Ms']} ms p99 {w['latency']['p99Ms']} ms; "
          f"server CPU {w['serverCPUPercentOfOneCore']}% of a core; drops {w['serverDrops']}; full receive buffers dropped "
          f"{w['kernelDropsAtServerSocket']} at the server, {w['kernelDropsAtGeneratorSockets']} at the generator; "
          f"generator send errors {w['generatorSendErrors']}")
    for m in w["missing"][:20]:
        print(f"smoke:   missing {m}")
show(s["meeting"])
ch = s.get("churn")
if ch:
    print(f"smoke: churn: {ch['completed']} of {ch['cycles']} cycles completed, {ch['failed']} failed, {ch['byKind']}, "
          f"{ch['seconds']} s; cycle p50 {ch['cycleMs']['p50']} ms p99 {ch['cycleMs']['p99']} ms")
    for f in ch["failures"][:5]:
        print(f"smoke:   {f}")
show(s.get("afterChurn"))
i, r = s["idle"], s["rssKiB"]
print(f"smoke: idle after everyone left: {i['reached']} (transports {i['transports']}, producers {i['producers']}, consumers {i['consumers']}, "
      f"pool in use {i['poolBuffersInUse']} vs {i['poolBuffersBaseline']} before); server RSS KiB: before {r.get('beforeJoin')}, "
      f"meeting {r.get('meeting')}, churn first/last/max {r.get('churnFirst')}/{r.get('churnLast')}/{r.get('churnMax')}, after {r.get('afterTeardown')}")
print(f"smoke: server drops over the run: {s['serverDropsOverRun']}")
for p in s["problems"][:10]:
    print(f"smoke:   problem: {p}")
expected = c["participants"] * (c["participants"] - 1) * 2
ok = s["passed"] and s["meeting"]["flowsExpected"] == expected and s["meeting"]["flowsArrived"] == expected
if s.get("afterChurn"):
    ok = ok and s["afterChurn"]["flowsArrived"] == expected
print("smoke: passed" if ok else "smoke: FAILED")
sys.exit(0 if ok else 1)
PY

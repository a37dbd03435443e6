#!/usr/bin/env bash
# Side-by-side benchmark: Sabha and Janus (videoroom) one after the other, each pinned to core 0, driven by
# the same load generator (tools/loadgen) pinned to core 1, through the same ladder of loads:
# 1 publisher → 10, 50, 100, 200, 400, … subscribers, until loss > 1 % or latency p99 > 50 ms (or a step
# fails to connect everyone, or the ladder ends). Runs in a network namespace it creates (lo + a veth pair
# carrying 127.0.0.2/32, which Janus's libnice needs); nothing leaves it.
#
#   bash tools/bench/vs-janus.sh                   the ladder for both servers (needs .build/release/sabha: built if missing, ~8 min)
#   bash tools/bench/vs-janus.sh --smoke           1 publisher → 3 subscribers, 5 s, both servers; asserts delivery only (CI)
#   options: --servers "sabha janus"  --steps "10 50 100"  --seconds 10  --out DIR
#            --max-p99 MS (50; a large value makes the ladder stop on loss only)
#            --no-ceiling (skip the C ceiling run after each Sabha step)
#            --simulcast (the publisher sends three simulcast layers, 320x180 / 640x360 / 1280x720; each viewer gets one)
#            --janus-api ws|http (Janus's WebSocket API, the default, or its HTTP API with long-polls)
#            --sabha-workers N (media worker threads; with N > 1 Sabha is pinned to cores 0..N-1 and the generator
#            is not pinned: WHEP viewers are spread over the workers, the publisher's packets piped to them)
#   env: SABHA=path/to/sabha (e.g. .build/debug/sabha), LOADGEN=path/to/sabha-loadgen
#
# Per server and step it writes DIR/<server>-<subscribers>.json (the generator's summary) and a row of
# DIR/results.csv: forwarded packets per server CPU-second (generator's measurement window, /proc utime+stime),
# server CPU over the whole step, loss, latency p50/p99, RSS per subscriber (peak RSS during the step minus the
# idle RSS before the ladder, over subscribers). DIR/results.json has the rows and, per server, the largest
# load held with < 1 % loss.
# After each Sabha step the C ceiling (tools/bench/ceiling.c) runs the same fan-out for the same time, its
# forwarder pinned to core 0 and its sender/drain threads to core 1, with the step's mean packet size and
# the publisher's packet rate (paced, one packet at a time): a
# "ceiling" row per step, and the Sabha/ceiling ratio of forwarded packets per CPU-second measured minutes apart
# on the same machine under the same load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

smoke=""
servers="sabha janus"
steps="10 50 100 200 400 600 800 1000"
seconds=10
out=""
max_p99=50     # ms: the ladder stops above this (or above 1 % loss)
ceiling=1
sabha_workers=1
janus_api=ws
simulcast=""
while (($#)); do
  case $1 in
    --smoke) smoke=1 ;;
    --servers) servers=$2; shift ;;
    --steps) steps=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --out) out=$2; shift ;;
    --max-p99) max_p99=$2; shift ;;
    --no-ceiling) ceiling="" ;;
    --sabha-workers) sabha_workers=$2; shift ;;
    --janus-api) janus_api=$2; shift ;;
    --simulcast) simulcast=1 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $smoke ]]; then
  steps="3"
  seconds=5
fi
out=${out:-/tmp/sabha-bench-$(date +%Y%m%d-%H%M%S)}

# Re-run ourselves in a fresh network namespace: lo, and a veth pair whose end vb0 carries 127.0.0.2/32.
if [[ -z ${SABHA_BENCH_IN_NS:-} ]]; then
  export SABHA_BENCH_IN_NS=1
  args=(--servers "$servers" --steps "$steps" --seconds "$seconds" --out "$out" --max-p99 "$max_p99")
  [[ -n $smoke ]] && args+=(--smoke)
  [[ -z $ceiling ]] && args+=(--no-ceiling)
  args+=(--sabha-workers "$sabha_workers" --janus-api "$janus_api")
  [[ -n $simulcast ]] && args+=(--simulcast)
  ns=(unshare -n)
  [[ $(id -u) -ne 0 ]] && ns=(unshare -rn)   # unprivileged: own user namespace, root inside it
  exec "${ns[@]}" bash -c 'set -e
    ip link set lo up
    ip link add vb0 type veth peer name vb1
    ip link set vb0 up
    ip link set vb1 up
    ip addr add 127.0.0.2/32 dev vb0
    exec bash "$0" "$@"' "$here/vs-janus.sh" "${args[@]}"
fi

mkdir -p "$out"
sabha=${SABHA:-}
if [[ -z $sabha && $servers == *sabha* ]]; then
  if [[ -x $root/.build/release/sabha ]]; then sabha=$root/.build/release/sabha
  elif [[ -n $smoke && -x $root/.build/debug/sabha ]]; then sabha=$root/.build/debug/sabha
  else
    echo "bench: building sabha (release, several minutes on 2 cores)"
    (cd "$root" && nice -n 10 swift build -c release --product sabha)
    sabha=$root/.build/release/sabha
  fi
fi
loadgen=${LOADGEN:-}
if [[ -z $loadgen ]]; then
  # Always (incrementally) rebuilt: a stale generator from an older checkout fails in confusing ways.
  echo "bench: building sabha-loadgen (release; incremental)"
  (cd "$root/tools/loadgen" && SABHA_CORE_ONLY=1 nice -n 10 swift build -c release >/dev/null)
  loadgen=$root/tools/loadgen/.build/release/sabha-loadgen
fi
server_cpus=0
generator_cpus=(taskset -c 1)
if ((sabha_workers > 1)); then
  server_cpus=0-$((sabha_workers - 1))
  generator_cpus=()   # not enough cores to keep it apart: it shares them
  [[ $servers == sabha ]] || { echo "bench: --sabha-workers > 1 is for --servers sabha (Janus runs on one core)"; exit 2; }
fi
ceiling_bin=""
# No ceiling rows with simulcast (each viewer gets one of three layers, so "every input to every viewer" is not
# the same work) or with several workers (the ceiling is one core).
if [[ -n $simulcast ]] || ((sabha_workers > 1)); then ceiling=""; fi
if [[ -n $ceiling && $servers == *sabha* ]]; then
  ceiling_bin=$(bash "$here/ceiling.sh" build) || { echo "bench: could not build the C ceiling (needs cc and libssl-dev)"; exit 1; }
fi
command -v janus >/dev/null || [[ $servers != *janus* ]] || { echo "bench: janus is not installed (apt-get install janus; tools/setup.sh)"; exit 1; }

clip=(--video 1280x720 --video-kbps 1500 --clip 5s)
[[ -n $smoke ]] && clip=(--video 640x360 --video-kbps 800 --clip 2s)
[[ -n $simulcast ]] && clip+=(--simulcast)
# Fill the clip cache first so encoding never lands inside a step.
nice -n 5 "$loadgen" "${clip[@]}" --encode-only >/dev/null 2>&1 || true

server_pid=""
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid"
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap stop_server EXIT

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wait_http() {  # URL, attempts of 0.1 s
  for _ in $(seq "$2"); do
    curl -fsS -m 1 "$1" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_server() {  # sabha | janus; sets server_pid and target_args
  local name=$1
  case $name in
    sabha)
      local data=$out/sabha-data
      rm -rf "$data"; mkdir -p "$data"
      taskset -c "$server_cpus" "$sabha" serve --http 127.0.0.1:18080 --rtc 127.0.0.1:18443 --data-dir "$data" --log-level warning \
        --workers "$sabha_workers" \
        >"$out/sabha.log" 2>&1 &
      server_pid=$!
      wait_http http://127.0.0.1:18080/healthz 300 || { echo "bench: sabha did not start"; tail -20 "$out/sabha.log"; exit 1; }
      target_args=(--target sabha --server http://127.0.0.1:18080 --data-dir "$data" --room bench)
      ;;
    janus)
      taskset -c 0 bash "$here/janus.sh" "$out/janus-conf" >"$out/janus.log" 2>&1 &
      server_pid=$!
      wait_http http://127.0.0.1:8088/janus/info 300 || { echo "bench: janus did not start"; tail -20 "$out/janus.log"; exit 1; }
      janus_url=ws://127.0.0.1:8188
      [[ $janus_api == http ]] && janus_url=http://127.0.0.1:8088/janus
      target_args=(--target janus --janus-url "$janus_url" --janus-room 1234)
      ;;
  esac
}

csv=$out/results.csv
echo "server,step,publishers,subscribers,connected,pkts_per_server_cpu_s,server_cpu_s_window,server_cpu_s_step,loss_pct,p50_ms,p99_ms,rss_kib_idle,rss_kib_peak,rss_kib_per_sub,rx_pkts_per_s,generator_cpu_s" >"$csv"
status=0
for name in $servers; do
  echo "bench: === $name ==="
  start_server "$name"
  sleep 1
  rss_idle=$(rss_kib "$server_pid")
  step=0
  for subs in $steps; do
    step=$((step + 1))
    json=$out/$name-$subs.json
    cpu_before=$(cpu_ticks "$server_pid")
    limit=$((seconds + 60 + subs / 5))
    "${generator_cpus[@]}" timeout "$limit" "$loadgen" "${target_args[@]}" "${clip[@]}" --publishers 1 --subscribers "$subs" \
      --duration "${seconds}s" --server-pid "$server_pid" --per-subscriber >"$json" 2>"$out/$name-$subs.log" &
    gen=$!
    peak=$rss_idle
    while kill -0 "$gen" 2>/dev/null; do
      r=$(rss_kib "$server_pid" 2>/dev/null || echo 0)
      ((r > peak)) && peak=$r
      sleep 0.5
    done
    rc=0; wait "$gen" || rc=$?
    cpu_after=$(cpu_ticks "$server_pid")
    if ((rc != 0)) || [[ ! -s $json ]]; then
      echo "bench: $name with $subs subscribers: the generator failed (exit $rc); last lines:"; tail -5 "$out/$name-$subs.log"
      status=1
      break
    fi
    verdict=$(python3 - "$json" "$name" "$step" "$subs" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" "$rss_idle" "$peak" "${smoke:-0}" "$csv" "$max_p99" <<'PY'
import json, sys
path, name, step, subs, ticks, hz, idle, peak, smoke, csv_path, max_p99 = sys.argv[1:]
s = json.load(open(path))
subs = int(subs); t = s["totals"]; w = s["window"]; setup = s["setup"]
lat = t["latency"]
row = [name, step, s["config"]["publishers"], subs, setup["subscribersConnected"],
       w.get("serverPacketsPerCPUSecond"), w.get("serverCPUSeconds"), round(int(ticks) / int(hz), 2),
       t["lossPercent"], lat.get("p50Ms"), lat.get("p99Ms"), idle, peak,
       round((int(peak) - int(idle)) / subs, 1) if subs else "", w["packetsReceivedPerSecond"], w["generatorCPUSeconds"]]
open(csv_path, "a").write(",".join("" if v is None else str(v) for v in row) + "\n")
problems = []
if setup["subscribersConnected"] < subs:
    problems.append(f"{subs - setup['subscribersConnected']} subscribers not connected ({(setup['failures'] or [''])[0]})")
if smoke != "0":
    for p in s.get("perSubscriber") or []:
        if not p["connected"] or p["videoPackets"] == 0 or p["audioPackets"] == 0 or p["authenticated"] == 0 or p["authFailures"]:
            problems.append(f"subscriber {p['index']}: connected {p['connected']}, {p['videoPackets']} video / {p['audioPackets']} audio packets, "
                            f"{p['authenticated']} authenticated, {p['authFailures']} auth failures")
else:
    if t["lossPercent"] > 1: problems.append(f"loss {t['lossPercent']}% > 1%")
    if (lat.get("p99Ms") or 0) > float(max_p99): problems.append(f"p99 {lat.get('p99Ms')} ms > {max_p99} ms")
print(f"{setup['subscribersConnected']}/{subs} connected, {w.get('serverPacketsPerCPUSecond')} pkt per server CPU-s, "
      f"server CPU {w.get('serverCPUSeconds')} s in {w['seconds']} s, loss {t['lossPercent']}%, p50 {lat.get('p50Ms')} ms, "
      f"p99 {lat.get('p99Ms')} ms, RSS {row[13]} KiB/subscriber -> " + (("STOP " + "; ".join(problems)) if problems else "OK"))
PY
    ) || verdict="STOP (could not read $json)"
    echo "bench: $name 1 publisher -> $subs subscribers: $verdict"
    if [[ $name == sabha && -n $ceiling_bin ]]; then
      # The same fan-out in plain C, now, on the same cores: recvmmsg -> unprotect -> N x protect -> sendmmsg.
      # Same mean packet size and the publisher's packet rate (paced, one packet per receive as in Sabha).
      read -r size rate < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); t=s["totals"]; w=s["window"]
print(max(64, round(t["bytesReceived"]/max(t["packetsReceived"],1)) - 10), round(w["packetsSentPerSecond"]))' "$json")
      if "$ceiling_bin" --profile cm --viewers "$subs" --size "$size" --rate "$rate" --seconds "$seconds" --forwarder-cpu 0 --helper-cpu 1 \
          >"$out/ceiling-$subs.txt" 2>&1; then
        python3 - "$out/ceiling-$subs.txt" "$step" "$subs" "$csv" <<'PY'
import json, sys
path, step, subs, csv_path = sys.argv[1:]
r = json.loads(open(path).read().strip().splitlines()[-1])
row = ["ceiling", step, 1, subs, subs, round(r["forwarded_per_cpu_s"]), round(r["cpu_s"], 2), round(r["cpu_s"], 2),
       round(100 * (1 - r["delivered"] / max(r["sent"], 1)), 3), "", "", "", "", "", round(r["forwarded"] / r["wall_s"]), ""]
open(csv_path, "a").write(",".join(str(v) for v in row) + "\n")
print(f"bench: ceiling 1 -> {subs} copies of {r['size']}-byte packets at {r['inputs'] / r['wall_s']:.0f} packets/s: {r['forwarded_per_cpu_s']:.0f} copies per CPU-s "
      f"({r['ns_per_forwarded']:.0f} ns each, {100 * r['sys_s'] / max(r['cpu_s'], 1e-9):.0f}% system time)")
PY
      else
        echo "bench: the C ceiling failed at $subs viewers:"; tail -3 "$out/ceiling-$subs.txt"
      fi
    fi
    if [[ $verdict != *"-> OK" ]]; then
      [[ -n $smoke ]] && status=1
      break
    fi
    sleep 2
  done
  stop_server
  sleep 1
done

python3 - "$csv" "$out/results.json" "$max_p99" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
max_p99 = float(sys.argv[3])
best = {}
for r in rows:
    ok = r["server"] != "ceiling" and int(r["connected"]) == int(r["subscribers"]) and float(r["loss_pct"] or 100) < 1 and float(r["p99_ms"] or 1e9) <= max_p99
    if ok and int(r["subscribers"]) > best.get(r["server"], 0):
        best[r["server"]] = int(r["subscribers"])
# Sabha's forwarded packets per CPU-second over the C ceiling's at the same step (measured right after it).
ceiling = {r["subscribers"]: float(r["pkts_per_server_cpu_s"]) for r in rows if r["server"] == "ceiling" and r["pkts_per_server_cpu_s"]}
ratio = {r["subscribers"]: round(float(r["pkts_per_server_cpu_s"]) / ceiling[r["subscribers"]], 3)
         for r in rows if r["server"] == "sabha" and r["pkts_per_server_cpu_s"] and ceiling.get(r["subscribers"])}
json.dump({"rows": rows, "maxP99Ms": max_p99, "largestHeldWithUnder1PercentLoss": best, "sabhaOverCeiling": ratio},
          open(sys.argv[2], "w"), indent=2)
if ratio:
    print("bench: Sabha / C ceiling, forwarded packets per CPU-second: " + ", ".join(f"{k} subscribers {v:.2f}" for k, v in ratio.items()))
for server in dict.fromkeys(r["server"] for r in rows if r["server"] != "ceiling"):
    print(f"bench: {server}: largest load held with < 1% loss and p99 <= {max_p99:g} ms: 1 publisher -> {best.get(server, 0)} subscribers")
PY
if [[ -z $smoke ]]; then
  py=python3; [[ -x $root/.venv/bin/python ]] && py=$root/.venv/bin/python   # matplotlib comes with tools/setup.sh
  "$py" "$here/plot.py" "$csv" "$out/results.png" "1 publisher, CM; $(date -u +%Y-%m-%d\ %H:%M) UTC" && echo "bench: plot in $out/results.png"
fi
echo "bench: results in $out (results.csv, results.json, per-step summaries)"
if [[ -n $smoke ]]; then
  ((status == 0)) && echo "bench: smoke passed" || echo "bench: smoke FAILED"
fi
exit "$status"

#!/usr/bin/env bash
# The ladder: Sabha and Janus (videoroom) one after the other, each pinned to core 0, driven by the same load
# generator (tools/loadgen) pinned to core 1, and after each Sabha run the C ceiling (tools/bench/ceiling.c) doing
# the same fan-out on the same cores. 1 publisher -> 10, 50, 100, 250, ... subscribers, each step repeated
# (--repeats, 3 by default), until a step fails in most of its repeats. Runs in a network namespace it creates
# (lo + a veth pair carrying 127.0.0.2/32, which Janus's libnice needs); nothing leaves it.
#
#   bash tools/bench/bench.sh                     the ladder for both servers (needs .build/release/sabha: built if missing, ~10 min)
#   bash tools/bench/bench.sh --steps "250"       one step, 3 repeats each: Sabha/ceiling and Sabha/Janus in results.json (a few minutes)
#   bash tools/bench/bench.sh --smoke             1 publisher -> 3 subscribers, 5 s, once, both servers; asserts delivery only (CI)
#   options: --servers "sabha janus"  --steps "10 50 100"  --repeats 3  --seconds 10  --out DIR
#            --max-p99 MS (50; the p99 rule of "held")
#            --no-ceiling (skip the C ceiling run after each Sabha run)
#            --simulcast (the publisher sends three layers, 320x180 / 640x360 / 1280x720; Janus's viewers ask for
#            the top substream, Sabha's get it without bandwidth feedback)
#            --janus-api ws|http (Janus's WebSocket API, the default, or its HTTP API with long-polls)
#            --publishers P (1): P publishers, subscriber j watching publisher j mod P; with P > 1 the steps count
#            all subscribers and there is no ceiling row (the ceiling has one publisher)
#            --video WxH --video-kbps K --fps F (1280x720, 1500, 30): the publishers' camera
#            --srtp cm|gcm (cm): the SRTP profile the generator offers, and the ceiling's. cm is AES_CM_128_HMAC_SHA1_80,
#            what the Janus comparison uses; gcm is AEAD_AES_128_GCM, what Chromium negotiates with Sabha (Sabha and
#            the ceiling only)
#            --sabha-workers N (media worker threads; with N > 1 Sabha is pinned to cores 0..N-1 and the generator
#            is not pinned: WHEP viewers are spread over the workers, the publisher's packets piped to them)
#   env: SABHA=path/to/sabha (e.g. .build/debug/sabha), LOADGEN=path/to/sabha-loadgen,
#        JANUS_EVENT_LOOPS (1: Janus's media loops, sized to its one core; see janus.sh)
#
# Fair settings: Janus runs a fixed number of event loops for its core (not a thread per handle); the publisher
# answers keyframe requests at most every 300 ms as libwebrtc does; with simulcast Janus's viewers select the top
# substream. Loss is counted per subscriber over the window from the publisher's send stamps, every packet
# authenticated: a subscriber that receives nothing counts 100 %, an authentication failure fails the run.
#
# DIR/results.csv has a row per run (server, step, repeat); DIR/results.json aggregates each step (min / median /
# max over the repeats), the Sabha/ceiling ratio (per repeat: each Sabha run against the ceiling run right after
# it), the Sabha/Janus ratio of medians, and the largest load held in every repeat and in most (tools/bench/ladder.py).
# A run holds when every subscriber connected, loss < 1 % and p99 <= --max-p99. RSS per subscriber is the peak
# during the run minus the idle RSS before the ladder, over the subscribers connected.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

smoke=""
servers="sabha janus"
steps="10 50 100 250 500 750 1000"
repeats=3
seconds=10
out=""
max_p99=50     # ms: the ladder stops above this (or above 1 % loss)
ceiling=1
sabha_workers=1
janus_api=ws
simulcast=""
publishers=1
video=1280x720
video_kbps=1500
fps=30
srtp=cm
while (($#)); do
  case $1 in
    --smoke) smoke=1 ;;
    --servers) servers=$2; shift ;;
    --steps) steps=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --out) out=$2; shift ;;
    --max-p99) max_p99=$2; shift ;;
    --no-ceiling) ceiling="" ;;
    --sabha-workers) sabha_workers=$2; shift ;;
    --janus-api) janus_api=$2; shift ;;
    --simulcast) simulcast=1 ;;
    --publishers) publishers=$2; shift ;;
    --video) video=$2; shift ;;
    --video-kbps) video_kbps=$2; shift ;;
    --fps) fps=$2; shift ;;
    --srtp) srtp=$2; shift ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $srtp == cm || $srtp == gcm ]] || { echo "bench: --srtp is cm or gcm" >&2; exit 2; }
[[ $srtp == cm || $servers != *janus* ]] || { echo "bench: --srtp gcm runs Sabha and the ceiling only: add --servers sabha" >&2; exit 2; }
if [[ -n $smoke ]]; then
  steps="3"
  seconds=5
  repeats=1
fi
out=${out:-/tmp/sabha-bench-$(date +%Y%m%d-%H%M%S)}

# Re-run ourselves in a fresh network namespace: lo, and a veth pair whose end vb0 carries 127.0.0.2/32.
if [[ -z ${SABHA_BENCH_IN_NS:-} ]]; then
  export SABHA_BENCH_IN_NS=1
  args=(--servers "$servers" --steps "$steps" --repeats "$repeats" --seconds "$seconds" --out "$out" --max-p99 "$max_p99")
  [[ -n $smoke ]] && args+=(--smoke)
  [[ -z $ceiling ]] && args+=(--no-ceiling)
  args+=(--sabha-workers "$sabha_workers" --janus-api "$janus_api" --publishers "$publishers" --video "$video" --video-kbps "$video_kbps" --fps "$fps")
  args+=(--srtp "$srtp")
  [[ -n $simulcast ]] && args+=(--simulcast)
  ns=(unshare -n)
  [[ $(id -u) -ne 0 ]] && ns=(unshare -rn)   # unprivileged: own user namespace, root inside it
  exec "${ns[@]}" bash -c 'set -e
    ip link set lo up
    ip link add vb0 type veth peer name vb1
    ip link set vb0 up
    ip link set vb1 up
    ip addr add 127.0.0.2/32 dev vb0
    exec bash "$0" "$@"' "$here/bench.sh" "${args[@]}"
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
if [[ -n $simulcast ]] || ((sabha_workers > 1)) || ((publishers > 1)); then ceiling=""; fi
if [[ -n $ceiling && $servers == *sabha* ]]; then
  ceiling_bin=$(bash "$here/ceiling.sh" build) || { echo "bench: could not build the C ceiling (needs cc and libssl-dev)"; exit 1; }
fi
command -v janus >/dev/null || [[ $servers != *janus* ]] || { echo "bench: janus is not installed (apt-get install janus; tools/setup.sh)"; exit 1; }

clip=(--video "$video" --video-kbps "$video_kbps" --fps "$fps" --clip 5s)
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
      target_args=(--target sabha --server http://127.0.0.1:18080 --data-dir "$data" --room bench --srtp "$srtp")
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
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import ladder; print(",".join(ladder.COLUMNS))' "$here" >"$csv"
status=0

run_once() {  # SUBS STEP REPEAT: one generator run against the running server, then (Sabha) the ceiling
  local subs=$1 step=$2 rep=$3
  local json=$out/$name-$subs-r$rep.json
  local cpu_before cpu_after limit gen peak r rc
  cpu_before=$(cpu_ticks "$server_pid")
  limit=$((seconds + 60 + subs / 5))
  "${generator_cpus[@]}" timeout "$limit" "$loadgen" "${target_args[@]}" "${clip[@]}" --publishers "$publishers" --subscribers "$subs" \
    --duration "${seconds}s" --server-pid "$server_pid" --per-subscriber >"$json" 2>"$out/$name-$subs-r$rep.log" &
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
    echo "bench: $name with $subs subscribers (repeat $rep): the generator failed (exit $rc); last lines:"; tail -5 "$out/$name-$subs-r$rep.log"
    verdict="FAIL generator"
    return 1
  fi
  verdict=$(python3 "$here/ladder.py" row "$json" "$name" "$step" "$rep" "$subs" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" \
    "$rss_idle" "$peak" "${smoke:-0}" "$csv" "$max_p99") || verdict="FAIL (could not read $json)"
  echo "bench: $name $publishers publisher(s) -> $subs subscribers, repeat $rep: $verdict"
  if [[ $name == sabha && -n $ceiling_bin ]]; then
    # The same fan-out in plain C, now, on the same cores: recvmmsg -> unprotect -> N x protect -> sendmmsg.
    # Same mean packet size and the publisher's packet rate (paced, one packet per receive as in Sabha).
    local size rate
    read -r size rate < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); t=s["totals"]; w=s["window"]
print(max(64, round(t["bytesReceived"]/max(t["packetsReceived"],1)) - 10), round(w["packetsSentPerSecond"]))' "$json")
    if "$ceiling_bin" --profile "$srtp" --viewers "$subs" --size "$size" --rate "$rate" --seconds "$seconds" --forwarder-cpu 0 --helper-cpu 1 \
        >"$out/ceiling-$subs-r$rep.txt" 2>&1; then
      echo "bench: $(python3 "$here/ladder.py" ceiling "$out/ceiling-$subs-r$rep.txt" "$step" "$rep" "$subs" "$csv")"
    else
      echo "bench: the C ceiling failed at $subs viewers:"; tail -3 "$out/ceiling-$subs-r$rep.txt"
    fi
  fi
  [[ $verdict == *"-> OK" ]]
}

for name in $servers; do
  echo "bench: === $name ==="
  start_server "$name"
  sleep 1
  rss_idle=$(rss_kib "$server_pid")
  step=0
  for subs in $steps; do
    step=$((step + 1))
    held=0
    for rep in $(seq "$repeats"); do
      if run_once "$subs" "$step" "$rep"; then held=$((held + 1)); fi
      kill -0 "$server_pid" 2>/dev/null || { echo "bench: $name exited during the run"; status=1; break 2; }
      sleep 2
    done
    echo "bench: $name at $subs subscribers held in $held of $repeats repeats"
    if ((2 * held <= repeats)); then
      [[ -n $smoke ]] && status=1
      break
    fi
  done
  stop_server
  sleep 1
done

python3 "$here/ladder.py" summary "$csv" "$out/results.json" "$max_p99" "$repeats"
if [[ -z $smoke ]]; then
  py=python3; [[ -x $root/.venv/bin/python ]] && py=$root/.venv/bin/python   # matplotlib comes with tools/setup.sh
  "$py" "$here/plot.py" "$csv" "$out/results.png" "$publishers publisher(s), CM; medians of $repeats repeats; $(date -u +%Y-%m-%d\ %H:%M) UTC" \
    && echo "bench: plot in $out/results.png"
fi
echo "bench: results in $out (results.csv, results.json, per-run summaries)"
if [[ -n $smoke ]]; then
  ((status == 0)) && echo "bench: smoke passed" || echo "bench: smoke FAILED"
fi
exit "$status"

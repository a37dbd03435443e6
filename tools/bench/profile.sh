#!/usr/bin/env bash
# Where the media worker's time goes under fan-out load: Sabha (release) pinned to core 0, the load generator
# (1 publisher -> N subscribers, 1.5 Mbit/s VP8 + Opus, CM) pinned to core 1, and `perf record` (software
# cpu-clock sampling: this VM has no hardware counters) on the server for a few seconds inside the generator's
# measurement window. Runs in its own network namespace (loopback only). Prints perf's split by shared object
# and the top symbols; the raw perf.data stays in the output folder.
#
#   bash tools/bench/profile.sh [--subscribers 750] [--seconds 8] [--out DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
subs=750
seconds=8
out=""
while (($#)); do
  case $1 in
    --subscribers) subs=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "profile: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
out=${out:-/tmp/sabha-profile-$(date +%Y%m%d-%H%M%S)}
if [[ -z ${SABHA_PROFILE_IN_NS:-} ]]; then
  export SABHA_PROFILE_IN_NS=1
  ns=(unshare -n); [[ $(id -u) -ne 0 ]] && ns=(unshare -rn)
  exec "${ns[@]}" bash -c 'ip link set lo up; exec bash "$0" "$@"' "$here/profile.sh" --subscribers "$subs" --seconds "$seconds" --out "$out"
fi
command -v perf >/dev/null || { echo "profile: perf is not installed (apt-get install linux-perf)"; exit 1; }
sabha=${SABHA:-$root/.build/release/sabha}
[[ -x $sabha ]] || (cd "$root" && swift build -c release --product sabha)
(cd "$root/tools/loadgen" && SABHA_CORE_ONLY=1 swift build -c release >/dev/null)
loadgen=$root/tools/loadgen/.build/release/sabha-loadgen
mkdir -p "$out/data"
taskset -c 0 "$sabha" serve --http 127.0.0.1:18080 --rtc 127.0.0.1:18443 --data-dir "$out/data" --log-level warning >"$out/sabha.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -fsS -m 1 http://127.0.0.1:18080/healthz >/dev/null 2>&1 && break; sleep 0.1; done
duration=$((seconds + 12))
taskset -c 1 timeout $((duration + 120 + subs / 5)) "$loadgen" --target sabha --server http://127.0.0.1:18080 --data-dir "$out/data" \
  --room profile --video 1280x720 --video-kbps 1500 --clip 5s --publishers 1 --subscribers "$subs" --duration "${duration}s" \
  --server-pid "$server" >"$out/summary.json" 2>"$out/loadgen.log" &
gen=$!
# Start sampling once the generator's window is open (its progress lines show "sub N kf N").
until grep -q "sub $subs kf $subs" "$out/loadgen.log" 2>/dev/null; do
  kill -0 "$gen" 2>/dev/null || { echo "profile: the generator ended early:"; tail -5 "$out/loadgen.log"; exit 1; }
  sleep 0.5
done
sleep 3
perf record -e cpu-clock -F 2000 -g -p "$server" -o "$out/perf.data" -- sleep "$seconds" 2>"$out/perf-record.log"
wait "$gen" || true
echo "profile: 1 publisher -> $subs subscribers; generator summary in $out/summary.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); w=s["window"]; t=s["totals"]
print("profile:", w.get("serverPacketsPerCPUSecond"), "pkt per server CPU-s, loss", t["lossPercent"], "%, p99", t["latency"]["p99Ms"], "ms")' "$out/summary.json" || true
perf report -i "$out/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep "%" | head -12
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep "%" | head -40

#!/usr/bin/env bash
# What a relayed viewer costs against a local one (cascading, docs/cluster.md), in one run on this machine: two
# `sabha serve` nodes on one scratch PostgreSQL database (tools/dev/scratch-postgres.sh), origin A and edge B, each
# with its own --public-url, data directory and media port; then the same load from tools/loadgen twice, each in a
# fresh room: 1 WHIP publisher on A (720p VP8 ≈ 1.5 Mbit/s + Opus, or --simulcast) and --subscribers WHEP viewers
#   1. local:   all on A;
#   2. relayed: all on B with ?cascade=1 (A relays the publisher's packets once to B, B fans out).
# Per run: the viewers' packet latency (publisher's send stamp to the viewer's kernel receive time) p50/p95/p99, loss,
# A's and B's CPU over the measurement window as % of a core and CPU-µs per packet delivered to the viewers; then the
# ratios relayed/local for latency, for A's CPU and for A + B. Also printed: the relays GET /api/cluster listed during
# the relayed run, each node's log lines at warning level or above and the lines about relays, and problems (viewers
# not connected or silent, dropped packets, a relay that never showed). The work is tools/bench/cascade.py.
#
# --spread N (2-4): N nodes, A (holds the room), B, C, D, and a broadcast at the size users have (--subscribers,
# default 300 here), twice in one run: 1. local: every viewer on A; 2. spread: the viewers dealt evenly over the
# nodes by one loadgen (--subscriber-group: A's without a query, the others' with ?cascade=1, so A relays each of the
# publisher's packets once to each other node). Per node: its viewers' loss and latency p50/p95/p99, its CPU (% of a
# core, CPU-µs per packet delivered to its viewers), the most viewers its heartbeat reported in GET /api/cluster and
# its relays; per run: the nodes' CPU together, the packets A relayed against the publisher's; ratios spread/local.
#
# --meeting: a /ws meeting's viewers served through B against served by A (docs/cluster.md, "A meeting across nodes"):
# one loadgen meeting of 4 participants (each publishing Opus + simulcast VP8, receiving everyone, 640x360 tiles) and
# --viewers viewers (default 60; role viewer: they publish nothing and receive all 8 tracks), every /ws on A, run twice
# on two fresh nodes each time: 1. local: A with --max-viewers 0 (no limit): every viewer's media on A; 2. relayed: A
# with --max-viewers 1: one viewer's media on A, the others' on B, which gets each track once over a relay from A.
# Per run: the viewers' loss and latency p50/p95/p99 and the participants' own flows, which node each viewer's answer
# named, A's and B's CPU, the serving node's CPU per viewer and per packet to its viewers, B's GET /api/cluster
# (meetingMedia: the viewers' transports it serves; relays.in: one per track from A), printed; ratios relayed/local.
#
#   bash tools/bench/cascade.sh                          # 50 viewers, 15 s windows: ≈ 45 s
#   bash tools/bench/cascade.sh --subscribers 100 --duration 10 --simulcast
#   bash tools/bench/cascade.sh --repeats 2              # local, relayed, relayed, local (≈ 90 s)
#   bash tools/bench/cascade.sh --json results.json --logs DIR   # keep the figures, the loadgen summaries and the logs
#   bash tools/bench/cascade.sh --spread 3               # 300 viewers: all on A, then 100 on each of A, B, C (≈ 1 min)
#   bash tools/bench/cascade.sh --spread 3 --simulcast --subscribers 150
#   bash tools/bench/cascade.sh --meeting                # 4 participants + 60 viewers: all on A, then 59 on B (≈ 1 min)
#   bash tools/bench/cascade.sh --meeting --repeats 2 --viewers 30   # local, relayed, relayed, local (≈ 2 min)
# SABHA=path uses that server binary; otherwise .build/release/sabha when it exists and is newer than
# .build/debug/sabha, else .build/debug/sabha (nothing of the server is built). LOADGEN=path uses that generator;
# otherwise tools/loadgen's release build, built (incrementally, nice 19) when missing. Everything listens on
# 127.0.0.1 (as root: in a fresh network namespace with only lo). Bounded: each loadgen run by --duration + 30 s, the
# whole measurement by 2 x repeats x (--duration + 32 s) + 80 s (≈ 175 s with the defaults); with --spread (one
# repeat only) each run by --duration + 60 s and the whole by 2 x (--duration + 62 s) + 100 s (≈ 255 s at 15 s); with
# --meeting each loadgen run by --duration + 100 s and the whole by 2 x repeats x (--duration + 170 s) + 60 s (≈ 430 s
# at 15 s, one repeat). Writes nothing outside
# two temporary directories under /tmp (removed at the end, with the nodes and PostgreSQL stopped) and the loadgen's
# clip cache (/tmp/sabha-loadgen-cache), unless --json or --logs is given. Exits 1 when a problem was found.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=cascade
# shellcheck source=lib/cluster-nodes.sh
source "$here/lib/cluster-nodes.sh"
bench_enter_netns CASCADE_BENCH cascade.sh "$@"

subscribers=""
spread=0
meeting=0
viewers=60
duration=15
repeats=1
simulcast=""
json=""
logs=""
while (($#)); do
  case "$1" in
    --subscribers) subscribers=$2; shift 2 ;;
    --duration) duration=${2%s}; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --simulcast) simulcast=--simulcast; shift ;;
    --spread) spread=$2; shift 2 ;;
    --meeting) meeting=1; shift ;;
    --viewers) viewers=$2; shift 2 ;;
    --json) json=$(realpath -m -- "$2"); shift 2 ;;
    --logs) logs=$(realpath -m -- "$2"); shift 2 ;;
    *) echo "cascade: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $spread =~ ^[0-9]+$ ]] && ((spread == 0 || (spread >= 2 && spread <= 4))) ||
  { echo "cascade: --spread is 2-4 (nodes)" >&2; exit 2; }
subscribers=${subscribers:-$((spread ? 300 : 50))}
[[ $subscribers =~ ^[0-9]+$ && $duration =~ ^[0-9]+$ && $repeats =~ ^[0-9]+$ ]] &&
  ((subscribers >= 1 && subscribers <= 500 && duration >= 5 && duration <= 60 && repeats >= 1 && repeats <= 3)) ||
  { echo "cascade: --subscribers 1-500, --duration 5-60 (seconds), --repeats 1-3" >&2; exit 2; }
((spread == 0 || (repeats == 1 && subscribers >= spread))) ||
  { echo "cascade: --spread runs once (no --repeats) with at least one viewer per node" >&2; exit 2; }
((meeting == 0)) || [[ $spread == 0 && -z $simulcast ]] ||
  { echo "cascade: --meeting goes without --spread and --simulcast (its participants always send simulcast)" >&2; exit 2; }
[[ $viewers =~ ^[0-9]+$ ]] && ((viewers >= 2 && viewers <= 200)) || { echo "cascade: --viewers is 2-200" >&2; exit 2; }

bench_python requests requests
bench_pick_sabha

loadgen=${LOADGEN:-$root/tools/loadgen/.build/release/sabha-loadgen}
if [[ -z ${LOADGEN:-} && ! -x $loadgen ]]; then
  echo "cascade: building sabha-loadgen (release, nice 19)" >&2
  (cd "$root/tools/loadgen" && SABHA_CORE_ONLY=1 nice -n 19 swift build -c release >/dev/null) ||
    { echo "cascade: building the loadgen failed (cd tools/loadgen && SABHA_CORE_ONLY=1 swift build -c release)" >&2; exit 1; }
fi
[[ -x $loadgen ]] || { echo "cascade: no loadgen at $loadgen" >&2; exit 1; }
loadgen_help=$("$loadgen" --help 2>/dev/null) || true   # (not piped into grep -q: pipefail and SIGPIPE)
grep -q -- --subscriber-server <<<"$loadgen_help" ||
  { echo "cascade: $loadgen has no --subscriber-server (stale build? rebuild tools/loadgen)" >&2; exit 1; }
((spread == 0)) || grep -q -- --subscriber-group <<<"$loadgen_help" ||
  { echo "cascade: $loadgen has no --subscriber-group (stale build? rebuild tools/loadgen)" >&2; exit 1; }
((meeting == 0)) || grep -q -- --viewers <<<"$loadgen_help" ||
  { echo "cascade: $loadgen has no --viewers (stale build? rebuild tools/loadgen)" >&2; exit 1; }

bench_scratch sabha-cascade log stderr

bench_start_postgres
database_url=$(bench_createdb bench)

bench_describe
echo "Loadgen: $loadgen (built $(date -u -r "$loadgen" '+%Y-%m-%d %H:%M UTC'))"
if ((meeting)); then
  echo "Load: a /ws meeting on A of 4 participants (Opus 48 kbit/s + simulcast VP8 720p 1.5 Mbit/s, CM; 640x360 tiles) and $viewers viewers; local: A --max-viewers 0, relayed: A --max-viewers 1 (the others' media on B); ${duration} s windows, $repeats repeat(s), fresh nodes each run; nothing pinned"
elif ((spread)); then
  echo "Load: 1 publisher on A (${simulcast:+simulcast }720p VP8 1.5 Mbit/s + Opus 48 kbit/s, CM), $subscribers viewers all on A, then spread over $spread nodes (the others' with ?cascade=1), ${duration} s windows; nothing pinned"
else
  echo "Load: 1 publisher (${simulcast:+simulcast }720p VP8 1.5 Mbit/s + Opus 48 kbit/s, CM), $subscribers viewers, ${duration} s windows, $repeats repeat(s); nothing pinned"
fi
echo "Command: ${SABHA:+SABHA=$SABHA }${LOADGEN:+LOADGEN=$LOADGEN }$command_line"
bench_started

status=0
meeting_args=()
if ((meeting)); then
  meeting_args=(--meeting --viewers "$viewers")
  limit=$((2 * repeats * (duration + 170) + 60))
elif ((spread)); then
  limit=$((2 * (duration + 62) + 100))
else
  limit=$((2 * repeats * (duration + 32) + 80))
fi
bench_run "$limit" "$python" "$here/cascade.py" --sabha "$sabha" --loadgen "$loadgen" \
  --work "$work" --database-url "$database_url" --subscribers "$subscribers" --duration "$duration" --repeats "$repeats" \
  --spread "$spread" $simulcast ${json:+--json "$json"} "${meeting_args[@]}" || status=$?
bench_finished
exit "$status"

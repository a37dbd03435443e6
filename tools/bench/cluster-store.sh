#!/usr/bin/env bash
# What the PostgreSQL store and clustering cost (docs/cluster.md), in one run on this machine:
#   1. Store cost: one `sabha serve` on its SQLite file (the default) and one on a scratch PostgreSQL database
#      (tools/dev/scratch-postgres.sh: fsync, synchronous_commit and full_page_writes off), then one more on a fresh
#      database of the same cluster with those three turned back on ("durable", as a deployment would run it; the
#      SQLite file does fsync). On each, --requests sequential admin calls of each kind (POST /api/rooms,
#      GET /api/rooms/{room}, GET /api/audit?limit=50 with 60 entries in the trail) over one keep-alive connection,
#      and as many GET /healthz (no store: the floor): median and p95 ms per call, and PostgreSQL / SQLite.
#   2. Join cost in a cluster: nodes A and B on one PostgreSQL database (scratch settings; each its own
#      --public-url, data directory and media port). For --rounds fresh rooms (made, and links minted, through A): a
#      first participant joins through A's /ws (direct), a second through B, which answers
#      {"type":"redirect","url":"ws://A/ws"}, and the client sends the same join to A (redirected: first connect to
#      `joined`); a third joins through A into the running meeting as a control. No media (`joined` comes before
#      any offer).
# Also printed: each server log's lines at warning level or above, and how long each server took to exit on SIGTERM.
# The work is tools/bench/cluster_store.py (.venv's Python, the e2e kit's MeetingSocket and SabhaServer).
#
#   bash tools/bench/cluster-store.sh                              # 300 calls of each kind, 40 join rounds
#   bash tools/bench/cluster-store.sh --requests 100 --rounds 10
#   bash tools/bench/cluster-store.sh --json results.json          # also write the figures there
#   bash tools/bench/cluster-store.sh --logs DIR                   # and keep the servers' and PostgreSQL's logs in DIR
# SABHA=path uses that server binary; otherwise .build/release/sabha when it exists, is newer than
# .build/debug/sabha and knows --database, else .build/debug/sabha. Nothing is built. Everything listens on
# 127.0.0.1 (as root: in a fresh network namespace with only lo). Bounded: each phase (one kind of call on one
# server, or the join rounds) by its count or --limit seconds (default 120), the whole run by 13 x --limit + 300 s.
# Writes nothing outside two temporary directories under /tmp (removed at the end, with the servers and the
# PostgreSQL cluster stopped) unless --json or --logs is given. About 30 s with the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=cluster-store
# shellcheck source=lib/cluster-nodes.sh
source "$here/lib/cluster-nodes.sh"
bench_enter_netns CLUSTER_STORE cluster-store.sh "$@"

requests=300
rounds=40
limit=120
json=""
logs=""
while (($#)); do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --limit) limit=${2%s}; shift 2 ;;
    --json) json=$(realpath -m -- "$2"); shift 2 ;;
    --logs) logs=$(realpath -m -- "$2"); shift 2 ;;
    *) echo "cluster-store: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $requests =~ ^[0-9]+$ && $rounds =~ ^[0-9]+$ && $limit =~ ^[0-9]+$ ]] && ((requests >= 1 && requests <= 100000 && rounds >= 1 && rounds <= 10000 && limit >= 1)) ||
  { echo "cluster-store: --requests, --rounds, --limit: whole numbers, at least 1" >&2; exit 2; }

bench_python 'websocket, requests' 'websocket-client or requests'
bench_pick_sabha

bench_scratch sabha-cluster-store log

bench_start_postgres
store_url=$(bench_createdb store)
cluster_url=$(bench_createdb cluster)
durable_url=$(bench_createdb store_durable)
# For the third store run: PostgreSQL as a deployment would have it (the scratch cluster starts without durability;
# SQLite in the data directory does fsync). As the superuser over the cluster's Unix socket (trust).
durable=$(printf '%q ' /usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$pg/sock" -p "$(cat "$pg/port")" -U postgres -d postgres -o /dev/null \
  -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" -c "ALTER SYSTEM SET full_page_writes = on" \
  -c "SELECT pg_reload_conf()")
pg_version=$("/usr/lib/postgresql/15/bin/psql" -X -A -t -d "$store_url" -c 'SHOW server_version' 2>/dev/null || echo '?')

bench_describe
echo "PostgreSQL: $pg_version (tools/dev/scratch-postgres.sh: fsync, synchronous_commit, full_page_writes off)"
echo "Command: ${SABHA:+SABHA=$SABHA }$command_line"
bench_started

bench_run $((limit * 13 + 300)) "$python" "$here/cluster_store.py" --sabha "$sabha" --work "$work" --store-url "$store_url" \
  --cluster-url "$cluster_url" --durable-url "$durable_url" --make-durable "$durable" --requests "$requests" \
  --rounds "$rounds" --limit "$limit" ${json:+--json "$json"}
bench_finished

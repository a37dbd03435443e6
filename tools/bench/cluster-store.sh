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

if [[ -z ${CLUSTER_STORE_IN_NS:-} && $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
  # As root only: PostgreSQL runs as the postgres user (runuser), which a user namespace (unshare -r) would not allow.
  export CLUSTER_STORE_IN_NS=1 CLUSTER_STORE_COMMAND="bash tools/bench/cluster-store.sh${*:+ $*}"
  exec unshare -n sh -c 'ip link set lo up && exec bash "$0" "$@"' "$here/cluster-store.sh" "$@"
fi
command_line=${CLUSTER_STORE_COMMAND:-"bash tools/bench/cluster-store.sh${*:+ $*}"}

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

python=$root/.venv/bin/python
[[ -x $python ]] || { echo "cluster-store: $python is missing: run tools/setup.sh" >&2; exit 1; }
"$python" -c 'import websocket, requests' 2>/dev/null || { echo "cluster-store: .venv lacks websocket-client or requests: run tools/setup.sh" >&2; exit 1; }

knows_database() { local help; help=$("$1" serve --help 2>/dev/null) && grep -q -- --database <<<"$help"; }
if [[ -n ${SABHA:-} ]]; then
  sabha=$SABHA
else
  sabha=$root/.build/debug/sabha
  release=$root/.build/release/sabha
  if [[ -x $release && (! -x $sabha || $release -nt $sabha) ]] && knows_database "$release"; then sabha=$release; fi
fi
[[ -x $sabha ]] || { echo "cluster-store: no server binary at $sabha (build one, or SABHA=path)" >&2; exit 1; }
knows_database "$sabha" || { echo "cluster-store: $sabha has no 'serve --database' (stale build?)" >&2; exit 1; }
case "$(realpath "$sabha")" in
  */release/*) build=release ;;
  */debug/*) build=debug ;;
  *) build="unknown build" ;;
esac

work=$(mktemp -d /tmp/sabha-cluster-store.XXXXXX)
pg=$(mktemp -d /tmp/sabha-cluster-store-pg.XXXXXX)   # its own: as root, the postgres user must be able to enter it
py=""
cleanup() {
  local pid
  if [[ -n $py ]] && kill -0 "$py" 2>/dev/null; then   # interrupted: the Python script stops its servers on SIGTERM
    kill -TERM "$py" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$py" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ -f $work/pids ]]; then   # servers the Python script could not stop itself (only ours, by pid)
    while read -r pid; do
      if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; sleep 2; kill -KILL "$pid" 2>/dev/null || true; fi
    done <"$work/pids"
  fi
  bash "$root/tools/dev/scratch-postgres.sh" stop "$pg" >/dev/null 2>&1 || true
  if [[ -n $logs ]]; then
    mkdir -p "$logs" && cp "$work"/*.log "$logs/" 2>/dev/null && cp "$pg/postgres.log" "$logs/postgresql-server.log" 2>/dev/null || true
  fi
  rm -rf "$work" "$pg"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "cluster-store: starting a scratch PostgreSQL cluster" >&2
bash "$root/tools/dev/scratch-postgres.sh" start "$pg" >/dev/null
store_url=$(bash "$root/tools/dev/scratch-postgres.sh" createdb "$pg" store)
cluster_url=$(bash "$root/tools/dev/scratch-postgres.sh" createdb "$pg" cluster)
durable_url=$(bash "$root/tools/dev/scratch-postgres.sh" createdb "$pg" store_durable)
# For the third store run: PostgreSQL as a deployment would have it (the scratch cluster starts without durability;
# SQLite in the data directory does fsync). As the superuser over the cluster's Unix socket (trust).
durable=$(printf '%q ' /usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$pg/sock" -p "$(cat "$pg/port")" -U postgres -d postgres -o /dev/null \
  -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" -c "ALTER SYSTEM SET full_page_writes = on" \
  -c "SELECT pg_reload_conf()")
pg_version=$("/usr/lib/postgresql/15/bin/psql" -X -A -t -d "$store_url" -c 'SHOW server_version' 2>/dev/null || echo '?')

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "Machine: $(nproc) CPUs, $cpu; $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Binary: $sabha ($build, built $(date -u -r "$sabha" '+%Y-%m-%d %H:%M UTC'); checkout $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "PostgreSQL: $pg_version (tools/dev/scratch-postgres.sh: fsync, synchronous_commit, full_page_writes off)"
echo "Command: ${SABHA:+SABHA=$SABHA }$command_line"
echo "Started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo

# In the background and waited for, so that an interrupted run reaches the trap at once (and stops it first).
timeout $((limit * 13 + 300)) "$python" "$here/cluster_store.py" --sabha "$sabha" --work "$work" --store-url "$store_url" \
  --cluster-url "$cluster_url" --durable-url "$durable_url" --make-durable "$durable" --requests "$requests" \
  --rounds "$rounds" --limit "$limit" ${json:+--json "$json"} &
py=$!
wait "$py"
py=""
echo
echo "Finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# What recording costs the server (issue 19): a meeting of N participants over /ws (each publishing Opus and
# three-layer simulcast VP8, receiving everyone; tools/loadgen --mode meeting) run twice on the same release
# server build, without and with the room recorded (started through the admin API once everyone is in), and the
# server's CPU over the measured window compared. Recording writes every track to disk under the data directory
# (a tmpfs-backed /tmp here, so the disk itself is not measured).
#
#   bash tools/bench/recording-cost.sh                       # 8 participants, 30 s each way
#   bash tools/bench/recording-cost.sh --participants 16 --duration 20s
# Runs in a fresh loopback-only network namespace; each run is bounded (timeout 300 s).
set -euo pipefail
cd "$(dirname "$0")/../loadgen"
here=$PWD
source "$here/server-lib.sh"
loadgen_enter_namespace "$here/../bench/recording-cost.sh" "$@"
participants=8
duration=30s
while (($#)); do
  case "$1" in
    --participants) participants=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "recording-cost: unknown argument $1" >&2; exit 2 ;;
  esac
done
loadgen_build

run() {  # run RECORD(0|1) -> prints the summary's server CPU % of one core, and the recorded tracks
  local record=$1
  loadgen_start_server --workers 1
  local key; key=$(cat "$data/admin.key")
  if ((record)); then
    (
      for _ in $(seq 600); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
               -d '{"action":"start"}' "http://127.0.0.1:$http_port/api/rooms/rec-bench/recording" || true)
        [[ $code == 201 ]] && break
        sleep 0.1
      done
    ) &
  fi
  timeout 300 "$loadgen" --mode meeting --server "http://127.0.0.1:$http_port" --data-dir "$data" --room rec-bench \
    --participants "$participants" --duration "$duration" --warmup 3s --video 640x360 --video-kbps 800 --fps 30 --clip 2s \
    --server-pid "$server_pid" >"$data/summary.json"
  # Everyone has left: the meeting's end stopped the recording and wrote recording.json.
  local tracks=0
  for _ in $(seq 50); do
    manifest=$(ls "$data"/recordings/*/recording.json 2>/dev/null | head -1 || true)
    [[ -n $manifest || $record == 0 ]] && break
    sleep 0.2
  done
  [[ -n ${manifest:-} ]] && tracks=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tracks"]))' "$manifest")
  local bytes; bytes=$(du -sb "$data/recordings" 2>/dev/null | cut -f1 || echo 0)
  python3 - "$data/summary.json" "$record" "$tracks" "${bytes:-0}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
server = s.get("server", s)
cpu = None
for key in ("serverCPUPercentOfOneCore",):
    def find(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == key: return v
                r = find(v)
                if r is not None: return r
        return None
    cpu = find(s)
flows = s.get("flows", {})
print(f"recording-cost: record={sys.argv[2]} server CPU {cpu} % of one core, tracks recorded {sys.argv[3]}, bytes written {sys.argv[4]}")
PY
  loadgen_stop_server
  trap - EXIT
}

run 0
run 1

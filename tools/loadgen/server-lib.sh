# Sourced by smoke.sh and meeting-smoke.sh: re-run the calling script in a fresh network namespace with only
# lo up, build what is missing, and start `sabha serve` on free loopback ports with a temporary data directory.
#   loadgen_enter_namespace "$0" "$@"       # first thing in the script (returns only inside the namespace)
#   loadgen_build                           # sets $sabha and $loadgen (release builds; SABHA=path overrides the server)
#   loadgen_start_server ARGS...            # sets $data, $http_port, $rtc_port, $server_pid; stops and cleans up on exit

loadgen_enter_namespace() {
  local script=$1; shift
  if [[ -z "${LOADGEN_SMOKE_IN_NS:-}" ]]; then
    local ns=(unshare -n)
    [[ $(id -u) -ne 0 ]] && ns=(unshare -rn)
    export LOADGEN_SMOKE_IN_NS=1
    exec "${ns[@]}" sh -c 'ip link set lo up && exec bash "$0" "$@"' "$script" "$@"
  fi
}

loadgen_build() {
  local here root
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  root=$(cd "$here/../.." && pwd)
  sabha=${SABHA:-$root/.build/release/sabha}
  loadgen=$here/.build/release/sabha-loadgen
  if [[ ! -x $sabha ]]; then
    echo "smoke: building sabha (release)"
    (cd "$root" && nice -n 10 swift build -c release --product sabha)
  fi
  # Always (incrementally) rebuilt: a stale generator from an older checkout fails in confusing ways.
  echo "smoke: building sabha-loadgen (release; incremental)"
  local out
  # Once more on failure: after a checkout removes MediaCore files, SwiftPM's first incremental build stops on
  # "missing inputs" and the second one succeeds.
  if ! out=$(cd "$here" && SABHA_CORE_ONLY=1 nice -n 10 swift build -c release 2>&1) \
     && ! out=$(cd "$here" && SABHA_CORE_ONLY=1 nice -n 10 swift build -c release 2>&1); then
    echo "$out" | tail -40
    echo "smoke: building sabha-loadgen failed"
    return 1
  fi
}

loadgen_start_server() {
  data=$(mktemp -d /tmp/sabha-loadgen-smoke.XXXXXX)
  server_pid=""
  trap loadgen_stop_server EXIT
  # Free ports: HTTP from the kernel; media free for UDP and TCP (ICE-TCP takes the same number) and below the
  # ephemeral range, so no outgoing connection takes its TCP twin first.
  read -r http_port rtc_port < <(python3 -c '
import random, socket
t = socket.socket(); t.bind(("127.0.0.1", 0))
for _ in range(200):
    port = random.randrange(20000, 30000)
    try:
        u = socket.socket(type=socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
        v = socket.socket(); v.bind(("127.0.0.1", port))
        break
    except OSError:
        continue
print(t.getsockname()[1], port)')
  "$sabha" serve --http "127.0.0.1:$http_port" --rtc "127.0.0.1:$rtc_port" --data-dir "$data" --log-level warning "$@" \
    >"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 150); do
    curl -fsS "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "smoke: sabha serve exited:"; cat "$data/server.log"; exit 1; }
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$http_port/healthz" >/dev/null || { echo "smoke: server not healthy after 15 s"; cat "$data/server.log"; exit 1; }
}

loadgen_stop_server() {
  if [[ -n ${server_pid:-} ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid"
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  [[ -n ${data:-} ]] && rm -rf "$data"
}

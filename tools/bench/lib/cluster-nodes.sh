# Sourced (not run) by tools/bench/cascade.sh and tools/bench/cluster-store.sh: what both do around their Python
# script, which starts `sabha serve` nodes on a scratch PostgreSQL database (tools/dev/scratch-postgres.sh) and writes
# each node's pid to $work/pids. The caller sets `here` (its folder), `root` (the checkout) and `bench` (the name its
# messages start with) before sourcing this, and `logs` (a folder, or empty) before bench_scratch. The functions set
# globals the caller then uses: command_line, python, sabha, build, work, pg, py.

# As root, when unshare is there: the calling script again, in a fresh network namespace with only lo (not a user
# namespace: PostgreSQL runs as the postgres user through runuser, which unshare -r would not allow). PREFIX_IN_NS says
# it is inside; PREFIX_COMMAND carries the command line as typed, which ends up in command_line.
bench_enter_netns() {   # PREFIX SCRIPT [ARGUMENT...]
  local prefix=$1 script=$2
  shift 2
  local in_ns=${prefix}_IN_NS typed=${prefix}_COMMAND
  if [[ -z ${!in_ns:-} && $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
    export "$in_ns=1" "$typed=bash tools/bench/$script${*:+ $*}"
    exec unshare -n sh -c 'ip link set lo up && exec bash "$0" "$@"' "$here/$script" "$@"
  fi
  command_line=${!typed:-"bash tools/bench/$script${*:+ $*}"}
}

# .venv's Python, which must import MODULES (WHAT names them in the message when it does not).
bench_python() {   # MODULES WHAT
  python=$root/.venv/bin/python
  [[ -x $python ]] || { echo "$bench: $python is missing: run tools/setup.sh" >&2; exit 1; }
  "$python" -c "import $1" 2>/dev/null || { echo "$bench: .venv lacks $2: run tools/setup.sh" >&2; exit 1; }
}

knows_database() { local help; help=$("$1" serve --help 2>/dev/null) && grep -q -- --database <<<"$help"; }

# The server binary: SABHA=path, else .build/release/sabha when it exists, is newer than .build/debug/sabha and knows
# --database, else .build/debug/sabha; and which build it is.
bench_pick_sabha() {
  local release
  if [[ -n ${SABHA:-} ]]; then
    sabha=$SABHA
  else
    sabha=$root/.build/debug/sabha
    release=$root/.build/release/sabha
    if [[ -x $release && (! -x $sabha || $release -nt $sabha) ]] && knows_database "$release"; then sabha=$release; fi
  fi
  [[ -x $sabha ]] || { echo "$bench: no server binary at $sabha (build one, or SABHA=path)" >&2; exit 1; }
  knows_database "$sabha" || { echo "$bench: $sabha has no 'serve --database' (stale build?)" >&2; exit 1; }
  case "$(realpath "$sabha")" in
    */release/*) build=release ;;
    */debug/*) build=debug ;;
    *) build="unknown build" ;;
  esac
}

# Two temporary directories, work (/tmp/NAME.XXXXXX) and pg (/tmp/NAME-pg.XXXXXX, its own: as root, the postgres user
# must be able to enter it), removed on exit by bench_cleanup, which also keeps $work/*.KIND in $logs when asked.
bench_scratch() {   # NAME KIND...
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  pg=$(mktemp -d "/tmp/$1-pg.XXXXXX")
  shift
  bench_log_kinds=("$@")
  py=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local pid kind files=()
  if [[ -n $py ]] && kill -0 "$py" 2>/dev/null; then   # interrupted: the Python script stops its nodes on SIGTERM
    kill -TERM "$py" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$py" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ -f $work/pids ]]; then   # nodes the Python script could not stop itself (only ours, by pid)
    while read -r pid; do
      if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; sleep 2; kill -KILL "$pid" 2>/dev/null || true; fi
    done <"$work/pids"
  fi
  bash "$root/tools/dev/scratch-postgres.sh" stop "$pg" >/dev/null 2>&1 || true
  if [[ -n $logs ]]; then
    for kind in "${bench_log_kinds[@]}"; do files+=("$work"/*."$kind"); done
    mkdir -p "$logs" && cp "${files[@]}" "$logs/" 2>/dev/null && cp "$pg/postgres.log" "$logs/postgresql-server.log" 2>/dev/null || true
  fi
  rm -rf "$work" "$pg"
}

bench_start_postgres() {
  echo "$bench: starting a scratch PostgreSQL cluster" >&2
  bash "$root/tools/dev/scratch-postgres.sh" start "$pg" >/dev/null
}

bench_createdb() { bash "$root/tools/dev/scratch-postgres.sh" createdb "$pg" "$1"; }   # NAME: prints its URL

# The header's first lines: the machine and the server binary.
bench_describe() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
  echo "Machine: $(nproc) CPUs, $cpu; $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "Binary: $sabha ($build, built $(date -u -r "$sabha" '+%Y-%m-%d %H:%M UTC'); checkout $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
}

bench_started() {
  echo "Started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo
}

# `timeout SECONDS COMMAND...` in the background and waited for, so that an interrupted run reaches the trap at once
# (which stops it first); returns its status.
bench_run() {   # SECONDS COMMAND...
  local status=0
  timeout "$@" &
  py=$!
  wait "$py" || status=$?
  py=""
  return "$status"
}

bench_finished() {
  echo
  echo "Finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

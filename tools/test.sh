#!/usr/bin/env bash
# THE test command: swift build (debug), swift test (every unit test), then the end-to-end suite
# (Tests/e2e, pytest) inside a fresh loopback-only network namespace, so no test traffic can leave 127.0.0.0/8.
#
#   tools/test.sh                   everything
#   tools/test.sh --e2e-only [ARGS] skip swift test; ARGS go to pytest (e.g. -k chromium, -x)
#   tools/test.sh --no-e2e          build and unit tests only
#
# Also smoke runs of the C forwarding ceiling and of the load generator (delivery, not speed; and a 25-participant
# meeting with churn), and 5 s of each MediaCore fuzz target (tools/fuzz.sh --core-only; docs/reliability.md),
# with the unit tests.
# Exits non-zero when any step fails and ends with a summary of the steps.
set -uo pipefail
cd "$(dirname "$0")/.."

run_unit=1
run_e2e=1
pytest_args=()
for a in "$@"; do
  case "$a" in
    --e2e-only) run_unit=0 ;;
    --no-e2e) run_e2e=0 ;;
    *) pytest_args+=("$a") ;;
  esac
done

summary=()
failed=0
started=$SECONDS

step() {  # step NAME CMD...
  local name=$1; shift
  local t0=$SECONDS
  echo
  echo "==> $name"
  "$@"
  local rc=$?
  if ((rc == 0)); then
    summary+=("  ok    $name ($((SECONDS - t0))s)")
  else
    summary+=("  FAIL  $name (exit $rc, $((SECONDS - t0))s)")
    failed=1
  fi
  return $rc
}

finish() {
  echo
  echo "==== tools/test.sh summary ($((SECONDS - started))s) ===="
  printf '%s\n' "${summary[@]}"
  if ((failed)); then echo "RESULT: FAILED"; exit 1; fi
  echo "RESULT: all steps passed"
  exit 0
}

unshare_lo() {  # runs "$@" in a fresh network namespace with only lo up
  local ns=(unshare -n)
  [[ $(id -u) -ne 0 ]] && ns=(unshare -rn)
  "${ns[@]}" sh -c 'ip link set lo up && exec "$@"' sh "$@"
}

e2e() {
  if [[ ! -x .venv/bin/python ]]; then
    bash tools/setup.sh || return 1
  fi
  local ns=(unshare -n)
  [[ $(id -u) -ne 0 ]] && ns=(unshare -rn)   # unprivileged: own user namespace maps us to root
  # Inside: only lo, brought up. pytest exit 5 ("no tests collected") counts as a failure.
  "${ns[@]}" sh -c 'ip link set lo up && exec "$@"' sh \
    .venv/bin/python -m pytest Tests/e2e "${pytest_args[@]}"
}

if ! step "swift build" swift build; then
  summary+=("  skip  swift test, e2e (nothing to test without a build)")
  finish
fi
if ((run_unit)); then step "swift test" swift test; fi
# The performance tools still work (delivery, not speed): the C forwarding ceiling on loopback, ~4 s.
if ((run_unit)); then
  step "bench smoke (tools/bench/ceiling.sh --smoke)" unshare_lo bash tools/bench/ceiling.sh --smoke
  # The load generator against the debug server just built: 1 publisher, 3 subscribers, 5 s (own namespace).
  step "loadgen smoke, two media workers (tools/loadgen/smoke.sh --workers 2)" env SABHA="$PWD/.build/debug/sabha" bash tools/loadgen/smoke.sh --workers 2
  # A 25-participant meeting over /ws against the debug server: all 1200 directed audio/video flows arrive,
  # again after 100 leave/rejoin cycles, and the server returns to idle (own namespace, < 3 min).
  step "meeting smoke, 25 participants + churn (tools/loadgen/meeting-smoke.sh)" env SABHA="$PWD/.build/debug/sabha" bash tools/loadgen/meeting-smoke.sh
  # The side-by-side benchmark script against both servers (debug Sabha, Janus): 1 publisher, 3 subscribers, 5 s each.
  step "side-by-side smoke (tools/bench/bench.sh --smoke)" env SABHA="$PWD/.build/debug/sabha" bash tools/bench/bench.sh --smoke
fi
# libFuzzer + AddressSanitizer, 5 s per MediaCore target after replaying the saved crash inputs (~2 min with the
# build). The Signalling/GroupwareBridge fuzzer needs a release ASan build of every HTTP dependency (~20 min), so
# CI replays their saved inputs in swift test instead and their fuzzing runs with `tools/fuzz.sh` (docs/reliability.md).
if ((run_unit)); then step "fuzz smoke (tools/fuzz.sh --core-only --seconds 5)" bash tools/fuzz.sh --core-only --seconds 5; fi
if ((run_e2e)); then step "e2e (pytest in a loopback-only namespace)" e2e; fi
finish

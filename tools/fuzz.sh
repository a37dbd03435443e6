#!/usr/bin/env bash
# Builds the libFuzzer targets of tools/fuzz (AddressSanitizer + libFuzzer) and runs each for a budget,
# after replaying the saved crash inputs (Tests/*/Regressions/<target>/). Prints executions, exec/s,
# coverage and findings per target; docs/reliability.md says what each target checks and holds the figures.
#
#   tools/fuzz.sh                          short mode: every target for 5 s (tools/test.sh runs this)
#   tools/fuzz.sh --seconds 600 rtp stun   the named targets for 10 minutes each
#   tools/fuzz.sh --runs 10000000          every target for 10^7 executions (long runs; one target at a time)
#   tools/fuzz.sh --core-only              MediaCore targets only: builds no HTTP/groupware dependencies
#   tools/fuzz.sh --list                   the targets and which fuzzer holds them
# Options: --corpus DIR (default tools/fuzz/.build/corpus; grows across runs), --no-build, --jobs N is not
# offered on purpose: targets run one after another at nice 19, the machine is shared.
#
# Findings (crash inputs, logs) go to tools/fuzz/.build/findings/<target>/. Exit status 1 when a regression
# input fails or a target finds something that is not a known open finding (KNOWN below).
set -uo pipefail
cd "$(dirname "$0")/fuzz"

MEDIA_TARGETS=(rtp rtcp twcc stun dtls srtp rewriter replay nack rtxbuffer bwe icetcp)
SIGNALLING_TARGETS=(sdp meeting)
GROUPWARE_TARGETS=(ical caldav booking imip imap)
# Open findings in code owned elsewhere, as target:function-in-the-stack. A crash of that target whose
# stack names the function is reported as "known" and does not fail the run. Remove an entry once fixed.
KNOWN=()

seconds=5
runs=""
core_only=0
build=1
corpus=".build/corpus"
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; runs=""; shift ;;
    --runs) runs="$2"; shift ;;
    --core-only) core_only=1 ;;
    --no-build) build=0 ;;
    --corpus) corpus="$2"; shift ;;
    --list)
      for t in "${MEDIA_TARGETS[@]}"; do echo "$t sabha-fuzz-media"; done
      for t in "${SIGNALLING_TARGETS[@]}" "${GROUPWARE_TARGETS[@]}"; do echo "$t sabha-fuzz-signalling"; done
      exit 0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
if ((${#targets[@]} == 0)); then
  targets=("${MEDIA_TARGETS[@]}")
  ((core_only)) || targets+=("${SIGNALLING_TARGETS[@]}" "${GROUPWARE_TARGETS[@]}")
fi

scratch=".build"
build_env=()
if ((core_only)); then scratch=".build-core"; build_env=(SABHA_CORE_ONLY=1); fi
# -Xswiftc -sanitize=fuzzer,address: SwiftPM passes --sanitize as two flags (-sanitize=fuzzer -sanitize=address) and
# the Swift driver keeps only the last one for the frontend jobs, so Swift code got ASan but no coverage counters and
# libFuzzer mutated blind ("no interesting inputs were found"); the combined flag, last, gives both.
# -no-whole-module-optimization: with WMO (SwiftPM's release default) swiftc 6.3 does not reliably emit the
# coverage instrumentation either.
flags=(-c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -no-whole-module-optimization
       --disable-dead-strip --scratch-path "$scratch")
if ((build)); then
  echo "==> building the fuzzers (${flags[*]})"
  # Pin the same dependency versions as the server (the package resolves offline from the cache).
  [[ -f Package.resolved || ! -f ../../Package.resolved ]] || cp ../../Package.resolved Package.resolved
  products=(--product sabha-fuzz-media)
  if ! env "${build_env[@]}" nice -n 10 swift build "${flags[@]}" "${products[@]}"; then echo "fuzz.sh: build failed" >&2; exit 1; fi
  if ((!core_only)); then
    if ! nice -n 10 swift build "${flags[@]}" --product sabha-fuzz-signalling; then echo "fuzz.sh: build failed" >&2; exit 1; fi
  fi
fi
bin="$scratch/release"

fuzzer_of() {  # the media fuzzer of a --core-only build serves a full run too
  local t=$1
  for m in "${MEDIA_TARGETS[@]}"; do
    if [[ $m == "$t" ]]; then
      if [[ -x $bin/sabha-fuzz-media ]]; then echo "$bin/sabha-fuzz-media"; else echo ".build-core/release/sabha-fuzz-media"; fi
      return
    fi
  done
  echo "$bin/sabha-fuzz-signalling"
}
regressions_of() {
  local t=$1
  for m in "${MEDIA_TARGETS[@]}"; do [[ $m == "$t" ]] && { echo "../../Tests/MediaCoreTests/Regressions/$t"; return; }; done
  for m in "${SIGNALLING_TARGETS[@]}"; do [[ $m == "$t" ]] && { echo "../../Tests/SignallingTests/Regressions/$t"; return; }; done
  echo "../../Tests/GroupwareBridgeTests/Regressions/$t"
}
is_known() {  # is_known TARGET LOG
  local entry
  for entry in "${KNOWN[@]}"; do
    [[ ${entry%%:*} == "$1" ]] && grep -q "${entry#*:}" "$2" && return 0
  done
  return 1
}

echo "==> seed corpora from the fixtures into $corpus"
python3 seeds.py "$corpus" || exit 1

# No Swift backtracer (it would attach to every crash and wait); libFuzzer and ASan print the stack.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
# Leaks inside third-party libraries, each explained in the file.
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/lsan.supp:print_suppressions=0}"
budget=(-max_total_time="$seconds")
[[ -n $runs ]] && budget=(-runs="$runs")
# A short run cannot afford the bwe target's 2^24-fold repeat (seconds per input): bound it there.
if [[ -z $runs ]] && ((seconds <= 30)); then export SABHA_FUZZ_MAX_REPEAT="${SABHA_FUZZ_MAX_REPEAT:-65536}"; fi

failed=0
rows=()
for t in "${targets[@]}"; do
  fuzzer=$(fuzzer_of "$t")
  [[ -x $fuzzer ]] || { echo "fuzz.sh: $fuzzer not built (--core-only?)" >&2; failed=1; continue; }
  findings=".build/findings/$t"
  mkdir -p "$findings" "$corpus/$t"
  # 1. Saved crash inputs: each must now run clean (open-* ones are known and skipped).
  regressions=$(regressions_of "$t")
  saved=()
  if [[ -d $regressions ]]; then
    while IFS= read -r f; do saved+=("$f"); done < <(find "$regressions" -type f ! -name 'open-*' ! -name '.*' | sort)
  fi
  if ((${#saved[@]})); then
    if ! SABHA_FUZZ=$t "$fuzzer" "${saved[@]}" > "$findings/regressions.log" 2>&1; then
      echo "FAIL  $t: a saved regression input crashes again (see $findings/regressions.log)"
      failed=1
    fi
  fi
  # 2. Fuzz for the budget. -timeout: one input taking longer is a finding too (an endless loop). The bwe
  #    target's repeat operation legitimately runs for up to ~20 s on an idle core.
  timeout=60
  [[ $t == bwe ]] && timeout=300
  log="$findings/run.log"
  touch "$findings/.start"
  echo "==> $t (${budget[*]})"
  SABHA_FUZZ=$t nice -n 19 "$fuzzer" "${budget[@]}" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus/$t" > "$log" 2>&1
  rc=$?
  # A fuzzer without coverage feedback runs fast and finds nothing: that is a failure, not a clean run.
  if grep -q "no interesting inputs were found" "$log"; then
    echo "FAIL  $t: the fuzzer reports no coverage (built without instrumentation?)"
    failed=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 | awk '{print $2 " " $4}')
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | awk '{print $2}')
  if ((rc == 0)); then
    result="ok"
  else
    crash=$(find "$findings" -maxdepth 1 -newer "$findings/.start" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' -o -name 'oom-*' \) | head -1)
    if is_known "$t" "$log"; then
      result="known open finding (${crash:-no input saved})"
    else
      result="FINDING ${crash:-(see $log)}"
      failed=1
    fi
    grep -m1 -E 'SUMMARY|Fatal error|ERROR: libFuzzer' "$log" | sed 's/^/      /'
    grep -m6 -E '^ +#[0-9]+ ' "$log" | sed 's/^/      /'
  fi
  rows+=("$(printf '%-10s %12s %9s %13s %12s  %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-? ?}" "${corp:-?}" "$result")")
done

echo
echo "==== tools/fuzz.sh summary (${budget[*]}) ===="
printf '%-10s %12s %9s %13s %12s  %s\n' target executions exec/s "cov ft" corpus result
printf '%s\n' "${rows[@]}"
if ((failed)); then echo "RESULT: FINDINGS"; exit 1; fi
echo "RESULT: no new findings"

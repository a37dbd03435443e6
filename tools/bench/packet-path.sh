#!/usr/bin/env bash
# The packet-path benchmarks (Benchmarks/, package-benchmark). Not part of tools/test.sh: they build in
# release and want a quiet machine. Results and how to read them: docs/performance.md.
#
#   tools/bench/packet-path.sh                    run the whole suite (≈ 25 s once built; the first release build takes minutes)
#   tools/bench/packet-path.sh --filter 'SRTP.*'  any other arguments go to `benchmark` (--filter, --format markdown, ...)
#   tools/bench/packet-path.sh check              run, then compare malloc counts with Benchmarks/Thresholds (non-zero exit on any deviation)
#   tools/bench/packet-path.sh update             run, then rewrite Benchmarks/Thresholds (keep only mallocCountTotal, see performance.md)
#
# SABHA_CORE_ONLY=1 keeps the root manifest to MediaCore and its dependencies, so the Benchmarks package
# neither fetches nor builds Hummingbird, jwt-kit and the rest of the server.
set -euo pipefail
cd "$(dirname "$0")/../../Benchmarks"
export SABHA_CORE_ONLY=1

case "${1:-}" in
  check)
    shift
    exec swift package --disable-sandbox benchmark thresholds check --no-progress "$@"
    ;;
  update)
    shift
    swift package --disable-sandbox --allow-writing-to-package-directory benchmark thresholds update --no-progress "$@"
    # Wall-clock and throughput p90s vary with load on a shared 2-core machine: track allocations only.
    for f in Thresholds/*.p90.json; do
      python3 - "$f" <<'PY'
import json, sys
path = sys.argv[1]
data = json.load(open(path))
with open(path, "w") as out:
    json.dump({"mallocCountTotal": data["mallocCountTotal"]}, out, indent=2)
    out.write("\n")
PY
    done
    ;;
  *)
    exec swift package --disable-sandbox benchmark --no-progress "$@"
    ;;
esac

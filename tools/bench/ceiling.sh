#!/usr/bin/env bash
# The machine's raw forwarding ceiling (tools/bench/ceiling.c): recvmmsg -> SRTP unprotect -> N x SRTP protect
# -> sendmmsg on 127.0.0.1, OpenSSL EVP with contexts reused. Needs a C compiler and libssl-dev (tools/setup.sh).
#
#   tools/bench/ceiling.sh build              compile to .build/bench/ceiling (cc -O2 ... -lcrypto), print its path
#   tools/bench/ceiling.sh --smoke            build, then ~1 s per profile with 2 viewers: asserts delivery, not speed
#   tools/bench/ceiling.sh table [SECONDS]    cm and gcm at 1 and 10 viewers, SECONDS each (default 5): one JSON line each
#   tools/bench/ceiling.sh [ARGS...]          build, then run it with ARGS (--profile cm|gcm --viewers N --packets M
#                                             --size BYTES --seconds S --mode net|mem)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.build/bench"
binary="$out/ceiling"
source="$root/tools/bench/ceiling.c"

build() {
    mkdir -p "$out"
    if [[ ! -x "$binary" || "$source" -nt "$binary" ]]; then
        ${CC:-cc} -O2 -g -Wall -Wextra -o "$binary.tmp" "$source" -lcrypto -lpthread
        mv "$binary.tmp" "$binary"
    fi
}

case "${1:-}" in
  build)
    build
    echo "$binary"
    ;;
  --smoke)
    build
    for profile in cm gcm; do
        line="$(timeout 20 "$binary" --profile "$profile" --viewers 2 --seconds 1 | tail -1)"
        echo "$line"
        python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
problems = []
if r["inputs"] < 100: problems.append(f"only {r['inputs']} packets received")
if r["forwarded"] != 2 * r["inputs"]: problems.append(f"{r['forwarded']} copies for {r['inputs']} inputs and 2 viewers")
if r["auth_failures"]: problems.append(f"{r['auth_failures']} SRTP authentication failures")
if r["delivered"] < 0.5 * r["sent"]: problems.append(f"only {r['delivered']} of {r['sent']} copies reached the viewers")
if problems:
    sys.exit(f"ceiling smoke ({r['profile']}): " + "; ".join(problems))
PY
    done
    echo "ceiling smoke: ok"
    ;;
  table)
    build
    seconds="${2:-5}"
    for profile in cm gcm; do
        for viewers in 1 10; do
            "$binary" --profile "$profile" --viewers "$viewers" --seconds "$seconds" | tail -1
        done
    done
    ;;
  *)
    build
    exec "$binary" "$@"
    ;;
esac

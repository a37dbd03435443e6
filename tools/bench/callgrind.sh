#!/usr/bin/env bash
# Instructions per forwarded packet, counted by valgrind's callgrind (repeatable on a noisy machine), for
# Sabha's forwarding path and for the C ceiling (tools/bench/ceiling.c).
#
#   tools/bench/callgrind.sh [K1 K2]      default K1=200 K2=1000 packets; about 2-3 minutes once built
#
# - Sabha: Benchmarks' ForwardingProbe (release) pushes K packets through WorkerBench: a real MediaWorker on
#   memory I/O, the worker's own receive path from the receive slot to the flushed send batch (what the
#   Forward.*.10-viewers benchmarks run, and the server). Collected: `forwardInputs` and everything it calls
#   (--collect-atstart=no --toggle-collect). The publisher's protect of each input runs outside it; the memory
#   I/O's copy of each datagram into the receive buffer (the kernel's work on a socket) is inside it.
# - Ceiling: tools/bench/ceiling.c forwarding K packets received on 127.0.0.1. Collected:
#   `ceiling_forward_packet` (unprotect, N x rewrite + protect, send-slot bookkeeping). Syscalls are
#   excluded on both sides: the ceiling's recvmmsg/sendmmsg happen outside that function, and Sabha's
#   probe makes none (callgrind never counts kernel instructions anyway).
# - Each is run with K1 and K2 packets; Ir per packet = (Ir(K2) - Ir(K1)) / (K2 - K1), so set-up and
#   first-call costs cancel. "per packet" is one received packet forwarded to all N viewers; /N per copy.
# - Under valgrind the CPU has no SHA-NI, AVX-512, VAES or VPCLMULQDQ (valgrind 3.19 hides them), so
#   OpenSSL runs its AVX2 SHA-1 and AES-NI/AVX GCM code: libcrypto's counts are higher than what runs
#   natively. Both sides run the same libcrypto code; the "non-OpenSSL" columns (everything but libcrypto
#   and the strcmp it calls) do not depend on it.
#
# Output: a table on stdout, raw files and JSON in .build/bench/callgrind/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
k1="${1:-200}"
k2="${2:-1000}"
work="$root/.build/bench/callgrind"
mkdir -p "$work"
rm -f "$work"/*.out "$work"/*.txt "$work"/*.log "$work"/*.jsonl

ceiling="$("$root/tools/bench/ceiling.sh" build | tail -1)"
echo "building ForwardingProbe (release; the first build takes minutes)" >&2
(cd "$root/Benchmarks" && SABHA_CORE_ONLY=1 nice -n 10 swift build -c release --product ForwardingProbe >&2)
# valgrind 3.19 cannot read the DWARF 5 that clang emits for the C targets (CMediaShims, _AtomicsShims) and
# gives up on the whole binary: run a copy without debug info (the symbol table keeps the function names).
probe="$root/.build/bench/ForwardingProbe"
objcopy --strip-debug "$(cd "$root/Benchmarks" && SABHA_CORE_ONLY=1 swift build -c release --show-bin-path)/ForwardingProbe" "$probe"

# run NAME K PATTERN COMMAND... : one callgrind run; its self-cost listing goes to NAME-K.txt.
run() {
    local name="$1" k="$2" pattern="$3"
    shift 3
    timeout 600 valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$pattern" \
        --callgrind-out-file="$work/$name-$k.out" "$@" >"$work/$name-$k.log" 2>&1 || {
        echo "callgrind run $name-$k failed:" >&2
        tail -20 "$work/$name-$k.log" >&2
        exit 1
    }
    callgrind_annotate --threshold=100 "$work/$name-$k.out" >"$work/$name-$k.txt" 2>/dev/null
}

for profile in cm gcm; do
    for viewers in 1 10; do
        for k in "$k1" "$k2"; do
            echo "callgrind: sabha $profile $viewers viewers, $k packets" >&2
            run "sabha-$profile-$viewers" "$k" '*forwardInputs*' "$probe" "$profile" "$viewers" "$k"
            echo "callgrind: ceiling $profile $viewers viewers, $k packets" >&2
            run "ceiling-$profile-$viewers" "$k" ceiling_forward_packet \
                "$ceiling" --profile "$profile" --viewers "$viewers" --packets "$k" --seconds 300
        done
    done
done

python3 - "$work" "$k1" "$k2" <<'PY'
import json, re, sys
work, k1, k2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line_re = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.*?)\s+\[(.*)\]\s*$")

def costs(name, k):
    """Total Ir and Ir of OpenSSL's work, from callgrind_annotate's self-cost listing. OpenSSL's work is
    libcrypto itself plus what only it calls here: glibc's strcmp (OSSL_PARAM_locate, looking up the
    parameters EVP_EncryptInit_ex2 and EVP_CIPHER_CTX_ctrl pass) and the unnamed stub ([???]) in between."""
    total = crypto = 0
    for line in open(f"{work}/{name}-{k}.txt"):
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
        m = line_re.match(line)
        if m and ("libcrypto" in m.group(3) or m.group(3) == "???" or "__strcmp_" in m.group(2)):
            crypto += int(m.group(1).replace(",", ""))
    return total, crypto

def per_packet(name):
    t1, c1 = costs(name, k1)
    t2, c2 = costs(name, k2)
    return (t2 - t1) / (k2 - k1), (c2 - c1) / (k2 - k1)

rows = []
print(f"Ir per received packet forwarded to all viewers, (Ir(K2) - Ir(K1)) / (K2 - K1), K1 = {k1}, K2 = {k2}")
print(f"{'profile':8} {'viewers':>7} {'Sabha':>10} {'ceiling':>10} {'ratio':>6} {'Sabha/copy':>10} {'ceil/copy':>10}"
      f" {'Sabha non-OpenSSL':>17} {'ceil non-OpenSSL':>16}")
for profile in ["cm", "gcm"]:
    for viewers in [1, 10]:
        s, sc = per_packet(f"sabha-{profile}-{viewers}")
        c, cc = per_packet(f"ceiling-{profile}-{viewers}")
        rows.append({"profile": profile, "viewers": viewers, "sabha_ir": round(s), "sabha_ir_openssl": round(sc),
                     "ceiling_ir": round(c), "ceiling_ir_openssl": round(cc), "ratio": round(s / c, 3),
                     "ratio_outside_openssl": round((s - sc) / (c - cc), 2)})
        print(f"{profile:8} {viewers:>7} {s:>10.0f} {c:>10.0f} {s / c:>6.2f} {s / viewers:>10.0f} {c / viewers:>10.0f}"
              f" {s - sc:>17.0f} {c - cc:>16.0f}")
json.dump({"k1": k1, "k2": k2, "rows": rows}, open(f"{work}/callgrind.json", "w"), indent=1)
print(f"raw: {work}/*.out, listings *.txt; JSON: {work}/callgrind.json")
PY

# Native cross-check (not callgrind: CPU time, so noisy): the same user-space work timed on the real CPU, where
# OpenSSL uses SHA-NI and VAES. Sabha's probe (thread CPU time inside forwardInputs) and the ceiling in memory
# mode (--mode mem: no sockets), alternated 3 times; medians of ns per forwarded copy.
echo >&2
echo "native cross-check (thread CPU time, median of 3 alternated runs; noisy)" >&2
for profile in cm gcm; do
    for viewers in 1 10; do
        packets=$(( viewers == 1 ? 200000 : 40000 ))
        for round in 1 2 3; do
            "$probe" "$profile" "$viewers" "$packets" cpu-time >>"$work/native-sabha-$profile-$viewers.jsonl"
            "$ceiling" --mode mem --profile "$profile" --viewers "$viewers" --packets "$packets" --seconds 60 | tail -1 \
                >>"$work/native-ceiling-$profile-$viewers.jsonl"
        done
    done
done
python3 - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
print(f"{'profile':8} {'viewers':>7} {'Sabha ns/copy':>13} {'ceiling ns/copy':>15} {'ratio':>6}")
for profile in ["cm", "gcm"]:
    for viewers in [1, 10]:
        med = lambda side: statistics.median(json.loads(l)["ns_per_forwarded"] for l in open(f"{work}/native-{side}-{profile}-{viewers}.jsonl"))
        s, c = med("sabha"), med("ceiling")
        print(f"{profile:8} {viewers:>7} {s:>13.0f} {c:>15.0f} {s / c:>6.2f}")
PY

// Forwards K packets through `WorkerBench` (a real MediaWorker on memory I/O: the code the
// `Forward.*.10-viewers` benchmarks run and the server runs, from the receive slot to the send batch) so that
// `valgrind --tool=callgrind` can count the instructions one forwarded packet costs. No sockets, no timing.
//
//   ForwardingProbe <cm|gcm> <viewers> <packets> [cpu-time]
//
// With `cpu-time` it also reports the thread CPU time spent in `forwardInputs` (ns per forwarded copy), to
// compare natively with `tools/bench/ceiling.sh --mode mem` (the C ceiling's same user-space work).
//
// Only `forwardInputs` is meant to be counted (tools/bench/callgrind.sh passes
// `--toggle-collect='*forwardInputs*'`): `prepare()`, the publisher's libsrtp2 protect of every input, runs
// outside it. Run twice with K1 and K2 packets and take (Ir(K2) - Ir(K1)) / (K2 - K1) so that first-call
// costs cancel.
#if canImport(Glibc)
import Glibc
#endif
@_spi(Benchmarks) import MediaCore

/// The measured region: forwards inputs 0..<count of the prepared batch. Not inlined, so callgrind can
/// collect exactly this function and what it calls.
@inline(never)
func forwardInputs(_ bench: WorkerBench, _ count: Int) -> Int {
    var copies = 0
    for index in 0..<count { copies &+= bench.forward(index) }
    return copies
}

let arguments = CommandLine.arguments
guard arguments.count == 4 || (arguments.count == 5 && arguments[4] == "cpu-time"), let viewers = Int(arguments[2]), let packets = Int(arguments[3]), viewers >= 1, packets >= 0 else {
    print("usage: ForwardingProbe <cm|gcm> <viewers> <packets> [cpu-time]")
    exit(2)
}
let profile: SRTPProfile
switch arguments[1] {
case "cm": profile = .aes128CMHMACSHA1_80
case "gcm": profile = .aeadAES128GCM
default: print("profile must be cm or gcm (the worker always runs SRTP)"); exit(2)
}

let batch = 256
let bench = try WorkerBench(profile: profile, viewers: viewers, packet: WorkerBench.chromiumVideoPacket(length: 1200), batch: batch)
func threadCPUNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

var remaining = packets
var copies = 0
var cpuNanoseconds: Int64 = 0
while remaining > 0 {
    let count = min(batch, remaining)
    bench.prepare()
    let start = threadCPUNanoseconds()
    copies += forwardInputs(bench, count)
    cpuNanoseconds += threadCPUNanoseconds() - start
    remaining -= count
}
guard copies == packets * viewers else {
    print("forwarded \(copies) copies, expected \(packets * viewers)")
    exit(1)
}
if arguments.count == 5 {
    let perCopy = Double(cpuNanoseconds) / Double(max(copies, 1))
    print("{\"probe\":\"sabha\",\"profile\":\"\(arguments[1])\",\"viewers\":\(viewers),\"packets\":\(packets),\"copies\":\(copies),\"cpu_s\":\(Double(cpuNanoseconds) / 1e9),\"ns_per_forwarded\":\((perCopy * 10).rounded() / 10),\"forwarded_per_cpu_s\":\((1e9 / perCopy).rounded())}")
} else {
    print("{\"probe\":\"sabha\",\"profile\":\"\(arguments[1])\",\"viewers\":\(viewers),\"packets\":\(packets),\"copies\":\(copies)}")
}

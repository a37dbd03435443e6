// The packet path of MediaCore, one packet at a time: RTP parse, STUN check, SRTP protect/unprotect and
// the whole forwarding step (unprotect once, rewrite + protect per viewer). See docs/performance.md.
//
// Malloc counts come from package-benchmark's malloc interposer (trait "MallocInterposer", preloaded by
// the plugin on Linux; nothing to install with Swift 6.3). The p90 malloc counts they are checked against
// live in Benchmarks/Thresholds (`tools/bench/packet-path.sh check`); wall-clock figures are not checked.
import Benchmark
import Foundation
@_spi(Benchmarks) import MediaCore

// MARK: - Packets

/// An ICE connectivity check as a browser sends it to our ICE-lite side (RFC 8445 7.1): USERNAME
/// "ourUfrag:theirUfrag", PRIORITY, USE-CANDIDATE, ICE-CONTROLLING, MESSAGE-INTEGRITY, FINGERPRINT.
func iceBindingRequest(password: [UInt8]) -> [UInt8] {
    var message = [UInt8](repeating: 0, count: 256)
    let transactionID = STUNTransactionID(0xB7E7_A701, 0xBC34_D686, 0xFA87_DFAE)
    let length = message.withUnsafeMutableBytes { out in
        STUNMessage.writeBindingRequest(
            transactionID: transactionID, username: "Xk3q:aB9z", integrityKey: password, priority: 1_845_501_695,
            useCandidate: true, iceControlling: 0x1234_5678_9ABC_DEF0, iceControlled: nil, into: out)
    }
    precondition(length > 0)
    return Array(message[0..<length])
}

// MARK: - Suite

extension SRTPProfile {
    var shortName: String { self == .aeadAES128GCM ? "GCM" : "CM-SHA1-80" }
}

func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

let benchmarks: @Sendable () -> Void = {
    // Tolerances for `benchmark thresholds check` against Benchmarks/Thresholds (p90, raw counts per
    // 1000-operation iteration). The Swift packet path must not allocate at all: no tolerance.
    let noAllocation: [BenchmarkMetric: BenchmarkThresholds] = [.mallocCountTotal: .init(absolute: [.p90: 0])]
    // Benchmarks that call libsrtp2 (Debian's is built on NSS, which allocates in every PK11_Encrypt and
    // PK11_CreateContextBySymKey) or OpenSSL's one-shot HMAC(): those allocations are the C libraries'. A
    // tolerance of 100 per 1000 operations absorbs their odd extra malloc; one more per packet (+1000) fails.
    let cLibraryAllocations: [BenchmarkMetric: BenchmarkThresholds] = [.mallocCountTotal: .init(absolute: [.p90: 100])]
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], timeUnits: .nanoseconds, warmupIterations: 3, scalingFactor: .kilo,
        maxDuration: .seconds(2), maxIterations: 2_000)

    // The floor: copying the packet once, what any forwarder does at least.
    Benchmark("C.memcpy-1200", configuration: .init(thresholds: noAllocation)) { benchmark in
        let source = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        source.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 2048)
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: 2048)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            destination.copyMemory(from: source, byteCount: 1200)
            blackHole(destination)
        }
        benchmark.stopMeasurement()
    }

    // The cross-worker pipe: a 1200-byte packet copied in by one worker and drained by the other (here both
    // ends on one thread), in batches of 8 as a receive batch publishes them. Per packet, no allocation.
    Benchmark("Pipe.push+drain-1200", configuration: .init(thresholds: noAllocation)) { benchmark in
        let pipe = PipeBench(packetSize: 1200)
        benchmark.startMeasurement()
        for _ in 0..<(benchmark.scaledIterations.count / 8) {
            blackHole(pipe.pass(count: 8))
        }
        benchmark.stopMeasurement()
    }

    // RTP: the header, then the three extension elements the SFU reads.
    let rtp = WorkerBench.chromiumVideoPacket()
    Benchmark("RTP.parse+extensions", configuration: .init(thresholds: noAllocation)) { benchmark in
        rtp.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                guard let header = RTPHeader.parse(bytes) else { benchmark.error("parse failed"); return }
                blackHole(header.extensionElement(id: 2, in: bytes))
                blackHole(header.extensionElement(id: 3, in: bytes))
                blackHole(header.extensionElement(id: 4, in: bytes))
                blackHole(header)
            }
        }
    }

    // STUN: a connectivity check, parsed and authenticated as MediaWorker.handleSTUN does. Control path:
    // USERNAME fits a small string (no allocation), but OpenSSL's one-shot HMAC() allocates.
    let password = Array("Tq5ObsHw1UfzIUa9rwDjKa2E".utf8)
    let stun = iceBindingRequest(password: password)
    Benchmark("STUN.parse+integrity+fingerprint", configuration: .init(thresholds: cLibraryAllocations)) { benchmark in
        stun.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                guard let message = STUNMessage.parse(bytes),
                      message.verifyMessageIntegrity(in: bytes, key: password),
                      message.verifyFingerprint(in: bytes) else { benchmark.error("STUN check failed"); return }
                blackHole(message)
            }
        }
    }

    // libsrtp2 (SRTPSession, the reference; its crypto allocates) and Sabha's own transform (SRTPContext,
    // OpenSSL EVP with contexts reused: what the worker runs; must not allocate), measured the same way.
    for profile in [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80] {
        srtpBenchmarks(SRTPSession.self, name: "SRTP", profile: profile, rtp: rtp, thresholds: cLibraryAllocations)
        srtpBenchmarks(SRTPContext.self, name: "SRTPContext", profile: profile, rtp: rtp, thresholds: noAllocation)
    }

    // The worker's own receive path for one packet and 10 viewers (WorkerBench: a real MediaWorker on memory
    // I/O): classify, transport lookup, unprotect, parse, bind, receive bookkeeping, then per viewer accept,
    // rewrite, protect, send history and the send batch, flushed. The worker's SRTP is SRTPContext (ours): no
    // profile may allocate.
    for profile in [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80] {
        forwardBenchmark("Forward.\(profile.shortName).10-viewers", profile: profile, viewers: 10, relays: 0, rtp: rtp, thresholds: noAllocation)
    }
    // The same with the producer also relayed to 3 other nodes of a cluster (cascading): 3 more copies per packet,
    // each the packet as it came under the relay's SSRC, protected with the relay's keys. Still no allocation.
    forwardBenchmark("Forward.GCM.10-viewers+3-relays", profile: .aeadAES128GCM, viewers: 10, relays: 3, rtp: rtp, thresholds: noAllocation)
}

// MARK: - SRTP

/// What both SRTP implementations offer, so one generic benchmark body (specialised per type, no
/// existentials) measures each of them.
protocol SRTPTransform {
    static func make(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: SRTPDirection) throws -> Self
    func protect(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus
    func unprotect(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus
}

extension SRTPSession: SRTPTransform {
    static func make(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: SRTPDirection) throws -> SRTPSession {
        try SRTPSession(profile: profile, key: key, salt: salt, direction: direction)
    }
    func protect(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus { protectRTP(packet, length: &length) }
    func unprotect(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus { unprotectRTP(packet, length: &length) }
}

extension SRTPContext: SRTPTransform {
    static func make(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: SRTPDirection) throws -> SRTPContext {
        try SRTPContext(profile: profile, key: key, salt: salt, direction: direction)
    }
    // As the worker calls it: with the pool buffer's capacity.
    func protect(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus { protectRTP(packet, length: &length, capacity: 2048) }
    func unprotect(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus { unprotectRTP(packet, length: &length) }
}

/// `<name>.<profile>.protect-1200` (what every forwarded copy costs) and `.protect+unprotect-1200` (the two
/// SRTP operations of a forwarded packet: one unprotect per packet received, one protect per copy sent).
func srtpBenchmarks<Transform: SRTPTransform>(
    _: Transform.Type, name: String, profile: SRTPProfile, rtp: [UInt8],
    thresholds: [BenchmarkMetric: BenchmarkThresholds]
) {
    Benchmark("\(name).\(profile.shortName).protect-1200", configuration: .init(thresholds: thresholds)) { benchmark in
        let sender = try Transform.make(profile: profile, key: randomBytes(profile.masterKeyLength),
                                        salt: randomBytes(profile.masterSaltLength), direction: .outbound)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
        defer { buffer.deallocate() }
        rtp.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var sequence: UInt16 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // In place: the payload is ciphertext from the last round, which is as good as any plaintext.
            sequence &+= 1
            RTPHeader.setSequenceNumber(sequence, in: buffer)
            var length = rtp.count
            guard sender.protect(buffer, length: &length) == .ok else { benchmark.error("protect failed"); return }
            blackHole(length)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("\(name).\(profile.shortName).protect+unprotect-1200", configuration: .init(thresholds: thresholds)) { benchmark in
        let key = randomBytes(profile.masterKeyLength)
        let salt = randomBytes(profile.masterSaltLength)
        let sender = try Transform.make(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try Transform.make(profile: profile, key: key, salt: salt, direction: .inbound)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
        defer { buffer.deallocate() }
        rtp.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        // A session per benchmark run, sequence numbers strictly increasing (through 16-bit wraps, where the
        // rollover counter advances): the receiver's replay window never sees one twice.
        var sequence: UInt16 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            sequence &+= 1
            RTPHeader.setSequenceNumber(sequence, in: buffer)
            var length = rtp.count
            guard sender.protect(buffer, length: &length) == .ok,
                  receiver.unprotect(buffer, length: &length) == .ok, length == rtp.count else {
                benchmark.error("SRTP round trip failed at sequence \(sequence)")
                return
            }
            blackHole(length)
        }
        benchmark.stopMeasurement()
    }
}

// MARK: - The worker's receive path

/// `WorkerBench`: one SRTP packet through a real worker on memory I/O, copied to `viewers` viewers and `relays` relays
/// (each operation must send exactly that many datagrams).
func forwardBenchmark(_ name: String, profile: SRTPProfile, viewers: Int, relays: Int, rtp: [UInt8],
                      thresholds: [BenchmarkMetric: BenchmarkThresholds]) {
    Benchmark(name, configuration: .init(thresholds: thresholds)) { (benchmark: Benchmark, bench: WorkerBench) in
        bench.prepare()
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            let copies = bench.forward(index)
            guard copies == viewers + relays else { benchmark.error("forwarded \(copies) of \(viewers + relays)"); return }
        }
    } setup: {
        try WorkerBench(profile: profile, viewers: viewers, relays: relays, packet: rtp, batch: BenchmarkScalingFactor.kilo.rawValue)
    }
}

import Testing
@testable import MediaCore
import SabhaTestSupport

/// A sender, a bottleneck and a receiver on a simulated clock (1 ms steps): media at
/// min(estimate, media rate) plus probe padding, through a drop-tail queue of `capacity` bits/s
/// holding at most 100 ms, 20 ms each way; the receiver sends transport-wide feedback every
/// 50 ms, written by `TransportWideFeedbackBuilder` and read back by the real parser.
private final class SimulatedPath {
    var capacity: Double
    var lossProbability = 0.0
    var mediaRate: Double = 2_500_000
    var wantedRate: Double = 2_500_000
    var probing = true

    let estimator: SendSideBandwidthEstimator
    let history = TransportWideSendHistory()
    let builder = TransportWideFeedbackBuilder()
    private var rng = SplitMix64(seed: 0x6263_6331)

    private(set) var now: Int64 = 0
    private var linkBusyUntil: Int64 = 0
    private var inFlight: [(sequence: UInt16, arrival: Int64)] = []
    private var inFlightHead = 0
    private var feedbackInFlight: [(deliverAt: Int64, bytes: [UInt8])] = []
    private var mediaBudget = 0.0
    private var paddingBudget = 0.0
    private var paddingRate = 0.0
    /// (time in µs, estimate) once per 50 ms.
    private(set) var trace: [(time: Int64, estimate: Int)] = []

    static let packetSize = 1200
    static let baseDelay: Int64 = 20_000
    static let maxQueue: Int64 = 100_000
    static let tick: Int64 = 1_000
    static let slot: Int64 = 50_000

    init(capacity: Double, initialBitrate: Int = 1_000_000) {
        self.capacity = capacity
        estimator = SendSideBandwidthEstimator(initialBitrate: initialBitrate)
    }

    func run(seconds: Double) {
        let end = now + Int64(seconds * 1_000_000)
        while now < end { step() }
    }

    /// Seconds from now until `condition(estimate)` first holds, or nil within `seconds`.
    func time(within seconds: Double, until condition: (Int) -> Bool) -> Double? {
        let start = now
        let end = now + Int64(seconds * 1_000_000)
        while now < end {
            step()
            if condition(estimator.estimate) { return Double(now - start) / 1_000_000 }
        }
        return nil
    }

    private func step() {
        // Feedback reaching the sender.
        while let first = feedbackInFlight.first, first.deliverAt <= now {
            feedbackInFlight.removeFirst()
            let parsed = first.bytes.withUnsafeBytes { raw in RTCPHeaderView.parse(raw).flatMap(RTCPTransportWideFeedback.parse) }
            guard let feedback = parsed else { Issue.record("feedback did not parse"); continue }
            estimator.onTransportFeedback(feedback, history: history, nowMicroseconds: now)
        }
        if now % Self.slot == 0 {
            let media = min(Double(estimator.estimate), mediaRate)
            let padding = probing ? estimator.probe(nowMicroseconds: now, sendingBitrate: Int(media), wantedBitrate: Int(wantedRate)) : 0
            paddingRate = Double(padding) * 8 * 1_000_000 / Double(Self.slot)
            trace.append((now, estimator.estimate))
        }
        // Sending, paced per millisecond.
        let media = min(Double(estimator.estimate), mediaRate)
        mediaBudget += media * Double(Self.tick) / 8_000_000
        paddingBudget += paddingRate * Double(Self.tick) / 8_000_000
        while mediaBudget >= Double(Self.packetSize) {
            mediaBudget -= Double(Self.packetSize)
            send(isProbe: false)
        }
        while paddingBudget >= Double(Self.packetSize) {
            paddingBudget -= Double(Self.packetSize)
            send(isProbe: true)
        }
        // Receiving.
        while inFlightHead < inFlight.count, inFlight[inFlightHead].arrival <= now {
            builder.record(sequence: inFlight[inFlightHead].sequence, arrivalMicroseconds: inFlight[inFlightHead].arrival)
            inFlightHead += 1
        }
        if inFlightHead > 4096 {
            inFlight.removeFirst(inFlightHead)
            inFlightHead = 0
        }
        if now % Self.slot == 0 {
            var buffer = [UInt8](repeating: 0, count: 1200)
            let length = buffer.withUnsafeMutableBytes { builder.write(senderSSRC: 1, mediaSSRC: 2, into: $0) }
            if length > 0 { feedbackInFlight.append((now + Self.baseDelay, Array(buffer[0..<length]))) }
        }
        now += Self.tick
    }

    private func send(isProbe: Bool) {
        let sequence = history.nextSequence()
        history.record(sequence: sequence, sentMicroseconds: now, size: Self.packetSize, isProbe: isProbe)
        if lossProbability > 0, Double(rng.next() % 1_000_000) / 1_000_000 < lossProbability { return }
        let queueDelay = max(0, linkBusyUntil - now)
        guard queueDelay <= Self.maxQueue else { return }  // drop-tail
        linkBusyUntil = max(linkBusyUntil, now) + Int64(Double(Self.packetSize * 8) * 1_000_000 / capacity)
        inFlight.append((sequence, linkBusyUntil + Self.baseDelay))
    }
}

struct SendSideBandwidthEstimatorTests {
    @Test func climbsFromOneToTwoMegabitsWithinTenSecondsOnAFiveMegabitLink() throws {
        let path = SimulatedPath(capacity: 5_000_000)
        let reached = try #require(path.time(within: 10) { $0 >= 2_000_000 })
        path.run(seconds: 10)
        print("(a) 1 → 2 Mbit/s in \(reached) s with probing; estimate after 10 s more: \(path.estimator.estimate)")
        #expect(path.estimator.estimate <= 5_500_000)

        let noProbe = SimulatedPath(capacity: 5_000_000)
        noProbe.probing = false
        let slow = noProbe.time(within: 20) { $0 >= 2_000_000 }
        print("(a) without probing: 1 → 2 Mbit/s in \(slow.map { "\($0) s" } ?? "more than 20 s")")
        #expect(slow != nil)
    }

    @Test func fallsBelowFourHundredKilobitsWithinThreeSecondsWhenTheLinkDropsToThreeHundred() throws {
        let path = SimulatedPath(capacity: 5_000_000)
        path.run(seconds: 10)
        let before = path.estimator.estimate
        path.capacity = 300_000
        let fell = try #require(path.time(within: 3) { $0 < 400_000 })
        print("(b) 5 Mbit/s → 300 kbit/s: estimate \(before) fell below 400 kbit/s in \(fell) s")
        path.run(seconds: 5)
        print("(b) estimate 5 s later: \(path.estimator.estimate)")
        #expect(path.estimator.estimate < 600_000)
    }

    @Test func probingRecoversAfterCongestionWhenOnlyTheLowLayerIsSent() throws {
        func congestedThenRecovered(probing: Bool) -> (SimulatedPath, Double?) {
            let path = SimulatedPath(capacity: 5_000_000)
            path.run(seconds: 10)
            path.capacity = 300_000
            path.run(seconds: 3)
            path.mediaRate = 150_000  // layer selection drops the viewer to the low layer
            path.run(seconds: 5)
            path.capacity = 5_000_000
            path.probing = probing
            return (path, path.time(within: 15) { $0 > 2_000_000 })
        }
        let (withProbing, recovered) = congestedThenRecovered(probing: true)
        let (withoutProbing, notRecovered) = congestedThenRecovered(probing: false)
        print("(c) with probing: above 2 Mbit/s after \(recovered.map { "\($0) s" } ?? "never (15 s)"), estimate \(withProbing.estimator.estimate); without: \(notRecovered.map { "\($0) s" } ?? "never (15 s)"), estimate \(withoutProbing.estimator.estimate)")
        #expect(recovered != nil)
        #expect(notRecovered == nil)
        #expect(withoutProbing.estimator.estimate < 1_000_000)
    }

    @Test func fivePercentRandomLossOnAnAmpleLinkKeepsTheEstimateAboveOneMegabit() {
        let path = SimulatedPath(capacity: 10_000_000)
        path.lossProbability = 0.05
        path.run(seconds: 20)
        let lowest = path.trace.map(\.estimate).min() ?? 0
        print("(d) 5 % loss: lowest estimate \(lowest), final \(path.estimator.estimate), acknowledged \(path.estimator.acknowledgedBitrate ?? -1)")
        #expect(lowest >= 950_000)
        #expect(path.estimator.estimate >= 1_000_000)
    }

    @Test func rembOnlyViewerEstimateFollowsREMBCappedByReportedLoss() {
        let estimator = SendSideBandwidthEstimator()
        #expect(estimator.estimate == 1_000_000)
        estimator.onREMB(bitrate: 800_000, nowMicroseconds: 0)
        #expect(estimator.estimate == 800_000)
        estimator.onREMB(bitrate: 3_000_000, nowMicroseconds: 100_000)
        #expect(estimator.estimate == 3_000_000)
        #expect(estimator.probe(nowMicroseconds: 200_000, sendingBitrate: 100_000, wantedBitrate: 5_000_000) == 0)
        // 30 % loss in a receiver report: cut to 3 M × (1 − 0.15).
        estimator.onReceiverReport(fractionLost: 77, nowMicroseconds: 1_000_000)
        #expect(estimator.estimate < 2_600_000 && estimator.estimate > 2_400_000)
        estimator.onREMB(bitrate: 500_000, nowMicroseconds: 1_100_000)
        #expect(estimator.estimate == 500_000)
        estimator.onREMB(bitrate: 100_000_000, nowMicroseconds: 1_200_000)
        #expect(estimator.estimate <= 2_600_000)
        // No loss for a while: the cap climbs again, REMB leads.
        for second in 2...30 { estimator.onReceiverReport(fractionLost: 0, nowMicroseconds: Int64(second) * 1_000_000) }
        #expect(estimator.estimate == 20_000_000)
        #expect(estimator.acknowledgedBitrate == nil)
    }

    @Test func garbageFeedbackNeverTrapsAndKeepsTheEstimateInRange() {
        var rng = SplitMix64(seed: 0x6761_7262)
        let estimator = SendSideBandwidthEstimator(initialBitrate: 1_000_000, minBitrate: 50_000, maxBitrate: 20_000_000)
        let history = TransportWideSendHistory()
        var now: Int64 = 0
        for i in 0..<3000 {
            let sequence = history.nextSequence()
            history.record(sequence: sequence, sentMicroseconds: now + Int64(rng.next() % 1000) - 500, size: Int(rng.next() % 1500), isProbe: i % 3 == 0)
            if i % 5 == 0 {
                let count = Int(rng.next() % 400)
                var statuses: [RTCPTransportWideFeedback.Status] = []
                var deltas: [Int32] = []
                for _ in 0..<count {
                    let status = RTCPTransportWideFeedback.Status(rawValue: UInt8(rng.next() % 3))!
                    statuses.append(status)
                    if status == .smallDelta { deltas.append(Int32(rng.next() % 256)) }
                    if status == .largeOrNegativeDelta { deltas.append(Int32(Int16(truncatingIfNeeded: rng.next()))) }
                }
                let feedback = RTCPTransportWideFeedback(
                    senderSSRC: 1, mediaSSRC: 2,
                    baseSequenceNumber: rng.next() % 2 == 0 ? sequence &- UInt16(rng.next() % 300) : UInt16(truncatingIfNeeded: rng.next()),
                    packetStatusCount: UInt16(count), referenceTime: Int32(truncatingIfNeeded: rng.next() << 40) >> 8,
                    feedbackPacketCount: UInt8(truncatingIfNeeded: i), statuses: statuses, deltas: deltas)
                estimator.onTransportFeedback(feedback, history: history, nowMicroseconds: now)
            }
            if i % 7 == 0 { estimator.onReceiverReport(fractionLost: UInt8(truncatingIfNeeded: rng.next()), nowMicroseconds: now) }
            if i % 11 == 0 { estimator.onREMB(bitrate: Int(rng.next() % 100_000_000), nowMicroseconds: now) }
            _ = estimator.probe(nowMicroseconds: now, sendingBitrate: Int(rng.next() % 50_000_000), wantedBitrate: Int(rng.next() % 50_000_000))
            #expect(estimator.estimate >= 50_000 && estimator.estimate <= 20_000_000)
            if let acked = estimator.acknowledgedBitrate { #expect(acked >= 0) }
            now += Int64(rng.next() % 20_000) - 2_000  // mostly forward, sometimes backwards
        }
    }

    /// A crafted report: RTPFB FMT 15 with the given reference time and a run-length chunk of `run` packets
    /// "received, small delta" followed by their deltas (0 when `deltas` is false: a truncated packet).
    static func craftedFeedback(base: UInt16, reference: Int32, statusCount: UInt16, run: UInt16, deltas: Bool) -> [UInt8] {
        var body: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 2, UInt8(base >> 8), UInt8(base & 0xFF),
                             UInt8(statusCount >> 8), UInt8(statusCount & 0xFF),
                             UInt8((reference >> 16) & 0xFF), UInt8((reference >> 8) & 0xFF), UInt8(reference & 0xFF), 7]
        var remaining = Int(statusCount)
        while remaining > 0 {
            let n = min(remaining, Int(run))
            let chunk = UInt16(0x2000) | UInt16(n)  // run-length, symbol 1 (small delta)
            body += [UInt8(chunk >> 8), UInt8(chunk & 0xFF)]
            remaining -= n
        }
        if deltas { body += [UInt8](repeating: 4, count: Int(statusCount)) }
        while body.count % 4 != 0 { body.append(0) }
        let words = UInt16(body.count / 4)  // RTCP length: 32-bit words minus one, the header included
        return [0x8F, 205, UInt8(words >> 8), UInt8(words & 0xFF)] + body
    }

    @Test func feedbackWhoseReferenceTimeCyclesForeverStaysNearOurClock() {
        // Issue 13: a viewer cycling the 24-bit reference time made the unwrapped offset grow by 2^24 × 64 ms per
        // cycle until Int64 overflowed and the server trapped. Now the timeline is anchored to our clock.
        let estimator = SendSideBandwidthEstimator()
        let history = TransportWideSendHistory()
        var now: Int64 = 1_000_000
        var reference: Int32 = 0
        for i in 0..<300_000 {
            let sequence = history.nextSequence()
            history.record(sequence: sequence, sentMicroseconds: now, size: 1200, isProbe: false)
            // Three steps of 6 Mi units (~107 hours each) per wrap of the 24 bits: always forward.
            reference = ((reference &+ 6_000_000) << 8) >> 8
            let bytes = Self.craftedFeedback(base: sequence, reference: reference, statusCount: 1, run: 1, deltas: true)
            let ok = bytes.withUnsafeBytes { raw in
                estimator.onTransportFeedback(RTCPHeaderView.parse(raw)!, history: history, nowMicroseconds: now)
            }
            #expect(ok)
            if i % 10_000 == 0 { #expect(estimator.estimate >= estimator.minBitrate && estimator.estimate <= estimator.maxBitrate) }
            now += 100
        }
        #expect(estimator.referenceResets > 100_000, "every jump re-anchors the timeline instead of piling up")
    }

    @Test func aReportNamingSixtyFiveThousandPacketsIsLookedAtOnlyUpToTheBound() {
        let history = TransportWideSendHistory()
        for _ in 0..<100 { history.record(sequence: history.nextSequence(), sentMicroseconds: 0, size: 1200, isProbe: false) }
        // 65 535 "received" packets in run-length chunks of 8191, with all their deltas: a legal, 65 KB report.
        let huge = Self.craftedFeedback(base: 0, reference: 5, statusCount: 65_535, run: 8191, deltas: true)
        var visited = 0
        let ok = huge.withUnsafeBytes { raw in
            RTCPTransportWideFeedback.forEachPacket(in: RTCPHeaderView.parse(raw)!, limit: SendSideBandwidthEstimator.maxPacketsPerFeedback) { _, _ in
                visited += 1
            }
        }
        #expect(ok && visited == SendSideBandwidthEstimator.maxPacketsPerFeedback)
        // The 40-byte version without deltas is malformed, found without visiting 65 535 statuses.
        let short = Self.craftedFeedback(base: 0, reference: 5, statusCount: 65_535, run: 8191, deltas: false)
        #expect(short.count < 64)
        visited = 0
        let refused = short.withUnsafeBytes { raw in
            RTCPTransportWideFeedback.forEachPacket(in: RTCPHeaderView.parse(raw)!) { _, _ in visited += 1 }
        }
        #expect(!refused && visited == 0)
        let estimator = SendSideBandwidthEstimator()
        let accepted = huge.withUnsafeBytes { raw in
            estimator.onTransportFeedback(RTCPHeaderView.parse(raw)!, history: history, nowMicroseconds: 1_000)
        }
        #expect(accepted)
    }
}

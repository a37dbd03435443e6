import Testing
@testable import MediaCore

/// The pieces of the send-side estimator on their own.
struct CongestionComponentTests {
    @Test func sendHistoryFindsPacketsAcrossTheSequenceWrapAndForgetsOldOnes() throws {
        let history = TransportWideSendHistory(capacity: 16, firstSequence: 65530)
        for i in 0..<12 {
            let sequence = history.nextSequence()
            #expect(sequence == 65530 &+ UInt16(i))
            history.record(sequence: sequence, sentMicroseconds: Int64(i) * 1000, size: 100 + i, isProbe: i == 11)
        }
        let wrapped = history.unwrap(3)  // the 10th packet
        #expect(wrapped == 65539)
        let entry = try #require(history.entry(wrapped))
        #expect(entry.sentMicroseconds == 9000 && entry.size == 109 && !entry.isProbe)
        #expect(history.entry(history.unwrap(5))?.isProbe == true)
        #expect(history.markAcknowledged(wrapped))
        #expect(!history.markAcknowledged(wrapped))  // reported twice: counted once
        #expect(history.entry(history.unwrap(40)) == nil)  // never sent
        for _ in 0..<16 {
            let sequence = history.nextSequence()
            history.record(sequence: sequence, sentMicroseconds: 0, size: 1, isProbe: false)
        }
        #expect(history.entry(wrapped) == nil)  // overwritten by newer packets
    }

    @Test func trendlineStaysNormalOnSteadyDelayAndOverusesOnGrowingDelay() {
        var steady = TrendlineEstimator()
        for i in 0..<200 {
            #expect(steady.update(receiveDeltaMs: 5 + (i % 2 == 0 ? 0.5 : -0.5), sendDeltaMs: 5, arrivalMs: Double(i) * 5) != .overusing)
        }
        var growing = TrendlineEstimator()
        var states: [BandwidthUsage] = []
        for i in 0..<100 {
            states.append(growing.update(receiveDeltaMs: 7, sendDeltaMs: 5, arrivalMs: Double(i) * 7))
        }
        #expect(states.contains(.overusing))
        var draining = TrendlineEstimator()
        var drainStates: [BandwidthUsage] = []
        for i in 0..<100 {
            drainStates.append(draining.update(receiveDeltaMs: 3, sendDeltaMs: 5, arrivalMs: Double(i) * 3))
        }
        #expect(drainStates.last == .underusing)
    }

    @Test func aimdDecreasesToEightyFivePercentOfAcknowledgedAndGrowsEightPercentPerSecondFarFromIt() {
        var control = AIMDRateControl(bitrate: 1_000_000, minBitrate: 50_000, maxBitrate: 20_000_000)
        var now: Int64 = 0
        for _ in 0..<20 {
            now += 50_000
            control.update(.normal, acknowledged: 1_000_000, nowMicroseconds: now)
        }
        #expect(control.bitrate > 1_070_000 && control.bitrate < 1_090_000)  // 1 s at 8 %/s
        control.update(.overusing, acknowledged: 800_000, nowMicroseconds: now + 50_000)
        #expect(control.bitrate == 0.85 * 800_000)
        // Increases are capped at 1.5 × acknowledged + 10 kbit/s.
        var capped = AIMDRateControl(bitrate: 300_000, minBitrate: 50_000, maxBitrate: 20_000_000)
        for i in 1...200 { capped.update(.normal, acknowledged: 150_000, nowMicroseconds: Int64(i) * 50_000) }
        #expect(capped.bitrate == 300_000)
    }

    @Test func lossAboveTenPercentCutsTheCapAndLossUnderTwoLetsItClimb() {
        var loss = LossBasedEstimator(maxBitrate: 20_000_000)
        loss.update(lossFraction: 0.2, currentEstimate: 2_000_000, nowMicroseconds: 0)
        #expect(loss.cap == 2_000_000 * 0.9)
        loss.update(lossFraction: 0.2, currentEstimate: 1_800_000, nowMicroseconds: 100_000)  // too soon
        #expect(loss.cap == 2_000_000 * 0.9)
        loss.update(lossFraction: 0.05, currentEstimate: 1_800_000, nowMicroseconds: 1_000_000)  // hold
        #expect(loss.cap == 2_000_000 * 0.9)
        loss.update(lossFraction: 0, currentEstimate: 1_800_000, nowMicroseconds: 2_000_000)
        #expect(loss.cap > 1_900_000 && loss.cap < 1_960_000)
    }

    @Test func failedProbesStopAtTheOveruseAndBackOffUpToTheCap() {
        var prober = ProbeController()
        var now: Int64 = 0
        var starts: [Int64] = []
        while now < 40_000_000 {
            let padding = prober.padding(nowMicroseconds: now, estimate: 500_000, maxBitrate: 20_000_000, sendingBitrate: 150_000, wantedBitrate: 2_500_000)
            if padding > 0, starts.last.map({ now - $0 > ProbeController.clusterMicroseconds }) ?? true { starts.append(now) }
            if prober.phase == .probing {
                prober.onOveruse(nowMicroseconds: now)  // every probe congests the path
                // The cluster ends at once: no more padding into a queue that is building.
                #expect(prober.padding(nowMicroseconds: now + 1, estimate: 500_000, maxBitrate: 20_000_000,
                                       sendingBitrate: 150_000, wantedBitrate: 2_500_000) == 0)
            }
            #expect(prober.result(nowMicroseconds: now, estimate: 500_000) == nil)
            now += ProbeController.slotMicroseconds
        }
        #expect(starts.count >= 3)
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
        for (later, earlier) in zip(gaps.dropFirst(), gaps) { #expect(later >= earlier) }
        #expect(gaps.first! >= ProbeController.baseIntervalMicroseconds)
        // A link that recovers is probed again within the cap (plus the result grace and a slot).
        #expect(gaps.last! <= ProbeController.maxIntervalMicroseconds + ProbeController.resultGraceMicroseconds + 2 * ProbeController.slotMicroseconds)
        print("failed probes started at \(starts.map { Double($0) / 1_000_000 }) s")
    }
}

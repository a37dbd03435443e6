import Testing
@testable import MediaCore

struct ActiveSpeakerDetectorTests {
    static let silent: UInt8 = 127

    /// Feeds 20 ms audio packets from `fromMs` to `toMs` (exclusive), `level(source, time)` per
    /// source (nil: no packet, as with DTX), and calls `update` every `tickMs`.
    /// Returns the changes with the time they were reported.
    @discardableResult
    private func run(
        _ detector: ActiveSpeakerDetector, sources: [UInt64], from fromMs: Int64, to toMs: Int64, tickMs: Int64 = 200,
        level: (UInt64, Int64) -> UInt8?
    ) -> [(timeMs: Int64, change: ActiveSpeakerDetector.SpeakerChange)] {
        var changes: [(Int64, ActiveSpeakerDetector.SpeakerChange)] = []
        var now = fromMs
        while now < toMs {
            for source in sources {
                if let value = level(source, now) { detector.record(source: source, level: value, voice: value < 127, nowMs: now) }
            }
            now += 20
            if now % tickMs == 0, let change = detector.update(nowMs: now) { changes.append((now, change)) }
        }
        return changes
    }

    private func detector(_ sources: [UInt64]) -> ActiveSpeakerDetector {
        let detector = ActiveSpeakerDetector()
        for source in sources { #expect(detector.addSource(source)) }
        return detector
    }

    @Test func singleSpeakerIsDetected() {
        let detector = detector([1, 2, 3])
        let changes = run(detector, sources: [1, 2, 3], from: 0, to: 3_000) { source, _ in source == 2 ? 35 : Self.silent }
        #expect(changes.count == 1)
        #expect(changes.first?.change == .speaker(2))
        #expect(changes.first!.timeMs <= 200)
        #expect(detector.currentSpeaker == 2)
    }

    @Test func backgroundNoiseBelowTheThresholdIsNotSpeech() {
        let detector = detector([1, 2])
        let changes = run(detector, sources: [1, 2], from: 0, to: 3_000) { _, _ in 70 }
        #expect(changes.isEmpty)
        #expect(detector.currentSpeaker == nil)
    }

    @Test func shortInterjectionsDoNotTakeOver() {
        let detector = detector([1, 2])
        // 1 talks throughout at -30 dBov; every 2 s, 2 says something for 400 ms at -25 dBov.
        let changes = run(detector, sources: [1, 2], from: 0, to: 20_000) { source, time in
            if source == 1 { return 30 }
            return time % 2_000 >= 1_000 && time % 2_000 < 1_400 ? 25 : Self.silent
        }
        #expect(changes.map(\.change) == [.speaker(1)])
    }

    @Test func alternatingTurnsSwitchOncePerTurn() {
        let detector = detector([1, 2])
        // Turns of 4 s, each with a 300 ms interjection by the other party and short pauses.
        let changes = run(detector, sources: [1, 2], from: 0, to: 24_000) { source, time in
            let turn = (time / 4_000) % 2 == 0 ? UInt64(1) : 2
            let inTurn = time % 4_000
            if source == turn { return inTurn % 1_000 < 800 ? 28 : Self.silent }  // pauses between phrases
            return inTurn >= 2_000 && inTurn < 2_300 ? 28 : Self.silent
        }
        #expect(changes.first?.change == .speaker(1))
        #expect(changes.count <= 6)  // 6 turns: at most one change per turn
        #expect(changes.count >= 5)
        for (index, change) in changes.enumerated() {
            #expect(change.change == .speaker(index % 2 == 0 ? 1 : 2))
        }
    }

    @Test func longTakeoverSwitchesWithinAboutASecond() throws {
        let detector = detector([1, 2])
        run(detector, sources: [1, 2], from: 0, to: 5_000) { source, _ in source == 1 ? 30 : Self.silent }
        #expect(detector.currentSpeaker == 1)
        let changes = run(detector, sources: [1, 2], from: 5_000, to: 10_000) { source, _ in source == 2 ? 30 : Self.silent }
        let takeover = try #require(changes.first)
        #expect(takeover.change == .speaker(2))
        #expect(takeover.timeMs - 5_000 <= 1_200)
        #expect(changes.count == 1)
    }

    @Test func muchLouderChallengerTakesOverWhileTheSpeakerKeepsTalking() throws {
        let detector = detector([1, 2])
        run(detector, sources: [1, 2], from: 0, to: 3_000) { source, _ in source == 1 ? 45 : Self.silent }
        let changes = run(detector, sources: [1, 2], from: 3_000, to: 6_000) { source, _ in source == 1 ? 45 : 20 }
        #expect(changes.map(\.change) == [.speaker(2)])
    }

    @Test func silenceIsReportedAfterTheTimeout() throws {
        let detector = detector([1])
        run(detector, sources: [1], from: 0, to: 2_000) { _, _ in 30 }
        #expect(detector.currentSpeaker == 1)
        // Silent packets, then no packets at all (DTX).
        let changes = run(detector, sources: [1], from: 2_000, to: 6_000) { _, time in time < 3_000 ? Self.silent : nil }
        let silence = try #require(changes.first)
        #expect(silence.change == .silence)
        #expect(silence.timeMs - 2_000 >= 1_500)
        #expect(silence.timeMs - 2_000 <= 1_800)
        #expect(changes.count == 1)
        #expect(detector.currentSpeaker == nil)
    }

    @Test func pausesShorterThanTheTimeoutKeepTheSpeaker() {
        let detector = detector([1, 2])
        // 1 s of speech, 1.2 s pause, repeated; nobody else speaks.
        let changes = run(detector, sources: [1, 2], from: 0, to: 12_000) { source, time in
            source == 1 && time % 2_200 < 1_000 ? 30 : Self.silent
        }
        #expect(changes.map(\.change) == [.speaker(1)])
    }

    @Test func removingTheSpeakerHandsOverOrFallsSilent() {
        let detector = detector([1, 2, 3])
        run(detector, sources: [1, 2, 3], from: 0, to: 2_000) { source, _ in
            source == 1 ? 20 : source == 2 ? 40 : Self.silent
        }
        #expect(detector.currentSpeaker == 1)
        detector.removeSource(1)
        #expect(detector.currentSpeaker == nil)
        #expect(detector.update(nowMs: 2_000) == .speaker(2))
        detector.removeSource(2)
        #expect(detector.update(nowMs: 2_100) == .silence)
        #expect(detector.update(nowMs: 2_200) == nil)
    }

    @Test func unknownAndExcessSourcesAreIgnored() {
        let detector = ActiveSpeakerDetector(maxSources: 2)
        #expect(detector.addSource(1))
        #expect(detector.addSource(2))
        #expect(!detector.addSource(3))
        #expect(detector.addSource(1))  // already there
        detector.record(source: 3, level: 10, voice: true, nowMs: 0)
        #expect(detector.ignoredCount == 1)
        #expect(detector.update(nowMs: 100) == nil)
        detector.removeSource(2)
        #expect(detector.addSource(3))
    }

    @Test func voiceFlagCanBeRequired() {
        let detector = ActiveSpeakerDetector(requireVoiceActivity: true)
        detector.addSource(1)
        for t in stride(from: Int64(0), to: 1_000, by: 20) { detector.record(source: 1, level: 20, voice: false, nowMs: t) }
        #expect(detector.update(nowMs: 1_000) == nil)
        for t in stride(from: Int64(1_000), to: 1_200, by: 20) { detector.record(source: 1, level: 20, voice: true, nowMs: t) }
        #expect(detector.update(nowMs: 1_200) == .speaker(1))
    }
}

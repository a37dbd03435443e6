import Testing
@testable import MediaCore

struct NackGeneratorTests {
    private func receive(_ generator: NackGenerator, _ sequences: [UInt16], keyframe: Bool = false,
                         recovered: Bool = false, nowMs: Int64 = 0) {
        for sequence in sequences {
            generator.received(sequence: sequence, isKeyframe: keyframe, isRecovered: recovered, nowMs: nowMs)
        }
    }

    private func collect(_ generator: NackGenerator, nowMs: Int64, rttMs: Int64 = 100, room: Int = 512) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: room)
        let count = out.withUnsafeMutableBufferPointer { generator.collect(nowMs: nowMs, rttMs: rttMs, into: $0) }
        return Array(out[0..<count])
    }

    @Test func gapIsNackedOnTheNextCollect() {
        let generator = NackGenerator()
        receive(generator, [10, 11, 15])
        #expect(generator.missingCount == 3)
        #expect(collect(generator, nowMs: 1) == [12, 13, 14])
        #expect(collect(generator, nowMs: 2).isEmpty)  // not again before an RTT
    }

    @Test func inOrderStreamProducesNoNacks() {
        let generator = NackGenerator()
        receive(generator, Array(0..<1000))
        #expect(generator.missingCount == 0)
        #expect(collect(generator, nowMs: 0).isEmpty)
    }

    @Test func reorderedPacketIsNoLongerMissing() {
        let generator = NackGenerator()
        receive(generator, [1, 2, 5, 3])
        #expect(generator.isMissing(4))
        #expect(!generator.isMissing(3))
        #expect(collect(generator, nowMs: 0) == [4])
        receive(generator, [4], recovered: true)
        #expect(generator.missingCount == 0)
        #expect(generator.recoveredCount == 2)
        #expect(collect(generator, nowMs: 500).isEmpty)
    }

    @Test func duplicatesAndOldPacketsChangeNothing() {
        let generator = NackGenerator()
        receive(generator, [100, 101, 103, 103, 101, 90])
        #expect(collect(generator, nowMs: 0) == [102])
        #expect(generator.recoveredCount == 0)
    }

    @Test func gapAcrossTheWrapIsDetected() {
        let generator = NackGenerator()
        receive(generator, [65_533, 65_534, 1, 2])
        #expect(collect(generator, nowMs: 0) == [65_535, 0])
        receive(generator, [0])
        #expect(collect(generator, nowMs: 1000) == [65_535])
        // Reordering across the wrap: 65535 arrives after 2.
        receive(generator, [65_535])
        #expect(generator.missingCount == 0)
    }

    @Test func streamKeepsWorkingAfterManyWraps() {
        let generator = NackGenerator()
        var sequence: UInt16 = 0
        for i in 0..<200_000 {  // three wraps
            sequence &+= 1
            if i % 1000 == 500 { continue }  // lose one in a thousand
            generator.received(sequence: sequence, isKeyframe: false, isRecovered: false, nowMs: 0)
        }
        #expect(generator.resyncCount == 0)
        #expect(generator.missingCount == 200)
        let nacked = collect(generator, nowMs: 0)
        #expect(nacked.count == 200)
        #expect(nacked.first == 501)
        #expect(nacked.last == UInt16(truncatingIfNeeded: 199_501))
    }

    @Test func retriesAreSpacedByTheRoundTripTime() {
        let generator = NackGenerator()
        receive(generator, [1, 3])
        #expect(collect(generator, nowMs: 0, rttMs: 80) == [2])
        #expect(collect(generator, nowMs: 79, rttMs: 80).isEmpty)
        #expect(collect(generator, nowMs: 80, rttMs: 80) == [2])
        #expect(collect(generator, nowMs: 150, rttMs: 80).isEmpty)
        #expect(collect(generator, nowMs: 160, rttMs: 80) == [2])
    }

    @Test func retrySpacingHasAFloorOfTwentyMilliseconds() {
        let generator = NackGenerator()
        receive(generator, [1, 3])
        #expect(collect(generator, nowMs: 0, rttMs: 1) == [2])
        #expect(collect(generator, nowMs: 19, rttMs: 1).isEmpty)
        #expect(collect(generator, nowMs: 20, rttMs: 1) == [2])
    }

    @Test func unknownRoundTripTimeUsesTheDefault() {
        let generator = NackGenerator(defaultRttMs: 100)
        receive(generator, [1, 3])
        #expect(collect(generator, nowMs: 0, rttMs: 0) == [2])
        #expect(collect(generator, nowMs: 99, rttMs: 0).isEmpty)
        #expect(collect(generator, nowMs: 100, rttMs: 0) == [2])
    }

    @Test func givesUpAfterTenNacks() {
        let generator = NackGenerator()
        receive(generator, [1, 3])
        var sent = 0
        var now: Int64 = 0
        for _ in 0..<20 {
            sent += collect(generator, nowMs: now, rttMs: 50).count
            now += 50
        }
        #expect(sent == 10)
        #expect(generator.givenUpCount == 1)
        #expect(generator.missingCount == 0)
    }

    @Test func fullOutputLeavesTheRestForTheNextCollect() {
        let generator = NackGenerator()
        receive(generator, [0, 11])
        #expect(collect(generator, nowMs: 0, room: 4) == [1, 2, 3, 4])
        #expect(collect(generator, nowMs: 1, room: 4) == [5, 6, 7, 8])
        #expect(collect(generator, nowMs: 2, room: 4) == [9, 10])
    }

    @Test(arguments: [UInt16(1004), 40_000, 64_000])
    func hugeJumpResyncsInsteadOfNacking(jumpTo: UInt16) {
        let generator = NackGenerator()
        receive(generator, [0, 1, 3])
        receive(generator, [jumpTo])
        #expect(generator.resyncCount == 1)
        #expect(generator.missingCount == 0)
        #expect(collect(generator, nowMs: 0).isEmpty)
        // Tracking continues from the new position.
        receive(generator, [jumpTo &+ 2])
        #expect(collect(generator, nowMs: 1) == [jumpTo &+ 1])
    }

    @Test func jumpUpToTheLimitIsAGap() {
        let generator = NackGenerator(capacity: 2000)
        receive(generator, [0, 1000])
        #expect(generator.resyncCount == 0)
        #expect(generator.missingCount == 999)
    }

    @Test func gapLargerThanCapacityKeepsTheNewestAndAsksForAKeyframe() {
        let generator = NackGenerator(capacity: 16)
        receive(generator, [0, 101])
        #expect(generator.missingCount == 16)
        #expect(generator.takeKeyframeRequest())
        #expect(!generator.takeKeyframeRequest())
        #expect(collect(generator, nowMs: 0) == Array(85...100))
    }

    @Test func overflowDropsLossesOlderThanTheLastKeyframeFirst() {
        let generator = NackGenerator(capacity: 8)
        receive(generator, [0, 5])  // 1...4 missing
        receive(generator, [6], keyframe: true)
        receive(generator, [10])  // 7...9 missing: 7 entries
        receive(generator, [13])  // 11, 12: needs 9 slots, 1...4 predate the keyframe
        #expect(!generator.takeKeyframeRequest())
        #expect(collect(generator, nowMs: 0) == [7, 8, 9, 11, 12])
        #expect(generator.overflowCount == 4)
    }

    @Test func overflowWithoutAKeyframeDropsTheOldestAndAsksForOne() {
        let generator = NackGenerator(capacity: 4)
        receive(generator, [0, 3, 6])  // 1, 2, 4, 5
        receive(generator, [8])  // 7
        #expect(generator.takeKeyframeRequest())
        #expect(collect(generator, nowMs: 0) == [2, 4, 5, 7])
    }

    @Test func resetForgetsTheStream() {
        let generator = NackGenerator()
        receive(generator, [1, 5])
        generator.reset()
        #expect(generator.missingCount == 0)
        receive(generator, [30_000, 30_001])
        #expect(generator.resyncCount == 0)
        #expect(collect(generator, nowMs: 0).isEmpty)
    }
}

import Testing
@testable import MediaCore

/// The receive-side builder of feedback for publishers.
struct TransportWideFeedbackBuilderTests {
    private func build(_ builder: TransportWideFeedbackBuilder, size: Int = 1200) -> RTCPTransportWideFeedback? {
        var buffer = [UInt8](repeating: 0, count: size)
        let length = buffer.withUnsafeMutableBytes { builder.write(senderSSRC: 1, mediaSSRC: 2, into: $0) }
        guard length > 0 else { return nil }
        #expect(length % 4 == 0 && length <= size)
        return Array(buffer[0..<length]).withUnsafeBytes { raw in RTCPHeaderView.parse(raw).flatMap(RTCPTransportWideFeedback.parse) }
    }

    private func arrivals(_ feedback: RTCPTransportWideFeedback) -> [UInt16: Int64] {
        var out: [UInt16: Int64] = [:]
        feedback.forEachPacket { sequence, arrival in if let arrival { out[sequence] = arrival } }
        return out
    }

    @Test func reportsArrivalTimesToTheQuarterMillisecondAcrossSequenceWrap() throws {
        let builder = TransportWideFeedbackBuilder()
        #expect(build(builder) == nil)
        for i in 0..<20 {
            builder.record(sequence: 65530 &+ UInt16(i), arrivalMicroseconds: 1_000_000 + Int64(i) * 1_250)
        }
        let feedback = try #require(build(builder))
        #expect(feedback.baseSequenceNumber == 65530 && feedback.packetStatusCount == 20)
        #expect(feedback.feedbackPacketCount == 0)
        let seen = arrivals(feedback)
        for i in 0..<20 {
            #expect(seen[65530 &+ UInt16(i)] == 1_000_000 + Int64(i) * 1_250)
        }
        #expect(build(builder) == nil)  // nothing new
        builder.record(sequence: 14, arrivalMicroseconds: 1_100_000)
        let next = try #require(build(builder))
        #expect(next.baseSequenceNumber == 14 && next.feedbackPacketCount == 1)
    }

    @Test func gapsAreNotReceivedAndReorderingAndDuplicatesAreHandled() throws {
        let builder = TransportWideFeedbackBuilder()
        builder.record(sequence: 100, arrivalMicroseconds: 10_000)
        builder.record(sequence: 103, arrivalMicroseconds: 12_000)
        builder.record(sequence: 102, arrivalMicroseconds: 13_000)  // reordered: negative delta
        builder.record(sequence: 102, arrivalMicroseconds: 99_000)  // duplicate: the first wins
        builder.record(sequence: 106, arrivalMicroseconds: 2_000_000)  // 2 s later: large delta
        let feedback = try #require(build(builder))
        #expect(feedback.statuses == [.smallDelta, .notReceived, .smallDelta, .largeOrNegativeDelta, .notReceived, .notReceived, .largeOrNegativeDelta])
        let seen = arrivals(feedback)
        #expect(seen == [100: 10_000, 102: 13_000, 103: 12_000, 106: 2_000_000])
        // A late packet already reported missing is not reported again.
        builder.record(sequence: 101, arrivalMicroseconds: 14_000)
        #expect(build(builder) == nil)
    }

    @Test func arrivalsFurtherApartThanSixteenBitsOfDeltaSplitIntoTwoReports() throws {
        let builder = TransportWideFeedbackBuilder()
        builder.record(sequence: 1, arrivalMicroseconds: 0)
        builder.record(sequence: 2, arrivalMicroseconds: 10_000_000)  // 40000 ticks > Int16.max
        let first = try #require(build(builder))
        #expect(arrivals(first) == [1: 0])
        let second = try #require(build(builder))
        #expect(arrivals(second) == [2: 10_000_000])
        #expect(second.feedbackPacketCount == 1)
    }

    @Test func aSmallBufferSpreadsTheReportOverSeveralPackets() throws {
        let builder = TransportWideFeedbackBuilder()
        for i in 0..<1000 where i % 7 != 3 {
            builder.record(sequence: UInt16(i), arrivalMicroseconds: Int64(i) * 500 + (i % 2 == 0 ? 0 : 70_000))
        }
        var seen: [UInt16: Int64] = [:]
        var reports = 0
        while let feedback = build(builder, size: 120) {
            reports += 1
            seen.merge(arrivals(feedback)) { a, _ in a }
            #expect(feedback.feedbackPacketCount == UInt8(reports - 1))
        }
        #expect(reports > 3)
        for i in 0..<1000 where i % 7 != 3 {
            #expect(seen[UInt16(i)] == Int64(i) * 500 + (i % 2 == 0 ? 0 : 70_000))
        }
        #expect(seen.count == (0..<1000).filter { $0 % 7 != 3 }.count)
    }
}

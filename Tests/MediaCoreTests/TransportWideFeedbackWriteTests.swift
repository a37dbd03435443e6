import Testing
@testable import MediaCore
import SabhaTestSupport

/// Writing transport-wide CC feedback and reading it back with the existing parser.
struct TransportWideFeedbackWriteTests {
    /// A feedback packet captured from Chrome (published with a Wireshark dissection in
    /// olivermichel/webrtc-analysis, test/include/data.h): base 1, nine small deltas in one
    /// run-length chunk, reference time 6197520, padded with the P bit as libwebrtc does.
    static let chromeCapture: [UInt8] = [
        0xAF, 0xCD, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01,
        0xDD, 0x58, 0x6E, 0xB6, 0x00, 0x01, 0x00, 0x09,
        0x5E, 0x91, 0x10, 0x00, 0x20, 0x09, 0x1C, 0x0C,
        0x2C, 0x38, 0x00, 0x04, 0x00, 0x08, 0x18, 0x01,
    ]

    private func parse(_ bytes: [UInt8]) -> RTCPTransportWideFeedback? {
        bytes.withUnsafeBytes { raw in RTCPHeaderView.parse(raw).flatMap(RTCPTransportWideFeedback.parse) }
    }

    @Test func chromeCaptureParsesAndWritesBackByteForByte() throws {
        let feedback = try #require(parse(Self.chromeCapture))
        #expect(feedback.senderSSRC == 1 && feedback.mediaSSRC == 0xDD58_6EB6)
        #expect(feedback.baseSequenceNumber == 1 && feedback.packetStatusCount == 9)
        #expect(feedback.referenceTime == 6_197_520 && feedback.feedbackPacketCount == 0)
        #expect(feedback.deltas == [28, 12, 44, 56, 0, 4, 0, 8, 24])
        var buffer = [UInt8](repeating: 0xEE, count: 64)
        let length = buffer.withUnsafeMutableBytes { feedback.write(into: $0) }
        #expect(Array(buffer[0..<length]) == Self.chromeCapture)
    }

    @Test func existingVectorWithEveryChunkKindRoundTrips() throws {
        // RTCPVectors.twcc uses a one-bit vector where the writer would choose differently, so
        // compare decoded fields, not bytes.
        let feedback = try #require(parse(RTCPVectors.twcc))
        var buffer = [UInt8](repeating: 0, count: 128)
        let length = buffer.withUnsafeMutableBytes { feedback.write(into: $0) }
        #expect(length > 0 && length % 4 == 0)
        let again = try #require(parse(Array(buffer[0..<length])))
        #expect(again == feedback)
    }

    @Test func randomReportsRoundTripThroughTheParserAndTheVisitor() throws {
        var rng = SplitMix64(seed: 0x7477_6363)
        for _ in 0..<500 {
            let count = 1 + Int(rng.next() % 300)
            var statuses: [RTCPTransportWideFeedback.Status] = []
            var deltas: [Int32] = []
            let style = rng.next() % 4  // runs, mostly small, mixed, sparse
            for i in 0..<count {
                let roll = rng.next() % 100
                var received: Bool
                switch style {
                case 0: received = (i / 20) % 2 == 0
                case 1: received = roll < 95
                case 2: received = roll < 70
                default: received = roll < 20
                }
                if i == count - 1 { received = true }
                guard received else { statuses.append(.notReceived); continue }
                let large = style == 2 && rng.next() % 5 == 0
                let delta = large ? Int32(Int16(truncatingIfNeeded: rng.next())) : Int32(rng.next() % 256)
                statuses.append((0...255).contains(delta) ? .smallDelta : .largeOrNegativeDelta)
                deltas.append(delta)
            }
            let feedback = RTCPTransportWideFeedback(
                senderSSRC: UInt32(truncatingIfNeeded: rng.next()), mediaSSRC: 7, baseSequenceNumber: UInt16(truncatingIfNeeded: rng.next()),
                packetStatusCount: UInt16(count), referenceTime: Int32(truncatingIfNeeded: rng.next() % (1 << 23)),
                feedbackPacketCount: UInt8(truncatingIfNeeded: rng.next()), statuses: statuses, deltas: deltas)
            var buffer = [UInt8](repeating: 0, count: 1500)
            let length = buffer.withUnsafeMutableBytes { feedback.write(into: $0) }
            #expect(length > 0 && length % 4 == 0)
            let bytes = Array(buffer[0..<length])
            #expect(parse(bytes) == feedback)
            // The allocation-free visitor sees the same packets as the parsed arrays.
            var fromWire: [(UInt16, Int64?)] = []
            var fromStruct: [(UInt16, Int64?)] = []
            let ok = bytes.withUnsafeBytes { raw in
                RTCPTransportWideFeedback.forEachPacket(in: RTCPHeaderView.parse(raw)!) { fromWire.append(($0, $1)) }
            }
            feedback.forEachPacket { fromStruct.append(($0, $1)) }
            #expect(ok)
            #expect(fromWire.map(\.0) == fromStruct.map(\.0) && fromWire.map(\.1) == fromStruct.map(\.1))
            #expect(fromWire.count == count)
        }
    }

    @Test func writerStopsAtTheBufferAndReportsHowManyPacketsFit() throws {
        var buffer = [UInt8](repeating: 0, count: 32)
        let result = buffer.withUnsafeMutableBytes { out in
            RTCPTransportWideFeedback.write(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 65530, referenceTime: 3,
                                            feedbackPacketCount: 4, packetCount: 100, into: out) { i in i % 3 == 2 ? nil : Int32(i) }
        }
        #expect(result.length <= 32 && result.length > 0)
        #expect(result.packetCount > 0 && result.packetCount < 100)
        let feedback = try #require(parse(Array(buffer[0..<result.length])))
        #expect(Int(feedback.packetStatusCount) == result.packetCount)
        #expect(feedback.statuses.last != .notReceived)
        let tiny = [UInt8](repeating: 0, count: 20)
        var copy = tiny
        let none = copy.withUnsafeMutableBytes { out in
            RTCPTransportWideFeedback.write(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 0, referenceTime: 0,
                                            feedbackPacketCount: 0, packetCount: 5, into: out) { _ in 1 }
        }
        #expect(none.length == 0 && none.packetCount == 0)
    }

    @Test func visitorRejectsWhatTheParserRejects() {
        fuzz(seed: 0x7669_7369, samples: [RTCPVectors.twcc, Self.chromeCapture], mutations: 3000) { raw in
            guard let header = RTCPHeaderView.parse(raw) else { return }
            let parsed = RTCPTransportWideFeedback.parse(header)
            var visited = 0
            let ok = RTCPTransportWideFeedback.forEachPacket(in: header) { _, _ in visited += 1 }
            #expect(ok == (parsed != nil))
            #expect(visited == (parsed.map { Int($0.packetStatusCount) } ?? 0))
        }
    }
}

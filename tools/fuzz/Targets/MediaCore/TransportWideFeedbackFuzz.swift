@testable import MediaCore

/// Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1). The
/// input is the FCI after the 12-byte feedback header; the harness puts the RTPFB/FMT 15 header in
/// front (with padding when the first byte asks for it) so every mutation reaches the chunk decoder.
/// The array decoder and the non-allocating walk must agree; what parses is written back and must
/// report the same packets at the same arrival times.
enum TransportWideFeedbackFuzz {
    static let name = "twcc"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let first = data.first else { return }
        let body = UnsafeRawBufferPointer(rebasing: data[1...])
        let padding = first & 0x80 != 0 ? Int(first & 0x03) + 1 : 0
        let length = (4 + body.count + padding + 3) & ~3
        guard length / 4 - 1 <= Int(UInt16.max) else { return }
        let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 8)
        defer { packet.deallocate() }
        packet.initializeMemory(as: UInt8.self, repeating: 0)
        packet[0] = 0x80 | (padding > 0 ? 0x20 : 0) | RTCPTransportWideFeedback.format
        packet[1] = RTCPPacketType.transportFeedback
        packet.put16(UInt16(length / 4 - 1), at: 2)
        UnsafeMutableRawBufferPointer(rebasing: packet[4..<(4 + body.count)]).copyMemory(from: body)
        if padding > 0 { packet[length - 1] = UInt8(length - 4 - body.count) }
        guard let view = RTCPHeaderView.parse(UnsafeRawBufferPointer(packet)) else { return }

        var walked: [(UInt16, Int64?)] = []
        let walkOK = RTCPTransportWideFeedback.forEachPacket(in: view) { walked.append(($0, $1)) }
        let parsed = RTCPTransportWideFeedback.parse(view)
        try check(walkOK == (parsed != nil), name, "parse says \(parsed != nil), the walk says \(walkOK)")
        guard let parsed else { return }
        try check(parsed.statuses.count == Int(parsed.packetStatusCount), name, "status count")
        try check(same(packets(of: parsed), walked), name, "parse and walk disagree on arrival times")
        try writeBack(parsed, name: name)
    }

    /// (sequence, arrival) for every packet a parsed feedback covers.
    static func packets(of feedback: RTCPTransportWideFeedback) -> [(UInt16, Int64?)] {
        var result: [(UInt16, Int64?)] = []
        feedback.forEachPacket { result.append(($0, $1)) }
        return result
    }

    static func same(_ a: [(UInt16, Int64?)], _ b: [(UInt16, Int64?)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// Writes `feedback` back and parses it again: same SSRCs, base, reference time, count and
    /// the same arrival time for every packet (a large delta in 0...255 may come back small).
    static func writeBack(_ feedback: RTCPTransportWideFeedback, name: String) throws(FuzzFailure) {
        guard !feedback.statuses.isEmpty else { return }
        let capacity = 24 + 4 * feedback.statuses.count + 8
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { out.deallocate() }
        let length = feedback.write(into: out)
        try check(length > 0, name, "TWCC writer refused \(feedback.statuses.count) packets that parsed")
        guard let view = RTCPHeaderView.parse(UnsafeRawBufferPointer(rebasing: out[0..<length])), view.length == length,
              let again = RTCPTransportWideFeedback.parse(view) else {
            throw FuzzFailure(name, "TWCC written back does not parse")
        }
        try check(again.senderSSRC == feedback.senderSSRC && again.mediaSSRC == feedback.mediaSSRC
                  && again.baseSequenceNumber == feedback.baseSequenceNumber && again.referenceTime == feedback.referenceTime
                  && again.feedbackPacketCount == feedback.feedbackPacketCount, name, "TWCC header fields changed on write-back")
        try check(same(packets(of: again), packets(of: feedback)), name, "TWCC arrivals changed on write-back")
    }
}

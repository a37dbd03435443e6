/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// section 3.1): RTPFB, FMT 15. Decoded into arrays: it arrives a few times per second per
/// subscriber and feeds the send-side bandwidth estimator, which wants the whole list anyway.
public struct RTCPTransportWideFeedback: Sendable, Hashable {
    public static let format: UInt8 = 15

    /// Packet status symbols (section 3.1.1).
    public enum Status: UInt8, Sendable, Hashable {
        case notReceived = 0
        /// Received, delta in one unsigned byte.
        case smallDelta = 1
        /// Received, delta in two signed bytes.
        case largeOrNegativeDelta = 2
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var baseSequenceNumber: UInt16
    public var packetStatusCount: UInt16
    /// Reference time in multiples of 64 ms (24-bit signed).
    public var referenceTime: Int32
    public var feedbackPacketCount: UInt8
    /// One status per packet, from baseSequenceNumber on.
    public var statuses: [Status]
    /// One receive delta per received packet, in multiples of 250 µs.
    public var deltas: [Int32]

    public var referenceTimeMicroseconds: Int64 { Int64(referenceTime) * 64_000 }

    public static func parse(_ packet: RTCPHeaderView) -> RTCPTransportWideFeedback? {
        guard packet.packetType == RTCPPacketType.transportFeedback, packet.count == format else { return nil }
        let body = packet.body
        guard body.count >= 16 else { return nil }
        let statusCount = Int(body.u16(10))
        let reference = body.u24(12)
        var feedback = RTCPTransportWideFeedback(
            senderSSRC: body.u32(0), mediaSSRC: body.u32(4), baseSequenceNumber: body.u16(8),
            packetStatusCount: UInt16(statusCount), referenceTime: Int32(bitPattern: reference << 8) >> 8,
            feedbackPacketCount: body[15], statuses: [], deltas: [])
        feedback.statuses.reserveCapacity(statusCount)

        var offset = 16
        while feedback.statuses.count < statusCount {
            guard offset + 2 <= body.count else { return nil }
            let chunk = body.u16(offset)
            offset += 2
            let remaining = statusCount - feedback.statuses.count
            if chunk & 0x8000 == 0 {
                // Run-length chunk: T=0, S (2 bits), run length (13 bits).
                guard let symbol = Status(rawValue: UInt8((chunk >> 13) & 0x3)) else { return nil }
                let run = min(Int(chunk & 0x1FFF), remaining)
                feedback.statuses.append(contentsOf: repeatElement(symbol, count: run))
            } else if chunk & 0x4000 == 0 {
                // Status vector, 14 one-bit symbols.
                for i in 0..<min(14, remaining) {
                    feedback.statuses.append(chunk & (1 << (13 - i)) != 0 ? .smallDelta : .notReceived)
                }
            } else {
                // Status vector, 7 two-bit symbols.
                for i in 0..<min(7, remaining) {
                    guard let symbol = Status(rawValue: UInt8((chunk >> (12 - 2 * i)) & 0x3)) else { return nil }
                    feedback.statuses.append(symbol)
                }
            }
        }
        for status in feedback.statuses {
            switch status {
            case .notReceived:
                continue
            case .smallDelta:
                guard offset + 1 <= body.count else { return nil }
                feedback.deltas.append(Int32(body[offset]))
                offset += 1
            case .largeOrNegativeDelta:
                guard offset + 2 <= body.count else { return nil }
                feedback.deltas.append(Int32(Int16(bitPattern: body.u16(offset))))
                offset += 2
            }
        }
        return feedback
    }
}

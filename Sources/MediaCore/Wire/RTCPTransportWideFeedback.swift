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

    /// Visits every packet this feedback covers, in sequence order: the sequence number and, for
    /// a received packet, its arrival time in microseconds on the remote clock (reference time
    /// plus the running sum of receive deltas). Lets the estimator walk a parsed report without
    /// rebuilding arrival times in another array.
    func forEachPacket(_ body: (_ sequence: UInt16, _ arrivalMicroseconds: Int64?) -> Void) {
        var arrival = referenceTimeMicroseconds
        var deltaIndex = 0
        for (index, status) in statuses.enumerated() {
            let sequence = baseSequenceNumber &+ UInt16(truncatingIfNeeded: index)
            guard status != .notReceived, deltaIndex < deltas.count else {
                body(sequence, nil)
                continue
            }
            arrival += Int64(deltas[deltaIndex]) * 250
            deltaIndex += 1
            body(sequence, arrival)
        }
    }

    /// The same walk straight from the wire bytes, without allocating: for a caller on the packet
    /// path that only needs sequence numbers and arrival times. The whole packet is validated
    /// before the first call, so a malformed packet visits nothing and returns false.
    ///
    /// At most `limit` packets are visited. A run-length chunk names up to 8191 packets in two bytes, so a
    /// 20-byte packet can claim 65 535; validation counts runs without visiting them, and a caller bounds its
    /// own work with `limit` (the worker: `SendSideBandwidthEstimator.maxPacketsPerFeedback`).
    @discardableResult
    static func forEachPacket(in packet: RTCPHeaderView, limit: Int = Int.max,
                              _ body: (_ sequence: UInt16, _ arrivalMicroseconds: Int64?) -> Void) -> Bool {
        guard packet.packetType == RTCPPacketType.transportFeedback, packet.count == format else { return false }
        let bytes = packet.body
        guard bytes.count >= 16 else { return false }
        let statusCount = Int(bytes.u16(10))
        let base = bytes.u16(8)
        let reference = Int64(Int32(bitPattern: bytes.u24(12) << 8) >> 8) * 64_000
        // Pass 1: where the deltas start and whether all of them are present.
        var deltaBytes = 0
        guard let deltaStart = walkChunks(bytes, statusCount: statusCount, { status, count in
            deltaBytes += count * (status == .smallDelta ? 1 : (status == .largeOrNegativeDelta ? 2 : 0))
            return true
        }), deltaStart + deltaBytes <= bytes.count else { return false }
        // Pass 2: emit, up to `limit`.
        var index = 0
        var offset = deltaStart
        var arrival = reference
        _ = walkChunks(bytes, statusCount: statusCount) { status, count in
            for _ in 0..<count {
                guard index < limit else { return false }
                let sequence = base &+ UInt16(truncatingIfNeeded: index)
                index += 1
                switch status {
                case .notReceived:
                    body(sequence, nil)
                case .smallDelta:
                    arrival += Int64(bytes[offset]) * 250
                    offset += 1
                    body(sequence, arrival)
                case .largeOrNegativeDelta:
                    arrival += Int64(Int16(bitPattern: bytes.u16(offset))) * 250
                    offset += 2
                    body(sequence, arrival)
                }
            }
            return true
        }
        return true
    }

    /// The reference time of a transport-wide feedback packet, in multiples of 64 ms (24-bit signed), or nil
    /// when it is not one.
    static func referenceTime(in packet: RTCPHeaderView) -> Int32? {
        guard packet.packetType == RTCPPacketType.transportFeedback, packet.count == format, packet.body.count >= 16 else { return nil }
        return Int32(bitPattern: packet.body.u24(12) << 8) >> 8
    }

    /// Decodes the packet chunks after the 16-byte fixed part, calling `visit` once per run of equal statuses
    /// (with its length; `false` stops the visits but not the walk); returns the offset just past the chunks,
    /// or nil if they are cut short or use symbol 3.
    private static func walkChunks(_ bytes: UnsafeRawBufferPointer, statusCount: Int,
                                   _ visit: (Status, Int) -> Bool) -> Int? {
        var offset = 16
        var seen = 0
        var visiting = true
        while seen < statusCount {
            guard offset + 2 <= bytes.count else { return nil }
            let chunk = bytes.u16(offset)
            offset += 2
            let remaining = statusCount - seen
            if chunk & 0x8000 == 0 {
                guard let symbol = Status(rawValue: UInt8((chunk >> 13) & 0x3)) else { return nil }
                let run = min(Int(chunk & 0x1FFF), remaining)
                if visiting && run > 0 { visiting = visit(symbol, run) }
                seen += run
            } else if chunk & 0x4000 == 0 {
                let n = min(14, remaining)
                for i in 0..<n where visiting { visiting = visit(chunk & (1 << (13 - i)) != 0 ? .smallDelta : .notReceived, 1) }
                seen += n
            } else {
                let n = min(7, remaining)
                for i in 0..<n {
                    guard let symbol = Status(rawValue: UInt8((chunk >> (12 - 2 * i)) & 0x3)) else { return nil }
                    if visiting { visiting = visit(symbol, 1) }
                }
                seen += n
            }
        }
        return offset
    }
}

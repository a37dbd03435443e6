/// A copy of one producer's decrypted RTP for something inside the server that is not a viewer: the recorder.
/// The producer's worker copies each packet into a bounded ring as it routes it (no extra network hop, no
/// encryption); the owner drains it from its own thread at its own pace. Full means the owner is behind: the packet
/// is dropped (counted as `pipeFull`), never waited for, so a slow disk cannot slow a meeting down.
public final class MediaTap: @unchecked Sendable {
    // @unchecked: a PacketPipe with one writer (the producer's worker) and one reader (the owner), as between workers.
    public let producer: ProducerID
    let pipe: PacketPipe

    init(producer: ProducerID, slots: Int) {
        self.producer = producer
        pipe = PacketPipe(capacity: slots)
    }

    /// Calls `body` with each waiting packet (at most `limit`): its simulcast layer (0 = lowest) and the decrypted RTP
    /// packet, valid only during the call. Returns how many. From one thread at a time.
    public func drain(limit: Int = 4_096, _ body: (_ layer: Int, _ packet: UnsafeRawBufferPointer) -> Void) -> Int {
        pipe.drain(limit: limit) { slot, data in body(Int(slot.layer), UnsafeRawBufferPointer(start: data, count: Int(slot.length))) }
    }

    /// Packets waiting (a snapshot).
    public var backlog: Int { pipe.backlog }

    /// A publisher's sender report travels in the tap, between its packets, as a 16-byte record: 0x80, 200 (RTCP's
    /// SR packet type, which no RTP packet carries in its second byte: RFC 5761 §4), two zero bytes, then the NTP and
    /// RTP timestamps, big-endian. The recorder lines tracks up by it.
    static let senderReportLength = 16

    /// The NTP and RTP timestamps of a sender report record; nil for an RTP packet.
    public static func senderReport(_ record: UnsafeRawBufferPointer) -> (ntp: UInt64, rtp: UInt32)? {
        guard record.count == senderReportLength, record[0] == 0x80, record[1] == 200 else { return nil }
        var ntp: UInt64 = 0
        for index in 4..<12 { ntp = ntp << 8 | UInt64(record[index]) }
        let rtp = UInt32(record[12]) << 24 | UInt32(record[13]) << 16 | UInt32(record[14]) << 8 | UInt32(record[15])
        return (ntp, rtp)
    }

    static func writeSenderReport(ntp: UInt64, rtp: UInt32, into record: UnsafeMutableRawBufferPointer) {
        record[0] = 0x80
        record[1] = 200
        record[2] = 0
        record[3] = 0
        for index in 0..<8 { record[4 + index] = UInt8(truncatingIfNeeded: ntp >> UInt64(56 - 8 * index)) }
        for index in 0..<4 { record[12 + index] = UInt8(truncatingIfNeeded: rtp >> UInt32(24 - 8 * index)) }
    }
}

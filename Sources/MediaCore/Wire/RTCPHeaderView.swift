/// RTCP packet types (RFC 3550 section 12.1, RFC 4585 section 6.1).
public enum RTCPPacketType {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let bye: UInt8 = 203
    public static let app: UInt8 = 204
    /// Transport-layer feedback (RFC 4585): FMT 1 generic NACK, FMT 15 transport-wide CC.
    public static let transportFeedback: UInt8 = 205
    /// Payload-specific feedback (RFC 4585): FMT 1 PLI, FMT 4 FIR (RFC 5104), FMT 15 REMB.
    public static let payloadSpecificFeedback: UInt8 = 206
    public static let extendedReport: UInt8 = 207
}

/// One RTCP packet inside a compound packet (RFC 3550 section 6.4.1 common header): a view on
/// the packet's bytes, without copying. Typed decoders take it and read their fields from `body`.
public struct RTCPHeaderView {
    /// Exactly the bytes of this packet (header, body and padding).
    public let bytes: UnsafeRawBufferPointer

    public var version: UInt8 { bytes[0] >> 6 }
    public var padding: Bool { bytes[0] & 0x20 != 0 }
    /// RC, SC or FMT depending on the packet type.
    public var count: UInt8 { bytes[0] & 0x1F }
    public var packetType: UInt8 { bytes[1] }
    /// Total length in bytes: (length field + 1) × 4.
    public var length: Int { bytes.count }
    /// Padding bytes at the end, the count byte included; 0 without the P bit.
    public let paddingLength: Int

    /// The bytes after the 4-byte common header, without padding.
    public var body: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[4..<(bytes.count - paddingLength)])
    }

    /// Reads the first RTCP packet in `bytes` (more bytes may follow it): nil unless version is
    /// 2, the length fits and the padding is consistent.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> RTCPHeaderView? {
        guard bytes.count >= 4, bytes[0] >> 6 == 2 else { return nil }
        let length = (Int(bytes.u16(2)) + 1) * 4
        guard length <= bytes.count else { return nil }
        let packet = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
        var paddingLength = 0
        if bytes[0] & 0x20 != 0 {
            paddingLength = Int(packet[length - 1])
            guard paddingLength >= 1, paddingLength <= length - 4 else { return nil }
        }
        return RTCPHeaderView(bytes: packet, paddingLength: paddingLength)
    }

    /// Writes a common header for a packet of `length` bytes (a multiple of 4) at `offset`.
    static func writeHeader(count: UInt8, packetType: UInt8, length: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int = 0) {
        buffer[offset] = 0x80 | (count & 0x1F)
        buffer[offset + 1] = packetType
        buffer.put16(UInt16(length / 4 - 1), at: offset + 2)
    }
}

/// Iterates the packets of a compound RTCP packet (RFC 3550 section 6.1) without allocating.
/// Iteration stops at the first packet that is truncated or invalid; `isWellFormed` (or the
/// iterator's `malformed`) tells whether the whole buffer was consumed cleanly.
public struct RTCPCompound: Sequence {
    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public struct Iterator: IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
        /// Set when iteration stopped before the end because of a bad packet.
        public private(set) var malformed = false

        public mutating func next() -> RTCPHeaderView? {
            guard offset < bytes.count, !malformed else { return nil }
            guard let packet = RTCPHeaderView.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...])) else {
                malformed = true
                return nil
            }
            offset += packet.length
            return packet
        }
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes) }

    /// True when the buffer is a sequence of valid RTCP packets with nothing left over.
    public var isWellFormed: Bool {
        guard !bytes.isEmpty else { return false }
        var iterator = makeIterator()
        while iterator.next() != nil {}
        return !iterator.malformed
    }
}

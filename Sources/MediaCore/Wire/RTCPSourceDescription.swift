/// Source description, SDES (RFC 3550 section 6.5): SC chunks, each an SSRC followed by items
/// (type, length, text) and ended by a null item plus padding to 32 bits.
public struct RTCPSourceDescription: Sequence {
    public static let cnameItem: UInt8 = 1

    /// One chunk; `cnameOffset`/`cnameLength` locate the CNAME text in the packet's bytes.
    public struct Chunk {
        public let ssrc: UInt32
        public let cnameOffset: Int?
        public let cnameLength: Int
        let packet: UnsafeRawBufferPointer

        /// The CNAME as a String (allocates: for the control path and logs).
        public var cname: String? {
            guard let offset = cnameOffset else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: packet[offset..<(offset + cnameLength)]), as: UTF8.self)
        }
    }

    public let chunkCount: Int
    let packet: UnsafeRawBufferPointer
    let end: Int

    /// Validates all chunks; nil if one is cut short or unterminated.
    public static func parse(_ view: RTCPHeaderView) -> RTCPSourceDescription? {
        guard view.packetType == RTCPPacketType.sourceDescription else { return nil }
        let description = RTCPSourceDescription(chunkCount: Int(view.count), packet: view.bytes, end: view.length - view.paddingLength)
        var iterator = description.makeIterator()
        var seen = 0
        while iterator.next() != nil { seen += 1 }
        return seen == description.chunkCount && !iterator.malformed ? description : nil
    }

    public struct Iterator: IteratorProtocol {
        let packet: UnsafeRawBufferPointer
        let end: Int
        var remaining: Int
        var offset = 4
        var malformed = false

        public mutating func next() -> Chunk? {
            guard remaining > 0, !malformed else { return nil }
            guard offset + 4 <= end else { malformed = true; return nil }
            let ssrc = packet.u32(offset)
            var cursor = offset + 4
            var cnameOffset: Int?
            var cnameLength = 0
            while true {
                guard cursor < end else { malformed = true; return nil }
                let type = packet[cursor]
                if type == 0 { break }
                guard cursor + 2 <= end else { malformed = true; return nil }
                let length = Int(packet[cursor + 1])
                guard cursor + 2 + length <= end else { malformed = true; return nil }
                if type == RTCPSourceDescription.cnameItem && cnameOffset == nil {
                    cnameOffset = cursor + 2
                    cnameLength = length
                }
                cursor += 2 + length
            }
            // The null item, then padding to the next 32-bit boundary.
            offset = (cursor + 1 + 3) & ~3
            guard offset <= end else { malformed = true; return nil }
            remaining -= 1
            return Chunk(ssrc: ssrc, cnameOffset: cnameOffset, cnameLength: cnameLength, packet: packet)
        }
    }

    public func makeIterator() -> Iterator { Iterator(packet: packet, end: end, remaining: chunkCount) }
}

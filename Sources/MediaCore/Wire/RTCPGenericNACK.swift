/// Generic NACK (RFC 4585 section 6.2.1): RTPFB, FMT 1. Each FCI item is a lost packet ID (PID)
/// and a bitmask (BLP) of the 16 packets after it that are lost too.
public struct RTCPGenericNACK {
    public static let format: UInt8 = 1

    public let senderSSRC: UInt32
    public let mediaSSRC: UInt32
    public let itemCount: Int
    let body: UnsafeRawBufferPointer

    public static func parse(_ packet: RTCPHeaderView) -> RTCPGenericNACK? {
        guard packet.packetType == RTCPPacketType.transportFeedback, packet.count == format else { return nil }
        let body = packet.body
        guard body.count >= 8, (body.count - 8) % 4 == 0 else { return nil }
        return RTCPGenericNACK(senderSSRC: body.u32(0), mediaSSRC: body.u32(4), itemCount: (body.count - 8) / 4, body: body)
    }

    public func item(_ index: Int) -> (pid: UInt16, blp: UInt16) {
        precondition(index >= 0 && index < itemCount)
        return (body.u16(8 + index * 4), body.u16(10 + index * 4))
    }

    /// Every lost sequence number, in packet order, without allocating.
    public var lostSequenceNumbers: LostSequenceNumbers { LostSequenceNumbers(nack: self) }

    public struct LostSequenceNumbers: Sequence {
        let nack: RTCPGenericNACK

        public struct Iterator: IteratorProtocol {
            let nack: RTCPGenericNACK
            var item = 0
            /// -1: the PID itself; 0...15: bit of BLP.
            var bit = -1

            public mutating func next() -> UInt16? {
                while item < nack.itemCount {
                    let (pid, blp) = nack.item(item)
                    if bit < 0 {
                        bit = 0
                        return pid
                    }
                    while bit < 16 {
                        let current = bit
                        bit += 1
                        if blp & (1 << current) != 0 { return pid &+ UInt16(current + 1) }
                    }
                    item += 1
                    bit = -1
                }
                return nil
            }
        }

        public func makeIterator() -> Iterator { Iterator(nack: nack) }
    }

    /// Writes a NACK for `lost` sequence numbers given in ascending (wrapping) order, packing
    /// them into PID+BLP items; returns the length or 0 if it does not fit or `lost` is empty.
    public static func write(senderSSRC: UInt32, mediaSSRC: UInt32, lost: UnsafeBufferPointer<UInt16>, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let first = lost.first, buffer.count >= 16 else { return 0 }
        buffer.put32(senderSSRC, at: 4)
        buffer.put32(mediaSSRC, at: 8)
        var offset = 12
        var pid = first
        var blp: UInt16 = 0
        for sequence in lost.dropFirst() {
            let distance = sequence &- pid
            if distance == 0 { continue }
            if distance <= 16 {
                blp |= 1 << (distance - 1)
                continue
            }
            guard offset + 8 <= buffer.count else { return 0 }
            buffer.put16(pid, at: offset)
            buffer.put16(blp, at: offset + 2)
            offset += 4
            pid = sequence
            blp = 0
        }
        buffer.put16(pid, at: offset)
        buffer.put16(blp, at: offset + 2)
        offset += 4
        RTCPHeaderView.writeHeader(count: format, packetType: RTCPPacketType.transportFeedback, length: offset, into: buffer)
        return offset
    }
}

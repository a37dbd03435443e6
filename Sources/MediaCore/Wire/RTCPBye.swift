/// Goodbye, BYE (RFC 3550 section 6.6): SC SSRCs leaving, and an optional reason.
public struct RTCPBye {
    public let sourceCount: Int
    let body: UnsafeRawBufferPointer
    /// Offset and length of the reason text in `body`, if present.
    let reasonRange: Range<Int>?

    public static func parse(_ packet: RTCPHeaderView) -> RTCPBye? {
        guard packet.packetType == RTCPPacketType.bye else { return nil }
        let body = packet.body
        let count = Int(packet.count)
        guard body.count >= count * 4 else { return nil }
        var reason: Range<Int>?
        if body.count > count * 4 {
            let length = Int(body[count * 4])
            guard count * 4 + 1 + length <= body.count else { return nil }
            reason = (count * 4 + 1)..<(count * 4 + 1 + length)
        }
        return RTCPBye(sourceCount: count, body: body, reasonRange: reason)
    }

    public func ssrc(_ index: Int) -> UInt32 {
        precondition(index >= 0 && index < sourceCount)
        return body.u32(index * 4)
    }

    public var reason: String? {
        reasonRange.map { String(decoding: UnsafeRawBufferPointer(rebasing: body[$0]), as: UTF8.self) }
    }

    /// Writes a BYE for up to 31 SSRCs with an optional reason (at most 255 bytes); returns its length or 0.
    public static func write(ssrcs: UnsafeBufferPointer<UInt32>, reason: String? = nil, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard ssrcs.count <= 31 else { return 0 }
        var text = reason ?? ""
        return text.withUTF8 { utf8 -> Int in
            let reasonLength = min(utf8.count, 255)
            let reasonBytes = reason == nil ? 0 : 1 + reasonLength
            let length = (4 + ssrcs.count * 4 + reasonBytes + 3) & ~3
            guard buffer.count >= length else { return 0 }
            RTCPHeaderView.writeHeader(count: UInt8(ssrcs.count), packetType: RTCPPacketType.bye, length: length, into: buffer)
            for (i, ssrc) in ssrcs.enumerated() { buffer.put32(ssrc, at: 4 + i * 4) }
            var offset = 4 + ssrcs.count * 4
            if reason != nil {
                buffer[offset] = UInt8(reasonLength)
                for i in 0..<reasonLength { buffer[offset + 1 + i] = utf8[i] }
                offset += 1 + reasonLength
            }
            for i in offset..<length { buffer[i] = 0 }
            return length
        }
    }
}

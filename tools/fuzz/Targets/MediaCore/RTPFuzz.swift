import Glibc
@testable import MediaCore

/// RTP (RFC 3550) with its header extensions (RFC 8285), the audio level (RFC 6464), the VP8 payload
/// descriptor (RFC 7741) and RTX (RFC 4588). What parses is written back and parsed again; RTX
/// wrap then unwrap must give the original packet back.
enum RTPFuzz {
    static let name = "rtp"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        _ = PacketClass.classify(data)
        try unwrapAsRTX(data)
        guard let header = RTPHeader.parse(data) else { return }
        try check(header.headerLength + header.payloadLength + header.paddingLength == data.count, name,
                  "header \(header.headerLength) + payload \(header.payloadLength) + padding \(header.paddingLength) != \(data.count)")
        for index in 0..<Int(header.csrcCount) { _ = header.csrc(index, in: data) }
        for id in UInt8(1)...UInt8(255) {
            guard let element = header.extensionElement(id: id, in: data) else { continue }
            try check(element.offset >= header.extensionOffset
                      && element.offset + element.length <= header.extensionOffset + header.extensionLength,
                      name, "extension element \(id) lies outside the extension block")
        }
        _ = RTPAudioLevel.read(from: data, header: header, extensionID: 1)
        let payload = UnsafeRawBufferPointer(rebasing: data[header.headerLength..<(header.headerLength + header.payloadLength)])
        if let vp8 = VP8PayloadDescriptor.parse(payload) {
            try check(vp8.descriptorLength <= payload.count, name, "VP8 descriptor longer than the payload")
            if let offset = vp8.pictureIDOffset {
                try check(offset + (vp8.pictureIDIs15Bit ? 2 : 1) <= vp8.descriptorLength, name, "PictureID outside the descriptor")
            }
            if let offset = vp8.tl0PicIdxOffset { try check(offset < vp8.descriptorLength, name, "TL0PICIDX outside the descriptor") }
        }
        try writeBack(header, data)
        try rtxRoundTrip(header, data)
    }

    /// Writes the header (one-byte extensions re-encoded, no CSRCs, no padding) and the payload, and
    /// parses the result: every field and every one-byte extension element must come back.
    private static func writeBack(_ header: RTPHeader, _ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var elements = [UInt8](repeating: 0, count: 14 * 17)
        var elementsLength = 0
        if header.usesOneByteExtensions {
            elements.withUnsafeMutableBytes { out in
                for id in UInt8(1)...UInt8(14) {
                    guard let e = header.extensionElement(id: id, in: data), (1...16).contains(e.length) else { continue }
                    elementsLength += RTPHeader.encodeOneByteElement(
                        id: id, data: UnsafeRawBufferPointer(rebasing: data[e.offset..<(e.offset + e.length)]), into: out, at: elementsLength)
                }
            }
        }
        let capacity = 16 + 14 * 17 + 4 + header.payloadLength
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { out.deallocate() }
        let headerLength = elements.withUnsafeBytes { raw in
            RTPHeader.write(marker: header.marker, payloadType: header.payloadType, sequenceNumber: header.sequenceNumber,
                            timestamp: header.timestamp, ssrc: header.ssrc,
                            oneByteExtensions: elementsLength > 0 ? UnsafeRawBufferPointer(rebasing: raw[0..<elementsLength]) : nil,
                            into: out)
        }
        try check(headerLength > 0, name, "RTPHeader.write refused a header that parsed")
        UnsafeMutableRawBufferPointer(rebasing: out[headerLength..<(headerLength + header.payloadLength)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: data[header.headerLength..<(header.headerLength + header.payloadLength)]))
        let written = UnsafeRawBufferPointer(rebasing: out[0..<(headerLength + header.payloadLength)])
        guard let again = RTPHeader.parse(written) else { throw FuzzFailure(name, "written header does not parse") }
        try check(again.marker == header.marker && again.payloadType == header.payloadType
                  && again.sequenceNumber == header.sequenceNumber && again.timestamp == header.timestamp
                  && again.ssrc == header.ssrc && again.payloadLength == header.payloadLength, name, "fields changed on write-back")
        if header.usesOneByteExtensions {
            for id in UInt8(1)...UInt8(14) {
                let before = header.extensionElement(id: id, in: data).flatMap { (1...16).contains($0.length) ? $0 : nil }
                let after = again.extensionElement(id: id, in: written)
                try check((before == nil) == (after == nil), name, "extension \(id) lost or invented on write-back")
                if let before, let after {
                    try check(before.length == after.length
                              && memcmp(data.baseAddress! + before.offset, written.baseAddress! + after.offset, before.length) == 0,
                              name, "extension \(id) data changed on write-back")
                }
            }
        }
    }

    /// RTX wrap then unwrap (RFC 4588 section 4) gives back the original without its padding.
    private static func rtxRoundTrip(_ header: RTPHeader, _ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let capacity = data.count + RTXPacket.osnLength
        let out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer { out.deallocate() }
        let length = RTXPacket.wrap(original: data, header: header, rtxPayloadType: 97, rtxSSRC: 0x5AB4_A000,
                                    rtxSequence: 4242, into: out, capacity: capacity)
        try check(length == header.headerLength + RTXPacket.osnLength + header.payloadLength, name, "RTX wrap length \(length)")
        guard let rtxHeader = RTPHeader.parse(UnsafeRawBufferPointer(start: out, count: length)) else {
            throw FuzzFailure(name, "RTX packet does not parse")
        }
        guard let restored = RTXPacket.unwrap(out, length: length, header: rtxHeader, mediaPayloadType: header.payloadType,
                                              mediaSSRC: header.ssrc) else {
            throw FuzzFailure(name, "RTX unwrap refused its own wrap")
        }
        try check(restored == header.headerLength + header.payloadLength, name, "RTX unwrap length \(restored)")
        let original = data.baseAddress!
        try check(out.load(as: UInt8.self) == original.load(as: UInt8.self) & ~0x20
                  && memcmp(out + 1, original + 1, restored - 1) == 0, name, "RTX round trip changed the packet")
    }

    /// Any bytes taken for an RTX packet and restored in place, as the worker does on receipt.
    private static func unwrapAsRTX(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let header = RTPHeader.parse(data) else { return }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 8)
        defer { copy.deallocate() }
        copy.copyMemory(from: data.baseAddress!, byteCount: data.count)
        guard let length = RTXPacket.unwrap(copy, length: data.count, header: header, mediaPayloadType: 96, mediaSSRC: 1) else { return }
        try check(length <= data.count, name, "RTX unwrap grew the packet")
        try check(RTPHeader.parse(UnsafeRawBufferPointer(start: copy, count: length)) != nil, name, "restored RTX packet does not parse")
    }
}

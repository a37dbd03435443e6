/// RTP retransmission payload format (RFC 4588 section 4), session-multiplexed: a retransmitted
/// packet travels on its own SSRC and payload type with its own sequence numbers, and its payload
/// starts with the 2-byte original sequence number (OSN) followed by the original payload.
/// Sending repairs this way (instead of resending the original as is) keeps the viewer's
/// receive statistics and bandwidth estimate honest: RFC 4588 section 1 explains why a plain
/// resend on the media SSRC confuses loss and jitter reporting.
///
/// Also writes padding-only packets (RFC 3550 section 5.1, P bit): bandwidth probes sent on the
/// RTX stream, which receivers drop after feeding their congestion controller.
///
/// Pure functions over caller-owned memory: no allocation, no state.
enum RTXPacket {
    /// Length of the original sequence number field at the start of an RTX payload.
    static let osnLength = 2
    /// Most padding one packet can carry: the count is one byte (RFC 3550 section 5.1).
    static let maxPaddingLength = 255

    /// Writes the RTX form of `original` into `out`: the original header bytes (marker,
    /// timestamp, CSRCs and header extensions kept) with `rtxPayloadType`, `rtxSSRC` and
    /// `rtxSequence` in place of the media ones and the P bit cleared, then the OSN, then the
    /// original payload without its padding (RFC 4588 section 4: padding belongs to the
    /// original packet's transport, not to the data being repaired).
    ///
    /// - Parameter header: `RTPHeader.parse(original)`.
    /// - Returns: the RTX packet's length, or 0 when `original` is shorter than `header`
    ///   describes, `rtxPayloadType` is not 7 bits, or the result does not fit in `capacity`.
    static func wrap(
        original: UnsafeRawBufferPointer, header: RTPHeader, rtxPayloadType: UInt8, rtxSSRC: UInt32,
        rtxSequence: UInt16, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int {
        let headerLength = header.headerLength
        let payloadLength = header.payloadLength
        guard let source = original.baseAddress, rtxPayloadType < 128, headerLength >= RTPHeader.fixedHeaderLength,
              payloadLength >= 0, headerLength + payloadLength <= original.count else { return 0 }
        let total = headerLength + osnLength + payloadLength
        guard total <= capacity else { return 0 }

        out.copyMemory(from: source, byteCount: headerLength)
        out.storeBytes(of: out.load(as: UInt8.self) & ~0x20, as: UInt8.self)  // no padding
        RTPHeader.setPayloadType(rtxPayloadType, in: out)
        RTPHeader.setSequenceNumber(rtxSequence, in: out)
        RTPHeader.setSSRC(rtxSSRC, in: out)
        out.storeBytes(of: header.sequenceNumber.bigEndian, toByteOffset: headerLength, as: UInt16.self)
        (out + headerLength + osnLength).copyMemory(from: source + headerLength, byteCount: payloadLength)
        return total
    }

    /// Turns a received RTX packet back into the original media packet in place: the OSN
    /// becomes the sequence number, `mediaPayloadType` and `mediaSSRC` replace the RTX ones,
    /// the OSN bytes are removed and any padding is dropped (P bit cleared).
    ///
    /// - Parameter header: `RTPHeader.parse` of the `length` bytes at `packet`.
    /// - Returns: the restored packet's length, or nil when the payload is shorter than the OSN
    ///   — padding-only RTX packets are bandwidth probes with nothing to restore — or when
    ///   `length` is shorter than `header` describes.
    static func unwrap(
        _ packet: UnsafeMutableRawPointer, length: Int, header: RTPHeader, mediaPayloadType: UInt8, mediaSSRC: UInt32
    ) -> Int? {
        let headerLength = header.headerLength
        let payloadLength = header.payloadLength
        guard headerLength >= RTPHeader.fixedHeaderLength, payloadLength >= osnLength,
              headerLength + payloadLength + header.paddingLength <= length else { return nil }
        let osn = UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: headerLength, as: UInt16.self))
        let mediaLength = payloadLength - osnLength
        // The ranges overlap; copyMemory is a memmove.
        (packet + headerLength).copyMemory(from: packet + headerLength + osnLength, byteCount: mediaLength)
        packet.storeBytes(of: packet.load(as: UInt8.self) & ~0x20, as: UInt8.self)
        RTPHeader.setPayloadType(mediaPayloadType, in: packet)
        RTPHeader.setSequenceNumber(osn, in: packet)
        RTPHeader.setSSRC(mediaSSRC, in: packet)
        return headerLength + mediaLength
    }

    /// Writes a padding-only RTP packet: P bit set, no marker, no payload, `paddingLength` bytes
    /// of padding whose last byte is the count (RFC 3550 section 5.1). A probe needing more than
    /// 255 bytes is several of these with consecutive sequence numbers.
    ///
    /// When `extensionID` is 1–14 and `extensionData` is 1–16 bytes, one one-byte-form header
    /// extension element (RFC 8285 section 4.2) is added, so the caller can stamp a
    /// transport-wide sequence number (the probe only helps the estimator if it carries one).
    ///
    /// - Returns: the packet's length, or 0 when `paddingLength` is outside 1...255, the
    ///   extension is invalid, or the packet does not fit in `buffer`.
    static func writePadding(
        payloadType: UInt8, ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32, paddingLength: Int,
        extensionID: UInt8 = 0, extensionData: UnsafeRawBufferPointer? = nil,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard (1...maxPaddingLength).contains(paddingLength) else { return 0 }
        let headerLength = RTPHeader.write(
            marker: false, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp,
            ssrc: ssrc, padding: true, into: buffer)
        guard headerLength > 0 else { return 0 }
        var offset = headerLength

        if extensionID != 0 || extensionData != nil {
            guard let data = extensionData else { return 0 }
            let elementLength = 1 + data.count
            let blockLength = (elementLength + 3) & ~3
            guard offset + 4 + blockLength <= buffer.count else { return 0 }
            let written = RTPHeader.encodeOneByteElement(id: extensionID, data: data, into: buffer, at: offset + 4)
            guard written == elementLength else { return 0 }
            buffer[0] |= 0x10
            buffer.put16(RTPHeader.oneByteProfile, at: offset)
            buffer.put16(UInt16(blockLength / 4), at: offset + 2)
            for i in (offset + 4 + elementLength)..<(offset + 4 + blockLength) { buffer[i] = 0 }
            offset += 4 + blockLength
        }

        guard offset + paddingLength <= buffer.count else { return 0 }
        for i in offset..<(offset + paddingLength - 1) { buffer[i] = 0 }
        buffer[offset + paddingLength - 1] = UInt8(paddingLength)
        return offset + paddingLength
    }
}

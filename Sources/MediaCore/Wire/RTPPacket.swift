/// A non-allocating view of an RTP fixed header (RFC 3550 section 5.1) with its CSRC list,
/// header extension block (RFC 8285) and padding. Offsets refer to the bytes it was parsed from.
public struct RTPHeader: Sendable, Hashable {
    public static let fixedHeaderLength = 12
    /// Profile of the one-byte header extension form (RFC 8285 section 4.2).
    public static let oneByteProfile: UInt16 = 0xBEDE
    /// Two-byte form (RFC 8285 section 4.3): 0x100 followed by 4 application bits.
    public static let twoByteProfileMask: UInt16 = 0xFFF0
    public static let twoByteProfile: UInt16 = 0x1000

    public var version: UInt8
    public var padding: Bool
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var csrcCount: UInt8
    /// True when the X bit is set (then `extensionProfile` and the block offsets are valid).
    public var hasExtension: Bool
    /// The 16-bit "defined by profile" field of the extension header (0xBEDE, 0x100X, ...).
    public var extensionProfile: UInt16
    /// Offset of the first extension element (after the 4-byte extension header).
    public var extensionOffset: Int
    /// Length in bytes of the extension elements (the header's length field × 4).
    public var extensionLength: Int
    /// Offset of the payload.
    public var headerLength: Int
    /// Payload bytes, padding excluded.
    public var payloadLength: Int
    /// Padding bytes at the end (including the count byte); 0 without the P bit.
    public var paddingLength: Int

    /// Parses the header of an RTP packet; nil unless version is 2 and the CSRC list, extension
    /// block and padding all fit in the packet.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> RTPHeader? {
        guard bytes.count >= fixedHeaderLength else { return nil }
        let first = bytes[0]
        guard first >> 6 == 2 else { return nil }
        let padding = first & 0x20 != 0
        let hasExtension = first & 0x10 != 0
        let csrcCount = first & 0x0F
        var headerLength = fixedHeaderLength + 4 * Int(csrcCount)
        guard headerLength <= bytes.count else { return nil }

        var profile: UInt16 = 0
        var extensionOffset = 0
        var extensionLength = 0
        if hasExtension {
            guard headerLength + 4 <= bytes.count else { return nil }
            profile = bytes.u16(headerLength)
            extensionLength = 4 * Int(bytes.u16(headerLength + 2))
            extensionOffset = headerLength + 4
            headerLength = extensionOffset + extensionLength
            guard headerLength <= bytes.count else { return nil }
        }

        var paddingLength = 0
        if padding {
            guard bytes.count > headerLength else { return nil }
            paddingLength = Int(bytes[bytes.count - 1])
            guard paddingLength >= 1, paddingLength <= bytes.count - headerLength else { return nil }
        }
        let second = bytes[1]
        return RTPHeader(
            version: 2, padding: padding, marker: second & 0x80 != 0, payloadType: second & 0x7F,
            sequenceNumber: bytes.u16(2), timestamp: bytes.u32(4), ssrc: bytes.u32(8), csrcCount: csrcCount,
            hasExtension: hasExtension, extensionProfile: profile, extensionOffset: extensionOffset,
            extensionLength: extensionLength, headerLength: headerLength,
            payloadLength: bytes.count - headerLength - paddingLength, paddingLength: paddingLength)
    }

    /// The CSRC at `index` (< csrcCount) from the bytes this header was parsed from.
    public func csrc(_ index: Int, in bytes: UnsafeRawBufferPointer) -> UInt32 {
        precondition(index < Int(csrcCount))
        return bytes.u32(Self.fixedHeaderLength + 4 * index)
    }

    public var usesOneByteExtensions: Bool { hasExtension && extensionProfile == Self.oneByteProfile }
    public var usesTwoByteExtensions: Bool {
        hasExtension && extensionProfile & Self.twoByteProfileMask == Self.twoByteProfile
    }

    /// Finds the header extension element with `id` (RFC 8285): returns the offset and length of
    /// its data in `bytes`, or nil when absent, when the block uses another profile or when the
    /// elements before it are malformed.
    public func extensionElement(id: UInt8, in bytes: UnsafeRawBufferPointer) -> (offset: Int, length: Int)? {
        guard hasExtension, id != 0, extensionOffset + extensionLength <= bytes.count else { return nil }
        let end = extensionOffset + extensionLength
        var offset = extensionOffset
        if usesOneByteExtensions {
            guard id < 15 else { return nil }
            while offset < end {
                let byte = bytes[offset]
                if byte == 0 { offset += 1; continue }  // padding
                let elementID = byte >> 4
                if elementID == 15 { return nil }  // reserved: stop parsing (RFC 8285 section 4.2)
                let length = Int(byte & 0x0F) + 1
                guard offset + 1 + length <= end else { return nil }
                if elementID == id { return (offset + 1, length) }
                offset += 1 + length
            }
            return nil
        }
        if usesTwoByteExtensions {
            while offset < end {
                let elementID = bytes[offset]
                if elementID == 0 { offset += 1; continue }  // padding
                guard offset + 2 <= end else { return nil }
                let length = Int(bytes[offset + 1])
                guard offset + 2 + length <= end else { return nil }
                if elementID == id { return (offset + 2, length) }
                offset += 2 + length
            }
        }
        return nil
    }

    // MARK: - Writing

    /// Writes a 12-byte RTP header (no CSRCs), plus a one-byte-form extension block holding
    /// `oneByteExtensions` (already-encoded elements, see `encodeOneByteElement`) padded to a
    /// multiple of 4. Returns the header length (where the payload goes), 0 if it does not fit.
    public static func write(
        marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
        oneByteExtensions: UnsafeRawBufferPointer? = nil, padding: Bool = false,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let elements = oneByteExtensions?.count ?? 0
        let blockLength = (elements + 3) & ~3
        let total = fixedHeaderLength + (elements > 0 ? 4 + blockLength : 0)
        guard buffer.count >= total, payloadType < 128, blockLength / 4 <= Int(UInt16.max) else { return 0 }
        buffer[0] = 0x80 | (padding ? 0x20 : 0) | (elements > 0 ? 0x10 : 0)
        buffer[1] = (marker ? 0x80 : 0) | payloadType
        buffer.put16(sequenceNumber, at: 2)
        buffer.put32(timestamp, at: 4)
        buffer.put32(ssrc, at: 8)
        if let extensions = oneByteExtensions, elements > 0 {
            buffer.put16(oneByteProfile, at: 12)
            buffer.put16(UInt16(blockLength / 4), at: 14)
            UnsafeMutableRawBufferPointer(rebasing: buffer[16..<(16 + elements)]).copyMemory(from: extensions)
            for i in (16 + elements)..<(16 + blockLength) { buffer[i] = 0 }
        }
        return total
    }

    /// Encodes one one-byte-form element (id 1–14, 1–16 data bytes) at `offset`; returns the
    /// bytes written (1 + data length) or 0 when invalid or out of room.
    public static func encodeOneByteElement(
        id: UInt8, data: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> Int {
        guard (1...14).contains(id), (1...16).contains(data.count), offset >= 0,
              offset + 1 + data.count <= buffer.count else { return 0 }
        buffer[offset] = id << 4 | UInt8(data.count - 1)
        UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + 1)..<(offset + 1 + data.count)]).copyMemory(from: data)
        return 1 + data.count
    }

    // MARK: - In-place rewriting (the caller has parsed the packet, so 12 bytes are there)

    @inline(__always)
    public static func setSequenceNumber(_ value: UInt16, in packet: UnsafeMutableRawPointer) {
        packet.storeBytes(of: value.bigEndian, toByteOffset: 2, as: UInt16.self)
    }

    @inline(__always)
    public static func setTimestamp(_ value: UInt32, in packet: UnsafeMutableRawPointer) {
        packet.storeBytes(of: value.bigEndian, toByteOffset: 4, as: UInt32.self)
    }

    @inline(__always)
    public static func setSSRC(_ value: UInt32, in packet: UnsafeMutableRawPointer) {
        packet.storeBytes(of: value.bigEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// Replaces the payload type and keeps the marker bit.
    @inline(__always)
    public static func setPayloadType(_ value: UInt8, in packet: UnsafeMutableRawPointer) {
        let second = packet.load(fromByteOffset: 1, as: UInt8.self)
        packet.storeBytes(of: (second & 0x80) | (value & 0x7F), toByteOffset: 1, as: UInt8.self)
    }

    @inline(__always)
    public static func setMarker(_ value: Bool, in packet: UnsafeMutableRawPointer) {
        let second = packet.load(fromByteOffset: 1, as: UInt8.self)
        packet.storeBytes(of: (second & 0x7F) | (value ? 0x80 : 0), toByteOffset: 1, as: UInt8.self)
    }
}

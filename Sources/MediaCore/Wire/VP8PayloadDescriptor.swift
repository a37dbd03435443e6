/// The VP8 payload descriptor at the start of every VP8 RTP payload (RFC 7741 section 4.2),
/// read for layer selection (TID), keyframe detection and PictureID/TL0PICIDX rewriting.
public struct VP8PayloadDescriptor: Sendable, Hashable {
    /// X: the extension byte (I/L/T/K) is present.
    public var extended: Bool
    /// N: the frame can be dropped without hurting others.
    public var nonReference: Bool
    /// S: this packet starts a VP8 partition.
    public var startOfPartition: Bool
    /// PID: the partition index.
    public var partitionIndex: UInt8
    /// PictureID (7 or 15 bits) if I is set.
    public var pictureID: UInt16?
    /// True when the PictureID uses the 15-bit form (M bit set).
    public var pictureIDIs15Bit: Bool
    /// Offset of the PictureID field in the payload, for rewriting in place.
    public var pictureIDOffset: Int?
    /// TL0PICIDX if L is set.
    public var tl0PicIdx: UInt8?
    public var tl0PicIdxOffset: Int?
    /// TID (temporal layer) if T is set.
    public var temporalLayerID: UInt8?
    /// Y: layer sync (only meaningful with T).
    public var layerSync: Bool
    /// KEYIDX if K is set.
    public var keyIndex: UInt8?
    /// Bytes of the descriptor; the VP8 payload header follows.
    public var descriptorLength: Int
    /// S=1, PID=0 and the VP8 payload header's P (inverse key frame) bit is 0: the first packet
    /// of a keyframe (RFC 7741 section 4.3).
    public var isKeyframeStart: Bool

    /// Parses the descriptor at the start of `payload` (the RTP payload); nil if it is cut short.
    public static func parse(_ payload: UnsafeRawBufferPointer) -> VP8PayloadDescriptor? {
        guard payload.count >= 1 else { return nil }
        let first = payload[0]
        var descriptor = VP8PayloadDescriptor(
            extended: first & 0x80 != 0, nonReference: first & 0x20 != 0, startOfPartition: first & 0x10 != 0,
            partitionIndex: first & 0x07, pictureID: nil, pictureIDIs15Bit: false, pictureIDOffset: nil,
            tl0PicIdx: nil, tl0PicIdxOffset: nil, temporalLayerID: nil, layerSync: false, keyIndex: nil,
            descriptorLength: 1, isKeyframeStart: false)
        var offset = 1
        if descriptor.extended {
            guard payload.count > offset else { return nil }
            let flags = payload[offset]
            offset += 1
            if flags & 0x80 != 0 {  // I
                guard payload.count > offset else { return nil }
                descriptor.pictureIDOffset = offset
                if payload[offset] & 0x80 != 0 {
                    guard payload.count > offset + 1 else { return nil }
                    descriptor.pictureID = payload.u16(offset) & 0x7FFF
                    descriptor.pictureIDIs15Bit = true
                    offset += 2
                } else {
                    descriptor.pictureID = UInt16(payload[offset])
                    offset += 1
                }
            }
            if flags & 0x40 != 0 {  // L
                guard payload.count > offset else { return nil }
                descriptor.tl0PicIdxOffset = offset
                descriptor.tl0PicIdx = payload[offset]
                offset += 1
            }
            if flags & 0x30 != 0 {  // T or K
                guard payload.count > offset else { return nil }
                let byte = payload[offset]
                if flags & 0x20 != 0 {
                    descriptor.temporalLayerID = byte >> 6
                    descriptor.layerSync = byte & 0x20 != 0
                }
                if flags & 0x10 != 0 { descriptor.keyIndex = byte & 0x1F }
                offset += 1
            }
        }
        descriptor.descriptorLength = offset
        descriptor.isKeyframeStart = descriptor.startOfPartition && descriptor.partitionIndex == 0
            && payload.count > offset && payload[offset] & 0x01 == 0
        return descriptor
    }
}

/// What the worker reads once from an incoming RTP packet, so that every consumer of it decides and
/// rewrites without parsing again: its layer, and for VP8 the payload descriptor fields that matter.
struct IncomingPacket {
    var header: RTPHeader
    /// Simulcast layer (index into the producer's layers); 0 for a single stream.
    var spatialLayer: Int = 0
    /// VP8 TID; 0 when the stream has no temporal layers (and for audio).
    var temporalLayer: UInt8 = 0
    /// Y bit: a frame a decoder can switch up to its temporal layer at.
    var layerSync = false
    /// First packet of a frame (S=1, PID=0); temporal switches happen here.
    var frameStart = true
    /// First packet of a keyframe; spatial switches happen here. Always true for audio.
    var keyframeStart = true
    /// VP8 PictureID and where it sits in the packet (absolute offset), -1 when absent.
    var pictureID: UInt16 = 0
    var pictureIDOffset = -1
    var pictureID15Bit = false
    /// VP8 TL0PICIDX and its absolute offset, -1 when absent.
    var tl0PicIdx: UInt8 = 0
    var tl0PicIdxOffset = -1

    /// Where the bytes a consumer rewrites end (absolute offset, one past the PictureID or TL0PICIDX, whichever
    /// comes last; the header's end when there are none). The payload after it goes out as it came, so it is
    /// encrypted straight from the received packet (`SRTPContext.protectRTP(_:length:payload:)`), not copied.
    var rewrittenEnd: Int {
        var end = header.headerLength
        if pictureIDOffset >= 0 { end = max(end, pictureIDOffset + (pictureID15Bit ? 2 : 1)) }
        if tl0PicIdxOffset >= 0 { end = max(end, tl0PicIdxOffset + 1) }
        return end
    }

    init(header: RTPHeader) {
        self.header = header
    }

    /// Reads the VP8 payload descriptor (RFC 7741 §4.2); false when the payload is too short to hold one.
    @inline(__always)
    mutating func readVP8(_ packet: UnsafeRawBufferPointer) -> Bool {
        let start = header.headerLength
        let payload = UnsafeRawBufferPointer(rebasing: packet[start..<(start + header.payloadLength)])
        guard let descriptor = VP8PayloadDescriptor.parse(payload) else { return false }
        temporalLayer = descriptor.temporalLayerID ?? 0
        layerSync = descriptor.layerSync
        frameStart = descriptor.startOfPartition && descriptor.partitionIndex == 0
        keyframeStart = descriptor.isKeyframeStart
        if let id = descriptor.pictureID, let offset = descriptor.pictureIDOffset {
            pictureID = id
            pictureIDOffset = start + offset
            pictureID15Bit = descriptor.pictureIDIs15Bit
        }
        if let index = descriptor.tl0PicIdx, let offset = descriptor.tl0PicIdxOffset {
            tl0PicIdx = index
            tl0PicIdxOffset = start + offset
        }
        return true
    }
}

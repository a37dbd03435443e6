/// One outgoing copy of a producer to one subscriber: rewrites SSRC, payload type, sequence numbers and
/// header extensions into the subscriber's view, then the subscriber's transport encrypts it.
final class Consumer {
    let id: ConsumerID
    unowned let transport: WebRTCTransport
    unowned let producer: Producer
    let parameters: ConsumerParameters
    /// The MID value as bytes, written into the MID header extension when the subscriber negotiated it.
    let midBytes: [UInt8]

    /// Video starts at a keyframe: before it, the decoder can only show garbage or ask again.
    var waitingForKeyframe: Bool
    /// Added to the producer's sequence numbers; chosen at the first forwarded packet so that the subscriber
    /// sees a sequence starting at a random point, continuous from then on.
    var sequenceDelta: UInt16 = 0
    var started = false
    var initialSequence: UInt16
    var packetsSent: UInt64 = 0
    var octetsSent: UInt64 = 0
    var lastTimestamp: UInt32 = 0
    /// The viewer's cap from its tile size (`MediaEngine.setPreferredLayers`); highest by default.
    var preferredSpatial = Int.max
    var preferredTemporal = Int.max

    init(id: ConsumerID, transport: WebRTCTransport, producer: Producer, parameters: ConsumerParameters) {
        self.id = id
        self.transport = transport
        self.producer = producer
        self.parameters = parameters
        self.midBytes = Array(parameters.mid.utf8.prefix(16))
        self.waitingForKeyframe = producer.parameters.kind == .video
        self.initialSequence = UInt16.random(in: 1000...30000)
    }
}

// MARK: - Packet path (MediaWorker.forward and ForwardingBench run exactly this)

extension Consumer {
    /// Video starts at a keyframe: false until the first packet of one arrives (the caller then asks
    /// the publisher for a keyframe); true for every packet after it.
    @inline(__always)
    func admits(_ header: RTPHeader, _ packet: UnsafeRawBufferPointer) -> Bool {
        guard waitingForKeyframe else { return true }
        let payload = UnsafeRawBufferPointer(rebasing: packet[header.headerLength..<(header.headerLength + header.payloadLength)])
        guard let descriptor = VP8PayloadDescriptor.parse(payload), descriptor.isKeyframeStart else { return false }
        waitingForKeyframe = false
        return true
    }

    /// Writes the producer's packet into `out` in the subscriber's terms and returns its length (not yet
    /// protected): RTP fixed header (RFC 3550 5.1) with our SSRC, payload type and shifted sequence number,
    /// the MID extension if negotiated, then the payload. The publisher's CSRCs and extensions are dropped.
    /// `out` must hold the header (at most 36 bytes), the payload and the SRTP trailer.
    @inline(__always)
    func rewrite(_ header: RTPHeader, _ packet: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int {
        if !started {
            started = true
            sequenceDelta = initialSequence &- header.sequenceNumber
        }
        let hasMid = parameters.extensions.mid != 0 && !midBytes.isEmpty
        out.storeBytes(of: hasMid ? 0x90 : 0x80, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: (header.marker ? 0x80 : 0) | parameters.payloadType, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: (header.sequenceNumber &+ sequenceDelta).bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: header.timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: parameters.ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        var offset = 12
        if hasMid {
            // RFC 8285 one-byte form: 0xBEDE, length in words, then id<<4 | (len-1), value, zero padding.
            let count = midBytes.count
            let words = (1 + count + 3) / 4
            out.storeBytes(of: UInt16(0xBEDE).bigEndian, toByteOffset: 12, as: UInt16.self)
            out.storeBytes(of: UInt16(words).bigEndian, toByteOffset: 14, as: UInt16.self)
            out.storeBytes(of: (parameters.extensions.mid << 4) | UInt8(count - 1), toByteOffset: 16, as: UInt8.self)
            midBytes.withUnsafeBytes { (out + 17).copyMemory(from: $0.baseAddress!, byteCount: count) }
            for pad in (17 + count)..<(16 + words * 4) { out.storeBytes(of: 0, toByteOffset: pad, as: UInt8.self) }
            offset = 16 + words * 4
        }
        (out + offset).copyMemory(from: packet.baseAddress! + header.headerLength, byteCount: header.payloadLength)
        return offset + header.payloadLength
    }

    /// Counts a packet that `rewrite` wrote and the subscriber's SRTP session protected.
    @inline(__always)
    func noteForwarded(_ header: RTPHeader) {
        packetsSent &+= 1
        octetsSent &+= UInt64(header.payloadLength)
        lastTimestamp = header.timestamp
    }
}

/// One outgoing copy of a producer to one subscriber. For video it forwards one spatial layer (simulcast) up
/// to one temporal layer, switching spatial layers only at a keyframe of the new one and temporal layers
/// at frame starts, and rewrites sequence numbers, timestamps, PictureID and TL0PICIDX so the viewer sees
/// one continuous stream whatever we switch or drop.
final class Consumer {
    let id: ConsumerID
    /// The viewer's transport and the stream copied, unretained and unchecked (`unowned(unsafe)`, as mediasoup's
    /// raw pointers): read for every copy, where `unowned`'s check and retain cost more than the rewrite. Safe
    /// because a consumer is detached from both before either leaves the worker's tables (`WorkerTables`
    /// asserts it), and nothing reaches a detached consumer.
    unowned(unsafe) let transport: WebRTCTransport
    unowned(unsafe) let producer: Producer
    let parameters: ConsumerParameters
    /// The MID value as bytes, written into the MID header extension when the subscriber negotiated it.
    let midBytes: [UInt8]
    let isVideo: Bool
    let clockRate: UInt32

    // The fields the packet path writes are `@exclusivity(unchecked)`: only the worker thread touches a
    // consumer, and the dynamic checks cost more than the rewriting itself (callgrind, docs/performance.md).

    /// The layer being forwarded (-1: none yet, waiting for a keyframe) and the one we want.
    @exclusivity(unchecked) var currentSpatial: Int
    var targetSpatial: Int = 0
    @exclusivity(unchecked) var currentTemporal: Int = Int(UInt8.max)
    var targetTemporal: Int = Int(UInt8.max)
    /// The viewer's cap from its tile size (`MediaEngine.setPreferredLayers`); highest by default.
    var preferredSpatial = Int.max
    var preferredTemporal = Int.max
    /// A higher layer the allocator would choose, and since when it has kept choosing it: upgrades wait
    /// until the estimate has held for a while, downgrades happen at once.
    var pendingUpgrade: (spatial: Int, temporal: Int)?
    var pendingUpgradeSinceMs: Int64 = 0
    /// Set when a spatial or temporal switch happened, so the worker reports it once.
    @exclusivity(unchecked) var layersChanged = false
    /// mediasoup's `consumer.pause()`: nothing of the stream is forwarded (the viewer does not show it, e.g. a tile
    /// on another page of its grid). Resuming waits for a keyframe (`resumeAtKeyframe`).
    @exclusivity(unchecked) var paused = false

    @exclusivity(unchecked) private var sequence = SequenceRewriter(bits: 16)
    @exclusivity(unchecked) private var pictureIDs = SequenceRewriter(bits: 15)
    @exclusivity(unchecked) private var tl0PicIdxs = SequenceRewriter(bits: 8)
    /// output timestamp = input − timestampOffset; recomputed at each spatial switch.
    @exclusivity(unchecked) private var timestampOffset: UInt32 = 0
    @exclusivity(unchecked) private var lastTimestamp: UInt32 = 0
    @exclusivity(unchecked) private var lastForwardMs: Int64 = 0
    let initialSequence: UInt16
    /// RTX sequence numbers (RFC 4588: the repair stream has its own).
    var rtxSequence: UInt16

    let sent: SentPacketLog?
    @exclusivity(unchecked) var packetsSent: UInt64 = 0
    @exclusivity(unchecked) var octetsSent: UInt64 = 0

    init(id: ConsumerID, transport: WebRTCTransport, producer: Producer, parameters: ConsumerParameters) {
        self.id = id
        self.transport = transport
        self.producer = producer
        self.parameters = parameters
        self.midBytes = Array(parameters.mid.utf8.prefix(16))
        self.isVideo = producer.parameters.kind == .video
        self.clockRate = max(1, producer.parameters.clockRate)
        self.currentSpatial = -1
        self.initialSequence = UInt16.random(in: 1000...30000)
        self.rtxSequence = UInt16.random(in: 1000...30000)
        self.sent = isVideo ? SentPacketLog() : nil
    }

    /// Video starts at a keyframe: before it, the decoder can only show garbage or ask again. A paused consumer
    /// waits for nothing.
    var waitingForKeyframe: Bool { isVideo && currentSpatial < 0 && !paused }

    /// The timestamp of the newest packet sent, for padding probes on the repair stream.
    var lastSentTimestamp: UInt32 { lastTimestamp }
    /// The viewer's RTP time for an RTP time of the layer it is on now.
    func outputTimestamp(forInput timestamp: UInt32) -> UInt32 { timestamp &- timestampOffset }

    var isStarted: Bool { sequence.started }

    /// The most header bytes `write` puts before the payload: the 12-byte fixed header, the one-byte-form
    /// extension block (4) with the MID (1 + up to 16) and the transport-wide sequence (3), padded to 36, and the
    /// original sequence number of an RTX packet (2).
    static let maxHeaderLength = 38

    /// The largest payload a consumer can forward from a pool buffer: room for `maxHeaderLength` and the SRTP
    /// trailer. The worker refuses (counts `tooLarge`) any media packet with a larger payload before routing it.
    static let maxPayloadLength = PacketBufferPool.bufferSize - maxHeaderLength - SRTPContext.maxTrailerLength

    /// After a pause: start again as at a spatial switch, from the next keyframe (the next packet, for audio), with
    /// every number continuing from the last one sent, so the viewer sees neither a gap to NACK nor a jump. The
    /// target is capped at the viewer's wish at once, so the keyframe asked for is one of the layer it will get
    /// (the allocator skipped the consumer while it was paused).
    func resumeAtKeyframe() {
        currentSpatial = -1
        targetSpatial = max(0, min(targetSpatial, preferredSpatial, producer.layers.count - 1))
        pendingUpgrade = nil
    }

    /// For benchmarks: forward layer 0 from the next packet on, as after a keyframe.
    func startWithoutKeyframe() {
        currentSpatial = 0
        targetSpatial = 0
        sequence.sync(input: 0, initial: initialSequence)
    }
}

/// Sequence number, timestamp, PictureID and TL0PICIDX a packet gets in the viewer's stream.
struct OutgoingNumbers {
    var sequence: UInt16
    var timestamp: UInt32
    var pictureID: UInt16
    var tl0PicIdx: UInt8
}

// MARK: - Packet path (MediaWorker.forward, also under WorkerBench)

extension Consumer {
    /// Decides whether `packet` goes to this viewer and, if so, with which numbers. Returns nil for packets
    /// of other layers, of temporal layers above the current one (their numbers are hidden), and while
    /// waiting for a keyframe of the target layer (`needsKeyframe` tells the caller to ask for one).
    @inline(__always)
    func accept(_ packet: IncomingPacket, nowMs: Int64, needsKeyframe: inout Bool) -> OutgoingNumbers? {
        if packet.spatialLayer != currentSpatial {
            guard packet.spatialLayer == targetSpatial else { return nil }
            guard packet.keyframeStart else {
                needsKeyframe = true
                return nil
            }
            switchSpatial(to: packet, nowMs: nowMs)
        } else if currentSpatial != targetSpatial && isVideo {
            // Still on the old layer: keep forwarding it, and make sure the new one's keyframe is coming.
            needsKeyframe = true
        }
        if isVideo {
            if packet.frameStart && currentTemporal != targetTemporal
                && (targetTemporal < currentTemporal || packet.temporalLayer == 0 || packet.layerSync) {
                currentTemporal = targetTemporal
                layersChanged = true
            }
            if Int(packet.temporalLayer) > currentTemporal {
                sequence.drop(packet.header.sequenceNumber)
                if packet.pictureIDOffset >= 0 { pictureIDs.drop(packet.pictureID) }
                return nil
            }
        }
        let timestamp = packet.header.timestamp &- timestampOffset
        if Int32(bitPattern: timestamp &- lastTimestamp) > 0 || packetsSent == 0 {
            lastTimestamp = timestamp
            lastForwardMs = nowMs
        }
        return OutgoingNumbers(
            sequence: sequence.map(packet.header.sequenceNumber),
            timestamp: timestamp,
            pictureID: packet.pictureIDOffset >= 0 ? pictureIDs.map(packet.pictureID) : 0,
            tl0PicIdx: packet.tl0PicIdxOffset >= 0 ? UInt8(truncatingIfNeeded: tl0PicIdxs.map(UInt16(packet.tl0PicIdx))) : 0)
    }

    /// Starts forwarding another spatial layer at its keyframe: every number continues from the last one sent.
    private func switchSpatial(to packet: IncomingPacket, nowMs: Int64) {
        let header = packet.header
        if sequence.started {
            // The new layer's timestamps have their own random base: continue ours by the time that passed.
            let elapsed = UInt32(truncatingIfNeeded: max(1, nowMs - lastForwardMs)) &* (clockRate / 1000)
            let timestamp = lastTimestamp &+ max(1, elapsed)
            timestampOffset = header.timestamp &- timestamp
            lastTimestamp = timestamp
        } else {
            timestampOffset = 0
            lastTimestamp = header.timestamp
        }
        lastForwardMs = nowMs
        sequence.sync(input: header.sequenceNumber, initial: initialSequence)
        if packet.pictureIDOffset >= 0 { pictureIDs.sync(input: packet.pictureID, initial: packet.pictureID) }
        if packet.tl0PicIdxOffset >= 0 { tl0PicIdxs.sync(input: UInt16(packet.tl0PicIdx), initial: UInt16(packet.tl0PicIdx)) }
        currentSpatial = packet.spatialLayer
        // A keyframe starts every temporal layer afresh.
        currentTemporal = targetTemporal
        layersChanged = true
    }

    /// Writes `packet` into `out` in the subscriber's terms and returns its length (not yet protected):
    /// RTP fixed header (RFC 3550 5.1) with our SSRC, payload type and `numbers`, the MID and transport-wide
    /// sequence extensions if negotiated (`transportSequence` < 0: none), then the payload with the VP8
    /// PictureID/TL0PICIDX rewritten. The publisher's CSRCs and other extensions are dropped. As RTX
    /// (RFC 4588) it goes on the repair SSRC with its own sequence number and the original one first in
    /// the payload. `out` must hold the header (at most 40 bytes), the payload and the SRTP trailer.
    /// With `payloadEnd` (an offset in `bytes`, at least `packet.rewrittenEnd`) the payload is written only up to
    /// there: the caller has the rest protected from where it lies (`PacketSender.sendRTP(payload:)`).
    @inline(__always)
    func write(_ packet: IncomingPacket, _ bytes: UnsafeRawBufferPointer, _ numbers: OutgoingNumbers,
               transportSequence: Int, rtx: Bool, payloadEnd: Int? = nil, into out: UnsafeMutableRawPointer) -> Int {
        let header = packet.header
        let hasMid = parameters.extensions.mid != 0 && !midBytes.isEmpty
        let hasTransportSequence = transportSequence >= 0 && parameters.extensions.transportWideCC != 0
        let hasExtensions = hasMid || hasTransportSequence
        out.storeBytes(of: hasExtensions ? 0x90 : 0x80, toByteOffset: 0, as: UInt8.self)
        let payloadType = rtx ? parameters.rtxPayloadType : parameters.payloadType
        out.storeBytes(of: (header.marker ? 0x80 : 0) | payloadType, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: (rtx ? rtxSequence : numbers.sequence).bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: numbers.timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: (rtx ? parameters.rtxSSRC : parameters.ssrc).bigEndian, toByteOffset: 8, as: UInt32.self)
        var offset = 12
        if hasExtensions {
            // RFC 8285 one-byte form: 0xBEDE, length in words, then id<<4 | (len-1), value; zero padding.
            var element = 16
            if hasMid {
                let count = midBytes.count
                out.storeBytes(of: (parameters.extensions.mid << 4) | UInt8(count - 1), toByteOffset: element, as: UInt8.self)
                midBytes.withUnsafeBytes { (out + element + 1).copyMemory(from: $0.baseAddress!, byteCount: count) }
                element += 1 + count
            }
            if hasTransportSequence {
                out.storeBytes(of: (parameters.extensions.transportWideCC << 4) | 1, toByteOffset: element, as: UInt8.self)
                out.storeBytes(of: UInt16(truncatingIfNeeded: transportSequence).bigEndian, toByteOffset: element + 1, as: UInt16.self)
                element += 3
            }
            let words = (element - 16 + 3) / 4
            for pad in element..<(16 + words * 4) { out.storeBytes(of: 0, toByteOffset: pad, as: UInt8.self) }
            out.storeBytes(of: UInt16(0xBEDE).bigEndian, toByteOffset: 12, as: UInt16.self)
            out.storeBytes(of: UInt16(words).bigEndian, toByteOffset: 14, as: UInt16.self)
            offset = 16 + words * 4
        }
        if rtx {
            out.storeBytes(of: numbers.sequence.bigEndian, toByteOffset: offset, as: UInt16.self)
            offset += 2
        }
        let copied = payloadEnd.map { $0 - header.headerLength } ?? header.payloadLength
        (out + offset).copyMemory(from: bytes.baseAddress! + header.headerLength, byteCount: copied)
        // The descriptor fields sit at the same place relative to the payload start.
        let shift = offset - header.headerLength
        if packet.pictureIDOffset >= 0 {
            if packet.pictureID15Bit {
                out.storeBytes(of: (0x8000 | numbers.pictureID).bigEndian, toByteOffset: packet.pictureIDOffset + shift, as: UInt16.self)
            } else {
                out.storeBytes(of: UInt8(truncatingIfNeeded: numbers.pictureID) & 0x7F, toByteOffset: packet.pictureIDOffset + shift, as: UInt8.self)
            }
        }
        if packet.tl0PicIdxOffset >= 0 {
            out.storeBytes(of: numbers.tl0PicIdx, toByteOffset: packet.tl0PicIdxOffset + shift, as: UInt8.self)
        }
        return offset + copied
    }

    /// Counts a packet that `write` wrote and the subscriber's SRTP session protected, and remembers it for NACKs.
    @inline(__always)
    func noteForwarded(_ packet: IncomingPacket, _ numbers: OutgoingNumbers) {
        packetsSent &+= 1
        octetsSent &+= UInt64(packet.header.payloadLength)
        sent?.record(sequence: numbers.sequence, sourceSequence: packet.header.sequenceNumber, layer: packet.spatialLayer,
                     timestamp: numbers.timestamp, pictureID: numbers.pictureID, tl0PicIdx: numbers.tl0PicIdx)
    }
}

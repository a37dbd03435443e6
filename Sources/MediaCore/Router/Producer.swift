/// One incoming media source of a publisher (one m-line): a single RTP stream, or up to three simulcast
/// layers, lowest first. Its consumers each pick the layer their viewer can take.
/// On a worker other than the publisher's, a *mirror* stands for it (no transport): fed by a `PacketPipe`,
/// it has the layers, rates and retransmission buffers its local consumers need.
final class Producer {
    let id: ProducerID
    /// The publisher's transport; nil for a mirror.
    unowned let transport: WebRTCTransport?
    /// The worker that receives this producer from the publisher.
    let home: Int
    let parameters: ProducerParameters
    let layers: ContiguousArray<ProducerLayer>
    var consumers: ContiguousArray<Consumer> = []
    /// The room's active-speaker detector, for audio producers that send RFC 6464 levels.
    var speakers: RoomSpeakers?
    /// Viewers' PLIs and FIRs, aggregated per layer into few requests to the publisher.
    var keyframeRequests = KeyframeRequestThrottle()
    /// Workers with consumers of this producer (each gets a copy of every packet), and how many consumers
    /// each has there; on the home worker only.
    var pipes: ContiguousArray<Int> = []
    var pipeReferences: [Int: Int] = [:]
    /// A recorder's copy of every packet (MediaTap); on the home worker only.
    var tap: PacketPipe?
    /// Relays to other nodes with viewers of this producer (each gets every media packet, under its own SSRCs);
    /// on the home worker only.
    var relays: ContiguousArray<ProducerRelay> = []

    var isMirror: Bool { transport == nil }

    /// RFC 6464 levels feed the room's active-speaker detector when the publisher sends them.
    var audioLevelID: UInt8 { parameters.kind == .audio ? parameters.extensions.audioLevel : 0 }

    /// A producer received on `home` through `transport`, or (transport nil) a mirror of one received on `home`.
    /// Mirrors never NACK: the home worker recovers losses from the publisher before piping.
    /// `retransmissions: false` gives its layers no retransmission buffers (the worker's memory limit was reached).
    init(id: ProducerID, transport: WebRTCTransport?, home: Int, parameters: ProducerParameters, retransmissions: Bool = true) {
        self.id = id
        self.transport = transport
        self.home = home
        self.parameters = parameters
        let video = parameters.kind == .video
        let nack = parameters.feedback.contains(.nack) && transport != nil
        let slots = retransmissions ? Self.retransmissionSlots(parameters) : []
        func slotsOf(_ index: Int) -> Int { index < slots.count ? slots[index] : 0 }
        if parameters.encodings.count > 1 {
            layers = ContiguousArray(parameters.encodings.prefix(Self.maxLayers).enumerated().map { index, encoding in
                ProducerLayer(index: index, rid: encoding.rid, ssrc: encoding.ssrc ?? 0, rtxSSRC: encoding.rtxSSRC ?? 0,
                              video: video, nack: nack, retransmissionSlots: slotsOf(index))
            })
        } else {
            let rid = parameters.encodings.first?.rid ?? ""
            layers = [ProducerLayer(index: 0, rid: rid, ssrc: parameters.encodings.first?.ssrc ?? parameters.ssrcs.first ?? 0,
                                    rtxSSRC: parameters.encodings.first?.rtxSSRC ?? parameters.rtxSSRC ?? 0,
                                    video: video, nack: nack, retransmissionSlots: slotsOf(0))]
        }
    }

    /// Packets each layer keeps for NACKs: about a second of each layer at browser bitrates (the viewer's jitter
    /// buffer gives up after that, `RetransmissionBuffer.maxAgeMs`): 128, 256 and 512 for simulcast q/h/f, 512
    /// for a single video stream; none for audio (Opus is not NACKed).
    static func retransmissionSlots(_ parameters: ProducerParameters) -> [Int] {
        guard parameters.kind == .video else { return [] }
        let count = min(max(parameters.encodings.count, 1), maxLayers)
        if count == 1 { return [512] }
        return (0..<count).map { 512 >> (count - 1 - $0) }
    }

    /// Bytes the layers' retransmission buffers hold.
    var retransmissionBytes: Int { layers.reduce(0) { $0 + $1.retransmissionBytes } }

    /// What `retransmissionBytes` would be with buffers (before deciding whether there is room).
    static func retransmissionBytes(_ parameters: ProducerParameters) -> Int {
        retransmissionSlots(parameters).reduce(0, +) * ProducerLayer.retransmissionSlotSize
    }

    static let maxLayers = 3

    var isSimulcast: Bool { layers.count > 1 }

    /// The media SSRC of the lowest layer (single streams: the stream's), 0 before the first packet.
    var ssrc: UInt32 { layers[0].ssrc }

    /// The layer whose RID is `rid` (bytes of the RID header extension), if any.
    func layer(rid: UnsafeRawBufferPointer) -> ProducerLayer? {
        for layer in layers where layer.rid.count == rid.count {
            if layer.rid.withUnsafeBytes({ $0.elementsEqual(rid) }) { return layer }
        }
        return nil
    }

    /// The highest layer that is arriving now and is at most `spatial`; else the lowest arriving one; nil if
    /// nothing arrives.
    func bestActiveLayer(atMost spatial: Int, nowMs: Int64) -> Int? {
        var best: Int?
        for layer in layers where layer.isActive(nowMs: nowMs) {
            if layer.index <= spatial { best = layer.index } else if best == nil { return layer.index }
        }
        return best
    }
}

/// One relay a producer is sent over, and the SSRC each of its layers has there (the other node's copy of the
/// producer announces them, so its packets bind by SSRC).
struct ProducerRelay {
    // Unowned (unsafe): the relay's teardown removes this entry first (`WorkerTables.remove`), and the packet path
    // reads it without reference counting.
    unowned(unsafe) let transport: WebRTCTransport
    let ssrcs: (UInt32, UInt32, UInt32)

    @inline(__always)
    func ssrc(layer: Int) -> UInt32 {
        switch layer {
        case 0: return ssrcs.0
        case 1: return ssrcs.1
        default: return ssrcs.2
        }
    }
}

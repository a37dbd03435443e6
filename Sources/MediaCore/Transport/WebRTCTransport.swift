/// One peer's ICE-lite + DTLS-SRTP association on a worker, or a relay to another node of the cluster (SRTP with
/// keys from the control plane, no ICE or DTLS: `isRelay`). Owned by the worker thread.
final class WebRTCTransport {
    let id: TransportID
    let room: String
    let label: String
    /// ICE credentials; an ICE restart changes them (`WorkerTables.restartICE`).
    var localUfrag: String
    var localPasswordKey: [UInt8]
    var remoteUfrag: String
    /// nil for a relay, whose keys come from the control plane.
    let dtls: DTLSEndpoint?
    /// A relay between two nodes (mediasoup's PipeTransport): found by the SSRCs the other node sends with
    /// (`WorkerTables.relaysBySSRC`) rather than by a checked address, and exempt from ICE consent.
    let isRelay: Bool

    /// Candidate addresses that passed a connectivity check (bounded), and the one media goes to.
    var addresses: [TransportAddress] = []
    var selected: TransportAddress?
    var lastConsentMs: Int64
    var createdMs: Int64

    var srtpInbound: SRTPContext?
    var srtpOutbound: SRTPContext? {
        didSet { outboundSRTP = srtpOutbound.map { Unmanaged.passUnretained($0) } }
    }
    /// `srtpOutbound` and `sendHistory` as the packet path reads them: unretained (kept alive by those two
    /// properties), so that a copy to a viewer costs no reference counting for them (`PacketSender.sendRTP`).
    private(set) var outboundSRTP: Unmanaged<SRTPContext>?
    private(set) var outboundHistory: Unmanaged<TransportWideSendHistory>?
    var profile: SRTPProfile?
    var closed = false

    var producers: [Producer] = []
    /// Incoming SSRC → producer layer (media or RTX), bound from the SDP or on first sight.
    var streamsBySSRC: [UInt32: StreamBinding] = [:]
    var consumers: [Consumer] = []
    var consumersBySSRC: [UInt32: Consumer] = [:]
    /// Our SSRC as the sender of RTCP feedback (RR, PLI, NACK, TWCC) on this transport.
    let rtcpSSRC: UInt32
    /// On a relay out of this node: the SSRC each relayed producer layer goes out with, for the other node's
    /// keyframe requests.
    var relayedLayers: [UInt32: RelayedLayer] = [:]
    /// A relay's other node; `selected` (where media goes) once the relay is started.
    var relayRemote: TransportAddress?

    // Publisher side: transport-wide feedback we send (when the publisher negotiated transport-cc).
    var transportWideFeedback: TransportWideFeedbackBuilder?
    var transportWideIDIn: UInt8 = 0

    // Viewer side: transport-wide sequence numbers on what we send, and the estimate built from the feedback.
    var sendHistory: TransportWideSendHistory? {
        didSet { outboundHistory = sendHistory.map { Unmanaged.passUnretained($0) } }
    }
    var estimator: SendSideBandwidthEstimator?
    /// Bits per second the layer selection wanted last time (for probing) and what we sent in the last window.
    var wantedBitrate = 0
    @exclusivity(unchecked) var sentOctets: UInt64 = 0
    var sendingBitrate = 0
    /// Media bytes forwarded (retransmissions and padding left out) in the last window, and their rate: what
    /// caps the retransmission budget.
    @exclusivity(unchecked) var mediaOctets: UInt64 = 0
    var mediaBitrate = 0
    /// Padding bytes still to send in this probe slot.
    var paddingDebt = 0
    /// Bytes we may still resend in this layer-update period: NACK storms on a congested link must not make it
    /// worse, and a viewer that NACKs everything must not make us resend many times the stream (issue 13: NACKs
    /// naming a second of packets drew 7× the stream's bitrate). At most half of what media sends, and of the
    /// estimate when there is one (`retransmitBudget(mediaBitrate:estimate:)`, each layer update).
    var retransmitBudget = WebRTCTransport.minimumRetransmitBudget
    /// Bytes held by the retransmission buffers of this transport's producers.
    var retransmissionBytes = 0

    var isConnected: Bool { srtpOutbound != nil }

    /// Bytes a viewer may have resent in one layer-update period: half of the media we forward to it, and of its
    /// estimate when it has one (a viewer's feedback could inflate the estimate, not the media we send), but at
    /// least a few packets so a thin stream (audio-only, a low layer) still gets its losses repaired.
    static func retransmitBudget(mediaBitrate: Int, estimate: Int?) -> Int {
        let bitrate = min(mediaBitrate, estimate ?? .max)
        return max(minimumRetransmitBudget, bitrate / 8 * Int(WorkerTiming.layerUpdateIntervalMs) / 1000 / 2)
    }

    /// Four full-size packets per period.
    static let minimumRetransmitBudget = 4 * 1200

    /// Probe padding bytes sent per step (each loop turn, ≤ 5 ms apart while probing).
    static let paddingStepBytes = 2_000

    init(id: TransportID, parameters: TransportParameters, localUfrag: String, localPassword: String,
         dtls: DTLSEndpoint, now: Int64) {
        self.id = id
        self.room = parameters.room
        self.label = parameters.label
        self.localUfrag = localUfrag
        self.localPasswordKey = Array(localPassword.utf8)
        self.remoteUfrag = parameters.remoteUfrag
        self.dtls = dtls
        self.isRelay = false
        self.rtcpSSRC = UInt32.random(in: 1...UInt32.max)
        self.lastConsentMs = now
        self.createdMs = now
    }

    /// A relay to `remote`: media goes there from the start, with the keys the two nodes agreed on (installed by
    /// the worker). It has no ICE credentials: `localUfrag` is empty, which no connectivity check can name.
    init(id: TransportID, relay parameters: RelayParameters, remote: TransportAddress, now: Int64) {
        self.id = id
        self.room = parameters.room
        self.label = parameters.label
        self.localUfrag = ""
        self.localPasswordKey = []
        self.remoteUfrag = ""
        self.dtls = nil
        self.isRelay = true
        self.rtcpSSRC = parameters.rtcpSSRC
        self.relayRemote = remote
        self.selected = parameters.waitsForStart ? nil : remote
        self.lastConsentMs = now
        self.createdMs = now
    }

    /// The producer layer an incoming RTP packet belongs to: by SSRC once bound; else bound on first sight by
    /// the MID and RID (or repaired RID) header extensions, by SSRCs the SDP announced, or by payload type for a
    /// single stream (each accepted m-line has its own codec), so peers that announce no a=ssrc still work.
    @inline(__always)
    func binding(for header: RTPHeader, _ packet: UnsafeRawBufferPointer) -> StreamBinding? {
        if let binding = streamsBySSRC[header.ssrc] { return binding }
        return bindNewStream(header, packet)
    }

    private func bindNewStream(_ header: RTPHeader, _ packet: UnsafeRawBufferPointer) -> StreamBinding? {
        let ssrc = header.ssrc
        // SSRCs announced in the SDP.
        for producer in producers {
            for layer in producer.layers {
                if layer.ssrc == ssrc { return bind(ssrc, StreamBinding(producer: producer, layer: layer.index, isRTX: false)) }
                if layer.rtxSSRC == ssrc { return bind(ssrc, StreamBinding(producer: producer, layer: layer.index, isRTX: true)) }
            }
        }
        // The MID extension names the m-line; else the payload type does.
        var candidate: Producer?
        if let first = producers.first, first.parameters.extensions.mid != 0,
           let element = header.extensionElement(id: first.parameters.extensions.mid, in: packet) {
            let mid = UnsafeRawBufferPointer(rebasing: packet[element.offset..<(element.offset + element.length)])
            candidate = producers.first { $0.parameters.mid.utf8.elementsEqual(mid) }
        }
        if candidate == nil {
            candidate = producers.first { producer in
                (producer.parameters.payloadType == header.payloadType
                    || (producer.parameters.rtxPayloadType != 0 && producer.parameters.rtxPayloadType == header.payloadType))
                    && (producer.parameters.ssrcs.isEmpty || producer.parameters.ssrcs.contains(ssrc) || producer.isSimulcast)
            }
        }
        guard let producer = candidate else { return nil }
        let isRTX = producer.parameters.rtxPayloadType != 0 && header.payloadType == producer.parameters.rtxPayloadType
        var layer: ProducerLayer?
        let ridID = isRTX ? producer.parameters.extensions.repairedRid : producer.parameters.extensions.rid
        if ridID != 0, let element = header.extensionElement(id: ridID, in: packet) {
            layer = producer.layer(rid: UnsafeRawBufferPointer(rebasing: packet[element.offset..<(element.offset + element.length)]))
        } else if !producer.isSimulcast {
            layer = producer.layers[0]
        }
        guard let layer else { return nil }
        // A publisher that restarts a stream with a new SSRC (renegotiation): follow it, and free the old one.
        if isRTX {
            if layer.rtxSSRC != 0 && layer.rtxSSRC != ssrc { unbind(layer.rtxSSRC) }
            layer.rtxSSRC = ssrc
        } else {
            if layer.ssrc != 0 && layer.ssrc != ssrc { unbind(layer.ssrc) }
            layer.ssrc = ssrc
        }
        return bind(ssrc, StreamBinding(producer: producer, layer: layer.index, isRTX: isRTX))
    }

    private func unbind(_ ssrc: UInt32) {
        streamsBySSRC[ssrc] = nil
        srtpInbound?.removeStream(ssrc)
    }

    private func bind(_ ssrc: UInt32, _ binding: StreamBinding) -> StreamBinding? {
        guard streamsBySSRC.count < incomingStreamLimit else { return nil }
        streamsBySSRC[ssrc] = binding
        // Learnt from the packet (RID, MID, payload type): from now on a stream of a producer, kept in SRTP.
        srtpInbound?.registerStream(ssrc)
        return binding
    }

    /// Media and repair streams this transport may bind: two per layer of each producer, and a few spare for a
    /// publisher that restarts a stream with a new SSRC before the old binding is dropped.
    var incomingStreamLimit: Int {
        producers.reduce(8) { $0 + 2 * $1.layers.count }
    }

    // MARK: - SRTP state that follows the streams

    /// Sizes the SRTP tables for what the transport carries now and registers every stream it knows: on the
    /// inbound side the producers' SSRCs, and room for the peer's RTCP SSRCs (one per receiving transceiver
    /// with some clients); on the outbound side each consumer's media and RTX SSRC and our RTCP SSRC.
    /// Called when SRTP starts and whenever a producer or consumer is added (allocates; not the packet path).
    /// False when some stream found no room (`SRTPContext.maxStreams`): its packets are dropped as `srtpStreamLimit`.
    @discardableResult
    func followStreams() -> Bool {
        var room = true
        if let inbound = srtpInbound {
            inbound.reserveStreams(incomingStreamLimit + consumers.count + 8)
            for producer in producers {
                for layer in producer.layers {
                    if layer.ssrc != 0 { room = inbound.registerStream(layer.ssrc) && room }
                    if layer.rtxSSRC != 0 { room = inbound.registerStream(layer.rtxSSRC) && room }
                }
            }
        }
        if let outbound = srtpOutbound {
            outbound.reserveStreams(2 * consumers.count + relayedLayers.count + 1)
            room = outbound.registerStream(rtcpSSRC) && room
            for ssrc in relayedLayers.keys { room = outbound.registerStream(ssrc) && room }
            for consumer in consumers {
                room = outbound.registerStream(consumer.parameters.ssrc) && room
                if consumer.parameters.rtxSSRC != 0 { room = outbound.registerStream(consumer.parameters.rtxSSRC) && room }
            }
        }
        return room
    }

    /// A consumer left this transport: its outbound SSRCs are freed.
    func forgetStreams(of consumer: Consumer) {
        srtpOutbound?.removeStream(consumer.parameters.ssrc)
        if consumer.parameters.rtxSSRC != 0 { srtpOutbound?.removeStream(consumer.parameters.rtxSSRC) }
    }

    /// A producer of this transport closed: its inbound SSRCs are freed.
    func forgetStreams(of producer: Producer) {
        for layer in producer.layers {
            if layer.ssrc != 0 { srtpInbound?.removeStream(layer.ssrc) }
            if layer.rtxSSRC != 0 { srtpInbound?.removeStream(layer.rtxSSRC) }
        }
    }
}

/// A producer layer sent over a relay, as the relay's SSRC names it.
struct RelayedLayer {
    unowned let producer: Producer
    let layer: Int
}

/// Where an incoming SSRC goes: a producer's layer, as media or as RTX (RFC 4588) to unwrap first.
struct StreamBinding {
    unowned let producer: Producer
    let layer: Int
    let isRTX: Bool
}

/// One peer's ICE-lite + DTLS-SRTP association on a worker. Owned by the worker thread.
final class WebRTCTransport {
    let id: TransportID
    let room: String
    let label: String
    let localUfrag: String
    let localPasswordKey: [UInt8]
    let remoteUfrag: String
    let dtls: DTLSEndpoint

    /// Candidate addresses that passed a connectivity check (bounded), and the one media goes to.
    var addresses: [TransportAddress] = []
    var selected: TransportAddress?
    var lastConsentMs: Int64
    var createdMs: Int64

    var srtpInbound: SRTPContext?
    var srtpOutbound: SRTPContext?
    var profile: SRTPProfile?
    var closed = false

    var producers: [Producer] = []
    var producersBySSRC: [UInt32: Producer] = [:]
    var consumers: [Consumer] = []
    var consumersBySSRC: [UInt32: Consumer] = [:]
    /// Our SSRC as the sender of RTCP feedback (RR, PLI) on this transport.
    let rtcpSSRC: UInt32 = UInt32.random(in: 1...UInt32.max)

    var isConnected: Bool { srtpOutbound != nil }

    init(id: TransportID, parameters: TransportParameters, localUfrag: String, localPassword: String,
         dtls: DTLSEndpoint, now: Int64) {
        self.id = id
        self.room = parameters.room
        self.label = parameters.label
        self.localUfrag = localUfrag
        self.localPasswordKey = Array(localPassword.utf8)
        self.remoteUfrag = parameters.remoteUfrag
        self.dtls = dtls
        self.lastConsentMs = now
        self.createdMs = now
    }

    /// The producer an incoming RTP packet belongs to: by SSRC, else bound on first sight by payload type
    /// (each accepted m-line has its own codec), so peers that announce no a=ssrc still work.
    @inline(__always)
    func producer(ssrc: UInt32, payloadType: UInt8) -> Producer? {
        if let producer = producersBySSRC[ssrc] { return producer }
        for producer in producers where producer.parameters.payloadType == payloadType {
            if producer.parameters.ssrcs.isEmpty || producer.parameters.ssrcs.contains(ssrc) {
                producer.ssrc = ssrc
                producersBySSRC[ssrc] = producer
                return producer
            }
        }
        return nil
    }
}

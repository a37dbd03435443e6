// Control-plane types shared between MediaCore and its users (Signalling).
// Nothing here is on the packet path: these values cross the command ring once per setup.

/// Identifies a transport (one ICE/DTLS association with one peer) across the process.
public struct TransportID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "t\(rawValue)" }
}

/// Identifies a producer (one incoming media stream) across the process.
public struct ProducerID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "p\(rawValue)" }
}

/// Identifies a consumer (one outgoing copy of a producer to one subscriber).
public struct ConsumerID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "c\(rawValue)" }
}

public enum MediaKind: String, Sendable, Hashable {
    case audio
    case video
}

/// SRTP protection profiles we negotiate through DTLS use_srtp (RFC 5764, RFC 7714).
public enum SRTPProfile: String, Sendable, CaseIterable, Hashable {
    case aeadAES128GCM = "SRTP_AEAD_AES_128_GCM"
    case aes128CMHMACSHA1_80 = "SRTP_AES128_CM_SHA1_80"
}

/// The SDP a=fingerprint of a peer's DTLS certificate.
public struct DTLSFingerprint: Sendable, Hashable {
    /// Hash function name as in SDP, lower case: "sha-256".
    public var algorithm: String
    /// Upper-case hex bytes separated by colons.
    public var value: String
    public init(algorithm: String, value: String) {
        self.algorithm = algorithm.lowercased()
        self.value = value.uppercased()
    }
}

/// What the control plane asks for when it creates a transport from a remote offer.
public struct TransportParameters: Sendable {
    /// Room the transport belongs to. A room's publishing transports live on one worker (its home).
    public var room: String
    /// Free text for logs: "whip alice", "whep bob".
    public var label: String
    public var remoteUfrag: String
    public var remotePassword: String
    public var remoteFingerprints: [DTLSFingerprint]
    /// A viewer that only consumes (WHEP): with several workers it is placed round-robin on any of them, and
    /// what it consumes from another worker is piped there. Others stay on the room's worker.
    public var receiveOnly: Bool
    public init(room: String, label: String, remoteUfrag: String, remotePassword: String, remoteFingerprints: [DTLSFingerprint],
                receiveOnly: Bool = false) {
        self.receiveOnly = receiveOnly
        self.room = room
        self.label = label
        self.remoteUfrag = remoteUfrag
        self.remotePassword = remotePassword
        self.remoteFingerprints = remoteFingerprints
    }
}

/// What the control plane writes into the answer for a new transport.
public struct TransportDescription: Sendable {
    public var id: TransportID
    public var localUfrag: String
    public var localPassword: String
    /// Our DTLS certificate fingerprint ("sha-256").
    public var fingerprint: DTLSFingerprint
    /// The preferred host candidate: the first announced IP and the worker's UDP port (the answer's c= line).
    public var candidateIP: String
    public var candidatePort: UInt16
    /// Every host candidate, most preferred first: UDP for each announced address, then passive ICE-TCP.
    public var candidates: [ICECandidate]

    public init(id: TransportID, localUfrag: String, localPassword: String, fingerprint: DTLSFingerprint,
                candidateIP: String, candidatePort: UInt16, candidates: [ICECandidate]? = nil) {
        self.id = id
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.fingerprint = fingerprint
        self.candidateIP = candidateIP
        self.candidatePort = candidatePort
        self.candidates = candidates ?? ICECandidate.hostCandidates(addresses: [candidateIP], port: candidatePort, tcp: false)
    }
}

/// RTP header extension ids (RFC 8285) negotiated with one peer; 0 = not negotiated.
public struct HeaderExtensionIDs: Sendable, Hashable {
    public var mid: UInt8 = 0
    public var rid: UInt8 = 0
    public var repairedRid: UInt8 = 0
    public var audioLevel: UInt8 = 0
    public var absSendTime: UInt8 = 0
    public var transportWideCC: UInt8 = 0
    public init() {}
}

/// RTCP feedback a peer negotiated for a stream (a=rtcp-fb, RFC 4585/5104, transport-cc, goog-remb).
public struct RTCPFeedbackSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Generic NACK (RFC 4585 "nack").
    public static let nack = RTCPFeedbackSet(rawValue: 1 << 0)
    /// Picture loss indication ("nack pli").
    public static let pli = RTCPFeedbackSet(rawValue: 1 << 1)
    /// Full intra request ("ccm fir", RFC 5104).
    public static let fir = RTCPFeedbackSet(rawValue: 1 << 2)
    /// Transport-wide congestion control feedback ("transport-cc").
    public static let transportCC = RTCPFeedbackSet(rawValue: 1 << 3)
    /// Receiver estimated maximum bitrate ("goog-remb").
    public static let remb = RTCPFeedbackSet(rawValue: 1 << 4)
}

/// One simulcast encoding of a publisher's stream (RFC 8853), bound to an SSRC by the RID header
/// extension or by a=ssrc-group:SIM. A producer's encodings are ordered lowest spatial layer first.
public struct ProducerEncoding: Sendable, Hashable {
    /// RTP stream id ("q", "h", "f"); empty when the encoding is known only by its SSRC.
    public var rid: String
    /// Media SSRC when the offer announced it; otherwise learned from the first packet carrying `rid`.
    public var ssrc: UInt32?
    /// Repair (RTX) SSRC when announced (a=ssrc-group:FID); otherwise learned from the repaired-RID extension.
    public var rtxSSRC: UInt32?
    public init(rid: String, ssrc: UInt32? = nil, rtxSSRC: UInt32? = nil) {
        self.rid = rid
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
    }
}

/// An incoming stream on a publisher's transport.
public struct ProducerParameters: Sendable {
    public var kind: MediaKind
    public var mid: String
    /// Media SSRCs announced in the offer (a=ssrc); may be empty when the peer relies on MID.
    public var ssrcs: [UInt32]
    public var payloadType: UInt8
    public var clockRate: UInt32
    public var extensions: HeaderExtensionIDs
    /// Simulcast encodings, lowest first; empty for a single stream.
    public var encodings: [ProducerEncoding]
    /// The publisher's RTX payload type (RFC 4588, apt = `payloadType`); 0 when not negotiated.
    public var rtxPayloadType: UInt8
    /// The repair SSRC of a single (non-simulcast) stream when announced (a=ssrc-group:FID).
    public var rtxSSRC: UInt32?
    /// Feedback the publisher accepts from us (NACK, PLI, FIR, transport-cc).
    public var feedback: RTCPFeedbackSet
    public init(kind: MediaKind, mid: String, ssrcs: [UInt32], payloadType: UInt8, clockRate: UInt32, extensions: HeaderExtensionIDs,
                encodings: [ProducerEncoding] = [], rtxPayloadType: UInt8 = 0, rtxSSRC: UInt32? = nil,
                feedback: RTCPFeedbackSet = [.nack, .pli]) {
        self.kind = kind
        self.mid = mid
        self.ssrcs = ssrcs
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.extensions = extensions
        self.encodings = encodings
        self.rtxPayloadType = rtxPayloadType
        self.rtxSSRC = rtxSSRC
        self.feedback = feedback
    }
}

/// What a consumer carries, for sharing a viewer's bandwidth: screen share and the active speaker come first.
public enum MediaSource: String, Sendable, Hashable {
    case camera
    case screen
    case microphone
}

/// An outgoing copy of a producer on a subscriber's transport.
public struct ConsumerParameters: Sendable {
    public var producer: ProducerID
    public var mid: String
    /// SSRC we send with (we pick it and announce it in the answer).
    public var ssrc: UInt32
    /// The subscriber's payload type for the codec.
    public var payloadType: UInt8
    public var extensions: HeaderExtensionIDs
    /// The subscriber's RTX payload type for the codec (RFC 4588); 0 = retransmit on the media SSRC.
    public var rtxPayloadType: UInt8
    /// SSRC for RTX and padding probes (announced in a=ssrc-group:FID); 0 when RTX is not negotiated.
    public var rtxSSRC: UInt32
    /// Feedback the subscriber sends us (NACK, PLI, FIR, transport-cc, goog-remb).
    public var feedback: RTCPFeedbackSet
    public var source: MediaSource
    public init(producer: ProducerID, mid: String, ssrc: UInt32, payloadType: UInt8, extensions: HeaderExtensionIDs,
                rtxPayloadType: UInt8 = 0, rtxSSRC: UInt32 = 0, feedback: RTCPFeedbackSet = [.nack, .pli],
                source: MediaSource = .camera) {
        self.producer = producer
        self.mid = mid
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.extensions = extensions
        self.rtxPayloadType = rtxPayloadType
        self.rtxSSRC = rtxSSRC
        self.feedback = feedback
        self.source = source
    }
}

public enum TransportCloseReason: String, Sendable {
    case requested          // the control plane closed it (DELETE, leave)
    case consentExpired     // no ICE consent for the timeout (RFC 7675)
    case dtlsFailed         // handshake failed or fingerprint mismatch
    case dtlsClosed         // peer sent close_notify
    case producerGone       // a subscriber whose only producer disappeared
    case shutdown
}

/// Events a worker reports to the control plane.
public enum MediaEvent: Sendable {
    case transportConnected(TransportID, SRTPProfile)
    case transportClosed(TransportID, TransportCloseReason)
    case producerClosed(ProducerID)
    case consumerClosed(ConsumerID, TransportID)
    /// The loudest publisher of a room changed (RFC 6464 audio levels, with hysteresis); nil = silence.
    case activeSpeaker(room: String, producer: ProducerID?)
    /// A video consumer now forwards this spatial/temporal layer of its producer.
    case consumerLayersChanged(ConsumerID, spatial: Int, temporal: Int)
}

/// Process-wide counters, read by /metrics and tests.
public struct MediaStats: Sendable, Codable {
    public var transports: Int = 0
    public var producers: Int = 0
    public var consumers: Int = 0
    public var poolBuffersInUse: Int = 0
    public var poolBuffersTotal: Int = 0
    public var packetsReceived: UInt64 = 0
    public var packetsSent: UInt64 = 0
    public var rtpForwarded: UInt64 = 0
    /// Packets lost on the way in that the publisher resent as RTX after our NACK.
    public var packetsRecovered: UInt64 = 0
    /// NACKed packets viewers asked for / that we resent from the retransmission buffers.
    public var nackedPacketsReceived: UInt64 = 0
    public var packetsRetransmitted: UInt64 = 0
    /// Packets we asked publishers to resend (our own NACKs for losses on the way in).
    public var nackedPacketsSent: UInt64 = 0
    /// PLIs sent to publishers (after aggregation across viewers).
    public var keyframeRequestsSent: UInt64 = 0
    /// Spatial layer switches done by consumers; padding packets sent to probe bandwidth.
    public var layerSwitches: UInt64 = 0
    public var paddingPacketsSent: UInt64 = 0
    /// Packets copied from the worker that receives a producer to another worker with viewers of it.
    public var packetsPiped: UInt64 = 0
    /// Packets sent to other nodes of a cluster over relays (one per relay per packet of a relayed producer).
    public var packetsRelayed: UInt64 = 0
    /// Bytes held by retransmission buffers (recent packets kept to answer NACKs), and producers that got none
    /// because `MediaEngineConfiguration.retransmissionMemoryPer*` was reached.
    public var retransmissionBufferBytes: Int = 0
    public var retransmissionBuffersRefused: UInt64 = 0
    /// Open ICE-TCP connections, and those refused or evicted because a worker had its maximum open.
    public var iceTCPConnections: Int = 0
    public var iceTCPConnectionsRefused: UInt64 = 0
    /// Dropped datagrams by reason: "malformed", "unknownSource", "stunBadIntegrity", "stunUnknownUser",
    /// "srtpAuthFailed", "srtpReplay", "dtlsUnknownSource", "noProducer", ...
    public var dropped: [String: UInt64] = [:]
    public init() {}
}

public enum MediaError: Error, Sendable, CustomStringConvertible {
    case configuration(String)
    case socket(String)
    case dtls(String)
    case srtp(String)
    case unknownTransport(TransportID)
    case unknownProducer(ProducerID)
    case workerOverloaded

    public var description: String {
        switch self {
        case .configuration(let s): return "configuration: \(s)"
        case .socket(let s): return "socket: \(s)"
        case .dtls(let s): return "DTLS: \(s)"
        case .srtp(let s): return "SRTP: \(s)"
        case .unknownTransport(let id): return "unknown transport \(id)"
        case .unknownProducer(let id): return "unknown producer \(id)"
        case .workerOverloaded: return "media worker command ring is full"
        }
    }
}

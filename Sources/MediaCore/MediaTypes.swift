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
    /// Room the transport belongs to; all transports of a room live on the same worker.
    public var room: String
    /// Free text for logs: "whip alice", "whep bob".
    public var label: String
    public var remoteUfrag: String
    public var remotePassword: String
    public var remoteFingerprints: [DTLSFingerprint]
    public init(room: String, label: String, remoteUfrag: String, remotePassword: String, remoteFingerprints: [DTLSFingerprint]) {
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
    /// Host candidate: the announced IP and the worker's UDP port.
    public var candidateIP: String
    public var candidatePort: UInt16
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

/// An incoming stream on a publisher's transport.
public struct ProducerParameters: Sendable {
    public var kind: MediaKind
    public var mid: String
    /// Media SSRCs announced in the offer (a=ssrc); may be empty when the peer relies on MID.
    public var ssrcs: [UInt32]
    public var payloadType: UInt8
    public var clockRate: UInt32
    public var extensions: HeaderExtensionIDs
    public init(kind: MediaKind, mid: String, ssrcs: [UInt32], payloadType: UInt8, clockRate: UInt32, extensions: HeaderExtensionIDs) {
        self.kind = kind
        self.mid = mid
        self.ssrcs = ssrcs
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.extensions = extensions
    }
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
    public init(producer: ProducerID, mid: String, ssrc: UInt32, payloadType: UInt8, extensions: HeaderExtensionIDs) {
        self.producer = producer
        self.mid = mid
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.extensions = extensions
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

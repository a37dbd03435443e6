import MediaCore

/// What the node holding a meeting (the *origin*, where its hub and signalling are) says to another node that serves
/// a meeting viewer's media (the *edge*), as JSON under `/cluster/meeting-media`: the hub's media calls for that
/// participant, made over the network. The edge's answers carry its own transport description (its ICE credentials,
/// DTLS fingerprint and candidates), which the origin writes into the viewer's SDP answer.
public enum MeetingMediaWire {
    /// `POST /cluster/meeting-media`: a transport for one participant's peer connection, from its offer.
    public struct TransportRequest: Codable, Sendable {
        public var room: String
        public var participant: String
        public var identity: String
        /// The origin's public URL: where the edge reports the transport's end and asks whether it is still wanted.
        public var origin: String
        public var remoteUfrag: String
        public var remotePassword: String
        public var fingerprints: [Fingerprint]
        /// A participant who publishes (nil or false: a viewer, whose transport only receives).
        public var publishes: Bool?
    }

    public struct Fingerprint: Codable, Sendable {
        public var algorithm: String
        public var value: String
    }

    public struct Candidate: Codable, Sendable {
        public var foundation: String
        public var transport: String
        public var priority: UInt32
        public var ip: String
        public var port: UInt16
    }

    /// The edge's transport, as the SDP answer needs it.
    public struct Transport: Codable, Sendable {
        public var id: UInt64
        public var ufrag: String
        public var password: String
        public var fingerprint: Fingerprint
        public var ip: String
        public var port: UInt16
        public var candidates: [Candidate]

        init(_ description: TransportDescription) {
            id = description.id.rawValue
            ufrag = description.localUfrag
            password = description.localPassword
            fingerprint = Fingerprint(algorithm: description.fingerprint.algorithm, value: description.fingerprint.value)
            ip = description.candidateIP
            port = description.candidatePort
            candidates = description.candidates.map {
                Candidate(foundation: $0.foundation, transport: $0.transport.rawValue, priority: $0.priority, ip: $0.ip, port: $0.port)
            }
        }

        var description: TransportDescription {
            TransportDescription(id: TransportID(id), localUfrag: ufrag, localPassword: password,
                                 fingerprint: DTLSFingerprint(algorithm: fingerprint.algorithm, value: fingerprint.value),
                                 candidateIP: ip, candidatePort: port, candidates: candidates.compactMap {
                                     guard let transport = ICECandidate.Transport(rawValue: $0.transport) else { return nil }
                                     return ICECandidate(foundation: $0.foundation, transport: transport, priority: $0.priority, ip: $0.ip, port: $0.port)
                                 })
        }
    }

    /// `POST /cluster/meeting-media/{transport}/ice`: the peer restarted ICE.
    public struct ICERestart: Codable, Sendable {
        public var remoteUfrag: String
        public var remotePassword: String
    }

    /// `POST /cluster/meeting-media/{transport}/consumers`: send the viewer `track` (published by `publisher` at the
    /// origin) on one of its mids. The edge relays the track from the origin (one relay per track per edge node).
    public struct ConsumerRequest: Codable, Sendable {
        public var publisher: String
        public var track: String
        public var kind: String
        public var source: String
        public var mid: String
        public var ssrc: UInt32
        public var payloadType: UInt8
        public var extensions: [String: UInt8]
        public var rtxPayloadType: UInt8
        public var rtxSSRC: UInt32
        public var feedback: UInt8

        init(_ parameters: ConsumerParameters, publisher: String, track: String, kind: MediaKind) {
            self.publisher = publisher
            self.track = track
            self.kind = kind.rawValue
            source = parameters.source.rawValue
            mid = parameters.mid
            ssrc = parameters.ssrc
            payloadType = parameters.payloadType
            extensions = parameters.extensions.named
            rtxPayloadType = parameters.rtxPayloadType
            rtxSSRC = parameters.rtxSSRC
            feedback = parameters.feedback.rawValue
        }

        /// The consumer's parameters on the edge, for its copy of the track (`producer`).
        func parameters(producer: ProducerID) -> ConsumerParameters {
            ConsumerParameters(producer: producer, mid: mid, ssrc: ssrc, payloadType: payloadType,
                               extensions: HeaderExtensionIDs(named: extensions), rtxPayloadType: rtxPayloadType, rtxSSRC: rtxSSRC,
                               feedback: RTCPFeedbackSet(rawValue: feedback), source: MediaSource(rawValue: source) ?? .camera)
        }
    }

    public struct Consumer: Codable, Sendable {
        public var id: UInt64
    }

    /// `POST /cluster/meeting-media/{transport}/producers`: a track the participant publishes (from its offer's sending
    /// m-line), known by its meeting track id; the origin then relays it from the edge (`RelayWire.Request.track`).
    public struct ProducerRequest: Codable, Sendable {
        public struct Encoding: Codable, Sendable {
            public var rid: String
            public var ssrc: UInt32?
            public var rtxSSRC: UInt32?
        }
        public var track: String
        public var kind: String
        public var mid: String
        public var ssrcs: [UInt32]
        public var payloadType: UInt8
        public var clockRate: UInt32
        public var extensions: [String: UInt8]
        public var encodings: [Encoding]
        public var rtxPayloadType: UInt8
        public var rtxSSRC: UInt32?
        public var feedback: UInt8

        init(_ parameters: ProducerParameters, track: String) {
            self.track = track
            kind = parameters.kind.rawValue
            mid = parameters.mid
            ssrcs = parameters.ssrcs
            payloadType = parameters.payloadType
            clockRate = parameters.clockRate
            extensions = parameters.extensions.named
            encodings = parameters.encodings.map { Encoding(rid: $0.rid, ssrc: $0.ssrc, rtxSSRC: $0.rtxSSRC) }
            rtxPayloadType = parameters.rtxPayloadType
            rtxSSRC = parameters.rtxSSRC
            feedback = parameters.feedback.rawValue
        }

        /// nil when it names no kind the media engine knows.
        var parameters: ProducerParameters? {
            guard let kind = MediaKind(rawValue: kind) else { return nil }
            return ProducerParameters(kind: kind, mid: mid, ssrcs: ssrcs, payloadType: payloadType, clockRate: clockRate,
                                      extensions: HeaderExtensionIDs(named: extensions),
                                      encodings: encodings.map { ProducerEncoding(rid: $0.rid, ssrc: $0.ssrc, rtxSSRC: $0.rtxSSRC) },
                                      rtxPayloadType: rtxPayloadType, rtxSSRC: rtxSSRC, feedback: RTCPFeedbackSet(rawValue: feedback))
        }
    }

    /// `POST /cluster/meeting-media/{transport}/consumers/{consumer}/layers`: the viewer's tile size and video mode.
    public struct Layers: Codable, Sendable {
        public var spatial: Int?
        public var temporal: Int?
        public var paused: Bool?
    }

    /// Edge → origin, `POST /cluster/meeting-media-status`: the transports the edge serves for the origin's meetings.
    /// The origin answers with those it no longer wants (the participant left, or its media moved): the edge closes
    /// them. An origin that cannot be reached for a while has its transports closed too.
    public struct Status: Codable, Sendable {
        public struct Entry: Codable, Sendable, Hashable {
            public var participant: String
            public var transport: UInt64
        }
        public var edge: String
        public var transports: [Entry]
    }

    /// Edge → origin, `POST /cluster/meeting-media-closed`: the edge's media layer closed a viewer's transport by
    /// itself (consent expired, DTLS failed or closed).
    public struct Closed: Codable, Sendable {
        public var edge: String
        public var participant: String
        public var transport: UInt64
        public var reason: String
    }
}

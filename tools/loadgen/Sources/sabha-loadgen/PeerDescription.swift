import MediaCore

/// What one generator peer offers, independent of how it is signalled (WHIP/WHEP write an SDP offer from it;
/// a Janus client would write an SDP answer from it).
struct LocalPeerDescription {
    struct Media {
        var kind: MediaKind
        var mid: String
        var payloadType: UInt8
        /// Our SSRC for a sending m-line, nil for a receiving one.
        var ssrc: UInt32?
        /// Simulcast RIDs, lowest first (sending video only; empty: one stream announced by `ssrc`).
        var rids: [String] = []
        var midExtensionID: UInt8 = 0
        var ridExtensionID: UInt8 = 0
        /// RTX (RFC 4588) payload type offered with a video m-line, as browsers do; 0: none.
        var rtxPayloadType: UInt8 = 0
    }

    var ufrag: String
    var password: String
    var fingerprint: DTLSFingerprint
    var ip: String
    var port: UInt16
    /// True: sendonly m-lines (publisher); false: recvonly (subscriber).
    var sends: Bool
    var media: [Media]
    var cname: String
    var streamID: String
    /// a=setup in an offer. Our peers are always the DTLS client: WHIP/WHEP servers answer passive to actpass,
    /// Janus would pick active for itself, so the Janus client offers `active`.
    var setup = "actpass"
}

/// What the server answered: its ICE-lite credentials and candidate, its certificate, and per m-line what it
/// accepted (payload type) and, for a subscriber, which SSRC it sends.
struct RemotePeerDescription {
    struct Media {
        var kind: MediaKind?
        var mid: String
        var accepted: Bool
        var payloadType: UInt8
        var ssrc: UInt32?
        /// The m-line's media word and protocol as written (to reject unknown m-lines in an answer).
        var rawKind = ""
        var proto = ""
        /// `a=msid:<stream> <track>` (in a meeting answer: the publishing participant's id and the track id).
        var streamID: String?
        var trackID: String?
        /// The repair SSRC of `a=ssrc-group:FID <ssrc> <rtx>`.
        var rtxSSRC: UInt32?
    }

    var ufrag = ""
    var password = ""
    var fingerprints: [DTLSFingerprint] = []
    var ip = ""
    var port: UInt16 = 0
    var media: [Media] = []

    func media(_ kind: MediaKind) -> Media? { media.first { $0.kind == kind && $0.accepted } }
}

/// A signalled session: the remote description plus whatever the signalling needs to end it again
/// (the WHIP/WHEP `Location`; a Janus session and handle id later).
struct SignalledSession {
    var remote: RemotePeerDescription
    var resource: String
    /// The server sent the offer (Janus subscribers): it is the controlling ICE agent, we are controlled.
    var serverOffered = false
}

/// How peers get their sessions: WHIP/WHEP (`WHIPClient`) or Janus's videoroom (`JanusVideoroomClient`, which
/// answers Janus's offer for subscribers instead of offering).
protocol SignallingClient {
    func publish(identity: String, local: LocalPeerDescription) throws -> SignalledSession
    func subscribe(identity: String, publisher: String, local: LocalPeerDescription) throws -> SignalledSession
    /// Best effort: the run is over, errors are only counted.
    func end(_ session: SignalledSession, identity: String) -> Bool
    /// After the last `end`: release what the signalling holds (a Janus session). Best effort.
    func close()
}

extension SignallingClient {
    func close() {}
}

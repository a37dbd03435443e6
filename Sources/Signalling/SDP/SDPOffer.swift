// CONTRACT: WHIP/WHEP handlers program against these signatures. The parse tree is in
// SessionDescription.swift, the per-m-line checks in OfferedMediaReader.swift (each attribute line read by its own
// SDP* reader, gathered in SDPMediaAttributes) and the answer in SDPAnswerWriter.swift.
import MediaCore

/// Why an offer was refused; becomes the 400 problem body.
public struct SDPError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Short machine-readable kind of problem (SDPErrorCode.swift); tests compare this.
    public var code: Code
    /// 1-based line number in the offer, when the problem is on one line.
    public var line: Int?
    public var reason: String
    public init(line: Int? = nil, _ reason: String) {
        self.init(.invalidOffer, line: line, reason)
    }
    public init(_ code: Code, line: Int? = nil, _ reason: String) {
        self.code = code
        self.line = line
        self.reason = reason
    }
    public var description: String { line.map { "line \($0): \(reason)" } ?? reason }
}

/// What the offerer wants: WHIP publishes to us, WHEP subscribes from us.
public enum SDPIntent: Sendable {
    case publish
    case subscribe
    /// A meeting participant's single connection: each m-line the offerer sends on publishes, each it
    /// receives on (recvonly) carries someone else's track, and inactive ones stay open for reuse.
    case meeting
}

/// One offered m-line as the media layer needs it.
public struct OfferedMedia: Sendable {
    public var mid: String
    /// nil for m-lines that are not audio or video (data channels): always rejected.
    public var kind: MediaKind?
    /// False when we have no codec for it (we forward Opus and VP8 only) or it is not usable for the intent.
    public var accepted: Bool
    public var payloadType: UInt8
    public var codecName: String
    public var clockRate: UInt32
    /// Primary media SSRCs announced (a=ssrc, excluding FID/FEC-FR repair SSRCs).
    public var ssrcs: [UInt32]
    /// Extension ids we understand, from the offer's a=extmap lines.
    /// Only the ones echoed in the answer: publish → mid, rid, repairedRid, transportWideCC and (audio)
    /// audioLevel; subscribe → mid and transportWideCC. Ids above 14 (two-byte headers) are not echoed.
    public var extensions: HeaderExtensionIDs

    // Added by the parser; all have defaults so the memberwise init above keeps its shape.

    /// Why `accepted` is false; nil for accepted m-lines.
    public var rejectionReason: String? = nil
    /// Every extension id the offer maps to a URI we understand (including ones we do not echo).
    public var offeredExtensions = HeaderExtensionIDs()
    /// Every a=extmap of the m-line, understood or not, in offer order.
    public var extmaps: [SDPExtmap] = []
    /// The offerer's direction for this m-line (media level, else session level, else sendrecv).
    public var direction: SDPDirection = .sendrecv
    /// The m-line as offered: media token ("audio", "application"), protocol and formats.
    public var mediaType: String = ""
    public var transportProtocol: String = ""
    public var formats: [String] = []
    /// The offerer's a=fmtp parameters for the chosen payload type, copied into the answer.
    public var codecParameters: String? = nil
    /// The a=rtcp-fb values we echo for the chosen payload type, in offer order (VP8: nack, nack pli,
    /// ccm fir, goog-remb, transport-cc; Opus: transport-cc). transport-cc only with its header extension.
    public var rtcpFeedback: [String] = []
    /// `rtcpFeedback` as the media layer takes it.
    public var feedback: RTCPFeedbackSet = []
    /// The offerer's rtx/90000 payload type whose apt is `payloadType` (RFC 4588); 0 when none (audio: always 0).
    public var rtxPayloadType: UInt8 = 0
    /// The repair SSRC of a single stream (a=ssrc-group:FID <media> <repair>); nil when not announced.
    public var rtxSSRC: UInt32? = nil
    /// Simulcast encodings we take from a publishing video m-line, lowest spatial layer first
    /// (see `SDPSimulcast.layers(rids:payloadType:line:)`); empty for a single stream.
    public var encodings: [ProducerEncoding] = []
    /// The rids answered with a=rid:<id> recv and a=simulcast:recv, in the offer's order; empty for
    /// legacy a=ssrc-group:SIM simulcast and single streams.
    public var simulcastRIDs: [String] = []
    /// a=rtcp-rsize was offered (RFC 5506).
    public var reducedSizeRTCP: Bool = false
    /// a=msid of the m-line (or of its a=ssrc lines).
    public var mediaStreamID: SDPMediaStreamID? = nil
    /// a=rid and a=simulcast as offered; what we negotiated from them is `simulcastRIDs` and `encodings`.
    public var rids: [SDPRID] = []
    public var simulcast: SDPSimulcast? = nil
    public init(mid: String, kind: MediaKind?, accepted: Bool, payloadType: UInt8, codecName: String, clockRate: UInt32, ssrcs: [UInt32], extensions: HeaderExtensionIDs) {
        self.mid = mid
        self.kind = kind
        self.accepted = accepted
        self.payloadType = payloadType
        self.codecName = codecName
        self.clockRate = clockRate
        self.ssrcs = ssrcs
        self.extensions = extensions
    }
}

/// Our side of the transport, written into the answer.
public struct LocalSDPParameters: Sendable {
    public var iceUfrag: String
    public var icePassword: String
    public var fingerprint: DTLSFingerprint
    /// The preferred address and port (c= line, m= port).
    public var candidateIP: String
    public var candidatePort: UInt16
    /// Every host candidate, most preferred first; empty means the one UDP candidate at candidateIP:candidatePort.
    public var candidates: [ICECandidate]
    public var sessionID: UInt64
    public init(iceUfrag: String, icePassword: String, fingerprint: DTLSFingerprint, candidateIP: String, candidatePort: UInt16,
                candidates: [ICECandidate] = [], sessionID: UInt64) {
        self.iceUfrag = iceUfrag
        self.icePassword = icePassword
        self.fingerprint = fingerprint
        self.candidateIP = candidateIP
        self.candidatePort = candidatePort
        self.candidates = candidates
        self.sessionID = sessionID
    }

    /// Our side as the media engine described the transport.
    public init(_ transport: TransportDescription, sessionID: UInt64) {
        self.init(iceUfrag: transport.localUfrag, icePassword: transport.localPassword, fingerprint: transport.fingerprint,
                  candidateIP: transport.candidateIP, candidatePort: transport.candidatePort, candidates: transport.candidates,
                  sessionID: sessionID)
    }
}

/// A stream we send on an accepted m-line (subscribe intent): announced with a=ssrc and a=msid.
public struct OutgoingTrack: Sendable {
    public var ssrc: UInt32
    public var cname: String
    public var streamID: String
    public var trackID: String
    /// Our RTX SSRC, announced with a=ssrc-group:FID when the m-line negotiated RTX; 0 = none.
    public var rtxSSRC: UInt32
    public init(ssrc: UInt32, cname: String, streamID: String, trackID: String, rtxSSRC: UInt32 = 0) {
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.cname = cname
        self.streamID = streamID
        self.trackID = trackID
    }
}

/// A remote offer read for one intent, able to write our answer.
public struct SDPOffer: Sendable {
    public let intent: SDPIntent
    public let iceUfrag: String
    public let icePassword: String
    public let fingerprints: [DTLSFingerprint]
    /// Every m-line in offer order.
    public let media: [OfferedMedia]
    /// The offer's a=group:BUNDLE holding the accepted mids; empty when the offer has none
    /// (only possible with a single accepted m-line). The answer groups only when this is not empty.
    public let bundle: [String]
    /// The generic parse tree the offer was read from.
    public let session: SessionDescription

    /// Parses and checks an offer: Unified Plan, BUNDLE over all accepted m-lines, rtcp-mux, ICE
    /// credentials, a DTLS fingerprint and setup actpass/active. Throws a reason a person can act on.
    public init(parsing sdp: String, intent: SDPIntent) throws(SDPError) {
        try self.init(session: SessionDescription(parsing: sdp), intent: intent)
    }

    /// The answer: ICE-lite, our host candidate, fingerprint, setup:passive, rtcp-mux, one codec per
    /// accepted m-line (Opus or VP8), rejected m-lines with port 0, BUNDLE of the accepted mids.
    /// For subscribe, `sending[mid]` is the track we send on that m-line (missing = inactive).
    public func answer(local: LocalSDPParameters, sending: [String: OutgoingTrack]) -> String {
        SDPAnswerWriter(offer: self, local: local, sending: sending, refused: []).write()
    }

    /// The same, answering the offerer's sending m-lines in `refused` with `a=inactive` (a viewer may not publish).
    public func answer(local: LocalSDPParameters, sending: [String: OutgoingTrack], refused: Set<String>) -> String {
        SDPAnswerWriter(offer: self, local: local, sending: sending, refused: refused).write()
    }
}

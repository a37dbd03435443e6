import Logging
import MediaCore

/// Turns offers into media sessions: creates the transport, its producers or consumers, and the answer.
/// The HTTP layer (WHIP/WHEP) goes through here; meetings share its media parameters (MeetingNegotiator), and
/// `MediaEventLoop` ends sessions whose transports the media layer closed.
public final class SessionService: Sendable {
    public let engine: MediaEngine
    public let registry: SessionRegistry
    let logger: Logger

    public init(engine: MediaEngine, registry: SessionRegistry, logger: Logger) {
        self.engine = engine
        self.registry = registry
        self.logger = logger
    }

    public struct Created: Sendable {
        public var session: MediaSession
        public var answer: String
    }

    /// WHIP: `identity` publishes the accepted audio/video m-lines of `offer` into `room`.
    /// `tokenKey` names the token's allowance the session holds (reserved by the caller, given back when it ends).
    public func publish(room: String, identity: String, offer: SDPOffer, tokenID: String? = nil, tokenKey: String? = nil) async throws(Problem) -> Created {
        let description = try await createTransport(room: room, label: "whip:\(identity)", offer: offer)
        var producers: [(kind: MediaKind, id: ProducerID)] = []
        do {
            for media in offer.media where media.accepted {
                guard let kind = media.kind else { continue }
                let id = try await engine.addProducer(transport: description.id, Self.producerParameters(media, kind: kind))
                producers.append((kind, id))
            }
        } catch {
            await engine.closeTransport(description.id)
            throw Self.mediaProblem(error)
        }
        let session = MediaSession(id: Self.newSessionID(), kind: .whip, room: room, identity: identity,
                                   transport: description.id, producers: producers, watching: nil, tokenID: tokenID, tokenKey: tokenKey,
                                   watchingIdentity: nil)
        if let replaced = await registry.addPublisher(session) {
            logger.info("publisher replaces its previous session", metadata: ["room": "\(room)", "identity": "\(identity)", "old": "\(replaced.id)"])
            await end(replaced.id)
        }
        logger.info("publishing", metadata: ["room": "\(room)", "identity": "\(identity)", "session": "\(session.id)",
                                             "transport": "\(description.id)", "tracks": "\(producers.map(\.kind.rawValue))"])
        return Created(session: session, answer: offer.answer(local: Self.local(description), sending: [:]))
    }

    /// WHEP: `identity` watches what `publisherIdentity` publishes in `room`.
    public func watch(room: String, identity: String, publisherIdentity: String, offer: SDPOffer,
                      tokenID: String? = nil, tokenKey: String? = nil) async throws(Problem) -> Created {
        guard let publisher = await registry.publisher(room: room, identity: publisherIdentity) else {
            throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch",
                          detail: "'\(publisherIdentity)' is not publishing in room '\(room)' right now.")
        }
        let description = try await createTransport(room: room, label: "whep:\(identity)", offer: offer, receiveOnly: true)
        var sending: [String: OutgoingTrack] = [:]
        var unused = publisher.producers
        do {
            for media in offer.media where media.accepted {
                guard let kind = media.kind, let index = unused.firstIndex(where: { $0.kind == kind }) else { continue }
                let producer = unused.remove(at: index)
                let (ssrc, rtxSSRC) = Self.newSSRCs(rtx: media.rtxPayloadType != 0)
                _ = try await engine.addConsumer(transport: description.id, Self.consumerParameters(
                    media, producer: producer.id, ssrc: ssrc, rtxSSRC: rtxSSRC, source: kind == .audio ? .microphone : .camera))
                sending[media.mid] = OutgoingTrack(ssrc: ssrc, cname: "sabha-\(publisherIdentity)",
                                                   streamID: publisherIdentity, trackID: "\(publisherIdentity)-\(kind.rawValue)",
                                                   rtxSSRC: rtxSSRC)
            }
        } catch {
            await engine.closeTransport(description.id)
            if case MediaError.unknownProducer = error {
                throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch",
                              detail: "'\(publisherIdentity)' stopped publishing in room '\(room)'.")
            }
            throw Self.mediaProblem(error)
        }
        guard !sending.isEmpty else {
            await engine.closeTransport(description.id)
            throw Problem(status: 400, code: "sdp-nothing-to-receive", title: "Nothing to receive",
                          detail: "'\(publisherIdentity)' publishes \(publisher.producers.map(\.kind.rawValue).joined(separator: " and ")), but the offer has no matching recvonly m-line.")
        }
        var session = MediaSession(id: Self.newSessionID(), kind: .whep, room: room, identity: identity,
                                   transport: description.id, producers: [], watching: publisher.id, tokenID: tokenID,
                                   tokenKey: tokenKey, watchingIdentity: publisherIdentity)
        session.relayedFrom = publisher.relayedFrom
        guard await registry.addViewer(session) else {
            await engine.closeTransport(description.id)
            throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch",
                          detail: "'\(publisherIdentity)' stopped publishing in room '\(room)'.")
        }
        logger.info("watching", metadata: ["room": "\(room)", "identity": "\(identity)", "publisher": "\(publisherIdentity)",
                                           "session": "\(session.id)", "transport": "\(description.id)"])
        return Created(session: session, answer: offer.answer(local: Self.local(description), sending: sending))
    }

    /// Ends a session (and, for a publisher, its viewers). Returns false when it does not exist.
    @discardableResult
    public func end(_ id: String) async -> Bool {
        guard let (session, viewers) = await registry.remove(id: id) else { return false }
        await engine.closeTransport(session.transport)
        for viewer in viewers { await engine.closeTransport(viewer.transport) }
        logger.info("session ended", metadata: ["session": "\(id)", "kind": "\(session.kind.rawValue)", "room": "\(session.room)",
                                                "identity": "\(session.identity)", "viewers closed": "\(viewers.count)"])
        return true
    }

    /// Ends the sessions in `room` (of `identity`, opened with `tokenID`, when given) and their viewers; returns how
    /// many of the matching sessions were open.
    @discardableResult
    public func endSessions(room: String, identity: String? = nil, tokenID: String? = nil) async -> Int {
        var count = 0
        for session in await registry.sessions(room: room, identity: identity, tokenID: tokenID) where await end(session.id) {
            count += 1
        }
        return count
    }

    private func createTransport(room: String, label: String, offer: SDPOffer,
                                 receiveOnly: Bool = false) async throws(Problem) -> TransportDescription {
        do {
            return try await engine.createTransport(TransportParameters(
                room: room, label: label, remoteUfrag: offer.iceUfrag, remotePassword: offer.icePassword,
                remoteFingerprints: offer.fingerprints, receiveOnly: receiveOnly))
        } catch {
            throw Self.mediaProblem(error)
        }
    }

    static func mediaProblem(_ error: any Error) -> Problem {
        if case MediaError.workerOverloaded = error {
            return Problem(status: 503, code: "media-overloaded", title: "Media server busy", detail: "The media worker is overloaded; retry shortly.")
        }
        return Problem(status: 500, code: "media-error", title: "Media error", detail: "\(error)")
    }

    /// A publishing m-line as the media layer takes it: simulcast encodings, RTX and negotiated feedback included.
    static func producerParameters(_ media: OfferedMedia, kind: MediaKind) -> ProducerParameters {
        ProducerParameters(kind: kind, mid: media.mid, ssrcs: media.ssrcs, payloadType: media.payloadType,
                           clockRate: media.clockRate, extensions: media.extensions, encodings: media.encodings,
                           rtxPayloadType: media.rtxPayloadType, rtxSSRC: media.rtxSSRC, feedback: media.feedback)
    }

    /// A receiving m-line carrying `producer`; `rtxSSRC` is 0 unless the m-line negotiated RTX.
    static func consumerParameters(_ media: OfferedMedia, producer: ProducerID, ssrc: UInt32, rtxSSRC: UInt32, source: MediaSource) -> ConsumerParameters {
        ConsumerParameters(producer: producer, mid: media.mid, ssrc: ssrc, payloadType: media.payloadType,
                           extensions: media.extensions, rtxPayloadType: media.rtxPayloadType, rtxSSRC: rtxSSRC,
                           feedback: media.feedback, source: source)
    }

    /// A random media SSRC and, when RTX is negotiated, a different random RTX SSRC (else 0).
    static func newSSRCs(rtx: Bool) -> (ssrc: UInt32, rtxSSRC: UInt32) {
        let ssrc = UInt32.random(in: 1...UInt32.max)
        guard rtx else { return (ssrc, 0) }
        var rtxSSRC = UInt32.random(in: 1...UInt32.max)
        while rtxSSRC == ssrc { rtxSSRC = UInt32.random(in: 1...UInt32.max) }
        return (ssrc, rtxSSRC)
    }

    static func local(_ description: TransportDescription) -> LocalSDPParameters {
        LocalSDPParameters(description, sessionID: UInt64.random(in: 1...(UInt64.max >> 2)))
    }

    static func newSessionID() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

import Foundation
import Logging
import MediaCore
import NIOCore
import NIOHTTP1

/// Cascading between the nodes of a cluster (mediasoup's pipe transports, Jitsi's Octo): a WHEP viewer served on a
/// node that does not hold its room watches a copy of the publisher relayed from the node that does. The holder (the
/// *origin*) sends each of the publisher's packets once per *edge* node over a relay (`MediaEngine.createRelay`); the
/// edge adds the relayed tracks as a publisher session of its own (`MediaSession.relayedFrom`), and its viewers
/// consume that like any other. Several viewers of one publisher on one node share one relay.
///
/// The two nodes agree through signed requests (`ClusterSignature`) to `/cluster/relays` on the origin: the edge
/// opens a relay with the keys it chose, asks after it every heartbeat (which keeps it open, and tells the edge when
/// the publisher has gone), and closes it when its last viewer has been gone for `idleTimeout`. An origin that hears
/// nothing for `abandonedAfter` closes the relay itself (the edge died); an edge that cannot reach the origin for
/// `unreachableAfter` ends the copy and its viewers (WHEP clients POST again, and reach a live node).
public actor CascadeRelays {
    /// This node's public URL (its id in the cluster).
    public nonisolated var node: String { cluster.node }
    let service: SessionService
    /// Signed requests to the other nodes.
    let cluster: ClusterClient
    let logger: Logger

    static let idleTimeout: Duration = .seconds(10)
    static let abandonedAfter: Duration = .seconds(10)
    static let unreachableAfter: Duration = .seconds(6)
    static let profile = SRTPProfile.aeadAES128GCM

    /// A relay this node sends (it holds the room).
    struct Outgoing {
        var id: String
        var room: String
        var publisher: String
        /// A meeting's track (`publisher` is then its participant), or nil for a WHIP publisher.
        var track: String?
        /// The WHIP publisher's session: when it ends (or is replaced), so does the relay.
        var publisherSession: String
        var edge: String
        var transport: TransportID
        var lastSeen: ContinuousClock.Instant
    }

    /// A relay this node receives (its viewers watch a publisher of another node's room).
    struct Incoming {
        var id: String
        var room: String
        var publisher: String
        var origin: String
        /// The local publisher session standing for the relayed one.
        var session: String
        var lastReached: ContinuousClock.Instant
        var idleSince: ContinuousClock.Instant?
    }

    /// What a relay carries: a WHIP publisher's tracks, or one track of a meeting participant.
    struct Key: Hashable {
        var room: String
        var publisher: String
        var track: String? = nil
        /// The identity of the publisher session standing for it here.
        var sessionIdentity: String { track ?? publisher }
    }

    private var outgoing: [String: Outgoing] = [:]
    var incoming: [Key: Incoming] = [:]
    private var opening: [Key: Task<Incoming, any Error>] = [:]
    /// Meeting consumers on this node using each incoming relay (its WHEP viewers are counted by the registry).
    var holds: [Key: Int] = [:]
    /// Meeting viewers' transports this node serves for other nodes' meetings (`CascadeRelays+MeetingMedia`).
    var hosted: [TransportID: HostedMedia] = [:]
    /// Whether this node may serve another viewer; set once at start.
    var capacity: NodeCapacity?
    /// The producer of a meeting's track held here (room, participant, track), for relays of meeting tracks.
    var meetingTrack: (@Sendable (_ room: String, _ participant: String, _ track: String) async -> ProducerID?)?

    public init(service: SessionService, cluster: ClusterClient, logger: Logger) {
        self.service = service
        self.cluster = cluster
        self.logger = logger
    }

    // MARK: - Edge: viewers here, the room elsewhere

    /// Makes sure `publisher` of `room` is relayed here from `origin` (the node holding the room), opening the relay
    /// if needed; then `SessionService.watch` finds it as a publisher of this node.
    public func relay(room: String, publisher: String, from origin: String) async throws(Problem) {
        try await relay(Key(room: room, publisher: publisher), from: origin)
    }

    func relay(_ key: Key, from origin: String) async throws(Problem) {
        if let known = incoming[key], known.origin == origin, await service.registry.session(id: known.session) != nil { return }
        if let known = incoming.removeValue(forKey: key) { await drop(known, tellOrigin: true) }
        let task = opening[key] ?? Task { try await self.openIncoming(key, from: origin) }
        opening[key] = task
        do {
            let opened = try await task.value
            opening[key] = nil
            incoming[key] = opened
        } catch {
            opening[key] = nil
            if let problem = error as? Problem { throw problem }
            throw Problem(status: 502, code: "relay-failed", title: "Relay not opened", detail: "\(error)")
        }
    }

    private func openIncoming(_ key: Key, from origin: String) async throws -> Incoming {
        let engine = service.engine
        let address = engine.relayAddress(room: key.room)
        let toEdge = Self.randomKey(), toOrigin = Self.randomKey()
        let rtcpSSRC = UInt32.random(in: 1...UInt32.max)
        let request = RelayWire.Request(room: key.room, publisher: key.publisher, track: key.track, edge: node, ip: address.ip,
                                        port: address.port, profile: Self.profile.rawValue, toEdge: Data(toEdge), toOrigin: Data(toOrigin),
                                        edgeRTCPSSRC: rtcpSSRC)
        let (status, body) = try await cluster.call(origin, method: .POST, path: "/cluster/relays", body: try JSONEncoder().encode(request))
        guard status == 201 else {
            if status == 404 {
                throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch",
                              detail: "'\(key.publisher)' is not publishing in room '\(key.room)' right now.")
            }
            throw Problem(status: 502, code: "relay-failed", title: "Relay not opened",
                          detail: "the node holding the room (\(origin)) answered \(status): \(String(decoding: body.prefix(300), as: UTF8.self))")
        }
        let answer = try JSONDecoder().decode(RelayWire.Answer.self, from: Data(body))
        var transport: TransportID?
        do {
            let keys = SRTPKeyingMaterial(profile: Self.profile, localKey: Array(toOrigin.prefix(16)), localSalt: Array(toOrigin.dropFirst(16)),
                                          remoteKey: Array(toEdge.prefix(16)), remoteSalt: Array(toEdge.dropFirst(16)))
            let relay = try await engine.createRelay(RelayParameters(
                room: key.room, label: "relay from \(origin)", remoteIP: answer.ip, remotePort: answer.port, keys: keys,
                rtcpSSRC: rtcpSSRC, inboundSSRCs: [answer.originRTCPSSRC]))
            transport = relay
            var producers: [(kind: MediaKind, id: ProducerID)] = []
            for track in answer.tracks {
                guard let parameters = track.producerParameters else { throw Problem(status: 502, code: "relay-failed", title: "Relay not opened", detail: "a relayed track is malformed") }
                producers.append((parameters.kind, try await engine.addProducer(transport: relay, parameters)))
            }
            // Our end is ready for every track: now the origin may send.
            let (started, _) = try await cluster.call(origin, method: .POST, path: "/cluster/relays/\(answer.id)/start", body: Data())
            guard started == 204 else {
                throw Problem(status: 502, code: "relay-failed", title: "Relay not opened",
                              detail: "the node holding the room (\(origin)) did not start the relay (\(started))")
            }
            var session = MediaSession(id: SessionService.newSessionID(), kind: .whip, room: key.room, identity: key.sessionIdentity,
                                       transport: relay, producers: producers, watching: nil)
            session.relayedFrom = origin
            if let replaced = await service.registry.addPublisher(session) { await service.end(replaced.id) }
            logger.info("relay opened from the node holding the room",
                        metadata: ["room": "\(key.room)", "publisher": "\(key.publisher)", "track": "\(key.track ?? "-")",
                                   "origin": "\(origin)", "relay": "\(answer.id)",
                                   "tracks": "\(producers.map(\.kind.rawValue))", "transport": "\(relay)"])
            let now = ContinuousClock.now
            return Incoming(id: answer.id, room: key.room, publisher: key.publisher, origin: origin, session: session.id,
                            lastReached: now, idleSince: now)
        } catch {
            if let transport { await engine.closeTransport(transport) }
            _ = try? await cluster.call(origin, method: .DELETE, path: "/cluster/relays/\(answer.id)", body: Data())
            throw error
        }
    }

    /// Ends a relayed copy here (and its viewers), and tells the origin unless it is gone.
    func drop(_ relay: Incoming, tellOrigin: Bool) async {
        await service.end(relay.session)
        if tellOrigin { _ = try? await cluster.call(relay.origin, method: .DELETE, path: "/cluster/relays/\(relay.id)", body: Data()) }
    }

    // MARK: - Origin: the room here, viewers elsewhere

    /// `POST /cluster/relays`: relays the publisher's tracks to the edge that asks.
    public func open(_ request: RelayWire.Request) async throws(Problem) -> RelayWire.Answer {
        let engine = service.engine
        let producers: [ProducerID], publisherSession: String
        if let track = request.track {
            guard let producer = await meetingTrackHere(request.room, request.publisher, track) else {
                throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch",
                              detail: "'\(request.publisher)' does not publish track \(track) in room '\(request.room)' on \(node).")
            }
            (producers, publisherSession) = ([producer], "")
        } else {
            guard let publisher = await service.registry.publisher(room: request.room, identity: request.publisher),
                  publisher.relayedFrom == nil else {
                throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch",
                              detail: "'\(request.publisher)' is not publishing in room '\(request.room)' on \(node).")
            }
            (producers, publisherSession) = (publisher.producers.map(\.id), publisher.id)
        }
        guard request.profile == Self.profile.rawValue, request.toEdge.count == 28, request.toOrigin.count == 28 else {
            throw Problem(status: 400, code: "relay-keys", title: "Relay keys refused",
                          detail: "Relays use \(Self.profile.rawValue) with 16-byte keys and 12-byte salts.")
        }
        let toEdge = [UInt8](request.toEdge), toOrigin = [UInt8](request.toOrigin)
        let rtcpSSRC = UInt32.random(in: 1...UInt32.max)
        let relay: TransportID
        do {
            relay = try await engine.createRelay(RelayParameters(
                room: request.room, label: "relay to \(request.edge)", remoteIP: request.ip, remotePort: request.port,
                keys: SRTPKeyingMaterial(profile: Self.profile, localKey: Array(toEdge.prefix(16)), localSalt: Array(toEdge.dropFirst(16)),
                                         remoteKey: Array(toOrigin.prefix(16)), remoteSalt: Array(toOrigin.dropFirst(16))),
                rtcpSSRC: rtcpSSRC, inboundSSRCs: [request.edgeRTCPSSRC], waitsForStart: true))
        } catch {
            throw Problem(status: 400, code: "relay-refused", title: "Relay refused", detail: "\(error)")
        }
        var tracks: [RelayWire.Track] = []
        do {
            var used: Set<UInt32> = [rtcpSSRC, request.edgeRTCPSSRC]
            for producer in producers {
                var ssrcs: [UInt32] = []
                while ssrcs.count < 3 {
                    let ssrc = UInt32.random(in: 1...UInt32.max)
                    if used.insert(ssrc).inserted { ssrcs.append(ssrc) }
                }
                let parameters = try await engine.relayProducer(producer, over: relay, ssrcs: ssrcs)
                tracks.append(RelayWire.Track(parameters, ssrcs: Array(ssrcs.prefix(max(1, min(parameters.encodings.count, 3))))))
            }
        } catch {
            await engine.closeTransport(relay)
            throw SessionService.mediaProblem(error)
        }
        let id = SessionService.newSessionID()
        outgoing[id] = Outgoing(id: id, room: request.room, publisher: request.publisher, track: request.track,
                                publisherSession: publisherSession, edge: request.edge, transport: relay, lastSeen: .now)
        logger.info("relay opened", metadata: ["room": "\(request.room)", "publisher": "\(request.publisher)",
                                               "track": "\(request.track ?? "-")", "edge": "\(request.edge)",
                                               "relay": "\(id)", "to": "\(request.ip):\(request.port)", "transport": "\(relay)"])
        let address = engine.relayAddress(room: request.room)
        return RelayWire.Answer(id: id, ip: address.ip, port: address.port, originRTCPSSRC: rtcpSSRC, tracks: tracks)
    }

    /// `POST /cluster/relays/{id}/start`: the edge has its end now; the media goes (from keyframes). False when there
    /// is no such relay.
    public func start(_ id: String) async -> Bool {
        guard let relay = outgoing[id] else { return false }
        do {
            try await service.engine.startRelay(relay.transport)
            outgoing[id]?.lastSeen = .now
            return true
        } catch {
            logger.error("relay not started", metadata: ["relay": "\(id)", "error": "\(error)"])
            await close(id, reason: "it could not start")
            return false
        }
    }

    /// `GET /cluster/relays/{id}`: the edge still wants it; nil (404) once its publisher has gone.
    public func status(_ id: String) async -> RelayWire.Status? {
        guard let relay = outgoing[id] else { return nil }
        guard await stillPublishing(relay) else {
            await close(id, reason: "the publisher stopped")
            return nil
        }
        // Closed while the registry was asked: gone.
        guard outgoing[id] != nil else { return nil }
        outgoing[id]?.lastSeen = .now
        return RelayWire.Status(id: id, room: relay.room, publisher: relay.publisher)
    }

    /// Whether what `relay` carries is still published here.
    private func stillPublishing(_ relay: Outgoing) async -> Bool {
        if let track = relay.track { return await meetingTrackHere(relay.room, relay.publisher, track) != nil }
        return await service.registry.publisher(room: relay.room, identity: relay.publisher)?.id == relay.publisherSession
    }

    /// `DELETE /cluster/relays/{id}`; false when there was none.
    @discardableResult
    public func close(_ id: String, reason: String = "the edge closed it") async -> Bool {
        guard let relay = outgoing.removeValue(forKey: id) else { return false }
        await service.engine.closeTransport(relay.transport)
        logger.info("relay closed", metadata: ["room": "\(relay.room)", "publisher": "\(relay.publisher)", "edge": "\(relay.edge)",
                                               "relay": "\(id)", "reason": "\(reason)"])
        return true
    }

    // MARK: - Every heartbeat

    /// Origin: closes relays whose publisher stopped or whose edge stopped asking. Edge: asks after each relay (the
    /// origin keeps it open), ends those the origin no longer has or cannot be reached about, and closes those
    /// without viewers for a while.
    public func tick() async {
        let now = ContinuousClock.now
        for relay in outgoing.values {
            if now - relay.lastSeen > Self.abandonedAfter {
                await close(relay.id, reason: "the edge stopped asking for it")
            } else if !(await stillPublishing(relay)) {
                await close(relay.id, reason: "the publisher stopped")
            }
        }
        var unreachable: Set<String> = []
        for (key, var relay) in incoming {
            guard await service.registry.session(id: relay.session) != nil else {
                forget(key, relay.id)
                await drop(relay, tellOrigin: true)
                continue
            }
            if await service.registry.viewerCount(of: relay.session) + holds[key, default: 0] > 0 {
                relay.idleSince = nil
            } else if relay.idleSince == nil {
                relay.idleSince = now
            } else if let since = relay.idleSince, now - since > Self.idleTimeout {
                forget(key, relay.id)
                logger.info("relay closed: no viewer left here", metadata: ["room": "\(key.room)", "publisher": "\(key.publisher)",
                                                                             "origin": "\(relay.origin)"])
                await drop(relay, tellOrigin: true)
                continue
            }
            // One origin that does not answer costs one timeout per round, not one per relay from it.
            if !unreachable.contains(relay.origin) {
                do {
                    let (status, _) = try await cluster.call(relay.origin, method: .GET, path: "/cluster/relays/\(relay.id)", body: Data())
                    if status == 404 {
                        forget(key, relay.id)
                        logger.info("relay ended by the node holding the room (the publisher stopped)",
                                    metadata: ["room": "\(key.room)", "publisher": "\(key.publisher)", "origin": "\(relay.origin)"])
                        await drop(relay, tellOrigin: false)
                        continue
                    }
                    if status == 200 { relay.lastReached = now }
                } catch {
                    unreachable.insert(relay.origin)
                    logger.debug("relay's origin not reached", metadata: ["origin": "\(relay.origin)", "error": "\(error)"])
                }
            }
            if now - relay.lastReached > Self.unreachableAfter {
                forget(key, relay.id)
                logger.notice("relay ended: the node holding the room cannot be reached",
                              metadata: ["room": "\(key.room)", "publisher": "\(key.publisher)", "origin": "\(relay.origin)"])
                await drop(relay, tellOrigin: false)
                continue
            }
            // Another call may have replaced it while this one waited for the origin.
            if incoming[key]?.id == relay.id { incoming[key] = relay }
        }
        await tickHosted()
    }

    private func forget(_ key: Key, _ id: String) {
        if incoming[key]?.id == id { incoming[key] = nil }
    }

    /// For `GET /api/cluster`: the relays this node sends and receives.
    public func snapshot() async -> RelaysView {
        var view = RelaysView()
        view.out = outgoing.values.sorted { $0.id < $1.id }.map {
            .init(id: $0.id, room: $0.room, publisher: $0.publisher, track: $0.track, to: $0.edge)
        }
        for (key, relay) in incoming.sorted(by: { $0.value.id < $1.value.id }) {
            view.in.append(.init(id: relay.id, room: relay.room, publisher: relay.publisher, track: key.track, from: relay.origin,
                                 viewers: await service.registry.viewerCount(of: relay.session) + holds[key, default: 0]))
        }
        view.meetingMedia = hosted.values.sorted { $0.transport.rawValue < $1.transport.rawValue }.map {
            .init(room: $0.room, participant: $0.participant, origin: $0.origin, consumers: $0.consumers.count)
        }
        return view
    }

    public struct RelaysView: Encodable, Sendable {
        public struct Out: Encodable, Sendable {
            var id: String
            var room: String
            var publisher: String
            var track: String?
            var to: String
        }
        public struct In: Encodable, Sendable {
            var id: String
            var room: String
            var publisher: String
            var track: String?
            var from: String
            var viewers: Int
        }
        /// A meeting viewer's media served here for the node holding its meeting.
        public struct Hosted: Encodable, Sendable {
            var room: String
            var participant: String
            var origin: String
            var consumers: Int
        }
        public var out: [Out] = []
        public var `in`: [In] = []
        public var meetingMedia: [Hosted] = []
    }

    /// Closes every relay (shutdown). The origins are told all at once, each within `shutdownTimeout`: an origin that
    /// is gone already must not hold this node's exit for a request timeout per relay.
    public func closeAll() async {
        for id in Array(outgoing.keys) { await close(id, reason: "this node is stopping") }
        for transport in Array(hosted.keys) { await closeHosted(transport, reason: "this node is stopping") }
        let leaving = Array(incoming.values)
        incoming.removeAll()
        for relay in leaving { await drop(relay, tellOrigin: false) }
        await withTaskGroup(of: Void.self) { group in
            for relay in leaving {
                group.addTask {
                    _ = try? await self.cluster.call(relay.origin, method: .DELETE, path: "/cluster/relays/\(relay.id)", body: Data(),
                                             timeout: Self.shutdownTimeout)
                }
            }
        }
    }

    static let shutdownTimeout: TimeAmount = .milliseconds(500)

    private static func randomKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<(16 + profile.masterSaltLength)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

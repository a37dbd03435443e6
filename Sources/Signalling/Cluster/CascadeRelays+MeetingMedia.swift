import Foundation
import HTTPTypes
import NIOHTTP1
import Logging
import MediaCore

/// The edge's side of a meeting that spans nodes: the node holding a meeting (its *origin*) places a viewer's media
/// here when it has no room for it (`MeetingHub`, `RemoteMeetingMedia`). This node answers the viewer's offer with a
/// transport of its own, receives each track the viewer watches once over a relay from the origin (shared by this
/// node's viewers of that track), and forwards it on the viewer's consumers. Signalling stays with the origin.
///
/// The origin's hub drives it through `/cluster/meeting-media`; this node tells the origin when the media layer closes
/// such a transport, and asks every heartbeat which transports the origin still wants (an origin that is gone, or
/// that forgot one, has them closed here).
extension CascadeRelays {
    struct HostedMedia {
        var transport: TransportID
        var room: String
        var participant: String
        var origin: String
        /// A publishing participant's transport (a viewer's only receives).
        var publishes: Bool
        /// What each consumer watches (the relay it holds).
        var consumers: [ConsumerID: Key] = [:]
        /// The tracks it publishes here, by their meeting track ids (relayed to the origin).
        var producers: [String: ProducerID] = [:]
        /// When the origin last said it still wants this transport.
        var lastConfirmed: ContinuousClock.Instant
    }

    /// Set once at start: this node's viewer count and limit, and how to find a meeting track held here.
    public func setMeetingMedia(capacity: NodeCapacity,
                                meetingTrack: @escaping @Sendable (_ room: String, _ participant: String, _ track: String) async -> ProducerID?) {
        self.capacity = capacity
        self.meetingTrack = meetingTrack
    }

    /// Meeting participants' transports served here for other nodes: viewers' or publishers'.
    public func hostedCount(_ kind: NodeCapacity.Kind) -> Int {
        hosted.values.reduce(0) { $0 + ($1.publishes == (kind == .publisher) ? 1 : 0) }
    }

    /// The producer of a meeting's track published here: one of this node's meetings' (the hub's), or one published
    /// here by a participant of another node's meeting (relayed to that node, and from there to others).
    func meetingTrackHere(_ room: String, _ participant: String, _ track: String) async -> ProducerID? {
        if let producer = await meetingTrack?(room, participant, track) { return producer }
        return hosted.values.first { $0.room == room && $0.participant == participant }?.producers[track]
    }

    // MARK: - The origin: tracks its meeting's participants publish on other nodes

    /// The copy here of `track`, published by `participant` on `node` (opening the relay from there): what the hub
    /// uses as the track's producer. Held until `releaseMeetingTrack`.
    public func meetingTrack(room: String, participant: String, track: String, from node: String) async throws(Problem) -> ProducerID {
        let key = Key(room: room, publisher: participant, track: track)
        holds[key, default: 0] += 1
        do throws(Problem) {
            try await relay(key, from: node)
            guard let producer = await service.registry.publisher(room: room, identity: key.sessionIdentity)?.producers.first?.id else {
                throw Problem(status: 502, code: "relay-failed", title: "Relay not opened", detail: "Track \(track) did not arrive from \(node).")
            }
            return producer
        } catch {
            release(key)
            throw error
        }
    }

    /// The hub no longer uses `track` (unpublished, or its participant's media ended): its relay ends now, since a
    /// track id is never published again.
    public func releaseMeetingTrack(room: String, participant: String, track: String) async {
        let key = Key(room: room, publisher: participant, track: track)
        release(key)
        guard holds[key] == nil, let relay = incoming.removeValue(forKey: key) else { return }
        await service.end(relay.session)
        // Not waited for: the node it came from may be the one that just stopped.
        Task { [cluster] in _ = try? await cluster.call(relay.origin, method: .DELETE, path: "/cluster/relays/\(relay.id)", body: Data()) }
    }

    static let full = Problem(status: 503, code: "server-full", title: "Too many viewers",
                              detail: "This node already serves its most viewers (--max-viewers).", headers: [.retryAfter: "10"])

    static let unknownMedia = Problem(status: 404, code: "meeting-media-not-found", title: "No such meeting media",
                                      detail: "This node serves no such transport (it closed, or the node restarted).")

    /// `POST /cluster/meeting-media`.
    func host(_ request: MeetingMediaWire.TransportRequest) async throws(Problem) -> MeetingMediaWire.Transport {
        let publishes = request.publishes ?? false
        guard await capacity?.hasRoom(for: publishes ? .publisher : .viewer) ?? true else { throw Self.full }
        let description: TransportDescription
        do {
            description = try await service.engine.createTransport(TransportParameters(
                room: request.room, label: "meeting:\(request.identity) for \(request.origin)", remoteUfrag: request.remoteUfrag,
                remotePassword: request.remotePassword,
                remoteFingerprints: request.fingerprints.map { DTLSFingerprint(algorithm: $0.algorithm, value: $0.value) },
                receiveOnly: !publishes))
        } catch {
            throw SessionService.mediaProblem(error)
        }
        hosted[description.id] = HostedMedia(transport: description.id, room: request.room, participant: request.participant,
                                             origin: request.origin, publishes: publishes, lastConfirmed: .now)
        logger.info("meeting participant's media served here for the node holding the meeting",
                    metadata: ["room": "\(request.room)", "participant": "\(request.participant)", "origin": "\(request.origin)",
                               "publishes": "\(publishes)", "transport": "\(description.id)"])
        return MeetingMediaWire.Transport(description)
    }

    /// `POST /cluster/meeting-media/{transport}/ice`.
    func restartHostedICE(_ transport: TransportID, _ request: MeetingMediaWire.ICERestart) async throws(Problem) -> MeetingMediaWire.Transport {
        guard hosted[transport] != nil else { throw Self.unknownMedia }
        do {
            return MeetingMediaWire.Transport(try await service.engine.restartICE(transport, remoteUfrag: request.remoteUfrag,
                                                                                  remotePassword: request.remotePassword))
        } catch {
            throw SessionService.mediaProblem(error)
        }
    }

    /// `POST /cluster/meeting-media/{transport}/consumers`: the track relayed from the origin (opening the relay when
    /// this node has none for it yet), on the viewer's transport.
    func addHostedConsumer(_ transport: TransportID, _ request: MeetingMediaWire.ConsumerRequest) async throws(Problem) -> ConsumerID {
        guard let media = hosted[transport] else { throw Self.unknownMedia }
        let key = Key(room: media.room, publisher: request.publisher, track: request.track)
        // Held from now, so the relay opened for it is not taken for idle.
        holds[key, default: 0] += 1
        do throws(Problem) {
            try await relay(key, from: media.origin)
            guard let producer = await service.registry.publisher(room: media.room, identity: key.sessionIdentity)?
                .producers.first(where: { $0.kind.rawValue == request.kind })?.id else {
                throw Problem(status: 404, code: "not-publishing", title: "Nobody to watch", detail: "Track \(request.track) is not relayed here.")
            }
            let consumer: ConsumerID
            do {
                consumer = try await service.engine.addConsumer(transport: transport, request.parameters(producer: producer))
            } catch {
                throw SessionService.mediaProblem(error)
            }
            guard hosted[transport] != nil else {
                await service.engine.closeConsumer(consumer)
                throw Self.unknownMedia
            }
            hosted[transport]?.consumers[consumer] = key
            return consumer
        } catch {
            release(key)
            throw error
        }
    }

    /// `POST /cluster/meeting-media/{transport}/producers`: a track the participant publishes, which the origin then
    /// relays from here by its track id.
    func addHostedProducer(_ transport: TransportID, _ request: MeetingMediaWire.ProducerRequest) async throws(Problem) -> ProducerID {
        guard let media = hosted[transport], media.publishes else { throw Self.unknownMedia }
        guard let parameters = request.parameters, media.producers[request.track] == nil else {
            throw Problem(status: 400, code: "meeting-media-request", title: "Malformed meeting media request",
                          detail: "Track \(request.track) is malformed or published already.")
        }
        let producer: ProducerID
        do {
            producer = try await service.engine.addProducer(transport: transport, parameters)
        } catch {
            throw SessionService.mediaProblem(error)
        }
        guard hosted[transport] != nil else {
            await service.engine.closeProducer(producer)
            throw Self.unknownMedia
        }
        hosted[transport]?.producers[request.track] = producer
        return producer
    }

    /// `DELETE /cluster/meeting-media/{transport}/producers/{track}`; false when there is none. The origin's relay of
    /// it ends at its next question.
    func closeHostedProducer(_ transport: TransportID, track: String) async -> Bool {
        guard let producer = hosted[transport]?.producers.removeValue(forKey: track) else { return false }
        await service.engine.closeProducer(producer)
        return true
    }

    /// `DELETE /cluster/meeting-media/{transport}/consumers/{consumer}`; false when there is none.
    func closeHostedConsumer(_ transport: TransportID, _ consumer: ConsumerID) async -> Bool {
        guard let key = hosted[transport]?.consumers.removeValue(forKey: consumer) else { return false }
        release(key)
        await service.engine.closeConsumer(consumer)
        return true
    }

    /// `POST /cluster/meeting-media/{transport}/consumers/{consumer}/layers`; false when there is no such consumer.
    func setHostedLayers(_ transport: TransportID, _ consumer: ConsumerID, _ layers: MeetingMediaWire.Layers) -> Bool {
        guard hosted[transport]?.consumers[consumer] != nil else { return false }
        if let spatial = layers.spatial, let temporal = layers.temporal {
            service.engine.setPreferredLayers(consumer: consumer, spatial: spatial, temporal: temporal)
        }
        if let paused = layers.paused { service.engine.setPaused(consumer: consumer, paused: paused) }
        return true
    }

    /// `DELETE /cluster/meeting-media/{transport}` (the viewer left, or its media moved), and this node's own closes.
    @discardableResult
    func closeHosted(_ transport: TransportID, reason: String) async -> Bool {
        guard let media = forgetHosted(transport) else { return false }
        await service.engine.closeTransport(transport)
        logger.info("meeting participant's media closed", metadata: ["room": "\(media.room)", "participant": "\(media.participant)",
                                                               "origin": "\(media.origin)", "reason": "\(reason)"])
        return true
    }

    /// The media layer closed a transport served here for another node (consent expired, DTLS failed or closed): the
    /// origin is told, and tells the viewer (`transport-closed`) as for its own transports. False when it is not one.
    public func hostedTransportClosed(_ transport: TransportID, reason: TransportCloseReason) async -> Bool {
        guard let media = forgetHosted(transport) else { return false }
        logger.notice("meeting participant's media closed by the media layer", metadata: [
            "room": "\(media.room)", "participant": "\(media.participant)", "origin": "\(media.origin)", "reason": "\(reason.rawValue)"])
        let closed = MeetingMediaWire.Closed(edge: node, participant: media.participant, transport: transport.rawValue, reason: reason.rawValue)
        guard let body = try? JSONEncoder().encode(closed) else { return true }
        // Not waited for: the media events behind this one must not wait for a node that does not answer.
        Task { [cluster, logger] in
            do {
                _ = try await cluster.call(media.origin, method: .POST, path: "/cluster/meeting-media-closed", body: body)
            } catch {
                logger.notice("the node holding the meeting was not told that a viewer's media closed",
                              metadata: ["origin": "\(media.origin)", "participant": "\(media.participant)", "error": "\(error)"])
            }
        }
        return true
    }

    private func forgetHosted(_ transport: TransportID) -> HostedMedia? {
        guard let media = hosted.removeValue(forKey: transport) else { return nil }
        for key in media.consumers.values { release(key) }
        return media
    }

    func release(_ key: Key) {
        let left = holds[key, default: 0] - 1
        holds[key] = left > 0 ? left : nil
    }

    /// Every heartbeat: asks each origin which of its transports it still wants; closes the others, and those of an
    /// origin not reached for `unreachableAfter`.
    func tickHosted() async {
        let now = ContinuousClock.now
        let byOrigin = Dictionary(grouping: hosted.values, by: \.origin)
        for (origin, list) in byOrigin {
            let status = MeetingMediaWire.Status(edge: node, transports: list.map { .init(participant: $0.participant, transport: $0.transport.rawValue) })
            var unwanted: Set<MeetingMediaWire.Status.Entry>?
            do {
                let (code, body) = try await cluster.call(origin, method: .POST, path: "/cluster/meeting-media-status",
                                                          body: try JSONEncoder().encode(status))
                if code == 200 { unwanted = Set(try JSONDecoder().decode(MeetingMediaWire.Status.self, from: Data(body)).transports) }
            } catch {
                logger.debug("meeting's origin not reached", metadata: ["origin": "\(origin)", "error": "\(error)"])
            }
            for media in list {
                if let unwanted {
                    if unwanted.contains(.init(participant: media.participant, transport: media.transport.rawValue)) {
                        await closeHosted(media.transport, reason: "the node holding the meeting no longer wants it")
                    } else {
                        hosted[media.transport]?.lastConfirmed = now
                    }
                } else if now - media.lastConfirmed > Self.unreachableAfter {
                    await closeHosted(media.transport, reason: "the node holding the meeting cannot be reached")
                }
            }
        }
    }
}

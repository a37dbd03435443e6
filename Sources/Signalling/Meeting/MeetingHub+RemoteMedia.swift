import Logging
import MediaCore

/// A meeting that spans nodes: signalling and the hub stay on the node holding the room, and a participant's media
/// goes to another node when this one serves its most viewers (`--max-viewers`) or publishers (`--max-publishers`).
/// That node (the edge) answers with a transport of its own, which this hub writes into the participant's SDP answer;
/// it receives each track the participant watches from here once, however many of its participants watch it, and
/// what the participant publishes is relayed here once, where the others' consumers, the active speaker and the
/// recording find it as if it were published here (`CascadeRelays`).
extension MeetingHub {
    /// Set once at start: this node's counts and limits, and (in a cluster) how to reach the other nodes' media and
    /// the relays between them.
    public func setMediaPlacement(_ capacity: NodeCapacity, remote: RemoteMeetingMedia?, relays: CascadeRelays?) {
        self.capacity = capacity
        remoteMedia = remote
        negotiator.remote = remote
        negotiator.relays = relays
    }

    /// Viewer-role participants whose media this node serves (part of its viewer count).
    public func localViewerMedia() -> Int {
        byID.values.reduce(0) { $0 + (!$1.role.mayPublish && $1.transport != nil && $1.mediaNode == nil ? 1 : 0) }
    }

    /// Participants who may publish whose media this node serves (its publisher count).
    public func localPublisherMedia() -> Int {
        byID.values.reduce(0) { $0 + ($1.role.mayPublish && $1.transport != nil && $1.mediaNode == nil ? 1 : 0) }
    }

    /// The producer of `track`, published by `participant` in `room` here: what a relay to another node carries.
    public func producer(room: String, participant: String, track: String) -> ProducerID? {
        guard let publisher = byID[participant], publisher.room == room else { return nil }
        return publisher.published.values.first { $0.id == track }?.producer
    }

    /// This node is full: the participant's transport is made on the live node with the fewest viewers (or
    /// publishers) that takes it. None: the participant stays in the meeting without media, told why (it may offer
    /// again later).
    func openRemoteTransport(for participant: Participant, _ offer: SDPOffer, _ capacity: NodeCapacity, _ kind: NodeCapacity.Kind) async -> String? {
        if let remoteMedia {
            let request = MeetingMediaWire.TransportRequest(
                room: participant.room, participant: participant.id, identity: participant.identity, origin: remoteMedia.node,
                remoteUfrag: offer.iceUfrag, remotePassword: offer.icePassword,
                fingerprints: offer.fingerprints.map { .init(algorithm: $0.algorithm, value: $0.value) }, publishes: kind == .publisher)
            for node in capacity.otherNodesWithRoom(for: kind) {
                let transport: TransportDescription
                do {
                    transport = try await remoteMedia.createTransport(on: node, request)
                } catch {
                    logger.log(level: error.isFull ? .debug : .notice, "another node did not take a meeting participant's media",
                               metadata: ["room": "\(participant.room)", "participant": "\(participant.id)", "node": "\(node)",
                                          "error": "\(error)"])
                    continue
                }
                guard byID[participant.id] === participant, participant.transport == nil else {
                    await remoteMedia.closeTransport(on: node, transport.id)
                    return nil
                }
                adopt(transport, for: participant, offer: offer, on: node, publishes: kind == .publisher)
                logger.info("meeting participant's media placed on another node (this one is full)",
                            metadata: ["room": "\(participant.room)", "participant": "\(participant.id)", "node": "\(node)",
                                       "role": "\(participant.role.rawValue)"])
                return nil
            }
        }
        let alone = capacity.placement == nil
        let who = kind == .viewer ? "viewers" : "participants who publish"
        logger.notice("meeting participant left without media: no node has room", metadata: [
            "room": "\(participant.room)", "participant": "\(participant.id)", "kind": "\(kind.rawValue)", "limit": "\(capacity.limit(kind))"])
        return MeetingWire.error(alone ? "server-full" : "cluster-full",
                                 (alone ? "This server already serves its most \(who)" : "Every server of this service serves its most \(who)")
                                     + "; you can follow the meeting's chat, and connect your media once someone leaves (offer again).",
                                 fatal: false)
    }

    /// Ends the participant's transport here or on the node serving it. A call to another node is not waited for: a
    /// node that misses it closes the transport when it next asks whether it is still wanted (`unwantedRemoteMedia`).
    func closeMedia(of participant: Participant) async {
        guard let transport = participant.transport else { return }
        if let node = participant.mediaNode {
            participant.mediaNode = nil
            // Its tracks relayed here end with their relays (the node serving it no longer has them).
            for track in participant.published.values {
                await negotiator.relays?.releaseMeetingTrack(room: participant.room, participant: participant.id, track: track.id)
            }
            if let remoteMedia { Task { await remoteMedia.closeTransport(on: node, transport.id) } }
        } else {
            byTransport[transport.id] = nil
            await engine.closeTransport(transport.id)
        }
    }

    /// `other` stops receiving the tracks `matches` picks (their publisher's media ended): the slots go, and
    /// consumers on the node serving `other` are closed there (those here went with their producers).
    func forgetSlots(of other: Participant, where matches: (ReceivingSlot) -> Bool) {
        for (mid, slot) in other.receiving where matches(slot) {
            other.receiving[mid] = nil
            if let node = other.mediaNode, let remoteMedia, let transport = other.transport?.id {
                Task { await remoteMedia.closeConsumer(on: node, transport, slot.consumer) }
            }
        }
    }

    /// A consumer's layer preference (`video-size`, `receive-video`), here or on the node serving the participant.
    func setLayers(of participant: Participant, _ consumer: ConsumerID, spatial: Int, temporal: Int, paused: Bool? = nil) {
        if let node = participant.mediaNode, let remoteMedia, let transport = participant.transport?.id {
            Task { await remoteMedia.setLayers(on: node, transport, consumer, .init(spatial: spatial, temporal: temporal, paused: paused)) }
            return
        }
        engine.setPreferredLayers(consumer: consumer, spatial: spatial, temporal: temporal)
        // After the layers: a resumed consumer asks for a keyframe of the layer the new size wants.
        if let paused { engine.setPaused(consumer: consumer, paused: paused) }
    }

    /// `POST /cluster/meeting-media-closed`: the node serving a viewer's media says its media layer closed the
    /// transport; the viewer is told `transport-closed`, as for one of this node's.
    public func remoteMediaClosed(participant id: String, transport: TransportID, on node: String, reason: String) async {
        guard let participant = byID[id], participant.mediaNode == node, participant.transport?.id == transport else { return }
        await mediaClosed(participant, reason: reason)
    }

    /// `POST /cluster/meeting-media-status`: of the transports `node` serves for this node's meetings, those no
    /// participant here uses (it left, or its media moved): that node closes them.
    public func unwantedRemoteMedia(_ entries: [MeetingMediaWire.Status.Entry], on node: String) -> [MeetingMediaWire.Status.Entry] {
        entries.filter { entry in
            guard let participant = byID[entry.participant] else { return true }
            return participant.mediaNode != node || participant.transport?.id.rawValue != entry.transport
        }
    }

    /// Every heartbeat: viewers whose media was on a node that stopped heartbeating are told `transport-closed`
    /// ("node-lost"); their next offer, from a new peer connection, is placed again.
    public func checkMediaNodes() async {
        guard let placement = capacity?.placement else { return }
        let remote = byID.values.filter { $0.mediaNode != nil }
        guard !remote.isEmpty else { return }
        let alive = Set(placement.liveNodes().map(\.id))
        for participant in remote {
            guard let node = participant.mediaNode, !alive.contains(node) else { continue }
            logger.notice("the node serving a meeting participant's media stopped", metadata: [
                "room": "\(participant.room)", "participant": "\(participant.id)", "node": "\(node)"])
            await mediaClosed(participant, reason: "node-lost")
        }
    }
}

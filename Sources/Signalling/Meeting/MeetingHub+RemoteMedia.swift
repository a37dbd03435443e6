import Logging
import MediaCore

/// A meeting that spans nodes: signalling, the hub and every publisher stay on the node holding the room, and a
/// viewer-role participant's media goes to another node when this one serves its most viewers (`--max-viewers`). That
/// node (the edge) answers with a transport of its own, which this hub writes into the viewer's SDP answer, and relays
/// each track the viewer watches from here once, however many of its viewers watch it (`CascadeRelays`).
extension MeetingHub {
    /// Set once at start: this node's viewer count and limit, and (in a cluster) how to reach the other nodes' media.
    public func setViewerPlacement(_ capacity: ViewerCapacity, remote: RemoteMeetingMedia?) {
        viewerCapacity = capacity
        remoteMedia = remote
        negotiator.remote = remote
    }

    /// Viewer-role participants whose media this node serves (part of its viewer count).
    public func localViewerMedia() -> Int {
        byID.values.reduce(0) { $0 + (!$1.role.mayPublish && $1.transport != nil && $1.mediaNode == nil ? 1 : 0) }
    }

    /// The producer of `track`, published by `participant` in `room` here: what a relay to another node carries.
    public func producer(room: String, participant: String, track: String) -> ProducerID? {
        guard let publisher = byID[participant], publisher.room == room else { return nil }
        return publisher.published.values.first { $0.id == track }?.producer
    }

    /// This node is full: the viewer's transport is made on the live node with the fewest viewers that takes it. None:
    /// the viewer stays in the meeting without media, told why (it may offer again later).
    func openRemoteTransport(for participant: Participant, _ offer: SDPOffer, _ capacity: ViewerCapacity) async -> String? {
        if let remoteMedia {
            let request = MeetingMediaWire.TransportRequest(
                room: participant.room, participant: participant.id, identity: participant.identity, origin: remoteMedia.node,
                remoteUfrag: offer.iceUfrag, remotePassword: offer.icePassword,
                fingerprints: offer.fingerprints.map { .init(algorithm: $0.algorithm, value: $0.value) })
            for node in capacity.otherNodesWithRoom() {
                let transport: TransportDescription
                do {
                    transport = try await remoteMedia.createTransport(on: node, request)
                } catch {
                    logger.log(level: error.isFull ? .debug : .notice, "another node did not take a meeting viewer's media",
                               metadata: ["room": "\(participant.room)", "participant": "\(participant.id)", "node": "\(node)",
                                          "error": "\(error)"])
                    continue
                }
                guard byID[participant.id] === participant, participant.transport == nil else {
                    await remoteMedia.closeTransport(on: node, transport.id)
                    return nil
                }
                participant.transport = transport
                participant.mediaNode = node
                participant.remoteCredentials = ICECredentials(ufrag: offer.iceUfrag, password: offer.icePassword)
                participant.remoteFingerprints = offer.fingerprints
                participant.closedTransport = nil
                logger.info("meeting viewer's media placed on another node (this one is full)",
                            metadata: ["room": "\(participant.room)", "participant": "\(participant.id)", "node": "\(node)"])
                return nil
            }
        }
        let alone = capacity.placement == nil
        logger.notice("meeting viewer left without media: no node has room", metadata: [
            "room": "\(participant.room)", "participant": "\(participant.id)", "limit": "\(capacity.maxViewers)"])
        return MeetingWire.error(alone ? "server-full" : "cluster-full",
                                 alone ? "This server already serves its most viewers; you can follow the meeting's chat, and watch once someone leaves (offer again)."
                                     : "Every server of this service serves its most viewers; you can follow the meeting's chat, and watch once someone leaves (offer again).",
                                 fatal: false)
    }

    /// Ends the participant's transport here or on the node serving it. A call to another node is not waited for: a
    /// node that misses it closes the transport when it next asks whether it is still wanted (`unwantedRemoteMedia`).
    func closeMedia(of participant: Participant) async {
        guard let transport = participant.transport else { return }
        if let node = participant.mediaNode {
            participant.mediaNode = nil
            if let remoteMedia { Task { await remoteMedia.closeTransport(on: node, transport.id) } }
        } else {
            byTransport[transport.id] = nil
            await engine.closeTransport(transport.id)
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
    public func remoteMediaClosed(participant id: String, transport: TransportID, on node: String, reason: String) {
        guard let participant = byID[id], participant.mediaNode == node, participant.transport?.id == transport else { return }
        mediaClosed(participant, reason: reason)
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
    public func checkMediaNodes() {
        guard let placement = viewerCapacity?.placement else { return }
        let remote = byID.values.filter { $0.mediaNode != nil }
        guard !remote.isEmpty else { return }
        let alive = Set(placement.liveNodes().map(\.id))
        for participant in remote {
            guard let node = participant.mediaNode, !alive.contains(node) else { continue }
            logger.notice("the node serving a meeting viewer's media stopped", metadata: [
                "room": "\(participant.room)", "participant": "\(participant.id)", "node": "\(node)"])
            mediaClosed(participant, reason: "node-lost")
        }
    }
}

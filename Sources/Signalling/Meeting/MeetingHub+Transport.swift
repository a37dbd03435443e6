import Logging
import MediaCore

/// A participant's media transport: made on its first offer (here or, when this node is full, on another node),
/// restarted with new ICE credentials, and closed by the media layer while the participant stays in the meeting.
extension MeetingHub {
    /// A transport the media layer closed by itself (no ICE consent for `--consent-timeout` during a long network
    /// outage, DTLS failed): the participant keeps its place in the meeting. What it published ends (the others are
    /// told and renegotiate), what it received went with the transport, and it is told `transport-closed`: its next
    /// offer, from a new peer connection, opens a new transport.
    func transportClosed(_ transport: TransportID, reason: TransportCloseReason) async -> Bool {
        guard let id = byTransport.removeValue(forKey: transport), let participant = byID[id] else { return false }
        await mediaClosed(participant, reason: reason.rawValue)
        return true
    }

    /// What `transportClosed` does once the participant is known (also for media another node served).
    func mediaClosed(_ participant: Participant, reason: String) async {
        let id = participant.id
        let servedElsewhere = participant.mediaNode != nil
        participant.transport = nil
        participant.mediaNode = nil
        participant.mediaPublishes = false
        participant.remoteCredentials = nil
        participant.closedTransport = (reason, participant.remoteFingerprints)
        let unpublished = Array(participant.published.values)
        participant.published = [:]
        participant.receiving = [:]
        for other in rooms[participant.room] ?? [] where other !== participant {
            forgetSlots(of: other) { $0.publisher == id }
        }
        participant.send(Self.transportClosedMessage(reason))
        announce(added: [], removed: unpublished, of: participant)
        logger.notice("participant's media transport closed; it stays in the meeting", metadata: [
            "room": "\(participant.room)", "participant": "\(id)", "reason": "\(reason)"])
        // What it published there came here over relays, which end with it.
        guard servedElsewhere else { return }
        for track in unpublished { await negotiator.relays?.releaseMeetingTrack(room: participant.room, participant: id, track: track.id) }
    }

    static func transportClosedMessage(_ reason: String) -> String {
        MeetingWire.encode("transport-closed", ["reason": reason])
    }

    /// The participant's transport, created on its first offer (or the first after the media layer closed it); a later
    /// offer with other ICE credentials restarts ICE on it. Returns the error message for the participant when there is
    /// none; a participant that left meanwhile gets none.
    func openTransport(for participant: Participant, _ offer: SDPOffer) async -> String? {
        let credentials = ICECredentials(ufrag: offer.iceUfrag, password: offer.icePassword)
        if let transport = participant.transport {
            guard participant.remoteCredentials != credentials else { return nil }
            return await restartICE(participant, transport, credentials)
        }
        if let closed = participant.closedTransport, closed.fingerprints == offer.fingerprints {
            // A late offer of the peer connection whose transport is gone (its DTLS cannot start again).
            return Self.transportClosedMessage(closed.reason)
        }
        let kind: NodeCapacity.Kind = participant.role.mayPublish ? .publisher : .viewer
        if let capacity, !(await capacity.hasRoom(for: kind)) {
            return await openRemoteTransport(for: participant, offer, capacity, kind)
        }
        do {
            let transport = try await engine.createTransport(TransportParameters(
                room: participant.room, label: "meeting:\(participant.identity)", remoteUfrag: offer.iceUfrag,
                remotePassword: offer.icePassword, remoteFingerprints: offer.fingerprints))
            guard byID[participant.id] === participant, participant.transport == nil else {
                await engine.closeTransport(transport.id)
                return nil
            }
            adopt(transport, for: participant, offer: offer)
            byTransport[transport.id] = participant.id
            return nil
        } catch {
            return MeetingWire.error("media-error", "\(error)", fatal: false)
        }
    }

    /// The participant's media goes through `transport` now (here, or on `node`), made from `offer`.
    func adopt(_ transport: TransportDescription, for participant: Participant, offer: SDPOffer, on node: String? = nil,
               publishes: Bool = false) {
        participant.transport = transport
        participant.mediaNode = node
        participant.mediaPublishes = publishes
        participant.remoteCredentials = ICECredentials(ufrag: offer.iceUfrag, password: offer.icePassword)
        participant.remoteFingerprints = offer.fingerprints
        participant.closedTransport = nil
    }

    /// An offer with new ICE credentials: the client restarted ICE (its network changed, or its connection failed). The
    /// transport takes them and gets new ones of its own for the answer; DTLS, SRTP, producers and consumers carry on,
    /// so the others notice nothing but a gap in the media.
    func restartICE(_ participant: Participant, _ transport: TransportDescription, _ credentials: ICECredentials) async -> String? {
        do {
            let restarted: TransportDescription
            if let node = participant.mediaNode, let remoteMedia {
                restarted = try await remoteMedia.restartICE(on: node, transport.id, ufrag: credentials.ufrag, password: credentials.password)
            } else {
                restarted = try await engine.restartICE(transport.id, remoteUfrag: credentials.ufrag, remotePassword: credentials.password)
            }
            guard byID[participant.id] === participant, participant.transport?.id == transport.id else { return nil }
            participant.transport = restarted
            participant.remoteCredentials = credentials
            logger.info("ICE restarted", metadata: ["room": "\(participant.room)", "participant": "\(participant.id)"])
            return nil
        } catch {
            logger.notice("ICE restart refused", metadata: ["participant": "\(participant.id)", "error": "\(error)"])
            return MeetingWire.error("media-error", "The media connection could not be restarted (\(error)); try again.", fatal: false)
        }
    }
}

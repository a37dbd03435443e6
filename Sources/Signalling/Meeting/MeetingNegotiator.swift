import Logging
import MediaCore

/// What one offer of a meeting participant changes, and the answer to it. Only clients offer; each offer says, by
/// its m-lines, what the participant sends (each sending mid becomes a producer) and where it can receive (each
/// recvonly mid can carry one other participant's track through a consumer).
///
/// It changes the participant's own media and talks to the media engine; `MeetingHub` keeps the rooms, calls the
/// steps in order and tells the others. The steps run on the hub's actor (the participant is its state).
struct MeetingNegotiator: Sendable {
    typealias Participant = MeetingHub.Participant
    typealias PublishedTrack = MeetingHub.PublishedTrack
    /// A track the participant should receive, and who publishes it.
    typealias WantedTrack = (track: PublishedTrack, publisher: String)

    let engine: MediaEngine
    let logger: Logger
    /// Producers and consumers of participants whose media another node serves go there (nil alone).
    var remote: RemoteMeetingMedia?
    /// What such a participant publishes is relayed here from its node (nil alone).
    var relays: CascadeRelays?

    /// What the participant's sending m-lines changed.
    struct Publishing {
        var added: [PublishedTrack] = []
        var removed: [PublishedTrack] = []
        /// Sending mids of a participant whose role may not publish: answered inactive.
        var refused: Set<String> = []
        /// Screens of a participant who may not share one now (hosts only): answered inactive.
        var refusedScreens: Set<String> = []
        /// `media-error` messages for m-lines the media engine would not take.
        var errors: [String] = []
    }

    /// What the participant's recvonly m-lines carry after the offer.
    struct Receiving {
        /// Tracks it receives now.
        var assigned: Set<String> = []
        /// Recvonly mids of each kind left without a track.
        var freeMids: [MediaKind: Int] = [:]
    }

    /// Starts a producer for each new sending m-line and closes those of m-lines no longer sending. A track starts muted
    /// when the participant muted its kind (screens excepted); `sources[mid]` says which video is a screen.
    func publish(_ offer: SDPOffer, for participant: Participant, transport: TransportID, sources: [String: String],
                 mayShareScreen: Bool = true, isolation: isolated (any Actor)? = #isolation) async -> Publishing {
        var result = Publishing()
        var publishing: Set<String> = []
        for media in offer.media where media.accepted && media.direction.sends {
            guard let kind = media.kind else { continue }
            guard participant.role.mayPublish else { result.refused.insert(media.mid); continue }
            if kind == .video, sources[media.mid] == "screen", !mayShareScreen, participant.published[media.mid] == nil {
                result.refusedScreens.insert(media.mid)
                continue
            }
            publishing.insert(media.mid)
            guard participant.published[media.mid] == nil else { continue }
            do {
                let trackID = "t-" + MeetingHub.randomHex(8)
                let producer = try await addProducer(SessionService.producerParameters(media, kind: kind), track: trackID, for: participant,
                                                     transport: transport)
                let source = kind == .audio ? "microphone" : (sources[media.mid] == "screen" ? "screen" : "camera")
                let track = PublishedTrack(id: trackID, mid: media.mid, kind: kind, producer: producer,
                                           muted: participant.mutedKinds.contains(kind) && source != "screen", source: source)
                participant.published[media.mid] = track
                result.added.append(track)
            } catch {
                result.errors.append(MeetingWire.error("media-error", "cannot receive \(kind.rawValue) on mid \(media.mid): \(error)", fatal: false))
            }
        }
        for (mid, track) in participant.published where !publishing.contains(mid) {
            participant.published[mid] = nil
            result.removed.append(track)
            await close(track, of: participant)
        }
        return result
    }

    /// A producer here; or, for a participant whose media another node serves, a producer there and its copy here
    /// (relayed once from there), which is what everyone else's consumers, the active speaker and recordings use.
    private func addProducer(_ parameters: ProducerParameters, track: String, for participant: Participant, transport: TransportID,
                             isolation: isolated (any Actor)? = #isolation) async throws -> ProducerID {
        guard let node = participant.mediaNode else { return try await engine.addProducer(transport: transport, parameters) }
        guard let remote, let relays else { throw MediaError.configuration("no relays to the node serving this participant") }
        try await remote.addProducer(on: node, transport, MeetingMediaWire.ProducerRequest(parameters, track: track))
        do {
            return try await relays.meetingTrack(room: participant.room, participant: participant.id, track: track, from: node)
        } catch {
            await remote.closeProducer(on: node, transport, track: track)
            throw error
        }
    }

    /// Ends a track the participant published, here or on the node serving it (whose relay here then ends).
    func close(_ track: PublishedTrack, of participant: Participant, isolation: isolated (any Actor)? = #isolation) async {
        guard let node = participant.mediaNode, let transport = participant.transport?.id else {
            await engine.closeProducer(track.producer)
            return
        }
        await remote?.closeProducer(on: node, transport, track: track.id)
        await relays?.releaseMeetingTrack(room: participant.room, participant: participant.id, track: track.id)
    }

    /// Keeps each received track on its mid, closes consumers of mids gone or tracks no longer `wanted`, and fills free
    /// recvonly mids with wanted tracks of their kind, in order.
    func receive(_ offer: SDPOffer, for participant: Participant, transport: TransportID, wanted: [WantedTrack],
                 isolation: isolated (any Actor)? = #isolation) async -> Receiving {
        let wantedIDs = Set(wanted.map(\.track.id))
        let receivingMids = Set(offer.media.filter { $0.accepted && !$0.direction.sends && $0.direction.receives }.map(\.mid))
        for (mid, slot) in participant.receiving where !receivingMids.contains(mid) || !wantedIDs.contains(slot.track) {
            participant.receiving[mid] = nil
            if let node = participant.mediaNode, let remote {
                await remote.closeConsumer(on: node, transport, slot.consumer)
            } else {
                await engine.closeConsumer(slot.consumer)
            }
        }
        var result = Receiving(assigned: Set(participant.receiving.values.map(\.track)))
        for media in offer.media where receivingMids.contains(media.mid) && participant.receiving[media.mid] == nil {
            guard let kind = media.kind else { continue }
            guard let next = wanted.first(where: { $0.track.kind == kind && !result.assigned.contains($0.track.id) }) else {
                result.freeMids[kind, default: 0] += 1
                continue
            }
            let (ssrc, rtxSSRC) = SessionService.newSSRCs(rtx: media.rtxPayloadType != 0)
            do {
                let parameters = SessionService.consumerParameters(
                    media, producer: next.track.producer, ssrc: ssrc, rtxSSRC: rtxSSRC,
                    source: MediaSource(rawValue: next.track.source) ?? (kind == .audio ? .microphone : .camera))
                let consumer: ConsumerID
                if let node = participant.mediaNode, let remote {
                    // The node serving this participant relays the track from here and consumes its copy.
                    consumer = try await remote.addConsumer(on: node, transport, .init(parameters, publisher: next.publisher,
                                                                                       track: next.track.id, kind: kind))
                } else {
                    consumer = try await engine.addConsumer(transport: transport, parameters)
                }
                participant.receiving[media.mid] = MeetingHub.ReceivingSlot(track: next.track.id, publisher: next.publisher, kind: kind,
                                                                            consumer: consumer, ssrc: ssrc, rtxSSRC: rtxSSRC)
                result.assigned.insert(next.track.id)
            } catch {
                // The publisher left meanwhile; the next renegotiation settles it.
                logger.debug("consumer not created", metadata: ["participant": "\(participant.id)", "track": "\(next.track.id)", "error": "\(error)"])
            }
        }
        return result
    }

    /// The answer: what the participant receives on each mid (announced with its publisher as stream), sending mids
    /// in `refused` inactive.
    func answer(_ offer: SDPOffer, for participant: Participant, transport: TransportDescription, refused: Set<String>) -> String {
        let sending = participant.receiving.mapValues {
            OutgoingTrack(ssrc: $0.ssrc, cname: participant.id, streamID: $0.publisher, trackID: $0.track, rtxSSRC: $0.rtxSSRC)
        }
        let local = LocalSDPParameters(transport, sessionID: participant.localSessionID)
        return offer.answer(local: local, sending: sending, refused: refused)
    }

    /// Whether to ask for another offer: a wanted track is not received and no free recvonly mid of its kind could
    /// take it (the client lacks transceivers).
    static func needsAnotherOffer(wanted: [WantedTrack], _ receiving: Receiving) -> Bool {
        let missing = wanted.filter { !receiving.assigned.contains($0.track.id) }
        return !missing.isEmpty && missing.contains { receiving.freeMids[$0.track.kind, default: 0] == 0 }
    }
}

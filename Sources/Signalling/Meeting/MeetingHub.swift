import Composition
import Foundation
import Logging
import MediaCore
import Recording

/// Rooms and their participants, and the media each one sends and receives. Participants talk to it over
/// the WebSocket protocol (docs/protocol.md); it drives the media engine and tells everyone what changed.
///
/// Every participant has one transport. What it publishes are producers keyed by its offer's mids; what it
/// receives are consumers on its recvonly mids. Only clients offer; the hub asks for an offer (renegotiate)
/// when the tracks a participant should receive change.
public actor MeetingHub {
    public enum LeaveReason: String, Sendable {
        case left
        case disconnected
        case removed
        case replaced
        case ended
        /// A scheduled meeting lowered its role: it may join again with the new one.
        case roleChanged = "role-changed"
    }

    /// Something worth an audit record: who joined or left which room, when, from where, and who acted on them.
    public struct AuditEvent: Sendable {
        public var room: String
        public var identity: String
        public var participant: String
        /// "joined", "left", "disconnected", "removed", "replaced", "ended", "resumed", "closed" (the room, empty),
        /// "readmitted", "room-ended" (closed by a host or an administrator), "room-reopened", "link-revoked".
        public var event: String
        public var address: String?
        /// A host's identity or "admin", for actions on others.
        public var actor: String?
        /// The id of a revoked link.
        public var detail: String?

        public init(room: String, identity: String, participant: String, event: String, address: String? = nil,
                    actor: String? = nil, detail: String? = nil) {
            self.room = room
            self.identity = identity
            self.participant = participant
            self.event = event
            self.address = address
            self.actor = actor
            self.detail = detail
        }
    }

    let engine: MediaEngine
    let logger: Logger
    /// Turns a participant's offers into producers, consumers and answers.
    var negotiator: MeetingNegotiator
    var auditSink: (@Sendable (AuditEvent) -> Void)?
    /// Closed rooms, removed people, withdrawn links (nil: tokens alone decide, as in unit tests).
    let access: RoomAccess?
    /// Ends the WHIP/WHEP sessions in a room (of one identity, or opened with one token, when given); returns how many.
    private var endMediaSessions: (@Sendable (_ room: String, _ identity: String?, _ tokenID: String?) async -> Int)?
    /// How long a participant whose WebSocket dropped keeps its place (and media) waiting for a resume.
    private let resumeGrace: Duration
    /// Participants of each room, in join order.
    var rooms: [String: [Participant]] = [:]
    var byID: [String: Participant] = [:]
    var byTransport: [TransportID: String] = [:]
    /// The participant last announced as active speaker in each room (nil = silence).
    var activeSpeakers: [String: String?] = [:]
    /// TURN relays offered in `joined.iceServers`, with credentials per participant (nil: none offered).
    private let turn: TURNConfiguration?
    /// What hosts decided about each live room (lock, screen sharing, co-hosts, lobby, hands).
    var controls: [String: RoomControls] = [:]
    /// Participants in a lobby or waiting for a host: they have a socket and an id, but are not in `rooms`.
    var waitingByID: [String: Participant] = [:]
    /// A scheduled meeting's invited people with their answers, for hosts (nil: no meetings).
    var invitedList: (@Sendable (_ room: String) -> [MeetingWire.InvitedInfo])?
    /// Rooms being recorded, and where recordings go (nil: recording is off).
    var recordings: [String: RecordingSession] = [:]
    var recordingDirectory: String?
    /// Composes stopped recordings into one file; nil: they stay as tracks.
    var compositionQueue: CompositionQueue?
    var recordingMinimumFree: Int64 = 0
    /// This node's viewers and publishers and their limits (`--max-viewers`, `--max-publishers`): a participant's
    /// media goes to another node of the cluster when this one is full (`MeetingHub+RemoteMedia`). nil: no limits.
    var capacity: NodeCapacity?
    /// The media calls for participants whose media another node serves (nil alone).
    var remoteMedia: RemoteMeetingMedia?
    /// The rooms' chats and options (nil in unit tests without a store).
    var store: (any RoomStore)? { access?.store }

    public init(engine: MediaEngine, logger: Logger, resumeGrace: Duration = .seconds(30), access: RoomAccess? = nil,
                turn: TURNConfiguration? = nil) {
        self.engine = engine
        self.logger = logger
        self.negotiator = MeetingNegotiator(engine: engine, logger: logger)
        self.resumeGrace = resumeGrace
        self.access = access
        self.turn = turn
    }

    /// Where audit events go (the SQLite store); set once at start.
    public func setAuditSink(_ sink: @escaping @Sendable (AuditEvent) -> Void) {
        auditSink = sink
    }

    /// How the hub ends WHIP/WHEP sessions of a room it closes or of people it sends out; set once at start.
    public func setMediaSessionEnder(_ end: @escaping @Sendable (_ room: String, _ identity: String?, _ tokenID: String?) async -> Int) {
        endMediaSessions = end
    }

    func audit(_ participant: Participant, _ event: String, address: String? = nil, actor: String? = nil) {
        auditSink?(AuditEvent(room: participant.room, identity: participant.identity, participant: participant.id, event: event,
                              address: address, actor: actor))
    }

    // MARK: - Joining and leaving

    /// Adds a participant; returns its id. A second join with the same identity replaces the first.
    /// Returns the participant id and the connection epoch the socket must quote when it drops. Refuses a withdrawn
    /// link, a closed room and a removed person (checked here, in the actor, so a removal and a rejoin cannot cross).
    func join(token: AccessToken, name: String?, resume: String?, address: String? = nil,
              outbox: SocketOutbox) async throws(RoomAccess.Refusal) -> (id: String, epoch: Int) {
        let room = token.room
        if let refusal = access?.refusal(room: room, identity: token.identity, tokenID: token.tokenID) { throw refusal }
        if let resume, let participant = rooms[room]?.first(where: { $0.resumeSecret == resume && $0.identity == token.identity }) {
            // The same participant on a new WebSocket: swap the outbox, keep media and place.
            participant.outbox.finish()
            participant.outbox = outbox
            participant.connected = true
            participant.connectionEpoch += 1
            let others = (rooms[room] ?? []).filter { $0 !== participant }
            participant.send(joinedMessage(participant, others: others, resumed: true))
            // Its transport closed while it was away: the page must hear it to start a new peer connection.
            if let closed = participant.closedTransport { participant.send(Self.transportClosedMessage(closed.reason)) }
            if !desiredTracks(for: participant).isEmpty { requestRenegotiation(participant) }
            logger.info("participant resumed", metadata: ["room": "\(room)", "participant": "\(participant.id)"])
            audit(participant, "resumed", address: address)
            return (participant.id, participant.connectionEpoch)
        }
        if let previous = rooms[room]?.first(where: { $0.identity == token.identity }) {
            previous.send(MeetingWire.error("replaced", "You joined this meeting from another window.", fatal: true))
            previous.outbox.finish()
            await leave(previous.id, reason: .replaced)
        }
        if let previous = waitingByID.values.first(where: { $0.room == room && $0.identity == token.identity }) {
            previous.send(MeetingWire.error("replaced", "You joined this meeting from another window.", fatal: true))
            previous.outbox.finish()
            stopWaiting(previous, reason: "replaced")
        }
        let role = controls[room]?.coHosts.contains(token.identity.lowercased()) == true ? .host : token.role
        if role != .host, controls[room]?.locked == true {
            throw RoomAccess.Refusal(status: 423, code: "room-locked",
                                     detail: "A host has locked this meeting: nobody new can join until a host unlocks it.")
        }
        let names = Self.names(token: token, chosen: name)
        let participant = Participant(id: "p-" + Self.randomHex(8), room: room, identity: token.identity, name: names.name,
                                      chosenName: names.chosen,
                                      role: role, tokenID: token.tokenID, outbox: outbox)
        if let reason = waitReason(for: participant) {
            try wait(participant, reason: reason, address: address)
        } else {
            enter(participant, address: address)
        }
        return (participant.id, participant.connectionEpoch)
    }

    /// Puts a participant in its room: it gets `joined`, the others `participant-joined`. A host's arrival lets in
    /// whoever waited for one.
    func enter(_ participant: Participant, address: String?) {
        let room = participant.room
        let others = rooms[room] ?? []
        rooms[room, default: []].append(participant)
        byID[participant.id] = participant
        participant.send(joinedMessage(participant, others: others, resumed: false))
        for other in others { other.send(MeetingWire.encode("participant-joined", ["participant": participant.info])) }
        recordingMayChange(room)
        audit(participant, "joined", address: address)
        logger.info("participant joined", metadata: ["room": "\(room)", "participant": "\(participant.id)",
                                                     "identity": "\(participant.identity)", "role": "\(participant.role.rawValue)",
                                                     "participants": "\(others.count + 1)"])
        if participant.role == .host { hostArrived(in: room) }
    }

    /// Who a participant is to the others: the token's name (else its identity), and what they typed when it differs
    /// (trimmed, without control characters, at most 80 characters), so nobody can pass for someone else.
    static func names(token: AccessToken, chosen: String?) -> (name: String, chosen: String?) {
        let name = String((token.name.flatMap { $0.isEmpty ? nil : $0 } ?? token.identity).prefix(80))
        let typed = String((chosen ?? "").unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
            .trimmingCharacters(in: .whitespacesAndNewlines).prefix(80)
        return (name, typed.isEmpty || typed == name ? nil : String(typed))
    }

    func joinedMessage(_ participant: Participant, others: [Participant], resumed: Bool) -> String {
        // Fresh on every join and resume, so a page that rebuilds its peer connection has credentials valid now.
        let iceServers: [ICEServer] = turn.map { [$0.iceServer(for: participant.id)] } ?? []
        var fields: [String: any Encodable & Sendable] = [
            "version": MeetingWire.version,
            "room": participant.room,
            "you": participant.info,
            "participants": others.map(\.info),
            "tracks": others.flatMap { trackInfos(of: $0) },
            "resume": participant.resumeSecret,
            "resumed": resumed,
            "iceServers": iceServers,
            "controls": (controls[participant.room] ?? RoomControls()).wire,
            "hands": (controls[participant.room] ?? RoomControls()).handsWire,
            "chat": chatHistory(participant.room),
            "recording": recordings[participant.room] != nil,
        ]
        if participant.role == .host {
            fields["removed"] = removedList(participant.room)
            fields["waiting"] = waitingList(participant.room)
            fields["invited"] = invited(participant.room)
        }
        return MeetingWire.encode("joined", fields)
    }

    /// The participant's WebSocket dropped: keep its place for the grace period, then let it go.
    func disconnected(_ id: String, epoch connection: Int) {
        if let waiting = waitingByID[id], waiting.connectionEpoch == connection {
            stopWaiting(waiting, reason: "left")
            return
        }
        guard let participant = byID[id], participant.connectionEpoch == connection else { return }
        participant.connected = false
        participant.connectionEpoch += 1
        let epoch = participant.connectionEpoch
        audit(participant, "connection-lost")  // the attendance report's absence starts here unless it resumes
        let grace = resumeGrace
        logger.info("participant connection lost; waiting for resume", metadata: ["participant": "\(id)", "grace": "\(grace)"])
        Task { [weak self] in
            try? await Task.sleep(for: grace)
            await self?.expire(id, epoch: epoch)
        }
    }

    private func expire(_ id: String, epoch: Int) async {
        guard let participant = byID[id], !participant.connected, participant.connectionEpoch == epoch else { return }
        await leave(id, reason: .disconnected)
    }

    /// An empty room closes after the grace period unless someone comes back (a dropped last participant
    /// keeps it open while it may resume, since it is still in `rooms`).
    private func scheduleClose(_ room: String) {
        let grace = resumeGrace
        Task { [weak self] in
            try? await Task.sleep(for: grace)
            await self?.closeIfEmpty(room)
        }
    }

    private func closeIfEmpty(_ room: String) {
        guard rooms[room] == nil else { return }
        if controls[room]?.waiting.isEmpty ?? true { controls[room] = nil }
        logger.info("room closed: empty", metadata: ["room": "\(room)"])
        auditSink?(AuditEvent(room: room, identity: "", participant: "", event: "closed", address: nil))
    }

    // MARK: - Host actions

    enum HostActionError: Error { case notHost, unknownParticipant, notRemoved, notAllowedForViewer }

    /// Ends the meeting for everyone in the host's room, frees all their media, and closes the room until an
    /// administrator reopens it.
    func endMeeting(by id: String) async throws(HostActionError) {
        let host = try self.host(id)
        let count = await endMeeting(room: host.room, reason: "host", closedBy: host.identity)
        logger.notice("meeting ended by host", metadata: ["room": "\(host.room)", "host": "\(host.identity)", "participants": "\(count)"])
    }

    /// Ends a room's meeting for everyone (host action, admin API, cancelled meeting); returns how many were in it.
    /// With `closedBy` (a host's identity or "admin") the room stays closed until an administrator reopens it, and
    /// its WHIP/WHEP sessions end too.
    @discardableResult
    public func endMeeting(room: String, reason: String, closedBy actor: String? = nil) async -> Int {
        if let actor {
            // Closed before anyone is sent out: a join racing this one is refused rather than let in.
            access?.close(room, by: actor)
            auditSink?(AuditEvent(room: room, identity: "", participant: "", event: "room-ended", actor: actor))
        }
        let everyone = rooms.removeValue(forKey: room) ?? []
        activeSpeakers[room] = nil
        for waiting in waitingByID.values where waiting.room == room {
            waitingByID[waiting.id] = nil
            waiting.send(MeetingWire.encode("meeting-ended", ["reason": reason]))
            waiting.outbox.finish()
        }
        controls[room] = nil
        for participant in everyone {
            audit(participant, "ended")
            byID[participant.id] = nil
            participant.send(MeetingWire.encode("meeting-ended", ["reason": reason]))
            participant.outbox.finish()
            await closeMedia(of: participant)
        }
        if actor != nil, let endMediaSessions {
            let ended = await endMediaSessions(room, nil, nil)
            if ended > 0 { logger.notice("WHIP/WHEP sessions of the ended room closed", metadata: ["room": "\(room)", "sessions": "\(ended)"]) }
        }
        return everyone.count
    }

    /// Sends out whoever in `room` joined with the token `tokenID` (an administrator withdrew that link), and ends
    /// the WHIP/WHEP sessions opened with it. Returns how many were sent out.
    public func dismiss(room: String, tokenID: String) async -> Int {
        let leaving = everyone(in: room).filter { $0.tokenID == tokenID }
        await sendOut(leaving, MeetingWire.error("link-revoked", "This link has been withdrawn by an administrator.", fatal: true),
                      reason: .removed, actor: "admin")
        let sessions = await endMediaSessions?(room, nil, tokenID) ?? 0
        return leaving.count + sessions
    }

    /// Sends out whoever in `room` joined as one of `identities` (removed from a scheduled meeting).
    public func dismiss(room: String, identities: Set<String>) async {
        let leaving = everyone(in: room).filter { identities.contains($0.identity.lowercased()) }
        await sendOut(leaving, MeetingWire.error("link-revoked", "You are no longer invited to this meeting.", fatal: true), reason: .removed)
    }

    /// A host sends someone out; they stay out (any token, same identity) until a host or an administrator lets
    /// them back in.
    /// Sends out whoever in `room` joined as one of `identities` (a scheduled meeting lowered their role): they join
    /// again with the new role, since a join uses the lesser of the link's and the meeting's.
    public func roleLowered(room: String, identities: Set<String>) async {
        let leaving = everyone(in: room).filter { identities.contains($0.identity.lowercased()) }
        await sendOut(leaving, MeetingWire.error("role-changed", "The organiser changed your role in this meeting. Join again to continue with your new role.",
                                                 fatal: true), reason: .roleChanged)
        for participant in leaving { _ = await endMediaSessions?(room, participant.identity, nil) }
    }

    /// Who is in `room` or waiting to be let in.
    func everyone(in room: String) -> [Participant] {
        (rooms[room] ?? []) + waiting(in: room)
    }

    /// Tells each of `leaving` why (`message`), closes their connection once it is sent, and takes them out.
    func sendOut(_ leaving: [Participant], _ message: String, reason: LeaveReason, actor: String? = nil) async {
        for participant in leaving {
            participant.send(message)
            participant.outbox.finish()
            await leave(participant.id, reason: reason, actor: actor)
        }
    }

    func remove(_ target: String, by id: String) async throws(HostActionError) {
        let host = try self.host(id)
        guard let participant = byID[target], participant.room == host.room, participant !== host else { throw .unknownParticipant }
        // Stored before they are sent out, so their page's next join is refused.
        access?.recordRemoval(of: participant.identity, name: participant.name, from: participant.room, by: host.identity)
        await sendOut([participant], MeetingWire.error("removed", "The host removed you from the meeting.", fatal: true),
                      reason: .removed, actor: host.identity)
        // Whatever else that identity has open in the room (another window cannot exist; a WHIP/WHEP session can).
        _ = await endMediaSessions?(participant.room, participant.identity, nil)
        sendRemovedList(participant.room)
    }

    /// A host lets a removed identity back in.
    func readmit(_ identity: String, by id: String) throws(HostActionError) {
        let host = try self.host(id)
        guard access?.readmit(identity, to: host.room) == true else { throw .notRemoved }
        auditSink?(AuditEvent(room: host.room, identity: identity, participant: "", event: "readmitted", actor: host.identity))
        logger.info("removed participant let back in", metadata: ["room": "\(host.room)", "identity": "\(identity)", "by": "\(host.identity)"])
        sendRemovedList(host.room)
    }

    /// An administrator let `identity` back into `room`: the hosts' lists follow.
    public func readmitted(_ identity: String, room: String) {
        sendRemovedList(room)
    }

    func muteParticipant(_ target: String, kind: String, by id: String) throws(HostActionError) {
        let host = try self.host(id)
        guard let participant = byID[target], participant.room == host.room else { throw .unknownParticipant }
        participant.send(MeetingWire.encode("mute-request", ["kind": kind, "by": host.id]))
    }

    /// Removes a participant, frees its transport, and tells the others. Unknown ids are ignored.
    func leave(_ id: String, reason: LeaveReason, actor: String? = nil) async {
        if let waiting = waitingByID[id] {
            stopWaiting(waiting, reason: reason.rawValue)
            return
        }
        guard let participant = byID.removeValue(forKey: id) else { return }
        let room = participant.room
        lowerHandOnLeave(participant)
        audit(participant, reason.rawValue, actor: actor)
        rooms[room]?.removeAll { $0 === participant }
        if rooms[room]?.isEmpty == true {
            rooms[room] = nil
            activeSpeakers[room] = nil
            scheduleClose(room)
        }
        if participant.role == .host, !(rooms[room] ?? []).contains(where: { $0.role == .host }) {
            logger.info("the last host left; the lobby waits for the next", metadata: ["room": "\(room)"])
        }
        // Closing the transport closes its producers and, with them, everyone's consumers of them.
        await closeMedia(of: participant)
        let others = rooms[room] ?? []
        for other in others {
            forgetSlots(of: other) { $0.publisher == id }
            for track in participant.published.values { other.send(MeetingWire.encode("track-unpublished", ["track": track.id])) }
            other.send(MeetingWire.encode("participant-left", ["participant": id, "reason": reason.rawValue]))
            if !participant.published.isEmpty { requestRenegotiation(other) }
        }
        recordingMayChange(room)
        logger.info("participant left", metadata: ["room": "\(room)", "participant": "\(id)", "reason": "\(reason.rawValue)",
                                                   "participants": "\(others.count)"])
    }

    // MARK: - Media

    /// Answers a participant's offer, creating and ending producers and consumers to match it (MeetingNegotiator).
    /// Returns the messages for the offerer (the answer first); others are told what changed.
    func offer(from id: String, sdp: String, sources: [String: String] = [:]) async -> [String] {
        if waitingByID[id] != nil { return [Self.notAdmitted] }
        guard let participant = byID[id] else { return [] }
        guard sdp.contains("\nm=") || sdp.hasPrefix("m=") else {
            // Nothing to send or receive yet (a viewer alone): answer in kind, no transport needed.
            return [MeetingWire.encode("answer", ["sdp": "v=0\r\no=- \(participant.localSessionID) 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"])]
        }
        let offer: SDPOffer
        do {
            offer = try SDPOffer(parsing: sdp, intent: .meeting)
        } catch {
            return [MeetingWire.error("sdp-invalid", error.description, fatal: false)]
        }
        if participant.mediaNode != nil, participant.role.mayPublish, !participant.mediaPublishes {
            // A viewer made co-host: its media moves to where it can publish (a new peer connection, placed again).
            await closeMedia(of: participant)
            await mediaClosed(participant, reason: "role-changed")
            return []
        }
        if let refusal = await openTransport(for: participant, offer) { return [refusal] }
        guard let transport = participant.transport else { return [] }
        let publishing = await negotiator.publish(offer, for: participant, transport: transport.id, sources: sources,
                                                  mayShareScreen: mayShareScreen(participant))
        let wanted = desiredTracks(for: participant)
        let receiving = await negotiator.receive(offer, for: participant, transport: transport.id, wanted: wanted)
        // The participant may have left (or the meeting ended) while we waited for the media engine.
        guard byID[id] === participant else { return [] }
        var replies = [MeetingWire.encode("answer", ["sdp": negotiator.answer(offer, for: participant, transport: transport,
                                                                             refused: publishing.refused.union(publishing.refusedScreens))])]
        replies += publishing.errors
        if !publishing.refused.isEmpty {
            replies.append(MeetingWire.error("role-not-allowed", "Viewers may watch but not send audio or video; your sending m-lines were not used.", fatal: false))
        }
        if !publishing.refusedScreens.isEmpty { replies.append(Self.screenShareNotAllowed) }
        if MeetingNegotiator.needsAnotherOffer(wanted: wanted, receiving) { replies.append(renegotiateMessage(for: participant)) }
        if participant.videoMode == .low { applyVideoMode(participant) }
        announce(added: publishing.added, removed: publishing.removed, of: participant)
        return replies
    }

    /// Tells the others in the room what `participant` started and stopped publishing, and asks each for an offer.
    func announce(added: [PublishedTrack], removed: [PublishedTrack], of participant: Participant) {
        guard !added.isEmpty || !removed.isEmpty else { return }
        recordingMayChange(participant.room)
        for other in rooms[participant.room] ?? [] where other !== participant {
            for track in removed { other.send(MeetingWire.encode("track-unpublished", ["track": track.id])) }
            for track in added { other.send(MeetingWire.encode("track-published", ["track": info(track, of: participant)])) }
            requestRenegotiation(other)
        }
        logger.info("tracks changed", metadata: ["participant": "\(participant.id)", "added": "\(added.map(\.kind.rawValue))",
                                                 "removed": "\(removed.map(\.kind.rawValue))"])
    }

    func mute(_ id: String, kind: String, muted: Bool) {
        guard let participant = byID[id], let mediaKind = MediaKind(rawValue: kind) else { return }
        if muted { participant.mutedKinds.insert(mediaKind) } else { participant.mutedKinds.remove(mediaKind) }
        for (mid, var track) in participant.published where track.kind == mediaKind && track.source != "screen" {
            track.muted = muted
            participant.published[mid] = track
            for other in rooms[participant.room] ?? [] where other !== participant {
                other.send(MeetingWire.encode("muted", ["track": track.id, "muted": muted]))
            }
        }
    }

    /// A viewer's consumer now forwards other layers: tell that viewer (informational). Returns false when no
    /// meeting participant receives through `consumer`.
    @discardableResult
    public func consumerLayersChanged(_ consumer: ConsumerID, spatial: Int, temporal: Int) -> Bool {
        for participant in byID.values where participant.mediaNode == nil {
            guard let slot = participant.receiving.values.first(where: { $0.consumer == consumer }) else { continue }
            participant.send(MeetingWire.encode("layers", ["track": slot.track, "spatial": spatial, "temporal": temporal]))
            return true
        }
        return false
    }

    // MARK: - Helpers

    /// What the participant should receive: everyone else's tracks, without video when it chose `receive-video` off.
    private func desiredTracks(for participant: Participant) -> [(track: PublishedTrack, publisher: String)] {
        (rooms[participant.room] ?? []).filter { $0 !== participant }.flatMap { other in
            other.published.values.sorted { $0.mid < $1.mid }.map { (track: $0, publisher: other.id) }
        }.filter { participant.videoMode != .off || $0.track.kind != .video }
    }

    private func renegotiateMessage(for participant: Participant) -> String {
        let receive = desiredTracks(for: participant).map {
            MeetingWire.ReceiveEntry(track: $0.track.id, participant: $0.publisher, kind: $0.track.kind.rawValue)
        }
        return MeetingWire.encode("renegotiate", ["receive": receive])
    }

    func requestRenegotiation(_ participant: Participant) {
        participant.send(renegotiateMessage(for: participant))
    }

    func trackInfos(of participant: Participant) -> [MeetingWire.TrackInfo] {
        participant.published.values.sorted { $0.mid < $1.mid }.map { info($0, of: participant) }
    }

    private func info(_ track: PublishedTrack, of participant: Participant) -> MeetingWire.TrackInfo {
        MeetingWire.TrackInfo(id: track.id, participant: participant.id, kind: track.kind.rawValue,
                              source: track.source, muted: track.muted)
    }

    static func randomHex(_ digits: Int) -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).suffix(digits))
    }
}

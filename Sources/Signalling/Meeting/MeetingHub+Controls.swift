import Foundation
import Logging
import MediaCore

/// What hosts control (docs/protocol.md, "Meeting controls"): the lobby and waiting for a host, locking, who may
/// share a screen, muting everyone, co-hosts, and the queue of raised hands.
extension MeetingHub {
    static let notAdmitted = MeetingWire.error("not-admitted", "You are waiting to be let in; a host has not admitted you yet.", fatal: false)
    static let screenShareNotAllowed = MeetingWire.error(
        "screen-share-not-allowed", "Only hosts may share a screen in this meeting unless a host allows everyone.", fatal: false)

    // MARK: - Lobby and waiting for a host

    /// Why `participant` must wait before it enters, or nil: hosts never wait; others wait in the lobby when the room
    /// has one, else for a host when the room says so and none is in.
    func waitReason(for participant: Participant) -> RoomControls.WaitReason? {
        guard participant.role != .host, let options = access?.options(of: participant.room) else { return nil }
        if options.lobby { return .lobby }
        if options.waitForHost, !(rooms[participant.room] ?? []).contains(where: { $0.role == .host }) { return .waitingForHost }
        return nil
    }

    /// Keeps a joiner waiting: it is told `lobby` (and why); the hosts are told `lobby-waiting` when a host must decide.
    func wait(_ participant: Participant, reason: RoomControls.WaitReason, address: String?) throws(RoomAccess.Refusal) {
        let room = participant.room
        guard (controls[room]?.waiting.count ?? 0) < RoomControls.maximumWaiting else {
            throw RoomAccess.Refusal(status: 429, code: "lobby-full",
                                     detail: "Too many people are waiting to be let into this meeting; try again in a few minutes.")
        }
        waitingByID[participant.id] = participant
        controls[room, default: RoomControls()].waiting.append((participant.id, reason))
        participant.send(lobbyMessage(participant, reason: reason))
        if reason == .lobby { sendToHosts(room, MeetingWire.encode("lobby-waiting", ["participant": participant.info])) }
        audit(participant, "waiting", address: address)
        logger.info("participant waiting", metadata: ["room": "\(room)", "participant": "\(participant.id)",
                                                      "identity": "\(participant.identity)", "reason": "\(reason.rawValue)"])
    }

    private func lobbyMessage(_ participant: Participant, reason: RoomControls.WaitReason) -> String {
        let text = reason == .lobby
            ? "Please wait: a host will let you in shortly."
            : "The meeting has not started: you will be let in when a host joins."
        return MeetingWire.encode("lobby", ["reason": reason.rawValue, "message": text, "you": participant.info])
    }

    /// The people a host can admit or deny, in arrival order (those waiting for a host go in by themselves).
    func waitingList(_ room: String) -> [MeetingWire.WaitingInfo] {
        (controls[room]?.waiting ?? []).filter { $0.reason == .lobby }.compactMap { entry in
            waitingByID[entry.participant].map { MeetingWire.WaitingInfo(participant: $0.info, reason: entry.reason.rawValue) }
        }
    }

    /// Who waits to be let into `room`, in arrival order.
    func waiting(in room: String) -> [Participant] {
        (controls[room]?.waiting ?? []).compactMap { waitingByID[$0.participant] }
    }

    /// Takes a participant out of the waiting list without letting it in (denied, left, replaced); hosts are told.
    func stopWaiting(_ participant: Participant, reason: String) {
        guard waitingByID.removeValue(forKey: participant.id) != nil else { return }
        let room = participant.room
        controls[room]?.waiting.removeAll { $0.participant == participant.id }
        sendToHosts(room, MeetingWire.encode("lobby-left", ["participant": participant.id, "reason": reason]))
        if rooms[room] == nil, controls[room]?.waiting.isEmpty == true { controls[room] = nil }
        logger.info("participant stopped waiting", metadata: ["room": "\(room)", "participant": "\(participant.id)", "reason": "\(reason)"])
    }

    /// A host is in `room`: whoever waited for one goes in, or to the lobby when the room has one.
    func hostArrived(in room: String) {
        guard let waiting = controls[room]?.waiting, waiting.contains(where: { $0.reason == .waitingForHost }) else { return }
        let lobby = access?.options(of: room).lobby ?? false
        for entry in waiting where entry.reason == .waitingForHost {
            guard let participant = waitingByID[entry.participant] else { continue }
            if lobby {
                if let index = controls[room]?.waiting.firstIndex(where: { $0.participant == participant.id }) {
                    controls[room]?.waiting[index].reason = .lobby
                }
                participant.send(lobbyMessage(participant, reason: .lobby))
                sendToHosts(room, MeetingWire.encode("lobby-waiting", ["participant": participant.info]))
            } else {
                admitWaiting(participant, actor: nil)
            }
        }
    }

    /// The room's options changed (admin API): with the lobby off, everyone in it goes in (when a host is there or
    /// nobody needs one).
    public func roomOptionsChanged(_ room: String) {
        guard let options = access?.options(of: room), !options.lobby else { return }
        if options.waitForHost && !(rooms[room] ?? []).contains(where: { $0.role == .host }) { return }
        for participant in waiting(in: room) { admitWaiting(participant, actor: "admin") }
    }

    private func admitWaiting(_ participant: Participant, actor: String?) {
        // The rules may have changed while it waited (its link withdrawn, the person removed, the room closed).
        if let refusal = access?.refusal(room: participant.room, identity: participant.identity, tokenID: participant.tokenID) {
            participant.send(MeetingWire.error(refusal.code, refusal.detail, fatal: true))
            participant.outbox.finish()
            stopWaiting(participant, reason: refusal.code)
            return
        }
        guard waitingByID.removeValue(forKey: participant.id) != nil else { return }
        controls[participant.room]?.waiting.removeAll { $0.participant == participant.id }
        sendToHosts(participant.room, MeetingWire.encode("lobby-left", ["participant": participant.id, "reason": "admitted"]))
        if let actor { audit(participant, "admitted", actor: actor) }
        enter(participant, address: nil)
    }

    func admit(_ target: String, by id: String) throws(HostActionError) {
        let host = try self.host(id)
        guard let participant = waitingByID[target], participant.room == host.room else { throw .unknownParticipant }
        admitWaiting(participant, actor: host.identity)
    }

    func deny(_ target: String, by id: String) throws(HostActionError) {
        let host = try self.host(id)
        guard let participant = waitingByID[target], participant.room == host.room else { throw .unknownParticipant }
        participant.send(MeetingWire.error("lobby-denied", "A host did not let you into this meeting.", fatal: true))
        participant.outbox.finish()
        stopWaiting(participant, reason: "denied")
        audit(participant, "denied", actor: host.identity)
    }

    // MARK: - Lock, screen sharing, mute all, co-hosts

    func lock(_ locked: Bool, by id: String) throws(HostActionError) {
        let host = try self.host(id)
        guard controls[host.room, default: RoomControls()].locked != locked else { return }
        controls[host.room, default: RoomControls()].locked = locked
        sendControls(host.room)
        auditSink?(AuditEvent(room: host.room, identity: "", participant: "", event: locked ? "locked" : "unlocked", actor: host.identity))
        logger.notice(locked ? "room locked" : "room unlocked", metadata: ["room": "\(host.room)", "host": "\(host.identity)"])
    }

    func mayShareScreen(_ participant: Participant) -> Bool {
        participant.role == .host || controls[participant.room]?.screenShareAllowed == true
    }

    /// Lets everyone share a screen, or only hosts again: then screens shared by others stop at once (their
    /// producers close; the sharer is told `screen-share-not-allowed`, the others `track-unpublished`).
    func allowScreenShare(_ allowed: Bool, by id: String) async throws(HostActionError) {
        let host = try self.host(id)
        let room = host.room
        guard controls[room, default: RoomControls()].screenShareAllowed != allowed else { return }
        controls[room, default: RoomControls()].screenShareAllowed = allowed
        sendControls(room)
        logger.info("screen sharing \(allowed ? "allowed for everyone" : "for hosts only")", metadata: ["room": "\(room)", "host": "\(host.identity)"])
        guard !allowed else { return }
        for participant in rooms[room] ?? [] where participant.role != .host {
            let screens = participant.published.filter { $0.value.source == "screen" }
            guard !screens.isEmpty else { continue }
            for (mid, track) in screens {
                participant.published[mid] = nil
                await negotiator.close(track, of: participant)
            }
            for other in rooms[room] ?? [] where other !== participant {
                forgetSlots(of: other) { slot in screens.values.contains { $0.id == slot.track } }
            }
            participant.send(Self.screenShareNotAllowed)
            announce(added: [], removed: Array(screens.values), of: participant)
        }
    }

    /// Asks everyone but the host to mute their microphone (the same `mute-request` as for one participant).
    func muteAll(by id: String) throws(HostActionError) {
        let host = try self.host(id)
        let message = MeetingWire.encode("mute-request", ["kind": "audio", "by": host.id])
        var asked = 0
        for participant in rooms[host.room] ?? [] where participant !== host {
            participant.send(message)
            asked += 1
        }
        logger.info("host muted everyone", metadata: ["room": "\(host.room)", "host": "\(host.identity)", "participants": "\(asked)"])
    }

    /// Makes another participant a host for the rest of the meeting (also if it drops and joins again).
    func makeHost(_ target: String, by id: String) throws(HostActionError) {
        let host = try self.host(id)
        guard let participant = byID[target], participant.room == host.room else { throw .unknownParticipant }
        guard participant.role != .host else { return }
        guard participant.role != .viewer else { throw .notAllowedForViewer }
        participant.role = .host
        controls[host.room, default: RoomControls()].coHosts.insert(participant.identity.lowercased())
        let update = MeetingWire.encode("participant-updated", ["participant": participant.info])
        for other in rooms[host.room] ?? [] { other.send(update) }
        participant.send(MeetingWire.encode("host-lists", ["removed": removedList(host.room), "waiting": waitingList(host.room)]))
        auditSink?(AuditEvent(room: host.room, identity: participant.identity, participant: participant.id, event: "made-host", actor: host.identity))
        logger.notice("co-host made", metadata: ["room": "\(host.room)", "participant": "\(participant.id)", "by": "\(host.identity)"])
    }

    /// Whether a host made `identity` a co-host in `room`'s meeting.
    public func isCoHost(_ identity: String, room: String) -> Bool {
        controls[room]?.coHosts.contains(identity.lowercased()) == true
    }

    // MARK: - Hands

    /// Raises the sender's hand; nil, or the error when it changes its hand too often.
    func raiseHand(_ id: String) -> String? {
        guard let participant = byID[id] else { return waitingByID[id] != nil ? Self.notAdmitted : nil }
        let room = participant.room
        guard !(controls[room]?.hands.contains { $0.participant == id } ?? false) else { return nil }
        guard participant.handAllowance.take() else { return Self.handsRateLimited }
        controls[room, default: RoomControls()].hands.append((id, Date()))
        sendHands(room)
        return nil
    }

    static let handsRateLimited = MeetingWire.error("hands-rate-limited", "You are raising and lowering your hand too fast; wait a moment.",
                                                    fatal: false)

    /// Lowers the sender's own hand, or (a host) someone else's.
    func lowerHand(_ target: String?, by id: String) throws(HostActionError) -> String? {
        guard let participant = byID[id] else { return nil }
        let whose = target ?? id
        if whose != id { _ = try host(id) }
        guard controls[participant.room]?.hands.contains(where: { $0.participant == whose }) == true else { return nil }
        if whose == id, !participant.handAllowance.take() { return Self.handsRateLimited }
        controls[participant.room]?.hands.removeAll { $0.participant == whose }
        sendHands(participant.room)
        return nil
    }

    func lowerHandOnLeave(_ participant: Participant) {
        guard controls[participant.room]?.hands.contains(where: { $0.participant == participant.id }) == true else { return }
        controls[participant.room]?.hands.removeAll { $0.participant == participant.id }
        sendHands(participant.room, except: participant)
    }

    // MARK: - Helpers

    /// The participant `id` when it is a host.
    func host(_ id: String) throws(HostActionError) -> Participant {
        guard let host = byID[id], host.role == .host else { throw .notHost }
        return host
    }

    func sendToHosts(_ room: String, _ message: String) {
        for host in rooms[room] ?? [] where host.role == .host { host.send(message) }
    }

    private func sendControls(_ room: String) {
        let message = MeetingWire.encode("room-controls", ["controls": (controls[room] ?? RoomControls()).wire])
        for participant in rooms[room] ?? [] { participant.send(message) }
    }

    private func sendHands(_ room: String, except: Participant? = nil) {
        let message = MeetingWire.encode("hands", ["hands": (controls[room] ?? RoomControls()).handsWire])
        for participant in rooms[room] ?? [] where participant !== except { participant.send(message) }
    }
}

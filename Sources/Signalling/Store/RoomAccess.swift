import Foundation
import GroupwareBridge
import Logging
import Scheduling

/// Who may enter a room now, beyond holding a valid token: a withdrawn link, a room a host or an administrator
/// ended, a person a host removed, and a scheduled meeting's window and current roles all say no (or less).
///
/// The same rules apply to /ws, WHIP and WHEP. Refusals fail closed: when the store cannot answer, nobody gets in.
public final class RoomAccess: Sendable {
    /// Why a token may not enter; becomes a problem document (HTTP) or a fatal error (WebSocket) with `code`.
    public struct Refusal: Error, Sendable, Equatable {
        public var status: Int
        public var code: String
        public var detail: String

        public var problem: Problem {
            Problem(status: status, code: code, title: status == 503 ? "Cannot check access" : "Not admitted", detail: detail)
        }
    }

    let store: (any RoomStore)?
    let scheduler: MeetingScheduler?
    /// In a cluster: which node a room's meeting runs on (nil: this one always).
    public let placement: RoomPlacement?
    let logger: Logger

    public init(store: (any RoomStore)?, scheduler: MeetingScheduler?, placement: RoomPlacement? = nil, logger: Logger) {
        self.store = store
        self.scheduler = scheduler
        self.placement = placement
        self.logger = logger
    }

    /// Where an admitted token's room runs: here, or (in a cluster) on the node whose base URL is returned.
    public func place(_ token: AccessToken) throws(Refusal) -> RoomPlacement.Placement {
        guard let placement else { return .here }
        return try placement.place(token.room)
    }

    /// Checks a verified token for its room; returns it with the role it may use (a scheduled meeting's current
    /// role for that person, when lower than the token's).
    public func admit(_ token: AccessToken, at now: Date = Date()) throws(Refusal) -> AccessToken {
        var admitted = token
        if let scheduler {
            switch scheduler.admission(room: token.room, identity: token.identity, at: now) {
            case .notAMeeting:
                break
            case .admitted(let role):
                admitted = token.capped(at: role.map(Self.participantRole))
            case .refused(let code, let detail):
                throw Refusal(status: 403, code: code, detail: detail)
            }
        }
        if let refusal = refusal(room: token.room, identity: token.identity, tokenID: token.tokenID) { throw refusal }
        return admitted
    }

    /// The stored part of the rules (withdrawn link, closed room, removed person), also checked by the meeting hub
    /// inside its actor so that a removal and a rejoin cannot cross.
    public func refusal(room: String, identity: String, tokenID: String?) -> Refusal? {
        guard let store else { return nil }
        do {
            if let tokenID, try store.isRevoked(tokenID) {
                return Refusal(status: 403, code: "link-revoked",
                               detail: "This link has been withdrawn by an administrator. Ask the organiser for a new one.")
            }
            if try store.closure(of: room) != nil {
                return Refusal(status: 403, code: "room-closed",
                               detail: "The meeting in '\(room.prefix(80))' has ended. The room stays closed until an administrator reopens it.")
            }
            if try store.removal(of: identity, from: room) != nil {
                return Refusal(status: 403, code: "removed",
                               detail: "A host removed you from this meeting. You can join again once a host or an administrator lets you back in.")
            }
            return nil
        } catch {
            logger.error("access check failed; refusing", metadata: ["room": "\(room)", "error": "\(error)"])
            return Refusal(status: 503, code: "access-check-failed", detail: "The server cannot check access to this room right now; try again in a minute.")
        }
    }

    /// How a room admits people beyond the rules above: a lobby (the room's option, or its scheduled meeting's) and
    /// waiting for a host. When the store cannot answer, the lobby is on: hosts can still let people in.
    public struct Options: Sendable, Equatable {
        public var lobby = false
        public var waitForHost = false
    }

    func options(of room: String) -> Options {
        guard let store else { return Options() }
        do {
            let stored = try store.room(named: room)
            let meeting = try store.meetings.meeting(room: room)
            return Options(lobby: stored?.lobby == true || meeting?.lobby == true, waitForHost: stored?.waitForHost == true)
        } catch {
            logger.error("room options not readable; lobby on", metadata: ["room": "\(room)", "error": "\(error)"])
            return Options(lobby: true, waitForHost: false)
        }
    }

    /// Keeps `identity` out of `room` (a host removed them). False when it could not be stored (logged).
    @discardableResult
    func recordRemoval(of identity: String, name: String, from room: String, by actor: String) -> Bool {
        guard let store else { return true }
        do {
            try store.remove(identity, name: name, from: room, by: actor)
            return true
        } catch {
            logger.error("removal not stored", metadata: ["room": "\(room)", "identity": "\(identity)", "error": "\(error)"])
            return false
        }
    }

    /// Lets `identity` back into `room`; false when they were not removed (or the store failed, logged).
    func readmit(_ identity: String, to room: String) -> Bool {
        guard let store else { return false }
        do { return try store.readmit(identity, to: room) } catch {
            logger.error("readmission not stored", metadata: ["room": "\(room)", "identity": "\(identity)", "error": "\(error)"])
            return false
        }
    }

    /// Who is kept out of `room` (empty when unknown or the store failed, logged).
    func removals(from room: String) -> [RoomRemoval] {
        guard let store else { return [] }
        do { return try store.removals(from: room) } catch {
            logger.error("removals not readable", metadata: ["room": "\(room)", "error": "\(error)"])
            return []
        }
    }

    /// Closes `room` to joins until an administrator reopens it. False when it could not be stored (logged).
    @discardableResult
    func close(_ room: String, by actor: String) -> Bool {
        guard let store else { return true }
        do {
            try store.closeRoom(room, by: actor)
            return true
        } catch {
            logger.error("room closure not stored", metadata: ["room": "\(room)", "error": "\(error)"])
            return false
        }
    }

    static func participantRole(_ role: Attendee.Role) -> ParticipantRole {
        switch role {
        case .host: .host
        case .participant: .participant
        case .viewer: .viewer
        }
    }
}

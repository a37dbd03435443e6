import Foundation
import Scheduling

/// Where rooms, who may enter them, chat and the audit trail are kept: the embedded SQLite file (`SQLiteStore`,
/// the default) or a PostgreSQL database that several nodes share (`sabha serve --database postgres://…`, module
/// PostgresStore). The meeting tables sit in the same database, behind `meetings`.
///
/// Calls are synchronous, as GRDB's are: callers already treat the store as local disk I/O.
public protocol RoomStore: Sendable {
    /// Scheduled meetings and their outbox, in the same database.
    var meetings: any MeetingStore { get }
    /// Where the store is, for logs and `sabha doctor` (a path, or a URL without its password).
    var location: String { get }

    /// Stores a new room; returns false (and changes nothing) when the name is taken.
    func createRoom(_ room: RoomRecord) throws -> Bool
    func room(named name: String) throws -> RoomRecord?
    /// Every stored room, newest first.
    func rooms() throws -> [RoomRecord]
    /// Records that the room's meeting ended; returns false when the room is not stored.
    @discardableResult func markEnded(_ name: String, at date: Date) throws -> Bool
    /// Someone joined `name`: stores the room (source "join") if it is new, and clears `endedAt` when a meeting
    /// that had ended starts again.
    func roomJoined(_ name: String, at date: Date) throws
    /// Sets a stored room's lobby and wait-for-host (nil leaves one as it is); false when the room is not stored.
    @discardableResult func setRoomOptions(_ name: String, lobby: Bool?, waitForHost: Bool?) throws -> Bool

    /// Stores a chat message; returns it with its id.
    func appendChat(_ message: ChatMessage) throws -> ChatMessage
    /// The newest `limit` messages of `room`, oldest first (all of them when `limit` is nil).
    func chat(room: String, limit: Int?) throws -> [ChatMessage]

    /// Closes the room to joins until `reopen`: stored (source "join") when nobody had stored it yet, marked ended.
    func closeRoom(_ name: String, by actor: String, at date: Date) throws
    /// Opens a closed room again; false when it was not closed (or is unknown).
    @discardableResult func reopenRoom(_ name: String) throws -> Bool
    /// When and by whom the room was closed, if it is.
    func closure(of name: String) throws -> (at: Date, by: String)?
    /// Keeps `identity` out of `room` until `readmit`; replaces an earlier removal of the same person.
    func remove(_ identity: String, name: String, from room: String, by actor: String, at date: Date) throws
    /// Lets a removed person back in; false when they were not removed.
    @discardableResult func readmit(_ identity: String, to room: String) throws -> Bool
    func removal(of identity: String, from room: String) throws -> RoomRemoval?
    /// Who is kept out of `room`, oldest removal first.
    func removals(from room: String) throws -> [RoomRemoval]
    /// Withdraws one link (token id `jti`); false when it already was.
    @discardableResult func revokeLink(_ id: String, room: String, at date: Date) throws -> Bool
    func isRevoked(_ id: String) throws -> Bool

    /// Appends to the audit trail. Never throws: a failed write is logged, because it must not break a meeting.
    func recordAudit(_ record: AuditRecord)
    /// The room's audit trail, oldest first, as the attendance report reads it (at most `limit` records).
    func attendanceEvents(room: String, limit: Int) throws -> [AttendanceEvent]
    /// The newest `limit` records, newest first (or the oldest, oldest first); of one room, or of all.
    func auditRecords(room: String?, from: Date?, to: Date?, oldestFirst: Bool, limit: Int) throws -> [AuditRecord]

    /// Deletes what is older than `retention` allows, as of `now`, in one transaction.
    @discardableResult func prune(_ retention: StoreRetention, now: Date) throws -> PrunedRows
}

/// The defaults callers had when the store was one class.
extension RoomStore {
    @discardableResult public func markEnded(_ name: String) throws -> Bool { try markEnded(name, at: Date()) }
    public func roomJoined(_ name: String) throws { try roomJoined(name, at: Date()) }
    public func chat(room: String) throws -> [ChatMessage] { try chat(room: room, limit: nil) }
    public func closeRoom(_ name: String, by actor: String) throws { try closeRoom(name, by: actor, at: Date()) }
    public func remove(_ identity: String, name: String, from room: String, by actor: String) throws {
        try remove(identity, name: name, from: room, by: actor, at: Date())
    }
    @discardableResult public func revokeLink(_ id: String, room: String) throws -> Bool { try revokeLink(id, room: room, at: Date()) }
    public func attendanceEvents(room: String) throws -> [AttendanceEvent] { try attendanceEvents(room: room, limit: 200_000) }
    public func auditTrail(room: String? = nil, from: Date? = nil, to: Date? = nil, oldestFirst: Bool = false,
                           limit: Int = 100) throws -> [AuditRecord] {
        try auditRecords(room: room, from: from, to: to, oldestFirst: oldestFirst, limit: limit)
    }
    @discardableResult public func prune(_ retention: StoreRetention) throws -> PrunedRows { try prune(retention, now: Date()) }
}

/// How long rows are kept; nil keeps them for ever.
public struct StoreRetention: Sendable, Equatable {
    /// Audit trail (joins, leaves, removals; the attendance reports are built from it when a meeting ends).
    public var audit: Duration?
    /// Chat messages.
    public var chat: Duration?
    /// Outbox items that are done: sent, refused for good, or superseded. Pending ones are never pruned.
    public var outbox: Duration?

    public init(audit: Duration?, chat: Duration?, outbox: Duration?) {
        self.audit = audit
        self.chat = chat
        self.outbox = outbox
    }

    /// 180 days of audit and chat (the state's rule for logs), 30 days of finished outbox items.
    public static let standard = StoreRetention(audit: .seconds(180 * 86_400), chat: .seconds(180 * 86_400), outbox: .seconds(30 * 86_400))
}

/// Rows a pruning run deleted.
public struct PrunedRows: Sendable, Equatable, CustomStringConvertible {
    public var audit = 0
    public var chat = 0
    public var outbox = 0

    public init(audit: Int = 0, chat: Int = 0, outbox: Int = 0) {
        self.audit = audit
        self.chat = chat
        self.outbox = outbox
    }

    public var total: Int { audit + chat + outbox }
    public var description: String { "\(audit) audit rows, \(chat) chat messages, \(outbox) finished outbox items" }
}

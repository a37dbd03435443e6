import Foundation
import GRDB
import GroupwareBridge
import Logging
import Scheduling

/// The server's SQLite database (`<data-dir>/sabha.sqlite`): the rooms, the audit trail of who joined them, and
/// (GroupwareBridge's tables) scheduled meetings with their outbox.
///
/// The schema lives in one migrator, below; each released change is a new named migration after "v1".
public final class SQLiteStore: RoomStore {
    public static let fileName = "sabha.sqlite"

    public let path: String
    let database: DatabaseQueue
    private let logger: Logger

    /// Opens (creating if needed) the store in `dataDirectory` and brings its schema up to date.
    public convenience init(dataDirectory: String, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try self.init(path: (dataDirectory as NSString).appendingPathComponent(Self.fileName), logger: logger)
    }

    public init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.label = "sabha.store"
        // A second process (an operator's sqlite3 shell) may hold a lock briefly.
        configuration.busyMode = .timeout(5)
        self.path = path
        self.database = try DatabaseQueue(path: path, configuration: configuration)
        self.logger = logger
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "room") { t in
                t.primaryKey("name", .text)
                t.column("title", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("source", .text).notNull().check { ["api", "join"].contains($0) }
                t.column("endedAt", .datetime)
            }
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("room", .text).notNull()
                t.column("identity", .text).notNull()
                t.column("participant", .text).notNull()
                t.column("event", .text).notNull()
                t.column("address", .text)
            }
            try db.create(index: "audit_room_at", on: "audit", columns: ["room", "at"])
        }
        SQLiteMeetingStore.registerMigrations(in: &migrator)
        // Ended rooms stay closed, removed people stay out, single links can be withdrawn (issue 13 item 5).
        migrator.registerMigration("v2-access") { db in
            try db.alter(table: "room") { t in
                t.add(column: "closedAt", .datetime)
                t.add(column: "closedBy", .text)
            }
            try db.create(table: "roomRemoval") { t in
                t.column("room", .text).notNull()
                t.column("identity", .text).notNull()
                t.column("name", .text).notNull()
                t.column("removedAt", .datetime).notNull()
                t.column("removedBy", .text).notNull()
                t.primaryKey(["room", "identity"])
            }
            try db.create(table: "revokedLink") { t in
                t.primaryKey("id", .text)
                t.column("room", .text).notNull()
                t.column("revokedAt", .datetime).notNull()
            }
            try db.alter(table: "audit") { t in
                t.add(column: "actor", .text)
                t.add(column: "detail", .text)
            }
        }
        // Meeting controls (issue 16): a room's lobby and wait-for-host, and its chat.
        migrator.registerMigration("v3-meeting-controls") { db in
            try db.alter(table: "room") { t in
                t.add(column: "lobby", .boolean).notNull().defaults(to: false)
                t.add(column: "waitForHost", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "chatMessage") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("room", .text).notNull()
                t.column("at", .datetime).notNull()
                t.column("participant", .text).notNull()
                t.column("identity", .text).notNull()
                t.column("name", .text).notNull()
                t.column("text", .text).notNull()
            }
            try db.create(index: "chatMessage_room_id", on: "chatMessage", columns: ["room", "id"])
        }
        return migrator
    }

    public var meetings: any MeetingStore { SQLiteMeetingStore(database: database) }
    public var location: String { path }

    /// The names of the migrations applied, oldest first (for tests and diagnostics).
    public func appliedMigrations() throws -> [String] {
        try database.read { db in try Self.migrator.appliedMigrations(db) }
    }

    // MARK: - Rooms

    /// Stores a new room; returns false (and changes nothing) when the name is taken.
    public func createRoom(_ room: RoomRecord) throws -> Bool {
        try database.write { db in
            guard try !RoomRecord.exists(db, key: room.name) else { return false }
            try room.insert(db)
            return true
        }
    }

    public func room(named name: String) throws -> RoomRecord? {
        try database.read { db in try RoomRecord.fetchOne(db, key: name) }
    }

    /// Every stored room, newest first.
    public func rooms() throws -> [RoomRecord] {
        try database.read { db in
            try RoomRecord.order(RoomRecord.Columns.createdAt.desc, RoomRecord.Columns.name).fetchAll(db)
        }
    }

    /// Records that the room's meeting ended; returns false when the room is not stored.
    @discardableResult
    public func markEnded(_ name: String, at date: Date) throws -> Bool {
        try database.write { db in
            try RoomRecord.filter(key: name).updateAll(db, RoomRecord.Columns.endedAt.set(to: date)) > 0
        }
    }

    /// Someone joined `name`: stores the room (source "join") if it is new, and clears `endedAt` when a meeting
    /// that had ended starts again.
    public func roomJoined(_ name: String, at date: Date) throws {
        try database.write { db in
            try RoomRecord(name: name, title: name, createdAt: date, source: .join).insert(db, onConflict: .ignore)
            try RoomRecord.filter(key: name).filter(RoomRecord.Columns.endedAt != nil)
                .updateAll(db, RoomRecord.Columns.endedAt.set(to: nil))
        }
    }

    /// Sets a stored room's lobby and wait-for-host (nil leaves one as it is); false when the room is not stored.
    @discardableResult
    public func setRoomOptions(_ name: String, lobby: Bool?, waitForHost: Bool?) throws -> Bool {
        try database.write { db in
            guard var room = try RoomRecord.fetchOne(db, key: name) else { return false }
            if let lobby { room.lobby = lobby }
            if let waitForHost { room.waitForHost = waitForHost }
            try room.update(db)
            return true
        }
    }

    // MARK: - Chat

    /// Stores a chat message; returns it with its id.
    public func appendChat(_ message: ChatMessage) throws -> ChatMessage {
        try database.write { db in
            var message = message
            try message.insert(db)
            return message
        }
    }

    /// The newest `limit` messages of `room`, oldest first (all of them when `limit` is nil).
    public func chat(room: String, limit: Int?) throws -> [ChatMessage] {
        try database.read { db in
            let request = ChatMessage.filter(ChatMessage.Columns.room == room).order(ChatMessage.Columns.id.desc)
            let newest = try (limit.map { request.limit(max(0, $0)) } ?? request).fetchAll(db)
            return newest.reversed()
        }
    }

    // MARK: - Closed rooms, removed people, withdrawn links

    /// Closes the room to joins until `reopen`: stored (source "join") when nobody had stored it yet, marked ended.
    public func closeRoom(_ name: String, by actor: String, at date: Date) throws {
        try database.write { db in
            try RoomRecord(name: name, title: name, createdAt: date, source: .join).insert(db, onConflict: .ignore)
            try RoomRecord.filter(key: name).updateAll(db, RoomRecord.Columns.endedAt.set(to: date),
                                                       RoomRecord.Columns.closedAt.set(to: date), RoomRecord.Columns.closedBy.set(to: actor))
        }
    }

    /// Opens a closed room again; false when it was not closed. Throws nothing for an unknown room (false).
    @discardableResult
    public func reopenRoom(_ name: String) throws -> Bool {
        try database.write { db in
            try RoomRecord.filter(key: name).filter(RoomRecord.Columns.closedAt != nil)
                .updateAll(db, RoomRecord.Columns.closedAt.set(to: nil), RoomRecord.Columns.closedBy.set(to: nil)) > 0
        }
    }

    /// When and by whom the room was closed, if it is.
    public func closure(of name: String) throws -> (at: Date, by: String)? {
        try database.read { db in
            guard let room = try RoomRecord.fetchOne(db, key: name), let at = room.closedAt else { return nil }
            return (at, room.closedBy ?? "")
        }
    }

    /// Keeps `identity` out of `room` until `readmit`; replaces an earlier removal of the same person.
    public func remove(_ identity: String, name: String, from room: String, by actor: String, at date: Date) throws {
        try database.write { db in
            try RoomRemoval(room: room, identity: identity, name: name, removedAt: date, removedBy: actor).insert(db, onConflict: .replace)
        }
    }

    /// Lets a removed person back in; false when they were not removed.
    @discardableResult
    public func readmit(_ identity: String, to room: String) throws -> Bool {
        try database.write { db in try RoomRemoval.deleteOne(db, key: ["room": room, "identity": identity]) }
    }

    public func removal(of identity: String, from room: String) throws -> RoomRemoval? {
        try database.read { db in try RoomRemoval.fetchOne(db, key: ["room": room, "identity": identity]) }
    }

    /// Who is kept out of `room`, oldest removal first.
    public func removals(from room: String) throws -> [RoomRemoval] {
        try database.read { db in
            try RoomRemoval.filter(RoomRemoval.Columns.room == room).order(RoomRemoval.Columns.removedAt, RoomRemoval.Columns.identity).fetchAll(db)
        }
    }

    /// Withdraws one link (token id `jti`); false when it already was.
    @discardableResult
    public func revokeLink(_ id: String, room: String, at date: Date) throws -> Bool {
        try database.write { db in
            guard try !RevokedLink.exists(db, key: id) else { return false }
            try RevokedLink(id: id, room: room, revokedAt: date).insert(db)
            return true
        }
    }

    public func isRevoked(_ id: String) throws -> Bool {
        try database.read { db in try RevokedLink.exists(db, key: id) }
    }

    // MARK: - Audit trail

    /// Appends to the audit trail. Never throws: a failed write is logged, because it must not break a meeting.
    public func recordAudit(_ record: AuditRecord) {
        do {
            var record = record
            try database.write { db in try record.insert(db) }
        } catch {
            logger.error("audit record not written", metadata: ["room": "\(record.room)", "identity": "\(record.identity)",
                                                                "event": "\(record.event)", "error": "\(error)"])
        }
    }

    /// The room's audit trail, oldest first, as the attendance report reads it (at most `limit` records).
    public func attendanceEvents(room: String, limit: Int) throws -> [AttendanceEvent] {
        try database.read { db in
            try AuditRecord.filter(AuditRecord.Columns.room == room).order(AuditRecord.Columns.at, AuditRecord.Columns.id)
                .limit(limit).fetchAll(db)
                .map { AttendanceEvent(at: $0.at, identity: $0.identity, participant: $0.participant, event: $0.event,
                                       address: $0.address, actor: $0.actor) }
        }
    }

    /// The newest `limit` records, newest first; of one room, or of all when `room` is nil.
    public func auditRecords(room: String?, from: Date?, to: Date?, oldestFirst: Bool, limit: Int) throws -> [AuditRecord] {
        try database.read { db in
            var request = AuditRecord.all()
            if let room { request = request.filter(AuditRecord.Columns.room == room) }
            if let from { request = request.filter(AuditRecord.Columns.at >= from) }
            if let to { request = request.filter(AuditRecord.Columns.at < to) }
            request = oldestFirst ? request.order(AuditRecord.Columns.at.asc, AuditRecord.Columns.id.asc)
                                  : request.order(AuditRecord.Columns.at.desc, AuditRecord.Columns.id.desc)
            return try request.limit(max(0, limit)).fetchAll(db)
        }
    }
}

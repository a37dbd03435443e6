import Foundation
import GRDB
import GroupwareBridge
import Logging

/// The server's SQLite database (`<data-dir>/sabha.sqlite`): the rooms, the audit trail of who joined them, and
/// (GroupwareBridge's tables) scheduled meetings with their outbox.
///
/// The schema lives in one migrator, below; each released change is a new named migration after "v1".
public final class SabhaStore: Sendable {
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
        MeetingStore.registerMigrations(in: &migrator)
        return migrator
    }

    /// Scheduled meetings and their outbox, in the same database.
    public var meetings: MeetingStore { MeetingStore(database: database) }

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
    public func markEnded(_ name: String, at date: Date = Date()) throws -> Bool {
        try database.write { db in
            try RoomRecord.filter(key: name).updateAll(db, RoomRecord.Columns.endedAt.set(to: date)) > 0
        }
    }

    /// Someone joined `name`: stores the room (source "join") if it is new, and clears `endedAt` when a meeting
    /// that had ended starts again.
    public func roomJoined(_ name: String, at date: Date = Date()) throws {
        try database.write { db in
            try RoomRecord(name: name, title: name, createdAt: date, source: .join).insert(db, onConflict: .ignore)
            try RoomRecord.filter(key: name).filter(RoomRecord.Columns.endedAt != nil)
                .updateAll(db, RoomRecord.Columns.endedAt.set(to: nil))
        }
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

    func logFailure(_ message: Logger.Message, room: String, _ error: any Error) {
        logger.error(message, metadata: ["room": "\(room)", "error": "\(error)"])
    }

    /// The newest `limit` records, newest first; of one room, or of all when `room` is nil.
    public func auditTrail(room: String? = nil, limit: Int = 100) throws -> [AuditRecord] {
        try database.read { db in
            var request = AuditRecord.all()
            if let room { request = request.filter(AuditRecord.Columns.room == room) }
            return try request.order(AuditRecord.Columns.at.desc, AuditRecord.Columns.id.desc).limit(max(0, limit)).fetchAll(db)
        }
    }
}

import Foundation
import Logging
import Scheduling
import Signalling

/// The server's store in a PostgreSQL database that several nodes may share (`sabha serve --database
/// postgres://…`): the same tables and rules as `SQLiteStore`, so a deployment can move from one to the other.
public final class PostgresRoomStore: RoomStore {
    public let database: PostgresDatabase
    public let meetings: any MeetingStore
    let logger: Logger

    /// Connects, and brings the schema up to date.
    public init(url: DatabaseURL, logger: Logger) throws {
        database = try PostgresDatabase(url: url, logger: logger)
        try PostgresSchema.migrate(database)
        meetings = PostgresMeetingStore(database: database)
        self.logger = logger
    }

    public var location: String { database.url.description }

    /// The names of the migrations applied, oldest first (for tests and diagnostics).
    public func appliedMigrations() throws -> [String] { try PostgresSchema.appliedMigrations(database) }

    private func session<T>(_ body: (PostgresSession) throws -> T) throws -> T { try database.withSession(body) }

    // MARK: - Rooms

    public func createRoom(_ room: RoomRecord) throws -> Bool {
        try session { try $0.insertIfAbsent(room, into: "room") }
    }

    public func room(named name: String) throws -> RoomRecord? {
        try session { try $0.fetchOne(RoomRecord.self, "SELECT * FROM room WHERE name = $1", [.text(name)]) }
    }

    public func rooms() throws -> [RoomRecord] {
        try session { try $0.fetch(RoomRecord.self, "SELECT * FROM room ORDER BY createdAt DESC, name") }
    }

    public func markEnded(_ name: String, at date: Date) throws -> Bool {
        try session { try $0.execute("UPDATE room SET endedAt = $1 WHERE name = $2", [.date(date), .text(name)]) > 0 }
    }

    public func roomJoined(_ name: String, at date: Date) throws {
        try database.transaction(writing: true) { session in
            try session.insertIfAbsent(RoomRecord(name: name, title: name, createdAt: date, source: .join), into: "room")
            try session.execute("UPDATE room SET endedAt = NULL WHERE name = $1 AND endedAt IS NOT NULL", [.text(name)])
        }
    }

    public func setRoomOptions(_ name: String, lobby: Bool?, waitForHost: Bool?) throws -> Bool {
        try session {
            try $0.execute("UPDATE room SET lobby = COALESCE($1, lobby), waitForHost = COALESCE($2, waitForHost) WHERE name = $3",
                           [.bool(lobby), .bool(waitForHost), .text(name)]) > 0
        }
    }

    // MARK: - Chat

    public func appendChat(_ message: ChatMessage) throws -> ChatMessage {
        var message = message
        message.id = try session { try $0.insert(message, into: "chatMessage") }
        return message
    }

    public func chat(room: String, limit: Int?) throws -> [ChatMessage] {
        try session { session in
            let newest = try session.fetch(ChatMessage.self, "SELECT * FROM chatMessage WHERE room = $1 ORDER BY id DESC LIMIT $2",
                                           [.text(room), .int(limit.map { max(0, $0) })])
            return newest.reversed()
        }
    }

    // MARK: - Closed rooms, removed people, withdrawn links

    public func closeRoom(_ name: String, by actor: String, at date: Date) throws {
        try database.transaction(writing: true) { session in
            try session.insertIfAbsent(RoomRecord(name: name, title: name, createdAt: date, source: .join), into: "room")
            try session.execute("UPDATE room SET endedAt = $1, closedAt = $1, closedBy = $2 WHERE name = $3",
                                [.date(date), .text(actor), .text(name)])
        }
    }

    public func reopenRoom(_ name: String) throws -> Bool {
        try session {
            try $0.execute("UPDATE room SET closedAt = NULL, closedBy = NULL WHERE name = $1 AND closedAt IS NOT NULL", [.text(name)]) > 0
        }
    }

    public func closure(of name: String) throws -> (at: Date, by: String)? {
        guard let room = try room(named: name), let at = room.closedAt else { return nil }
        return (at, room.closedBy ?? "")
    }

    public func remove(_ identity: String, name: String, from room: String, by actor: String, at date: Date) throws {
        _ = try session {
            try $0.execute("""
                INSERT INTO roomRemoval (room, identity, name, removedAt, removedBy) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (room, identity) DO UPDATE SET name = excluded.name, removedAt = excluded.removedAt,
                removedBy = excluded.removedBy
                """, [.text(room), .text(identity), .text(name), .date(date), .text(actor)])
        }
    }

    public func readmit(_ identity: String, to room: String) throws -> Bool {
        try session { try $0.execute("DELETE FROM roomRemoval WHERE room = $1 AND identity = $2", [.text(room), .text(identity)]) > 0 }
    }

    public func removal(of identity: String, from room: String) throws -> RoomRemoval? {
        try session {
            try $0.fetchOne(RoomRemoval.self, "SELECT * FROM roomRemoval WHERE room = $1 AND identity = $2", [.text(room), .text(identity)])
        }
    }

    public func removals(from room: String) throws -> [RoomRemoval] {
        try session {
            try $0.fetch(RoomRemoval.self, "SELECT * FROM roomRemoval WHERE room = $1 ORDER BY removedAt, identity", [.text(room)])
        }
    }

    public func revokeLink(_ id: String, room: String, at date: Date) throws -> Bool {
        try session {
            try $0.execute("INSERT INTO revokedLink (id, room, revokedAt) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                           [.text(id), .text(room), .date(date)]) > 0
        }
    }

    public func isRevoked(_ id: String) throws -> Bool {
        try session { try !$0.query("SELECT 1 FROM revokedLink WHERE id = $1", [.text(id)]).isEmpty }
    }

    // MARK: - Audit trail

    public func recordAudit(_ record: AuditRecord) {
        do {
            _ = try session { try $0.insert(record, into: "audit") }
        } catch {
            logger.error("audit record not written", metadata: ["room": "\(record.room)", "identity": "\(record.identity)",
                                                                "event": "\(record.event)", "error": "\(error)"])
        }
    }

    public func attendanceEvents(room: String, limit: Int) throws -> [AttendanceEvent] {
        try session {
            try $0.fetch(AuditRecord.self, "SELECT * FROM audit WHERE room = $1 ORDER BY at, id LIMIT $2", [.text(room), .int(limit)])
        }.map { AttendanceEvent(at: $0.at, identity: $0.identity, participant: $0.participant, event: $0.event,
                                address: $0.address, actor: $0.actor) }
    }

    public func auditRecords(room: String?, from: Date?, to: Date?, oldestFirst: Bool, limit: Int) throws -> [AuditRecord] {
        let order = oldestFirst ? "at ASC, id ASC" : "at DESC, id DESC"
        return try session {
            try $0.fetch(AuditRecord.self, """
                SELECT * FROM audit WHERE ($1::text IS NULL OR room = $1) AND ($2::timestamptz IS NULL OR at >= $2)
                AND ($3::timestamptz IS NULL OR at < $3) ORDER BY \(order) LIMIT $4
                """, [.text(room), .date(from), .date(to), .int(max(0, limit))])
        }
    }

    // MARK: - Retention

    public func prune(_ retention: StoreRetention, now: Date) throws -> PrunedRows {
        func cutoff(_ keep: Duration?) -> Date? { keep.map { now.addingTimeInterval(-Double($0.components.seconds)) } }
        return try database.transaction(writing: true) { session in
            var pruned = PrunedRows()
            if let before = cutoff(retention.audit) {
                pruned.audit = try session.execute("DELETE FROM audit WHERE at < $1", [.date(before)])
            }
            if let before = cutoff(retention.chat) {
                pruned.chat = try session.execute("DELETE FROM chatMessage WHERE at < $1", [.date(before)])
            }
            if let before = cutoff(retention.outbox) {
                pruned.outbox = try session.execute(
                    "DELETE FROM outbox WHERE state != 'pending' AND COALESCE(sentAt, nextAttemptAt, createdAt) < $1", [.date(before)])
            }
            return pruned
        }
    }
}

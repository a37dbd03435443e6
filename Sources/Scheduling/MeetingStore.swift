import Foundation
import GroupwareBridge
import GRDB

/// The meetings, their attendees and the outbox, in the server's SQLite database (the tables sit next to the
/// rooms and the audit trail; `registerMigrations(in:)` adds them to the server's migrator).
public final class MeetingStore: Sendable {
    let database: any DatabaseWriter

    /// `database` must have been migrated with a migrator that includes `registerMigrations(in:)`.
    public init(database: any DatabaseWriter) {
        self.database = database
    }

    /// A store in memory with only these tables (tests, tools).
    public static func inMemory() throws -> MeetingStore {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        registerMigrations(in: &migrator)
        try migrator.migrate(queue)
        return MeetingStore(database: queue)
    }

    /// The schema; each released change is a new named migration after the last one here.
    public static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("meetings-v1") { db in
            try db.create(table: "meeting") { t in
                t.primaryKey("id", .text)
                t.column("uid", .text).notNull().unique()
                t.column("room", .text).notNull()
                t.column("source", .text).notNull()
                t.column("title", .text).notNull()
                t.column("description", .text).notNull()
                t.column("start", .datetime).notNull()
                t.column("end", .datetime).notNull()
                t.column("timeZone", .text).notNull()
                t.column("organizerName", .text).notNull()
                t.column("organizerEmail", .text).notNull()
                t.column("organizerLink", .text).notNull()
                t.column("sequence", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.column("resourceHref", .text).unique()
                t.column("resourceETag", .text)
                t.column("calendarETag", .text)
            }
            try db.create(index: "meeting_room", on: "meeting", columns: ["room"])
            try db.create(table: "meetingAttendee") { t in
                t.column("meetingId", .text).notNull().references("meeting", onDelete: .cascade)
                t.column("email", .text).notNull()
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("status", .text).notNull()
                t.column("link", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["meetingId", "email"])
            }
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("meetingId", .text).notNull().references("meeting", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("recipient", .text)
                t.column("method", .text)
                t.column("sequence", .integer).notNull()
                t.column("key", .text).notNull().unique()
                t.column("payload", .blob).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("lastError", .text)
                t.column("nextAttemptAt", .datetime).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("sentAt", .datetime)
            }
            try db.create(index: "outbox_due", on: "outbox", columns: ["state", "nextAttemptAt"])
        }
        // Earlier versions stored a booking's SEQUENCE as read, up to Int.max, and then trapped adding one to it at
        // the next edit, again after every restart. Bring such meetings back into iCalendar's range.
        migrator.registerMigration("meetings-v2-sequence-range") { db in
            try db.execute(sql: "UPDATE meeting SET sequence = ? WHERE sequence > ?",
                           arguments: [MeetingRecord.maximumSequence, MeetingRecord.maximumSequence])
            try db.execute(sql: "UPDATE meeting SET sequence = 0 WHERE sequence < 0")
        }
        // Meeting controls and languages (issue 16): a meeting's lobby, each attendee's language.
        migrator.registerMigration("meetings-v3-lobby-language") { db in
            try db.alter(table: "meeting") { t in t.add(column: "lobby", .boolean).notNull().defaults(to: false) }
            try db.alter(table: "meetingAttendee") { t in t.add(column: "language", .text).notNull().defaults(to: "en") }
        }
        registerAttendanceMigrations(in: &migrator)
    }

    /// Replies and attendance (issue 21): each attendee's answer, the meeting's attendance report, and how far the
    /// reply mailbox has been read.
    static func registerAttendanceMigrations(in migrator: inout DatabaseMigrator) {
        // Meetings already over get no report: the first start after an upgrade must not
        // mail every organizer a report for every past meeting.
        migrator.registerMigration("meetings-v4-replies-attendance") { db in
            try db.alter(table: "meetingAttendee") { t in
                t.add(column: "answer", .text).notNull().defaults(to: ParticipationStatus.needsAction.rawValue)
                t.add(column: "answerComment", .text)
                t.add(column: "answeredAt", .datetime)
                t.add(column: "answerSource", .text)
                t.add(column: "calendarAnswer", .text)
            }
            try db.alter(table: "meeting") { t in
                t.add(column: "report", .text).notNull().defaults(to: MeetingRecord.ReportState.pending.rawValue)
                t.add(column: "reportedAt", .datetime)
            }
            try db.execute(sql: "UPDATE meeting SET report = ? WHERE \"end\" < ?",
                           arguments: [MeetingRecord.ReportState.skipped.rawValue, Date()])
            try db.create(table: "mailboxCursor") { t in
                t.primaryKey("mailbox", .text)
                t.column("uidValidity", .integer).notNull()
                t.column("lastUID", .integer).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try database.read(body)
    }

    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try database.write(body)
    }

    // MARK: - Queries

    public func meeting(id: String) throws -> MeetingRecord? {
        try database.read { db in try MeetingRecord.fetchOne(db, key: id) }
    }

    public func meeting(room: String) throws -> MeetingRecord? {
        try database.read { db in try MeetingRecord.filter(MeetingRecord.Columns.room == room).fetchOne(db) }
    }

    public func meeting(uid: String) throws -> MeetingRecord? {
        try database.read { db in try MeetingRecord.filter(MeetingRecord.Columns.uid == uid).fetchOne(db) }
    }

    public func meeting(resourceHref: String) throws -> MeetingRecord? {
        try database.read { db in try MeetingRecord.filter(MeetingRecord.Columns.resourceHref == resourceHref).fetchOne(db) }
    }

    /// Every meeting, newest first.
    public func meetings(limit: Int = 500) throws -> [MeetingRecord] {
        try database.read { db in
            try MeetingRecord.order(MeetingRecord.Columns.createdAt.desc, MeetingRecord.Columns.id).limit(limit).fetchAll(db)
        }
    }

    /// Meetings booked through the resource calendar, by the href of their event.
    public func calendarBookings() throws -> [String: MeetingRecord] {
        try database.read { db in
            let rows = try MeetingRecord.filter(MeetingRecord.Columns.resourceHref != nil).fetchAll(db)
            return Dictionary(rows.map { ($0.resourceHref!, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func attendees(of meetingId: String) throws -> [MeetingAttendeeRecord] {
        try database.read { db in try Self.attendees(db, of: meetingId) }
    }

    static func attendees(_ db: Database, of meetingId: String) throws -> [MeetingAttendeeRecord] {
        try MeetingAttendeeRecord.filter(MeetingAttendeeRecord.Columns.meetingId == meetingId)
            .order(MeetingAttendeeRecord.Columns.position).fetchAll(db)
    }

    /// Outbox items, newest first; of one meeting, or of all.
    public func outbox(meeting: String? = nil, limit: Int = 500) throws -> [OutboxItem] {
        try database.read { db in
            var request = OutboxItem.all()
            if let meeting { request = request.filter(OutboxItem.Columns.meetingId == meeting) }
            return try request.order(OutboxItem.Columns.id.desc).limit(limit).fetchAll(db)
        }
    }

    /// Remembers the ETag of our copy in the organizer's calendar (nil once deleted).
    public func setCalendarETag(_ etag: String?, meeting: String) throws {
        try database.write { db in
            _ = try MeetingRecord.filter(key: meeting).updateAll(db, MeetingRecord.Columns.calendarETag.set(to: etag))
        }
    }

    /// Moves the remembered ETag of our copy from `old` to `new`, unless a write of ours changed it meanwhile.
    public func replaceCalendarETag(_ old: String?, with new: String, meeting: String) throws {
        try database.write { db in
            _ = try MeetingRecord.filter(key: meeting).filter(MeetingRecord.Columns.calendarETag == old)
                .updateAll(db, MeetingRecord.Columns.calendarETag.set(to: new))
        }
    }

    /// Remembers the booking's current ETag in the resource calendar (after our write-back, or a change that
    /// needed no update), so the watcher does not take it for a change.
    public func setResourceETag(_ etag: String?, meeting: String) throws {
        try database.write { db in
            _ = try MeetingRecord.filter(key: meeting).updateAll(db, MeetingRecord.Columns.resourceETag.set(to: etag))
        }
    }

    /// How many items are in each state.
    public func outboxCounts() throws -> [OutboxItem.State: Int] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            var counts: [OutboxItem.State: Int] = [:]
            for row in rows {
                if let state = OutboxItem.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    /// The oldest pending item due at `now`, if any, and when the next one falls due otherwise.
    func nextDue(at now: Date, kinds: [OutboxItem.Kind] = OutboxItem.Kind.allCases) throws -> (item: OutboxItem?, next: Date?) {
        try database.read { db in
            let pending = OutboxItem.filter(OutboxItem.Columns.state == OutboxItem.State.pending.rawValue)
                .filter(kinds.map(\.rawValue).contains(OutboxItem.Columns.kind))
            if let due = try pending.filter(OutboxItem.Columns.nextAttemptAt <= now).order(OutboxItem.Columns.id).fetchOne(db) {
                return (due, now)
            }
            let next = try pending.select(min(OutboxItem.Columns.nextAttemptAt), as: Date.self).fetchOne(db)
            return (nil, next)
        }
    }

    /// Records the outcome of one attempt.
    func finish(_ id: Int64, state: OutboxItem.State, error: String?, nextAttemptAt: Date?, at now: Date) throws {
        try database.write { db in
            guard var item = try OutboxItem.fetchOne(db, key: id) else { return }
            // An update may have superseded it meanwhile; a delivered message still counts as delivered.
            if item.state == .superseded && state != .sent { return }
            item.state = state
            item.attempts += 1
            item.lastError = error
            if let nextAttemptAt { item.nextAttemptAt = nextAttemptAt }
            if state == .sent { item.sentAt = now }
            try item.update(db)
        }
    }
}

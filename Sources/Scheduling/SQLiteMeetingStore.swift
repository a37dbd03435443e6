import Foundation
import GroupwareBridge
import GRDB

/// The meetings, their attendees and the outbox, in the server's SQLite database (the tables sit next to the
/// rooms and the audit trail; `registerMigrations(in:)` adds them to the server's migrator).
public final class SQLiteMeetingStore: MeetingStore {
    let database: any DatabaseWriter

    /// `database` must have been migrated with a migrator that includes `registerMigrations(in:)`.
    public init(database: any DatabaseWriter) {
        self.database = database
    }

    /// A store in memory with only these tables (tests, tools).
    public static func inMemory() throws -> SQLiteMeetingStore {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        registerMigrations(in: &migrator)
        try migrator.migrate(queue)
        return SQLiteMeetingStore(database: queue)
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

    public func read<T: Sendable>(_ body: @Sendable (any MeetingTransaction) throws -> T) throws -> T {
        try database.read { db in try body(Transaction(db: db)) }
    }

    public func write<T: Sendable>(_ body: @Sendable (any MeetingTransaction) throws -> T) throws -> T {
        try database.write { db in try body(Transaction(db: db)) }
    }

    /// The meeting tables inside one GRDB transaction.
    struct Transaction: MeetingTransaction {
        let db: Database

        func meeting(id: String) throws -> MeetingRecord? { try MeetingRecord.fetchOne(db, key: id) }

        func meeting(_ key: MeetingKey) throws -> MeetingRecord? {
            switch key {
            case .room(let room): try MeetingRecord.filter(MeetingRecord.Columns.room == room).fetchOne(db)
            case .uid(let uid): try MeetingRecord.filter(MeetingRecord.Columns.uid == uid).fetchOne(db)
            case .resourceHref(let href): try MeetingRecord.filter(MeetingRecord.Columns.resourceHref == href).fetchOne(db)
            }
        }

        func meetings(limit: Int) throws -> [MeetingRecord] {
            try MeetingRecord.order(MeetingRecord.Columns.createdAt.desc, MeetingRecord.Columns.id).limit(limit).fetchAll(db)
        }

        func calendarBookings() throws -> [MeetingRecord] {
            try MeetingRecord.filter(MeetingRecord.Columns.resourceHref != nil).fetchAll(db)
        }

        func meetingsAwaitingReport(endedBefore: Date, limit: Int) throws -> [MeetingRecord] {
            try MeetingRecord.filter(MeetingRecord.Columns.report == MeetingRecord.ReportState.pending.rawValue)
                .filter(MeetingRecord.Columns.status == MeetingRecord.Status.scheduled.rawValue)
                .filter(MeetingRecord.Columns.end < endedBefore)
                .order(MeetingRecord.Columns.end, MeetingRecord.Columns.id)
                .limit(limit).fetchAll(db)
        }

        func insert(_ meeting: MeetingRecord) throws { try meeting.insert(db) }
        func update(_ meeting: MeetingRecord) throws { try meeting.update(db) }

        func attendees(of meetingId: String) throws -> [MeetingAttendeeRecord] {
            try MeetingAttendeeRecord.filter(MeetingAttendeeRecord.Columns.meetingId == meetingId)
                .order(MeetingAttendeeRecord.Columns.position).fetchAll(db)
        }

        func attendee(of meetingId: String, email: String) throws -> MeetingAttendeeRecord? {
            try MeetingAttendeeRecord.fetchOne(db, key: ["meetingId": meetingId, "email": email])
        }

        func deleteAttendees(of meetingId: String) throws {
            try MeetingAttendeeRecord.filter(MeetingAttendeeRecord.Columns.meetingId == meetingId).deleteAll(db)
        }

        func insert(_ attendee: MeetingAttendeeRecord) throws { try attendee.insert(db) }
        func update(_ attendee: MeetingAttendeeRecord) throws { try attendee.update(db) }

        func outbox(meeting: String?, limit: Int) throws -> [OutboxItem] {
            var request = OutboxItem.all()
            if let meeting { request = request.filter(OutboxItem.Columns.meetingId == meeting) }
            return try request.order(OutboxItem.Columns.id.desc).limit(limit).fetchAll(db)
        }

        func outboxItem(id: Int64) throws -> OutboxItem? { try OutboxItem.fetchOne(db, key: id) }

        func supersede(_ stale: StaleOutboxItems) throws {
            var request = OutboxItem
                .filter(OutboxItem.Columns.meetingId == stale.meetingId)
                .filter(OutboxItem.Columns.state == OutboxItem.State.pending.rawValue)
                .filter(stale.kinds.map(\.rawValue).contains(OutboxItem.Columns.kind))
            if let recipient = stale.recipient { request = request.filter(OutboxItem.Columns.recipient == recipient) }
            if let sparing = stale.sparing {
                request = request.filter(OutboxItem.Columns.method == nil || OutboxItem.Columns.method != sparing)
            }
            if let except = stale.except { request = request.filter(OutboxItem.Columns.key != except) }
            try request.updateAll(db, OutboxItem.Columns.state.set(to: OutboxItem.State.superseded.rawValue))
        }

        func insertUnlessQueued(_ item: OutboxItem) throws {
            var item = item
            try item.insert(db, onConflict: .ignore)
        }

        func update(_ item: OutboxItem) throws { try item.update(db) }

        func outboxCounts() throws -> [OutboxItem.State: Int] {
            let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            var counts: [OutboxItem.State: Int] = [:]
            for row in rows {
                if let state = OutboxItem.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }

        private func pending(_ kinds: [OutboxItem.Kind]) -> QueryInterfaceRequest<OutboxItem> {
            OutboxItem.filter(OutboxItem.Columns.state == OutboxItem.State.pending.rawValue)
                .filter(kinds.map(\.rawValue).contains(OutboxItem.Columns.kind))
        }

        func firstPendingItem(dueBy now: Date, kinds: [OutboxItem.Kind]) throws -> OutboxItem? {
            try pending(kinds).filter(OutboxItem.Columns.nextAttemptAt <= now).order(OutboxItem.Columns.id).fetchOne(db)
        }

        func earliestPendingAttempt(kinds: [OutboxItem.Kind]) throws -> Date? {
            try pending(kinds).select(min(OutboxItem.Columns.nextAttemptAt), as: Date.self).fetchOne(db)
        }

        func mailboxCursor(_ mailbox: String) throws -> MailboxCursor? {
            guard let row = try Row.fetchOne(db, sql: "SELECT uidValidity, lastUID, updatedAt FROM mailboxCursor WHERE mailbox = ?",
                                             arguments: [mailbox]) else { return nil }
            let validity: Int64 = row["uidValidity"]
            let last: Int64 = row["lastUID"]
            return MailboxCursor(mailbox: mailbox, uidValidity: UInt32(clamping: validity), lastUID: UInt32(clamping: last),
                                 updatedAt: row["updatedAt"])
        }

        func save(_ cursor: MailboxCursor) throws {
            try db.execute(sql: """
                INSERT INTO mailboxCursor (mailbox, uidValidity, lastUID, updatedAt) VALUES (?, ?, ?, ?)
                ON CONFLICT(mailbox) DO UPDATE SET uidValidity = excluded.uidValidity, lastUID = excluded.lastUID,
                updatedAt = excluded.updatedAt
                """, arguments: [cursor.mailbox, Int64(cursor.uidValidity), Int64(cursor.lastUID), cursor.updatedAt])
        }
    }
}

import Foundation
import PostgresNIO
import Scheduling

/// Scheduled meetings, attendees, the outbox and the reply mailbox's position in PostgreSQL: `MeetingTransaction`
/// in SQL. Write transactions are serialised across nodes (`PostgresDatabase.transaction`), as in SQLite.
public final class PostgresMeetingStore: MeetingStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    public func read<T: Sendable>(_ body: @Sendable (any MeetingTransaction) throws -> T) throws -> T {
        try database.transaction(writing: false) { try body(Transaction(session: $0)) }
    }

    public func write<T: Sendable>(_ body: @Sendable (any MeetingTransaction) throws -> T) throws -> T {
        try database.transaction(writing: true) { try body(Transaction(session: $0)) }
    }

    struct Transaction: MeetingTransaction {
        let session: PostgresSession

        func meeting(id: String) throws -> MeetingRecord? {
            try session.fetchOne(MeetingRecord.self, "SELECT * FROM meeting WHERE id = $1", [.text(id)])
        }

        func meeting(_ key: MeetingKey) throws -> MeetingRecord? {
            switch key {
            case .room(let room): try session.fetchOne(MeetingRecord.self, "SELECT * FROM meeting WHERE room = $1 LIMIT 1", [.text(room)])
            case .uid(let uid): try session.fetchOne(MeetingRecord.self, "SELECT * FROM meeting WHERE uid = $1", [.text(uid)])
            case .resourceHref(let href):
                try session.fetchOne(MeetingRecord.self, "SELECT * FROM meeting WHERE resourceHref = $1", [.text(href)])
            }
        }

        func meetings(limit: Int) throws -> [MeetingRecord] {
            try session.fetch(MeetingRecord.self, "SELECT * FROM meeting ORDER BY createdAt DESC, id LIMIT $1", [.int(max(0, limit))])
        }

        func calendarBookings() throws -> [MeetingRecord] {
            try session.fetch(MeetingRecord.self, "SELECT * FROM meeting WHERE resourceHref IS NOT NULL")
        }

        func meetingsAwaitingReport(endedBefore: Date, limit: Int) throws -> [MeetingRecord] {
            try session.fetch(MeetingRecord.self, """
                SELECT * FROM meeting WHERE report = $1 AND status = $2 AND "end" < $3 ORDER BY "end", id LIMIT $4
                """, [.text(MeetingRecord.ReportState.pending.rawValue), .text(MeetingRecord.Status.scheduled.rawValue),
                      .date(endedBefore), .int(max(0, limit))])
        }

        func insert(_ meeting: MeetingRecord) throws { try session.insert(meeting, into: "meeting") }
        func update(_ meeting: MeetingRecord) throws { try session.update(meeting, in: "meeting", key: ["id"]) }

        func attendees(of meetingId: String) throws -> [MeetingAttendeeRecord] {
            try session.fetch(MeetingAttendeeRecord.self, "SELECT * FROM meetingAttendee WHERE meetingId = $1 ORDER BY position",
                              [.text(meetingId)])
        }

        func attendee(of meetingId: String, email: String) throws -> MeetingAttendeeRecord? {
            try session.fetchOne(MeetingAttendeeRecord.self, "SELECT * FROM meetingAttendee WHERE meetingId = $1 AND email = $2",
                                 [.text(meetingId), .text(email)])
        }

        func deleteAttendees(of meetingId: String) throws {
            try session.execute("DELETE FROM meetingAttendee WHERE meetingId = $1", [.text(meetingId)])
        }

        func insert(_ attendee: MeetingAttendeeRecord) throws { try session.insert(attendee, into: "meetingAttendee") }
        func update(_ attendee: MeetingAttendeeRecord) throws {
            try session.update(attendee, in: "meetingAttendee", key: ["meetingId", "email"])
        }

        func outbox(meeting: String?, limit: Int) throws -> [OutboxItem] {
            try session.fetch(OutboxItem.self, "SELECT * FROM outbox WHERE ($1::text IS NULL OR meetingId = $1) ORDER BY id DESC LIMIT $2",
                              [.text(meeting), .int(max(0, limit))])
        }

        func outboxItem(id: Int64) throws -> OutboxItem? {
            try session.fetchOne(OutboxItem.self, "SELECT * FROM outbox WHERE id = $1", [.int(Int(id))])
        }

        func supersede(_ stale: StaleOutboxItems) throws {
            try session.execute("""
                UPDATE outbox SET state = $1 WHERE meetingId = $2 AND state = $3 AND kind = ANY(string_to_array($4, ','))
                AND ($5::text IS NULL OR recipient = $5) AND ($6::text IS NULL OR method IS NULL OR method != $6)
                AND ($7::text IS NULL OR key != $7)
                """, [.text(OutboxItem.State.superseded.rawValue), .text(stale.meetingId), .text(OutboxItem.State.pending.rawValue),
                      .text(stale.kinds.map(\.rawValue).joined(separator: ",")), .text(stale.recipient), .text(stale.sparing),
                      .text(stale.except)])
        }

        func insertUnlessQueued(_ item: OutboxItem) throws { try session.insertIfAbsent(item, into: "outbox") }
        func update(_ item: OutboxItem) throws { try session.update(item, in: "outbox", key: ["id"]) }

        func outboxCounts() throws -> [OutboxItem.State: Int] {
            var counts: [OutboxItem.State: Int] = [:]
            for row in try session.query("SELECT state, COUNT(*) FROM outbox GROUP BY state") {
                let (state, count) = try row.decode((String, Int).self)
                if let state = OutboxItem.State(rawValue: state) { counts[state] = count }
            }
            return counts
        }

        func firstPendingItem(dueBy now: Date, kinds: [OutboxItem.Kind]) throws -> OutboxItem? {
            try session.fetchOne(OutboxItem.self, """
                SELECT * FROM outbox WHERE state = $1 AND kind = ANY(string_to_array($2, ',')) AND nextAttemptAt <= $3
                ORDER BY id LIMIT 1
                """, [.text(OutboxItem.State.pending.rawValue), .text(kinds.map(\.rawValue).joined(separator: ",")), .date(now)])
        }

        func earliestPendingAttempt(kinds: [OutboxItem.Kind]) throws -> Date? {
            let rows = try session.query("SELECT MIN(nextAttemptAt) FROM outbox WHERE state = $1 AND kind = ANY(string_to_array($2, ','))",
                                         [.text(OutboxItem.State.pending.rawValue), .text(kinds.map(\.rawValue).joined(separator: ","))])
            return try rows.first?.makeRandomAccess()[0].decode(Date?.self) ?? nil
        }

        func mailboxCursor(_ mailbox: String) throws -> MailboxCursor? {
            guard let row = try session.query("SELECT uidValidity, lastUID, updatedAt FROM mailboxCursor WHERE mailbox = $1",
                                              [.text(mailbox)]).first else { return nil }
            let (validity, last, updatedAt) = try row.decode((Int64, Int64, Date).self)
            return MailboxCursor(mailbox: mailbox, uidValidity: UInt32(clamping: validity), lastUID: UInt32(clamping: last), updatedAt: updatedAt)
        }

        func save(_ cursor: MailboxCursor) throws {
            try session.execute("""
                INSERT INTO mailboxCursor (mailbox, uidValidity, lastUID, updatedAt) VALUES ($1, $2, $3, $4)
                ON CONFLICT (mailbox) DO UPDATE SET uidValidity = excluded.uidValidity, lastUID = excluded.lastUID,
                updatedAt = excluded.updatedAt
                """, [.text(cursor.mailbox), .int(Int(cursor.uidValidity)), .int(Int(cursor.lastUID)), .date(cursor.updatedAt)])
        }
    }
}

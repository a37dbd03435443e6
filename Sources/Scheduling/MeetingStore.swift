import Foundation

/// Where scheduled meetings, their attendees, the outbox and the reply mailbox's position are kept: the embedded
/// SQLite file (`SQLiteMeetingStore`) or a PostgreSQL database that several nodes share (module PostgresStore).
///
/// A backend provides transactions; everything the scheduler, the outbox relay and the reply collector need is
/// written once, in terms of `MeetingTransaction`, so both backends run the same rules.
public protocol MeetingStore: Sendable {
    /// Runs `body` in a read transaction.
    func read<T: Sendable>(_ body: @Sendable (any MeetingTransaction) throws -> T) throws -> T
    /// Runs `body` in a write transaction: all of it happens, or (when it throws) none of it. Write transactions
    /// are serialised, also between the nodes sharing a database, so a read-modify-write inside one is safe.
    func write<T: Sendable>(_ body: @Sendable (any MeetingTransaction) throws -> T) throws -> T
}

/// How a meeting is found other than by its id.
public enum MeetingKey: Sendable, Equatable {
    case room(String)
    case uid(String)
    case resourceHref(String)
}

/// Which pending outbox items a newer item makes stale.
public struct StaleOutboxItems: Sendable, Equatable {
    public var meetingId: String
    public var kinds: [OutboxItem.Kind]
    /// Only those to this recipient, when set.
    public var recipient: String?
    /// Items with this method are left alone (the attendance report is never replaced by an invitation).
    public var sparing: String?
    /// The item being queued: queued again with the same key, it must not supersede itself.
    public var except: String?
}

/// How far a reply mailbox has been read (IMAP UIDVALIDITY and the last UID seen).
public struct MailboxCursor: Sendable, Equatable {
    public var mailbox: String
    public var uidValidity: UInt32
    public var lastUID: UInt32
    public var updatedAt: Date

    public init(mailbox: String, uidValidity: UInt32, lastUID: UInt32, updatedAt: Date) {
        self.mailbox = mailbox
        self.uidValidity = uidValidity
        self.lastUID = lastUID
        self.updatedAt = updatedAt
    }
}

/// The operations of one transaction on the meeting tables. Each backend implements them with its own SQL.
public protocol MeetingTransaction {
    func meeting(id: String) throws -> MeetingRecord?
    func meeting(_ key: MeetingKey) throws -> MeetingRecord?
    /// Newest first.
    func meetings(limit: Int) throws -> [MeetingRecord]
    /// Meetings booked through the resource calendar (those with a `resourceHref`).
    func calendarBookings() throws -> [MeetingRecord]
    /// Scheduled meetings without an attendance report yet that ended before `endedBefore`.
    func meetingsAwaitingReport(endedBefore: Date, limit: Int) throws -> [MeetingRecord]
    func insert(_ meeting: MeetingRecord) throws
    func update(_ meeting: MeetingRecord) throws

    /// In the order they were given (`position`).
    func attendees(of meetingId: String) throws -> [MeetingAttendeeRecord]
    func attendee(of meetingId: String, email: String) throws -> MeetingAttendeeRecord?
    func deleteAttendees(of meetingId: String) throws
    func insert(_ attendee: MeetingAttendeeRecord) throws
    func update(_ attendee: MeetingAttendeeRecord) throws

    /// Newest first; of one meeting, or of all.
    func outbox(meeting: String?, limit: Int) throws -> [OutboxItem]
    func outboxItem(id: Int64) throws -> OutboxItem?
    /// Marks the matching pending items superseded.
    func supersede(_ stale: StaleOutboxItems) throws
    /// Inserts `item` unless an item with the same `key` exists (then nothing changes).
    func insertUnlessQueued(_ item: OutboxItem) throws
    func update(_ item: OutboxItem) throws
    func outboxCounts() throws -> [OutboxItem.State: Int]
    /// The oldest pending item of `kinds` due by `now`.
    func firstPendingItem(dueBy now: Date, kinds: [OutboxItem.Kind]) throws -> OutboxItem?
    /// When the earliest pending item of `kinds` falls due.
    func earliestPendingAttempt(kinds: [OutboxItem.Kind]) throws -> Date?

    func mailboxCursor(_ mailbox: String) throws -> MailboxCursor?
    func save(_ cursor: MailboxCursor) throws
}

extension MeetingTransaction {
    /// Queues `item`, superseding what it makes stale: an older unsent mail to the same person about the same
    /// meeting, or an older unsent write of the same calendar object. A report replaces nothing, and no invitation
    /// replaces it.
    public func enqueue(_ item: OutboxItem) throws {
        let isReport = item.kind == .calendarReport || item.method == AttendanceReporter.method
        if !isReport {
            switch item.kind {
            case .mail:
                try supersede(StaleOutboxItems(meetingId: item.meetingId, kinds: [.mail], recipient: item.recipient,
                                               sparing: AttendanceReporter.method, except: item.key))
            case .calendarPut, .calendarDelete:
                try supersede(StaleOutboxItems(meetingId: item.meetingId, kinds: [.calendarPut, .calendarDelete], except: item.key))
            case .calendarLink:
                try supersede(StaleOutboxItems(meetingId: item.meetingId, kinds: [.calendarLink], except: item.key))
            case .calendarReport:
                break
            }
        }
        try insertUnlessQueued(item)
    }
}

extension StaleOutboxItems {
    public init(meetingId: String, kinds: [OutboxItem.Kind], except: String? = nil) {
        self.init(meetingId: meetingId, kinds: kinds, recipient: nil, sparing: nil, except: except)
    }
}

extension MeetingStore {
    public func meeting(id: String) throws -> MeetingRecord? { try read { try $0.meeting(id: id) } }
    public func meeting(room: String) throws -> MeetingRecord? { try read { try $0.meeting(.room(room)) } }
    public func meeting(uid: String) throws -> MeetingRecord? { try read { try $0.meeting(.uid(uid)) } }
    public func meeting(resourceHref: String) throws -> MeetingRecord? { try read { try $0.meeting(.resourceHref(resourceHref)) } }

    /// Every meeting, newest first.
    public func meetings(limit: Int = 500) throws -> [MeetingRecord] { try read { try $0.meetings(limit: limit) } }

    /// Meetings booked through the resource calendar, by the href of their event.
    public func calendarBookings() throws -> [String: MeetingRecord] {
        let rows = try read { try $0.calendarBookings() }
        return Dictionary(rows.compactMap { row in row.resourceHref.map { ($0, row) } }, uniquingKeysWith: { first, _ in first })
    }

    public func attendees(of meetingId: String) throws -> [MeetingAttendeeRecord] { try read { try $0.attendees(of: meetingId) } }

    /// Outbox items, newest first; of one meeting, or of all.
    public func outbox(meeting: String? = nil, limit: Int = 500) throws -> [OutboxItem] {
        try read { try $0.outbox(meeting: meeting, limit: limit) }
    }

    /// How many items are in each state.
    public func outboxCounts() throws -> [OutboxItem.State: Int] { try read { try $0.outboxCounts() } }

    /// Remembers the ETag of our copy in the organizer's calendar (nil once deleted).
    public func setCalendarETag(_ etag: String?, meeting: String) throws {
        try write { tx in
            guard var record = try tx.meeting(id: meeting) else { return }
            record.calendarETag = etag
            try tx.update(record)
        }
    }

    /// Moves the remembered ETag of our copy from `old` to `new`, unless a write of ours changed it meanwhile.
    public func replaceCalendarETag(_ old: String?, with new: String, meeting: String) throws {
        try write { tx in
            guard var record = try tx.meeting(id: meeting), record.calendarETag == old else { return }
            record.calendarETag = new
            try tx.update(record)
        }
    }

    /// Remembers the booking's current ETag in the resource calendar (after our write-back, or a change that
    /// needed no update), so the watcher does not take it for a change.
    public func setResourceETag(_ etag: String?, meeting: String) throws {
        try write { tx in
            guard var record = try tx.meeting(id: meeting) else { return }
            record.resourceETag = etag
            try tx.update(record)
        }
    }

    /// Takes the oldest pending item due at `now` for one attempt: its next attempt moves to `now + hold`, in the
    /// same write transaction, so no other relay (another node sharing the database) takes it meanwhile. The
    /// attempt's outcome (`finish`) replaces that time; if the node dies before, the item is due again after `hold`.
    /// Otherwise returns when the next item falls due.
    func claimNextDue(at now: Date, kinds: [OutboxItem.Kind] = OutboxItem.Kind.allCases,
                      hold: TimeInterval) throws -> (item: OutboxItem?, next: Date?) {
        try write { tx in
            guard var due = try tx.firstPendingItem(dueBy: now, kinds: kinds) else {
                return (nil, try tx.earliestPendingAttempt(kinds: kinds))
            }
            due.nextAttemptAt = now.addingTimeInterval(hold)
            try tx.update(due)
            return (due, now)
        }
    }

    /// Records the outcome of one attempt.
    func finish(_ id: Int64, state: OutboxItem.State, error: String?, nextAttemptAt: Date?, at now: Date) throws {
        try write { tx in
            guard var item = try tx.outboxItem(id: id) else { return }
            // An update may have superseded it meanwhile; a delivered message still counts as delivered.
            if item.state == .superseded && state != .sent { return }
            item.state = state
            item.attempts += 1
            item.lastError = error
            if let nextAttemptAt { item.nextAttemptAt = nextAttemptAt }
            if state == .sent { item.sentAt = now }
            try tx.update(item)
        }
    }
}

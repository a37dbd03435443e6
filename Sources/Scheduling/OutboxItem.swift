import Foundation
import GRDB

/// One mail or calendar write waiting to go out, or the record that it went.
///
/// Items are written in the same transaction as the meeting change that causes them, with their payload already
/// rendered, so a crash between "meeting saved" and "sent" loses nothing and a resend is byte for byte the same
/// message (same Message-ID). `key` (UID, SEQUENCE, method, recipient, kind) is unique: the same version of the same
/// message is never queued twice.
public struct OutboxItem: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outbox"

    public enum Kind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        /// An iMIP mail to one recipient.
        case mail
        /// Our copy of the meeting PUT into the organizer's calendar.
        case calendarPut = "calendar-put"
        /// Our copy DELETEd from the organizer's calendar (cancelled).
        case calendarDelete = "calendar-delete"
        /// The join link written back into a booking in the resource calendar.
        case calendarLink = "calendar-link"
        /// The attendance report added to the organizer's event (our copy, or the booking).
        case calendarReport = "calendar-report"
    }

    public enum State: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case pending
        case sent
        /// Refused for good (5xx, bad address); not retried.
        case failed
        /// A newer item for the same recipient or calendar replaced it before it went out.
        case superseded
    }

    public var id: Int64?
    public var meetingId: String
    public var kind: Kind
    /// Email address for mail; nil for calendar writes.
    public var recipient: String?
    /// "REQUEST" or "CANCEL" for invitation mail; "REPORT" for the attendance report (mail and calendar).
    public var method: String?
    public var sequence: Int
    public var key: String
    /// The complete message (mail) or iCalendar object (calendar-put); empty otherwise.
    public var payload: Data
    public var state: State
    public var attempts: Int
    public var lastError: String?
    public var nextAttemptAt: Date
    public var createdAt: Date
    public var sentAt: Date?

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let meetingId = Column(CodingKeys.meetingId)
        public static let kind = Column(CodingKeys.kind)
        public static let recipient = Column(CodingKeys.recipient)
        public static let method = Column(CodingKeys.method)
        public static let key = Column(CodingKeys.key)
        public static let state = Column(CodingKeys.state)
        public static let nextAttemptAt = Column(CodingKeys.nextAttemptAt)
    }

    static func key(uid: String, sequence: Int, method: String?, recipient: String?, kind: Kind) -> String {
        [uid, String(sequence), method ?? "-", recipient ?? "-", kind.rawValue].joined(separator: "|")
    }
}

import Foundation
import GroupwareBridge
import GRDB

/// A scheduled meeting as stored: what was asked for, its version (SEQUENCE) and its room.
public struct MeetingRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "meeting"

    /// Where the meeting came from.
    public enum Source: String, Codable, Sendable, DatabaseValueConvertible {
        /// The admin API or `sabha meeting`.
        case api
        /// A booking of the conference resource in the watched calendar.
        case calendar
    }

    public enum Status: String, Codable, Sendable, DatabaseValueConvertible {
        case scheduled
        case cancelled
    }

    /// "m-" and random letters; also the room name.
    public var id: String
    /// iCalendar UID: ours ("<id>@sabha") or, for a calendar booking, the event's own.
    public var uid: String
    public var room: String
    public var source: Source
    public var title: String
    public var description: String
    public var start: Date
    public var end: Date
    public var timeZone: String
    public var organizerName: String
    public var organizerEmail: String
    /// The organizer's own (host) link; goes into the organizer's calendar copy.
    public var organizerLink: String
    public var sequence: Int
    public var status: Status
    public var createdAt: Date
    public var updatedAt: Date
    /// For a calendar booking: the event's href in the resource calendar, and the ETag we last saw or wrote.
    public var resourceHref: String?
    public var resourceETag: String?
    /// The ETag of our copy in the organizer's calendar, once written.
    public var calendarETag: String?
    /// Joiners wait in a lobby until a host admits them.
    public var lobby = false
    /// Whether the attendance report went into the outbox.
    public var report: ReportState = .pending
    /// When the report was queued.
    public var reportedAt: Date?

    public enum ReportState: String, Codable, Sendable, DatabaseValueConvertible {
        /// Not yet: the meeting has not ended.
        case pending
        /// In the outbox (mail to the organizer, and the calendar write): never queued again.
        case queued
        /// None is made: the meeting was over before this server version kept reports, or it was cancelled.
        case skipped
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let uid = Column(CodingKeys.uid)
        public static let room = Column(CodingKeys.room)
        public static let createdAt = Column(CodingKeys.createdAt)
        public static let resourceHref = Column(CodingKeys.resourceHref)
        public static let resourceETag = Column(CodingKeys.resourceETag)
        public static let calendarETag = Column(CodingKeys.calendarETag)
        public static let status = Column(CodingKeys.status)
        public static let end = Column(CodingKeys.end)
        public static let report = Column(CodingKeys.report)
    }

    /// The name of our copy in the organizer's CalDAV collection.
    public var calendarResourceName: String { id + ".ics" }

    /// The largest SEQUENCE we store or write: iCalendar's INTEGER ends here (RFC 5545 section 3.3.8).
    public static let maximumSequence = Int(Int32.max)

    /// The SEQUENCE after `current`, and at least `minimum` (a calendar event's own): one more, held within
    /// `0...maximumSequence` whatever was stored or read, so no addition can trap on a value from outside.
    public static func sequence(after current: Int, atLeast minimum: Int = 0) -> Int {
        let next = min(max(current, -1), maximumSequence - 1) + 1
        return max(next, min(max(minimum, 0), maximumSequence))
    }
}

/// One attendee of a stored meeting, with their current personal link.
public struct MeetingAttendeeRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "meetingAttendee"

    public enum Status: String, Codable, Sendable, DatabaseValueConvertible {
        case invited
        /// Dropped by an update: got a CANCEL, and their link no longer admits them.
        case removed
    }

    public var meetingId: String
    /// Lower-cased; also the identity in their join token.
    public var email: String
    public var name: String
    public var role: Attendee.Role
    public var status: Status
    public var link: String
    /// Order in the request, so lists come back as they were given.
    public var position: Int
    /// The language of their invitations and meeting page ("en", "hi", "or").
    public var language: MessageLanguage = .english
    /// Their answer to the invitation (PARTSTAT), with the comment it came with, when it was given (the reply's
    /// DTSTAMP, or when the calendar showed it) and how we learnt it (`AnswerSource`).
    public var answer: ParticipationStatus = .needsAction
    public var answerComment: String?
    public var answeredAt: Date?
    public var answerSource: AnswerSource?
    /// The PARTSTAT the calendar showed when last read: only a change there is an answer, so an older value left in
    /// the calendar never overrides a newer one that came by mail.
    public var calendarAnswer: ParticipationStatus?

    public enum AnswerSource: String, Codable, Sendable, DatabaseValueConvertible {
        /// An iMIP REPLY in the reply mailbox.
        case mail
        /// The PARTSTAT in the organizer's calendar copy (a CalDAV scheduling server wrote it) or in the booking.
        case calendar
    }

    public enum Columns {
        public static let meetingId = Column(CodingKeys.meetingId)
        public static let email = Column(CodingKeys.email)
        public static let position = Column(CodingKeys.position)
        public static let answer = Column(CodingKeys.answer)
        public static let answerComment = Column(CodingKeys.answerComment)
        public static let answeredAt = Column(CodingKeys.answeredAt)
        public static let answerSource = Column(CodingKeys.answerSource)
        public static let calendarAnswer = Column(CodingKeys.calendarAnswer)
    }

    /// The answer fields of `other` (an earlier row of the same person), kept across an update that rewrites the rows.
    mutating func keepAnswer(of other: MeetingAttendeeRecord) {
        answer = other.answer
        answerComment = other.answerComment
        answeredAt = other.answeredAt
        answerSource = other.answerSource
        calendarAnswer = other.calendarAnswer
    }
}

/// Stored as its raw value. Declared here, not with the type: GroupwareBridge is a protocol library without GRDB.
extension Attendee.Role: DatabaseValueConvertible {}
extension MessageLanguage: DatabaseValueConvertible {}
extension ParticipationStatus: DatabaseValueConvertible {}

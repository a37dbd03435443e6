import Foundation
import GroupwareBridge
import Scheduling

/// JSON shapes of the meetings part of the admin API (docs/meetings.md), shared by the server and `sabha meeting`.
extension AdminWire {
    public struct Person: Codable, Sendable, Equatable {
        public var name: String?
        public var email: String
        public init(name: String?, email: String) {
            self.name = name
            self.email = email
        }
    }

    public struct Invitee: Codable, Sendable, Equatable {
        public var name: String?
        public var email: String
        /// host, participant (default) or viewer.
        public var role: String?
        /// en, hi or or: their invitation's language and their meeting page's (default: the server's `--language`).
        public var language: String?
        public init(name: String?, email: String, role: String?, language: String? = nil) {
            self.name = name
            self.email = email
            self.role = role
            self.language = language
        }
    }

    /// The body of `POST /api/meetings` and `PUT /api/meetings/{id}`.
    public struct MeetingRequest: Codable, Sendable {
        public var title: String
        public var description: String?
        /// RFC 3339 ("2026-12-01T10:00:00+05:30").
        public var start: String
        public var end: String
        /// IANA zone; default Asia/Kolkata.
        public var timezone: String?
        public var organizer: Person
        public var attendees: [Invitee]
        /// Joiners wait until a host admits them; absent: on when someone is invited from outside the department's
        /// domains (new meetings), unchanged (updates).
        public var lobby: Bool?

        public init(title: String, description: String?, start: String, end: String, timezone: String?, organizer: Person,
                    attendees: [Invitee], lobby: Bool? = nil) {
            self.title = title
            self.description = description
            self.start = start
            self.end = end
            self.timezone = timezone
            self.organizer = organizer
            self.attendees = attendees
            self.lobby = lobby
        }

        /// The request as a checked draft; the error names the field.
        public func draft() throws(MeetingError) -> MeetingDraft {
            guard let start = AdminWire.parseTime(self.start) else { throw .invalidField("'start' is not an RFC 3339 time like 2026-12-01T10:00:00+05:30") }
            guard let end = AdminWire.parseTime(self.end) else { throw .invalidField("'end' is not an RFC 3339 time like 2026-12-01T11:00:00+05:30") }
            func email(_ text: String) throws(MeetingError) -> EmailAddress {
                do { return try EmailAddress(text.trimmingCharacters(in: .whitespaces)) } catch { throw .badEmail(text, error.reason) }
            }
            var invitees: [MeetingDraft.Invitee] = []
            for (index, attendee) in attendees.enumerated() {
                let roleName = attendee.role ?? "participant"
                guard let role = Attendee.Role(rawValue: roleName) else {
                    throw .invalidField("attendees[\(index)].role must be host, participant or viewer; got '\(roleName.prefix(40))'")
                }
                var language: MessageLanguage?
                if let code = attendee.language {
                    guard let known = MessageLanguage(code: code) else {
                        throw .invalidField("attendees[\(index)].language must be en, hi or or; got '\(code.prefix(20))'")
                    }
                    language = known
                }
                invitees.append(.init(name: attendee.name ?? "", email: try email(attendee.email), role: role, language: language))
            }
            return try MeetingDraft(
                title: title, description: description ?? "", start: start, end: end, timeZone: timezone ?? "Asia/Kolkata",
                organizer: CalendarUser(name: organizer.name ?? "", email: try email(organizer.email)), attendees: invitees,
                lobby: lobby
            ).validated()
        }
    }

    /// A meeting as the API shows it.
    public struct Meeting: Codable, Sendable {
        public struct Organizer: Codable, Sendable {
            public var name: String
            public var email: String
            public var link: String
        }
        public struct Attendee: Codable, Sendable {
            public var name: String
            public var email: String
            public var role: String
            /// invited or removed.
            public var status: String
            /// Absent once removed.
            public var link: String?
            /// en, hi or or.
            public var language: String
            /// Their answer: needs-action, accepted, declined, tentative or delegated; with their comment, when
            /// it came (the reply's DTSTAMP, or when the calendar showed it) and how (mail or calendar).
            public var answer: String
            public var answerComment: String?
            public var answeredAt: Date?
            public var answerSource: String?
        }
        public var id: String
        public var uid: String
        public var room: String
        public var source: String
        public var title: String
        public var description: String
        public var start: Date
        public var end: Date
        public var timezone: String
        public var sequence: Int
        /// scheduled or cancelled.
        public var status: String
        public var organizer: Organizer
        public var attendees: [Attendee]
        public var url: String
        /// Joiners wait in a lobby until a host admits them.
        public var lobby: Bool
        public var joinOpensAt: Date
        public var joinClosesAt: Date
        /// pending, queued (sent or on its way) or skipped; and when it was queued.
        public var report: String
        public var reportedAt: Date?
        public var createdAt: Date
        public var updatedAt: Date

        public init(_ scheduled: ScheduledMeeting, url: String, policy: MeetingPolicy) {
            let m = scheduled.meeting
            id = m.id
            uid = m.uid
            room = m.room
            source = m.source.rawValue
            title = m.title
            description = m.description
            start = m.start
            end = m.end
            timezone = m.timeZone
            sequence = m.sequence
            status = m.status.rawValue
            organizer = Organizer(name: m.organizerName, email: m.organizerEmail, link: m.organizerLink)
            attendees = scheduled.attendees.map {
                Attendee(name: $0.name, email: $0.email, role: $0.role.rawValue, status: $0.status.rawValue,
                         link: $0.status == .invited && !$0.link.isEmpty ? $0.link : nil, language: $0.language.rawValue,
                         answer: $0.answer.wire, answerComment: $0.answerComment, answeredAt: $0.answeredAt,
                         answerSource: $0.answerSource?.rawValue)
            }
            self.url = url
            lobby = m.lobby
            joinOpensAt = m.start.addingTimeInterval(-policy.opensBefore)
            joinClosesAt = m.end.addingTimeInterval(policy.closesAfter)
            report = m.report.rawValue
            reportedAt = m.reportedAt
            createdAt = m.createdAt
            updatedAt = m.updatedAt
        }
    }

    public struct Meetings: Codable, Sendable {
        public var meetings: [Meeting]
    }

    /// A row of `GET /api/outbox`.
    public struct OutboxEntry: Codable, Sendable {
        public var id: Int64
        public var meeting: String
        public var kind: String
        @Nullable public var recipient: String?
        @Nullable public var method: String?
        public var sequence: Int
        public var state: String
        public var attempts: Int
        @Nullable public var lastError: String?
        public var nextAttemptAt: Date
        public var createdAt: Date
        @Nullable public var sentAt: Date?

        public init(_ item: OutboxItem) {
            id = item.id ?? 0
            meeting = item.meetingId
            kind = item.kind.rawValue
            recipient = item.recipient
            method = item.method
            sequence = item.sequence
            state = item.state.rawValue
            attempts = item.attempts
            lastError = item.lastError
            nextAttemptAt = item.nextAttemptAt
            createdAt = item.createdAt
            sentAt = item.sentAt
        }

    }

    public struct Outbox: Codable, Sendable {
        public var items: [OutboxEntry]
    }

    /// RFC 3339 with or without fractional seconds; "Z" or a numeric offset.
    public static func parseTime(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}

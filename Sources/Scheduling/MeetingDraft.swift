import Foundation
import GroupwareBridge

/// What a meeting should be, as asked for (API body, CLI, or a calendar booking), checked before anything is stored.
public struct MeetingDraft: Sendable, Equatable {
    public struct Invitee: Sendable, Equatable {
        public var name: String
        public var email: EmailAddress
        public var role: Attendee.Role
        /// The language of their invitation and of their meeting page; nil: the server's (`MeetingPolicy.language`).
        public var language: MessageLanguage?

        public init(name: String, email: EmailAddress, role: Attendee.Role, language: MessageLanguage? = nil) {
            self.name = name
            self.email = email
            self.role = role
            self.language = language
        }
    }

    public static let maximumTitleLength = 200
    public static let maximumDescriptionLength = 8000
    /// Longer than any real meeting; catches a typo in a year.
    public static let maximumDuration: TimeInterval = 7 * 86_400

    public var title: String
    public var description: String
    public var start: Date
    public var end: Date
    public var timeZone: String
    public var organizer: CalendarUser
    public var attendees: [Invitee]
    /// Whether joiners wait in a lobby until a host admits them; nil: the policy's default (`MeetingPolicy.defaultLobby`)
    /// for a new meeting, unchanged for an update.
    public var lobby: Bool?

    public init(title: String, description: String = "", start: Date, end: Date, timeZone: String = "Asia/Kolkata",
                organizer: CalendarUser, attendees: [Invitee], lobby: Bool? = nil) {
        self.title = title
        self.description = description
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.organizer = organizer
        self.attendees = attendees
        self.lobby = lobby
    }

    /// Refuses what would make a broken invitation; normalises e-mail case and drops repeated attendees
    /// (the first mention wins).
    public func validated() throws(MeetingError) -> MeetingDraft {
        var copy = self
        copy.title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !copy.title.isEmpty else { throw .invalidField("'title' must not be empty") }
        guard copy.title.count <= Self.maximumTitleLength else { throw .invalidField("'title' is limited to \(Self.maximumTitleLength) characters") }
        guard description.count <= Self.maximumDescriptionLength else {
            throw .invalidField("'description' is limited to \(Self.maximumDescriptionLength) characters")
        }
        guard end > start else { throw .endBeforeStart }
        guard end.timeIntervalSince(start) <= Self.maximumDuration else { throw .invalidField("a meeting may last at most 7 days") }
        guard TimeZone(identifier: timeZone) != nil, timeZone.contains("/") || timeZone == "UTC" else { throw .unknownTimeZone(timeZone) }
        guard !attendees.isEmpty else { throw .invalidField("'attendees' must name at least one person") }
        for text in [copy.title, organizer.name] + attendees.map(\.name) where text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) {
            throw .invalidField("names and the title must not contain control characters")
        }
        copy.organizer.email = try Self.lowercased(organizer.email)
        var seen = Set<String>()
        copy.attendees = []
        for invitee in attendees {
            var invitee = invitee
            invitee.email = try Self.lowercased(invitee.email)
            invitee.name = invitee.name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard invitee.name.count <= Self.maximumTitleLength else { throw .invalidField("attendee names are limited to \(Self.maximumTitleLength) characters") }
            if seen.insert(invitee.email.value).inserted { copy.attendees.append(invitee) }
        }
        return copy
    }

    private static func lowercased(_ email: EmailAddress) throws(MeetingError) -> EmailAddress {
        do { return try EmailAddress(email.value.lowercased()) } catch { throw .badEmail(email.value, error.reason) }
    }
}

/// Why a meeting could not be scheduled, changed or joined; `code` is the problem code the API answers with.
public enum MeetingError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidField(String)
    case endBeforeStart
    case unknownTimeZone(String)
    case badEmail(String, String)
    case notFound(String)
    case cancelled(String)
    /// More attendees than the policy allows (`SABHA_MAX_ATTENDEES`).
    case tooManyAttendees(count: Int, limit: Int)
    /// An attendee whose mail domain is not among `SABHA_INVITE_DOMAINS`.
    case inviteDomainNotAllowed(email: String, allowed: [String])
    /// The store or a hook (token, room) failed; the detail is for the log.
    case failed(String)

    public var code: String {
        switch self {
        case .invalidField: "invalid-field"
        case .endBeforeStart: "end-before-start"
        case .unknownTimeZone: "unknown-time-zone"
        case .badEmail: "bad-email"
        case .notFound: "meeting-not-found"
        case .cancelled: "meeting-cancelled"
        case .tooManyAttendees: "too-many-attendees"
        case .inviteDomainNotAllowed: "invite-domain-not-allowed"
        case .failed: "meeting-store-failed"
        }
    }

    public var description: String {
        switch self {
        case .invalidField(let why): why
        case .endBeforeStart: "'end' must be after 'start'"
        case .unknownTimeZone(let zone): "'\(zone.prefix(80))' is not an IANA time zone (like Asia/Kolkata)"
        case .badEmail(let address, let why): "'\(address.prefix(120))' is not a usable e-mail address: \(why)"
        case .notFound(let id): "there is no meeting '\(id.prefix(80))'"
        case .cancelled(let id): "meeting '\(id)' is cancelled; it cannot be changed"
        case .tooManyAttendees(let count, let limit):
            "\(count) attendees; this server invites at most \(limit) to one meeting (SABHA_MAX_ATTENDEES)"
        case .inviteDomainNotAllowed(let email, let allowed):
            "'\(email.prefix(120))' is not in a mail domain this server invites (\(allowed.joined(separator: ", ")), SABHA_INVITE_DOMAINS)"
        case .failed(let why): why
        }
    }
}

import Foundation

/// What the scheduler needs from the rest of the server, which it cannot import: personal links (tokens are
/// Signalling's), rooms (the hub and the room table), and a nudge for the outbox relay.
public struct MeetingHooks: Sendable {
    public struct LinkRequest: Sendable, Equatable {
        public var room: String
        /// The attendee's e-mail address (lower case): their identity in the room and in the audit trail.
        public var identity: String
        public var name: String
        public var role: Attendee.Role
        /// The end of the join window when the link is made; the window itself is checked at join time.
        public var expires: Date
    }

    public var issueLink: @Sendable (LinkRequest) async throws -> String
    /// Makes sure the room exists (with this title).
    public var openRoom: @Sendable (_ room: String, _ title: String) async throws -> Void
    /// Ends the meeting in the room (cancelled): everyone is sent out.
    public var closeRoom: @Sendable (_ room: String) async -> Void
    /// Sends these people out of the room (removed from the meeting); their links no longer admit them.
    public var dismiss: @Sendable (_ room: String, _ identities: [String]) async -> Void
    /// These attendees now have a lesser role: whoever of them is in the room with the old one is sent out, to join
    /// again with the new one (a join uses the lesser of the link's role and the meeting's).
    public var rolesLowered: @Sendable (_ room: String, _ identities: [String]) async -> Void
    /// New items are in the outbox.
    public var outboxChanged: @Sendable () -> Void
    /// A limit refused something (`limit`: "attendees", "invite-domains"), `count` times: the server's metrics count it.
    public var limitReached: @Sendable (_ limit: String, _ count: Int) -> Void

    public init(issueLink: @escaping @Sendable (LinkRequest) async throws -> String,
                openRoom: @escaping @Sendable (String, String) async throws -> Void = { _, _ in },
                closeRoom: @escaping @Sendable (String) async -> Void = { _ in },
                dismiss: @escaping @Sendable (String, [String]) async -> Void = { _, _ in },
                rolesLowered: @escaping @Sendable (String, [String]) async -> Void = { _, _ in },
                outboxChanged: @escaping @Sendable () -> Void = {},
                limitReached: @escaping @Sendable (String, Int) -> Void = { _, _ in }) {
        self.issueLink = issueLink
        self.openRoom = openRoom
        self.closeRoom = closeRoom
        self.dismiss = dismiss
        self.rolesLowered = rolesLowered
        self.outboxChanged = outboxChanged
        self.limitReached = limitReached
    }
}

/// How meetings behave: the join window and which channels carry invitations.
public struct MeetingPolicy: Sendable {
    /// Links admit from this long before the start ...
    public var opensBefore: TimeInterval = 30 * 60
    /// ... until this long after the end.
    public var closesAfter: TimeInterval = 30 * 60
    /// The From of invitation mails (SABHA_SMTP_FROM); the organizer when nil.
    public var sender: CalendarUser?
    /// Invitations are mailed (SMTP configured).
    public var mail = false
    /// Meetings are written into the organizer's calendar (CalDAV configured).
    public var organizerCalendar = false
    /// The join link is written back into bookings of the resource calendar.
    public var resourceCalendar = false
    /// At most this many attendees per meeting, from the API or a calendar booking (SABHA_MAX_ATTENDEES): a
    /// booking cannot make the department's sender mail a crowd.
    public var maximumAttendees = 100
    /// Mail domains invitations may go to (SABHA_INVITE_DOMAINS), lower case; each also admits its subdomains
    /// ("gov.in" admits "pune.gov.in"). Empty: any domain.
    public var inviteDomains: [String] = []

    public init() {}

    /// Whether an invitation may be mailed to `email` (its domain is one of `inviteDomains` or under one).
    public func allowsInvitation(_ email: EmailAddress) -> Bool {
        guard !inviteDomains.isEmpty else { return true }
        let domain = email.domain.lowercased()
        return inviteDomains.contains { domain == $0 || domain.hasSuffix("." + $0) }
    }

    /// Refuses a draft the policy does not allow (the API's check): an attendee outside `inviteDomains`, then
    /// more than `maximumAttendees`.
    public func check(_ draft: MeetingDraft) throws(MeetingError) {
        if let outsider = draft.attendees.first(where: { !allowsInvitation($0.email) }) {
            throw .inviteDomainNotAllowed(email: outsider.email.value, allowed: inviteDomains)
        }
        guard draft.attendees.count <= maximumAttendees else { throw .tooManyAttendees(count: draft.attendees.count, limit: maximumAttendees) }
    }

    /// A calendar booking as the policy lets it through: attendees outside `inviteDomains` are left out (they get no
    /// link and no mail; the rest of the booking works) and returned, so the watcher can log them.
    public func screen(_ draft: MeetingDraft) -> (draft: MeetingDraft, leftOut: [MeetingDraft.Invitee]) {
        var kept = draft
        kept.attendees = draft.attendees.filter { allowsInvitation($0.email) }
        return (kept, draft.attendees.filter { !allowsInvitation($0.email) })
    }
}

/// Whether a token for a room may join now.
public enum Admission: Sendable, Equatable {
    /// The room is not a scheduled meeting's: the token alone decides.
    case notAMeeting
    /// Within the window. `role` is what the meeting says this person is now (an attendee's current role, host for
    /// the organizer); the join uses the lesser of it and the token's, so a link made before a downgrade cannot
    /// keep the old role. nil when the meeting does not list them (a link an administrator made): the token decides.
    case admitted(role: Attendee.Role?)
    /// `code` is `meeting-not-open`, `meeting-cancelled` or `link-revoked`; `detail` says it in a sentence.
    case refused(code: String, detail: String)
}

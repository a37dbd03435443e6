import Foundation
import GroupwareBridge

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
    /// The language of invitations to attendees who have none of their own, and of the organizer's calendar copy
    /// (SABHA_LANGUAGE, `--language`).
    public var language: MessageLanguage = .english

    public init() {}

    /// Whether an invitation may be mailed to `email` (its domain is one of `inviteDomains` or under one).
    public func allowsInvitation(_ email: EmailAddress) -> Bool {
        guard !inviteDomains.isEmpty else { return true }
        let domain = email.domain.lowercased()
        return inviteDomains.contains { domain == $0 || domain.hasSuffix("." + $0) }
    }

    /// Whether a new meeting has a lobby when its draft does not say: yes when someone is invited from outside the
    /// department's domains (`inviteDomains`, or the organizer's own domain when that list is empty), so a forwarded
    /// link cannot bring a stranger straight into the room.
    public func defaultLobby(_ draft: MeetingDraft) -> Bool {
        let own = inviteDomains.isEmpty ? [draft.organizer.email.domain.lowercased()] : inviteDomains
        return draft.attendees.contains { attendee in
            let domain = attendee.email.domain.lowercased()
            return !own.contains { domain == $0 || domain.hasSuffix("." + $0) }
        }
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

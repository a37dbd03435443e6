/// The phrases of an invitation mail and of the event's description in one language: one table per language
/// (`MessageStrings+Hindi.swift`, `MessageStrings+Odia.swift`), so a translator works on one file.
struct MessageStrings: Sendable {
    var invitationSubject: @Sendable (_ title: String) -> String
    var updatedSubject: @Sendable (_ title: String) -> String
    var cancelledSubject: @Sendable (_ title: String) -> String
    /// The opening line of an invitation, an update and a cancellation.
    var invites: @Sendable (_ organizer: String, _ title: String) -> String
    var updated: @Sendable (_ organizer: String, _ title: String) -> String
    var cancelled: @Sendable (_ organizer: String, _ title: String) -> String
    /// "When", "Join" (the plain text's labels).
    var when: String
    var join: String
    /// The HTML link's text, and the calendar's "Join the meeting: <link>" in DESCRIPTION.
    var joinTheMeeting: String
    var personalLink: String
    var plannedFor: @Sendable (_ when: String) -> String
    /// The label of the RFC 7986 CONFERENCE property.
    var conferenceLabel: String

    static let english = MessageStrings(
        invitationSubject: { "Invitation: \($0)" },
        updatedSubject: { "Updated invitation: \($0)" },
        cancelledSubject: { "Cancelled: \($0)" },
        invites: { "\($0) invites you to \"\($1)\"." },
        updated: { "\($0) updated the invitation to \"\($1)\"." },
        cancelled: { "\($0) cancelled \"\($1)\"." },
        when: "When",
        join: "Join",
        joinTheMeeting: "Join the meeting",
        personalLink: "This link is personal: please do not forward it.",
        plannedFor: { "It was planned for \($0)." },
        conferenceLabel: "Join")
}

import GroupwareBridge

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

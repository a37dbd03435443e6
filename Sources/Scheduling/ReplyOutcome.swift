/// What became of a reply.
public enum ReplyOutcome: Sendable, Equatable {
    /// These attendees' answers of this meeting changed.
    case applied(meeting: String, attendees: [String])
    /// Nothing changed, and why (logged; docs/meetings.md lists the reasons).
    case ignored(String)
}

import Foundation
import GroupwareBridge

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
    /// Attendees' answers to the invitation changed: the room's hosts see the new list.
    public var answersChanged: @Sendable (_ room: String) async -> Void
    /// A limit refused something (`limit`: "attendees", "invite-domains"), `count` times: the server's metrics count it.
    public var limitReached: @Sendable (_ limit: String, _ count: Int) -> Void

    public init(issueLink: @escaping @Sendable (LinkRequest) async throws -> String,
                openRoom: @escaping @Sendable (String, String) async throws -> Void = { _, _ in },
                closeRoom: @escaping @Sendable (String) async -> Void = { _ in },
                dismiss: @escaping @Sendable (String, [String]) async -> Void = { _, _ in },
                rolesLowered: @escaping @Sendable (String, [String]) async -> Void = { _, _ in },
                outboxChanged: @escaping @Sendable () -> Void = {},
                limitReached: @escaping @Sendable (String, Int) -> Void = { _, _ in },
                answersChanged: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.issueLink = issueLink
        self.openRoom = openRoom
        self.closeRoom = closeRoom
        self.dismiss = dismiss
        self.rolesLowered = rolesLowered
        self.outboxChanged = outboxChanged
        self.limitReached = limitReached
        self.answersChanged = answersChanged
    }
}

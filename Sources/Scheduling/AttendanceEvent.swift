import Foundation

/// One line of the audit trail as the attendance report reads it (the audit trail is Signalling's; the server hands
/// its lines over in this shape).
public struct AttendanceEvent: Sendable, Equatable {
    public var at: Date
    /// Lower case: the identity of the participant's token (an attendee's e-mail address for personal links).
    public var identity: String
    /// "p-…": ties a join to its leave; empty for room events.
    public var participant: String
    /// joined, connection-lost, resumed, left, disconnected, removed, replaced, ended, role-changed; closed and
    /// room-ended for the room (others are ignored).
    public var event: String
    public var address: String?
    public var actor: String?

    public init(at: Date, identity: String, participant: String, event: String, address: String? = nil, actor: String? = nil) {
        self.at = at
        self.identity = identity.lowercased()
        self.participant = participant
        self.event = event
        self.address = address
        self.actor = actor
    }
}

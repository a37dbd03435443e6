/// Something that happened in a recorded meeting, on the recording's timeline (ms from its start): what a composition
/// lays out by (who speaks, who shares a screen) and what minutes are written from (who came and went, the chat).
public struct TimelineEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case present        // in the meeting when the recording started
        case joined
        case left
        case speaker        // the active speaker changed (participant nil: silence)
        case screenStarted = "screen-started"
        case screenStopped = "screen-stopped"
        case chat
    }

    public var at: Int64
    public var type: Kind
    public var participant: String?
    public var identity: String?
    public var name: String?
    /// A chat message's text.
    public var text: String?

    public init(at: Int64 = 0, type: Kind, participant: String? = nil, identity: String? = nil, name: String? = nil, text: String? = nil) {
        (self.at, self.type, self.participant, self.identity, self.name, self.text) = (at, type, participant, identity, name, text)
    }
}

/// Who is in a recorded meeting, as `RecordingSession.sync` is told.
public struct RecordedPerson: Sendable, Hashable {
    public var participant: String
    public var identity: String
    public var name: String

    public init(participant: String, identity: String, name: String) {
        (self.participant, self.identity, self.name) = (participant, identity, name)
    }
}

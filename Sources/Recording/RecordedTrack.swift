import MediaCore

/// A published track a recording should hold: whose it is and what it carries.
public struct RecordedTrack: Sendable, Hashable {
    public var producer: ProducerID
    public var kind: MediaKind
    /// The track's id in the meeting ("t-…"), the participant's id and identity, and the name it goes by.
    public var track: String
    public var participant: String
    public var identity: String
    public var name: String
    /// "microphone", "camera" or "screen".
    public var source: String

    public init(producer: ProducerID, kind: MediaKind, track: String, participant: String, identity: String, name: String, source: String) {
        self.producer = producer
        self.kind = kind
        self.track = track
        self.participant = participant
        self.identity = identity
        self.name = name
        self.source = source
    }
}

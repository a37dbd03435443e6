import Foundation
import GRDB

/// One chat message of a room's meeting, kept so that late joiners see the conversation and a host or an
/// administrator can export it (`GET /api/rooms/{room}/chat`).
public struct ChatMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "chatMessage"

    public var id: Int64?
    public var room: String
    public var at: Date
    /// The sender's participant id in the meeting, its identity and the name it was shown under.
    public var participant: String
    public var identity: String
    public var name: String
    public var text: String

    public init(id: Int64? = nil, room: String, at: Date, participant: String, identity: String, name: String, text: String) {
        self.id = id
        self.room = room
        self.at = at
        self.participant = participant
        self.identity = identity
        self.name = name
        self.text = text
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let room = Column(CodingKeys.room)
    }
}

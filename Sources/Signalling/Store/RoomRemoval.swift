import Foundation
import GRDB

/// Someone a host removed from a room: their identity stays out, whatever token they bring, until a host or an
/// administrator lets them back in.
public struct RoomRemoval: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "roomRemoval"

    public var room: String
    public var identity: String
    /// The name they were shown under when removed (for the host's list).
    public var name: String
    public var removedAt: Date
    /// The host's identity, or "admin".
    public var removedBy: String

    public init(room: String, identity: String, name: String, removedAt: Date, removedBy: String) {
        self.room = room
        self.identity = identity
        self.name = name
        self.removedAt = removedAt
        self.removedBy = removedBy
    }

    public enum Columns {
        public static let room = Column(CodingKeys.room)
        public static let identity = Column(CodingKeys.identity)
        public static let removedAt = Column(CodingKeys.removedAt)
    }
}

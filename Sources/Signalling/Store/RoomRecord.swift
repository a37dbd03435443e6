import Foundation
import GRDB

/// A room the server knows about: created through the admin API, or by the first valid token that joined it.
public struct RoomRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "room"

    /// How the room came to be.
    public enum Source: String, Codable, Sendable, DatabaseValueConvertible {
        /// `POST /api/rooms` or `sabha room create`.
        case api
        /// A valid join token for a room nobody had created.
        case join
    }

    public var name: String
    public var title: String
    public var createdAt: Date
    public var source: Source
    /// When the meeting was last ended (admin API or a host); nil while it has not been, or runs again since.
    public var endedAt: Date?
    /// Set when a host or an administrator ended the meeting for everyone: nobody joins until an administrator
    /// reopens the room (an empty room that closes by itself does not set it).
    public var closedAt: Date?
    /// Who closed it: a host's identity, or "admin".
    public var closedBy: String?
    /// Joiners wait in a lobby until a host admits them.
    public var lobby = false
    /// Joiners wait until a host is in the meeting.
    public var waitForHost = false

    public init(name: String, title: String, createdAt: Date, source: Source, endedAt: Date? = nil, closedAt: Date? = nil, closedBy: String? = nil,
                lobby: Bool = false, waitForHost: Bool = false) {
        self.name = name
        self.title = title
        self.createdAt = createdAt
        self.source = source
        self.endedAt = endedAt
        self.closedAt = closedAt
        self.closedBy = closedBy
        self.lobby = lobby
        self.waitForHost = waitForHost
    }

    public enum Columns {
        public static let name = Column(CodingKeys.name)
        public static let createdAt = Column(CodingKeys.createdAt)
        public static let endedAt = Column(CodingKeys.endedAt)
        public static let closedAt = Column(CodingKeys.closedAt)
        public static let closedBy = Column(CodingKeys.closedBy)
        public static let lobby = Column(CodingKeys.lobby)
        public static let waitForHost = Column(CodingKeys.waitForHost)
    }
}

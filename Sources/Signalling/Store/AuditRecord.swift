import Foundation
import GRDB

/// One line of the audit trail: who joined or left which room, when, and from which address.
public struct AuditRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "audit"

    public var id: Int64?
    public var at: Date
    public var room: String
    public var identity: String
    /// The participant id in the meeting ("p-…"), which ties a join to its leave.
    public var participant: String
    /// "joined", "left", "disconnected", "removed", "replaced", "ended", "resumed", "readmitted", "room-ended",
    /// "room-reopened", "link-revoked" (docs/http-api.md lists them).
    public var event: String
    /// The peer's IP address, when the event came from a connection.
    public var address: String?
    /// Who did it, for actions on others: the host's identity, or "admin".
    public var actor: String?
    /// What it concerned beyond the identity: the id of a revoked link.
    public var detail: String?

    public init(id: Int64? = nil, at: Date, room: String, identity: String, participant: String, event: String, address: String?,
                actor: String? = nil, detail: String? = nil) {
        self.id = id
        self.at = at
        self.room = room
        self.identity = identity
        self.participant = participant
        self.event = event
        self.address = address
        self.actor = actor
        self.detail = detail
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let at = Column(CodingKeys.at)
        public static let room = Column(CodingKeys.room)
    }

    /// Writes `address` as JSON null rather than leaving it out, so every record has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(at, forKey: .at)
        try container.encode(room, forKey: .room)
        try container.encode(identity, forKey: .identity)
        try container.encode(participant, forKey: .participant)
        try container.encode(event, forKey: .event)
        try container.encode(address, forKey: .address)
        try container.encode(actor, forKey: .actor)
        try container.encode(detail, forKey: .detail)
    }
}

import Foundation
import GRDB

/// A personal link an administrator withdrew, by its token id (`jti`): the token no longer admits anyone.
public struct RevokedLink: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "revokedLink"

    public var id: String
    /// The room it was revoked in (for the audit trail; the id alone decides).
    public var room: String
    public var revokedAt: Date
}

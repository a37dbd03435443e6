import Foundation
import Logging
import PostgresNIO
import Signalling

/// What `sabha doctor` reports about a `--database`: that it answers, how far its schema is, and the cluster's
/// nodes. Reads only: nothing is created or migrated.
public struct PostgresInspection: Sendable {
    public var serverVersion: String
    /// Migrations this Sabha would still apply (all of them for an empty database).
    public var pendingMigrations: [String]
    /// Applied migrations this Sabha does not know (a newer Sabha set the database up).
    public var unknownMigrations: [String]
    public var nodes: [ClusterNode]

    public static func inspect(_ url: DatabaseURL, logger: Logger) throws -> PostgresInspection {
        let database = try PostgresDatabase(url: url, logger: logger)
        return try database.withSession { session in
            let version = try session.query("SHOW server_version").first.map { try $0.decode(String.self) } ?? "?"
            let hasTable = { (name: String) throws -> Bool in
                try session.query("SELECT to_regclass($1) IS NOT NULL", [.text(name)]).first.map { try $0.decode(Bool.self) } ?? false
            }
            let applied = try hasTable("sabha_migrations") ? Set(try PostgresSchema.appliedMigrations(session)) : []
            let nodes = try hasTable("clusternode") ? try PostgresRoomStore.registeredNodes(session) : []
            return PostgresInspection(serverVersion: version,
                                      pendingMigrations: PostgresSchema.migrations.map(\.name).filter { !applied.contains($0) },
                                      unknownMigrations: PostgresSchema.unknownMigrations(applied), nodes: nodes)
        }
    }
}

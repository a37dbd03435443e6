import ArgumentParser
import Foundation
import Logging
import PostgresStore
import Signalling

/// `sabha copy-store`: moves a server that ran alone into a cluster (docs/cluster.md).
struct CopyStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-store",
        abstract: "Copy the data directory's SQLite store into an empty PostgreSQL database, to move this server into a cluster.",
        discussion: """
            Stop the server first. Every row (rooms, audit trail, chat, removed people, withdrawn links, scheduled meetings \
            with their attendees and outbox, the reply mailbox's position) goes over in one transaction, with its id; the \
            token key and admin key of the data directory become the cluster's, so links already sent keep working. The \
            database must be empty: create it, run this, then start the nodes with --database. Recordings stay in the data \
            directory. The SQLite file is left as it was.
            """)

    @Option(help: "The PostgreSQL database to fill: postgres://USER:PASSWORD@HOST:PORT/DATABASE (env SABHA_DATABASE).")
    var database: String?

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        guard let text = database ?? ProcessInfo.processInfo.environment["SABHA_DATABASE"], !text.isEmpty else {
            throw ValidationError("give the database to fill: --database postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        let url: DatabaseURL
        do { url = try DatabaseURL(text) } catch { throw ValidationError("--database: \(error)") }
        let directory = data.directory
        let lock = try DataDirectoryLock(dataDirectory: directory, doing: "copy-store")
        let source = try data.existingStore(label: "sabha.store")
        let secrets = try Self.secrets(in: directory)
        let target: PostgresRoomStore
        do {
            target = try PostgresRoomStore(url: url, logger: Logger(label: "sabha.store"))
        } catch {
            throw ValidationError("--database: cannot use \(url): \(error)")
        }
        let copied = try target.takeOver(source, secrets: secrets)
        print("Copied \(directory)/\(SQLiteStore.fileName) into \(url):")
        for (table, rows) in copied { print("  \(table): \(rows) row\(rows == 1 ? "" : "s")") }
        print("  keys: \(secrets.map(\.name).joined(separator: ", ")) (now the cluster's)")
        print("Start each node with --database and its own --public-url; recordings stay in \(directory)/recordings.")
        withExtendedLifetime(lock) {}
    }

    /// The data directory's token key and admin key, under the names the cluster keeps them by.
    static func secrets(in directory: String) throws -> [(name: String, value: [UInt8])] {
        var secrets: [(name: String, value: [UInt8])] = []
        let tokenPath = (directory as NSString).appendingPathComponent(TokenAuthority.keyFileName)
        if let key = FileManager.default.contents(atPath: tokenPath), !key.isEmpty {
            secrets.append(("token-hs256", [UInt8](key)))
        }
        let adminPath = AdminKey.path(dataDirectory: directory)
        if let key = FileManager.default.contents(atPath: adminPath) {
            let text = String(decoding: key, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { secrets.append(("admin-key", Array(text.utf8))) }
        }
        return secrets
    }
}

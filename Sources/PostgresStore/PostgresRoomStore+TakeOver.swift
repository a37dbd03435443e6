import Foundation
import PostgresNIO
import Signalling

/// `sabha copy-store`: a server that ran alone on its SQLite file moves into a cluster. Every row of the file goes
/// into an empty PostgreSQL database in one transaction (all or nothing), with the ids it had (audit rows, chat
/// messages and outbox items keep their numbers, and the sequences continue after them), and the node's token and
/// admin keys become the cluster's, so links already mailed out keep working.
extension PostgresRoomStore {
    /// Copies `source` into this database, which must be empty (no row in any table, no node ever started on it);
    /// `secrets` become the cluster's shared secrets (`ClusterStore.sharedSecret`). Returns the rows copied per table.
    public func takeOver(_ source: SQLiteStore, secrets: [(name: String, value: [UInt8])]) throws -> [(table: String, rows: Int)] {
        try database.transaction(writing: true) { session in
            for table in SQLiteStore.exportedTables + ["clusterNode", "sharedSecret", "roomLease"] {
                let count = try session.query("SELECT count(*) FROM \(table)").first?.decode(Int.self) ?? 0
                guard count == 0 else {
                    throw PostgresStoreError("the database is not empty (\(count) rows in \(table)); copy into a new, empty database, before any node starts on it")
                }
            }
            var copied: [(table: String, rows: Int)] = []
            for table in SQLiteStore.exportedTables {
                let types = try Dictionary(uniqueKeysWithValues: session.query(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
                    [.text(table.lowercased())]).map { try $0.decode((String, String).self) })
                var rows = 0
                try source.export(table: table) { columns, batch in
                    guard !batch.isEmpty else { return }
                    let names = columns.map { $0.lowercased() }
                    for name in names where types[name] == nil {
                        throw PostgresStoreError("\(table).\(name) has no column in the database (a newer SQLite store?)")
                    }
                    var binds = PostgresBindings(capacity: names.count * batch.count)
                    var groups: [String] = []
                    for row in batch {
                        var placeholders: [String] = []
                        for (index, value) in row.enumerated() {
                            try Self.bind(value, as: types[names[index]] ?? "", into: &binds, what: "\(table).\(names[index])")
                            placeholders.append("$\(binds.count)")
                        }
                        groups.append("(" + placeholders.joined(separator: ", ") + ")")
                    }
                    let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
                    try session.execute("INSERT INTO \(table) (\(list)) VALUES " + groups.joined(separator: ", "), binds)
                    rows += batch.count
                }
                copied.append((table, rows))
            }
            // New rows continue after the copied ids.
            for table in ["audit", "chatMessage", "outbox"] {
                try session.execute("SELECT setval(pg_get_serial_sequence('\(table.lowercased())', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \(table)")
            }
            for secret in secrets {
                var binds = PostgresBindings()
                binds.append(secret.name)
                try binds.append(Data(secret.value))
                try session.execute("INSERT INTO sharedSecret (name, value) VALUES ($1, $2)", binds)
            }
            return copied
        }
    }

    /// One SQLite value as the PostgreSQL column's type takes it; anything else is refused with where it was.
    static func bind(_ value: StoreValue, as type: String, into binds: inout PostgresBindings, what: String) throws {
        switch (value, type) {
        case (.null, _): binds.appendNull()
        case (.text(let text), "text"): binds.append(text)
        case (.integer(let number), "bigint"), (.integer(let number), "integer"): binds.append(Int(number))
        case (.integer(let number), "boolean"): binds.append(number != 0)
        case (.bool(let flag), "boolean"): binds.append(flag)
        case (.date(let date), "timestamp with time zone"): binds.append(date)
        case (.blob(let bytes), "bytea"): try binds.append(Data(bytes))
        case (.text(let text), "bytea"): try binds.append(Data(text.utf8))
        default: throw PostgresStoreError("\(what): \(value) does not fit a \(type) column")
        }
    }
}

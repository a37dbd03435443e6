import Foundation
import GRDB

/// Keeping the store for as long as the state's rules say, and no longer: online backups, restore, and retention.
extension SQLiteStore {
    /// Deletes what is older than `retention` allows, as of `now`, in one transaction.
    @discardableResult
    public func prune(_ retention: StoreRetention, now: Date) throws -> PrunedRows {
        func cutoff(_ keep: Duration?) -> Date? {
            keep.map { now.addingTimeInterval(-Double($0.components.seconds)) }
        }
        return try database.write { db in
            var pruned = PrunedRows()
            if let before = cutoff(retention.audit) {
                try db.execute(sql: "DELETE FROM audit WHERE at < ?", arguments: [before])
                pruned.audit = db.changesCount
            }
            if let before = cutoff(retention.chat) {
                try db.execute(sql: "DELETE FROM chatMessage WHERE at < ?", arguments: [before])
                pruned.chat = db.changesCount
            }
            if let before = cutoff(retention.outbox) {
                try db.execute(sql: "DELETE FROM outbox WHERE state != 'pending' AND COALESCE(sentAt, nextAttemptAt, createdAt) < ?",
                               arguments: [before])
                pruned.outbox = db.changesCount
            }
            return pruned
        }
    }

    /// What a backup holds.
    public struct BackupSummary: Sendable, CustomStringConvertible {
        public var rooms: Int
        public var auditRows: Int
        public var meetings: Int
        public var bytes: Int

        public var description: String {
            "\(rooms) rooms, \(meetings) scheduled meetings, \(auditRows) audit rows, \(bytes / 1024) KiB"
        }
    }

    /// Copies the store to `destination` with SQLite's online backup while the server keeps writing: one consistent
    /// snapshot (the copy reads inside one transaction), checked with `integrity_check`, then moved into place, so
    /// `destination` is either the old file or a whole new backup.
    @discardableResult
    public func backup(to destination: String) throws -> BackupSummary {
        let temporary = destination + ".partial-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        do {
            let copy = try DatabaseQueue(path: temporary)
            try database.backup(to: copy)
            let summary = try Self.check(copy, what: "the backup just written")
            try copy.close()
            // rename(2): atomic, and it replaces an older backup of the same name.
            guard rename(temporary, destination) == 0 else {
                throw StoreDataError("cannot move the backup into '\(destination)': \(String(cString: strerror(errno)))")
            }
            return summary
        } catch let error as StoreDataError {
            throw error
        } catch {
            throw StoreDataError("cannot write the backup '\(destination)': \(error)")
        }
    }

    /// Puts the backup `source` in place of the store in `dataDirectory` (the server must be stopped). The store it
    /// replaces is kept beside it as `sabha.sqlite.before-restore-<time>`; the next `sabha serve` brings the
    /// restored schema up to date. Refuses a file that is not a sound Sabha store, or one from a newer Sabha.
    @discardableResult
    public static func restore(from source: String, into dataDirectory: String, now: Date = Date()) throws -> (summary: BackupSummary, keptAs: String?) {
        guard FileManager.default.fileExists(atPath: source) else { throw StoreDataError("no backup at '\(source)'") }
        var configuration = Configuration()
        configuration.readonly = true
        let backup: DatabaseQueue
        do { backup = try DatabaseQueue(path: source, configuration: configuration) } catch {
            throw StoreDataError("'\(source)' is not an SQLite database: \(error)")
        }
        let summary = try check(backup, what: "'\(source)'")
        let known = Set(migrator.migrations)
        let applied = try backup.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        let unknown = applied.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw StoreDataError("'\(source)' comes from a newer Sabha (migrations \(unknown.joined(separator: ", ")) are unknown to this one): restore it with that version")
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        let temporary = path + ".restoring"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let copy = try DatabaseQueue(path: temporary)
            try backup.backup(to: copy)
            try copy.close()
            try backup.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw StoreDataError("cannot copy '\(source)' into '\(dataDirectory)': \(error)")
        }
        var keptAs: String?
        if FileManager.default.fileExists(atPath: path) {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withTime]
            let kept = path + ".before-restore-" + formatter.string(from: now)
            try FileManager.default.moveItem(atPath: path, toPath: kept)
            keptAs = kept
        }
        // A journal or WAL of the replaced file must not be applied to the restored one.
        for suffix in ["-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
        return (summary, keptAs)
    }

    /// `integrity_check` and the tables a Sabha store has; what it holds.
    private static func check(_ database: DatabaseQueue, what: String) throws -> BackupSummary {
        try database.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard integrity == ["ok"] else {
                throw StoreDataError("\(what) is damaged: \(integrity.prefix(3).joined(separator: "; "))")
            }
            for table in ["grdb_migrations", "room", "audit"] where try !db.tableExists(table) {
                throw StoreDataError("\(what) is not a Sabha store (it has no '\(table)' table)")
            }
            let meetings = try db.tableExists("meeting") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM meeting") ?? 0 : 0
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return BackupSummary(rooms: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM room") ?? 0,
                                 auditRows: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit") ?? 0,
                                 meetings: meetings, bytes: pages * pageSize)
        }
    }
}

/// A backup, restore or pruning that could not be done, in words for the operator.
public struct StoreDataError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

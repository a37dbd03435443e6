import ArgumentParser
import Foundation
import Logging
import Signalling

/// `sabha backup`, `sabha restore` and `sabha prune`: the store in the data directory, from the command line.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the store (rooms, audit trail, meetings, outbox) to FILE, while the server runs.",
        discussion: "SQLite's online backup: one consistent snapshot, checked with integrity_check, written next to FILE and then renamed onto it. The token key and admin key in the data directory are not in it: keep those apart.")

    @Argument(help: "Where to write the backup (replaced if it exists).")
    var file: String

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let store = try data.existingStore(label: "sabha.backup")
        let summary = try store.backup(to: file)
        print("Backed up \(summary) to \(file)")
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup in place of the store in the data directory (stop the server first).",
        discussion: "The store it replaces is kept beside it as sabha.sqlite.before-restore-<time>. The next 'sabha serve' brings an older backup's schema up to date; a backup from a newer Sabha is refused.")

    @Argument(help: "A file written by 'sabha backup'.")
    var file: String

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let directory = data.directory
        // Errors are printed as "Error: <what>" and exit 1; the lock and the store explain themselves.
        let lock = try DataDirectoryLock(dataDirectory: directory, doing: "restore")
        let restored = try SQLiteStore.restore(from: file, into: directory)
        print("Restored \(restored.summary) from \(file) into \(directory)")
        if let kept = restored.keptAs { print("The store it replaced is kept as \(kept)") }
        withExtendedLifetime(lock) {}
    }
}

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete audit rows, chat messages and finished outbox items older than their retention, now.",
        discussion: "'sabha serve' does this itself at start and every six hours; this is for an operator who wants it now (safe while the server runs). Retention as for 'sabha serve'.")

    @OptionGroup var retention: RetentionOptions

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let policy = try retention.policy()
        let store = try data.existingStore(label: "sabha.prune")
        let pruned = try store.prune(policy)
        print("Pruned \(pruned) (keeping \(RetentionOptions.describe(policy)))")
    }
}

/// `--data-dir` of the commands that work on the store, and the store in it.
struct DataDirectoryOptions: ParsableArguments {
    @Option(help: "Data directory (env SABHA_DATA_DIR, default ./sabha-data).")
    var dataDir: String?

    var directory: String { Settings.value(dataDir, env: "SABHA_DATA_DIR", default: "./sabha-data") }

    /// The store the directory holds; an error naming the path when it holds none (a wrong --data-dir would
    /// otherwise create an empty store).
    func existingStore(label: String) throws -> SQLiteStore {
        let path = (directory as NSString).appendingPathComponent(SQLiteStore.fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("no store in '\(directory)' (expected \(path)); give --data-dir")
        }
        return try SQLiteStore(path: path, logger: Logger(label: label))
    }
}

/// The retention options, shared by `serve` and `prune`.
struct RetentionOptions: ParsableArguments {
    @Option(help: "Days the audit trail is kept; 0 keeps it for ever (env SABHA_AUDIT_RETENTION_DAYS, default 180).")
    var auditRetentionDays: Int?

    @Option(help: "Days chat messages are kept; 0 keeps them for ever (env SABHA_CHAT_RETENTION_DAYS, default 180).")
    var chatRetentionDays: Int?

    @Option(help: "Days sent, refused and superseded invitations stay in the outbox; 0 keeps them for ever; pending ones are never pruned (env SABHA_OUTBOX_RETENTION_DAYS, default 30).")
    var outboxRetentionDays: Int?

    /// Each kind from its option, else its variable, else `StoreRetention.standard`.
    func policy() throws -> StoreRetention {
        let standard = StoreRetention.standard
        func days(_ option: Int?, _ env: String, _ fallback: Duration?, _ what: String) throws -> Duration? {
            let value = try Settings.count(option, env: env, default: Self.days(fallback), range: 0...36_500, what: what)
            return value == 0 ? nil : .seconds(value * 86_400)
        }
        return StoreRetention(
            audit: try days(auditRetentionDays, "SABHA_AUDIT_RETENTION_DAYS", standard.audit, "--audit-retention-days"),
            chat: try days(chatRetentionDays, "SABHA_CHAT_RETENTION_DAYS", standard.chat, "--chat-retention-days"),
            outbox: try days(outboxRetentionDays, "SABHA_OUTBOX_RETENTION_DAYS", standard.outbox, "--outbox-retention-days"))
    }

    /// Whole days of a retention; 0 for ever.
    static func days(_ keep: Duration?) -> Int { keep.map { Int($0.components.seconds / 86_400) } ?? 0 }

    static func describe(_ policy: StoreRetention) -> String {
        func text(_ keep: Duration?) -> String { keep == nil ? "for ever" : "\(days(keep)) days" }
        return "audit \(text(policy.audit)), chat \(text(policy.chat)), finished outbox items \(text(policy.outbox))"
    }
}

import Foundation
import GRDB
import Logging
import Scheduling
import Testing
@testable import Signalling

/// Retention, online backup and restore on a real SQLite store in a temporary directory.
@Suite struct SQLiteStoreDataTests {
    static let logger = Logger(label: "test.store-data")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86_400) }

    static func directory() -> String { SQLiteStoreTests.temporaryDirectory() }

    /// A meeting (outbox items belong to one) and outbox items in each state, `age` days old.
    static func addOutbox(_ store: SQLiteStore, items: [(state: String, days: Double)]) throws {
        try store.database.write { db in
            try db.execute(sql: """
                INSERT INTO meeting (id, uid, room, source, title, description, start, "end", timeZone, organizerName,
                  organizerEmail, organizerLink, sequence, status, createdAt, updatedAt)
                VALUES ('m1', 'uid-1', 'council', 'api', 'Review', '', ?, ?, 'Asia/Kolkata', 'Collector', 'collector@example.in', '', 0, 'scheduled', ?, ?)
                """, arguments: [daysAgo(400), daysAgo(400), daysAgo(400), daysAgo(400)])
            for (i, item) in items.enumerated() {
                let at = daysAgo(item.days)
                try db.execute(sql: """
                    INSERT INTO outbox (meetingId, kind, sequence, key, payload, state, attempts, nextAttemptAt, createdAt, sentAt)
                    VALUES ('m1', 'mail', 0, ?, x'00', ?, 1, ?, ?, ?)
                    """, arguments: ["k\(i)", item.state, at, at, item.state == "sent" ? at : nil])
            }
        }
    }

    @Test func pruningDeletesOnlyWhatIsOlderThanEachRetentionAndNeverAPendingItem() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        for (i, days) in [200.0, 181, 179, 1].enumerated() {
            store.recordAudit(AuditRecord(at: Self.daysAgo(days), room: "council", identity: "a\(i)", participant: "p\(i)",
                                          event: "joined", address: nil))
        }
        for days in [365.0, 10] {
            _ = try store.appendChat(ChatMessage(room: "council", at: Self.daysAgo(days), participant: "p", identity: "asha", name: "Asha", text: "t"))
        }
        try Self.addOutbox(store, items: [("sent", 45), ("failed", 31), ("superseded", 60), ("sent", 5), ("pending", 300)])

        let pruned = try store.prune(.standard, now: Self.now)
        #expect(pruned == PrunedRows(audit: 2, chat: 1, outbox: 3))
        #expect(try store.auditTrail(limit: 10).map(\.identity).sorted() == ["a2", "a3"])
        #expect(try store.chat(room: "council").map(\.at) == [Self.daysAgo(10)])
        let left = try store.meetings.outbox(limit: 10).map { "\($0.state.rawValue)" }.sorted()
        #expect(left == ["pending", "sent"], "the pending item stays however old; the recent sent one stays")

        // Nothing more to do the second time; no retention deletes nothing.
        #expect(try store.prune(.standard, now: Self.now).total == 0)
        #expect(try store.prune(StoreRetention(audit: nil, chat: nil, outbox: nil), now: Self.now.addingTimeInterval(1e9)).total == 0)
        #expect(try store.prune(StoreRetention(audit: .seconds(86_400), chat: nil, outbox: nil), now: Self.now).audit == 1)
    }

    @Test func aBackupTakenWhileAnotherConnectionWritesIsWholeAndRestoresRowForRow() throws {
        let directory = Self.directory()
        let copies = Self.directory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: copies)
        }
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        // A second connection, as the server's writes are while `sabha backup` runs in another process.
        let writer = try SQLiteStore(path: store.path, logger: Self.logger)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for i in 0..<400 {
                _ = try? writer.createRoom(RoomRecord(name: "r\(i)", title: "Room \(i)", createdAt: Self.now, source: .api))
            }
            done.signal()
        }
        var counts: [Int] = []
        for i in 0..<5 {
            let summary = try store.backup(to: copies + "/b\(i).sqlite")
            counts.append(summary.rooms)
        }
        done.wait()
        #expect(counts == counts.sorted(), "each backup is a later snapshot: \(counts)")
        let final = try store.backup(to: copies + "/final.sqlite")
        #expect(final.rooms == 400)

        let restored = copies + "/data"
        let result = try SQLiteStore.restore(from: copies + "/final.sqlite", into: restored)
        #expect(result.keptAs == nil && result.summary.rooms == 400)
        let reopened = try SQLiteStore(dataDirectory: restored, logger: Self.logger)
        #expect(try reopened.rooms().map(\.name).sorted() == (try store.rooms().map(\.name).sorted()))
        #expect(try reopened.appliedMigrations() == (try store.appliedMigrations()))
    }

    @Test func aRestoreRefusesADamagedForeignOrNewerFileAndLeavesTheStoreAlone() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory + "/data", logger: Self.logger)
        #expect(try store.createRoom(RoomRecord(name: "kept", title: "Kept", createdAt: Self.now, source: .api)))

        let foreign = directory + "/foreign.sqlite"
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE notes (text TEXT)") }
        let newer = directory + "/newer.sqlite"
        try store.backup(to: newer)
        try DatabaseQueue(path: newer).write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99-from-the-future')") }
        let garbage = directory + "/garbage.sqlite"
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: garbage))

        for (file, words) in [(foreign, "is not a Sabha store"), (newer, "comes from a newer Sabha"), (garbage, "is not an SQLite database"),
                              (directory + "/missing.sqlite", "no backup at")] {
            #expect {
                try SQLiteStore.restore(from: file, into: directory + "/data")
            } throws: { error in
                "\(error)".contains(words)
            }
        }
        #expect(try store.rooms().map(\.name) == ["kept"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/data").filter { $0.contains("before-restore") }.isEmpty)
    }
}

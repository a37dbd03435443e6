import Foundation
import GRDB

/// One value of a row as the SQLite file holds it, typed by its column's declared type (GRDB writes dates as text
/// and booleans as integers): what another store needs to take the row over (`sabha copy-store`).
public enum StoreValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case date(Date)
    case bool(Bool)
}

extension SQLiteStore {
    /// The tables a store holds, parents before the tables that refer to them (meetings before their attendees and
    /// outbox), in the names and columns both stores share.
    public static let exportedTables = ["room", "audit", "roomRemoval", "revokedLink", "chatMessage", "meeting",
                                        "meetingAttendee", "outbox", "mailboxCursor"]

    /// Reads `table` in one snapshot, oldest rows first (by rowid), `batch` rows at a time: the column names, then each
    /// batch of values in that order.
    public func export(table: String, batch: Int = 500,
                       _ body: (_ columns: [String], _ rows: [[StoreValue]]) throws -> Void) throws {
        guard Self.exportedTables.contains(table) else { throw StoreDataError("no table '\(table)' to export") }
        try database.read { db in
            let declared = try db.columns(in: table)
            let columns = declared.map(\.name)
            let kinds = declared.map { $0.type.uppercased() }
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM \(table) ORDER BY rowid")
            var rows: [[StoreValue]] = []
            while let row = try cursor.next() {
                rows.append(columns.indices.map { Self.value(row[columns[$0]] as DatabaseValue, declared: kinds[$0]) })
                if rows.count == batch {
                    try body(columns, rows)
                    rows.removeAll(keepingCapacity: true)
                }
            }
            if !rows.isEmpty || columns.isEmpty { try body(columns, rows) }
        }
    }

    private static func value(_ value: DatabaseValue, declared: String) -> StoreValue {
        if declared.contains("DATE") || declared.contains("TIME"), let date = Date.fromDatabaseValue(value) { return .date(date) }
        if declared.contains("BOOL"), let flag = Bool.fromDatabaseValue(value) { return .bool(flag) }
        switch value.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .double(let number): return .real(number)
        case .string(let text): return .text(text)
        case .blob(let data): return .blob([UInt8](data))
        }
    }
}

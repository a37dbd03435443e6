import Foundation
import Logging
import PostgresStore
import Signalling
import Testing

/// The two stores every test here runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static let logger = Logger(label: "test.store")

    /// A new, empty store of this kind; `second` opens another connection to the same one (a second node).
    func make() throws -> (store: any RoomStore, second: () throws -> any RoomStore) {
        switch self {
        case .sqlite:
            let directory = NSTemporaryDirectory() + "sabha-store-\(UInt64.random(in: 0...UInt64.max))"
            let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
            return (store, { try SQLiteStore(path: store.path, logger: Self.logger) })
        case .postgres:
            let url = try ScratchPostgres.database()
            return (try PostgresRoomStore(url: url, logger: Self.logger), { try PostgresRoomStore(url: url, logger: Self.logger) })
        }
    }
}

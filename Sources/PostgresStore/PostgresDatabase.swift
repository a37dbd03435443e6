import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One connection to PostgreSQL, used synchronously, as GRDB's `DatabaseQueue` is used for SQLite: a call waits for
/// its result, and calls take turns. The connection runs on an event loop of its own, so a caller on any other
/// thread (a request handler, an actor) can wait on it without deadlock. A lost connection is opened again by the
/// next call; the call that found it lost fails with the reason (it is not retried: it may have been a write).
public final class PostgresDatabase: @unchecked Sendable {
    public let url: DatabaseURL
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    /// Guards `connection` and `nextID`, and makes calls take turns on the one connection.
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var nextID = 1

    /// Connects now, so that a wrong address or password stops `sabha serve` at once with the reason.
    public init(url: DatabaseURL, logger: Logger) throws {
        self.url = url
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try withSession { _ in }
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    deinit {
        try? connection?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Runs `body` with the connection, opening it first when needed.
    func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let live: PostgresConnection
        if let connection, !connection.isClosed {
            live = connection
        } else {
            live = try connect()
            connection = live
        }
        do {
            return try body(PostgresSession(connection: live, logger: logger))
        } catch {
            if live.isClosed { connection = nil }
            throw error
        }
    }

    /// Runs `body` in a transaction. A writing one first takes the store's write lock (a transaction-scoped advisory
    /// lock), so writes are serialised across every node sharing the database, as SQLite serialises them in one
    /// file, and a read-modify-write inside one sees no interleaved change.
    func transaction<T>(writing: Bool, _ body: (PostgresSession) throws -> T) throws -> T {
        try withSession { session in
            try session.execute("BEGIN")
            do {
                if writing { try session.execute("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))") }
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                _ = try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The advisory lock key of write transactions ("sabha" in ASCII); migrations use the next one.
    static let writeLockKey: Int64 = 0x73_61_62_68_61
    static let migrationLockKey: Int64 = writeLockKey + 1

    private func connect() throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.username,
                                                             password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        nextID += 1
        do {
            let connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: nextID, logger: logger).wait()
            logger.debug("connected to PostgreSQL", metadata: ["database": "\(url)"])
            return connection
        } catch {
            throw PostgresStoreError("cannot connect to the database \(url): \(PostgresStoreError.reason(error).text)")
        }
    }
}

/// The connection while it is ours: queries that wait for their rows.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [PostgresRow] {
        try run(sql, binds).rows
    }

    /// Runs one statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> Int {
        try run(sql, binds).metadata.rows ?? 0
    }

    @discardableResult
    func query(_ sql: String, _ values: [SQLValue]) throws -> [PostgresRow] { try query(sql, try SQLValue.bindings(values)) }

    @discardableResult
    func execute(_ sql: String, _ values: [SQLValue]) throws -> Int { try execute(sql, try SQLValue.bindings(values)) }

    private func run(_ sql: String, _ binds: PostgresBindings) throws -> PostgresQueryResult {
        do {
            return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait()
        } catch {
            throw PostgresStoreError(PostgresStoreError.reason(error))
        }
    }
}

/// A statement's parameter ($1, $2, …); nil is NULL.
enum SQLValue {
    case text(String?)
    case int(Int?)
    case bool(Bool?)
    case date(Date?)

    static func bindings(_ values: [SQLValue]) throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let text): binds.append(text)
            case .int(let int): binds.append(int)
            case .bool(let bool): binds.append(bool)
            case .date(let date): binds.append(date)
            }
        }
        return binds
    }
}

/// A database call that failed, in words: PostgreSQL's own message and SQLSTATE, or why the connection failed.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public let description: String
    /// The SQLSTATE, when the server refused the statement (23505: a unique key was taken).
    public let sqlState: String?

    init(_ description: String, sqlState: String? = nil) {
        self.description = description
        self.sqlState = sqlState
    }

    init(_ reason: (text: String, sqlState: String?)) {
        self.init(reason.text, sqlState: reason.sqlState)
    }

    /// PSQLError's own description hides everything (it may hold a query's values); this keeps what an operator needs.
    static func reason(_ error: any Error) -> (text: String, sqlState: String?) {
        if let stored = error as? PostgresStoreError { return (stored.description, stored.sqlState) }
        guard let error = error as? PSQLError else { return ("\(error)", nil) }
        if let server = error.serverInfo {
            let state = server[.sqlState]
            return ("PostgreSQL: \(server[.message] ?? "error")\(state.map { " (SQLSTATE \($0))" } ?? "")", state)
        }
        if let underlying = error.underlying { return ("\(error.code): \(underlying)", nil) }
        return ("\(error.code)", nil)
    }
}

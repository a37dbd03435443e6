import Foundation
/// A `postgres://user:password@host:port/database` address, as `--database` takes it (libpq's URI form, without
/// its query options but `sslmode=disable`, which is also what we do: the database is expected on loopback or a
/// private network of the data centre).
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    /// Parses `text`; the error says what is wrong, in words for the operator.
    public init(_ text: String) throws(DatabaseURLError) {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.hasPrefix($0) }) else {
            throw DatabaseURLError("'\(Self.redact(text))' is not a PostgreSQL URL: it must start with postgres:// (or leave --database out for the embedded SQLite store)")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        if let query = rest.firstIndex(of: "?") {
            let options = rest[rest.index(after: query)...].split(separator: "&")
            for option in options where option != "sslmode=disable" {
                throw DatabaseURLError("unsupported option '\(option)' in the database URL (only sslmode=disable is understood)")
            }
            rest = rest[..<query]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw DatabaseURLError("the database URL names no database (…/NAME at its end)") }
        let database = Self.decode(rest[rest.index(after: slash)...])
        guard let database, !database.isEmpty else { throw DatabaseURLError("the database URL names no database (…/NAME at its end)") }
        var authority = rest[..<slash]
        var username = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = Self.decode(parts[0]), !user.isEmpty else { throw DatabaseURLError("the database URL has an empty or badly escaped user name") }
            username = user
            if parts.count == 2 {
                guard let secret = Self.decode(parts[1]) else { throw DatabaseURLError("the database URL's password is badly escaped") }
                password = secret
            }
        }
        var host = String(authority)
        var port = 5432
        if authority.hasPrefix("[") {  // [::1]:5432
            guard let close = authority.firstIndex(of: "]") else { throw DatabaseURLError("the database URL's IPv6 address has no closing ]") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { throw DatabaseURLError("the database URL's port is not a number") }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let number = Int(authority[authority.index(after: colon)...]) else { throw DatabaseURLError("the database URL's port is not a number") }
            port = number
            host = String(authority[..<colon])
        }
        guard !host.isEmpty else { throw DatabaseURLError("the database URL names no host") }
        guard (1...65535).contains(port) else { throw DatabaseURLError("the database URL's port \(port) is out of range") }
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// The URL without its password, for logs and messages.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)\(password == nil ? "" : ":***")@\(shownHost):\(port)/\(database)"
    }

    /// Whether `text` asks for PostgreSQL at all (anything else with a scheme is refused by `init`).
    public static func isDatabaseURL(_ text: String) -> Bool { text.contains("://") }

    /// `text` with any password replaced, for an error about a URL that did not parse.
    static func redact(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// Percent-decoding (RFC 3986); nil for a broken escape.
    static func decode(_ text: Substring) -> String? {
        String(text).removingPercentEncoding
    }
}

/// A `--database` value that cannot be used.
public struct DatabaseURLError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

import Foundation

/// The secret that opens the admin API (`Authorization: Bearer <key>`).
///
/// Taken from `--admin-key`, else `SABHA_ADMIN_KEY`, else `<data-dir>/admin.key`; when none is set, 32 random
/// bytes (base64url) are written to that file (0600) and `origin` says so, so that `sabha serve` can show the
/// key once.
public struct AdminKey: Sendable {
    public static let fileName = "admin.key"
    public static let environmentVariable = "SABHA_ADMIN_KEY"
    /// Shortest key accepted from the command line, the environment or the file.
    public static let minimumLength = 16

    public enum Origin: Sendable, Equatable {
        case option
        case environment
        case file(path: String)
        /// Generated now into `path`: show it to the operator once.
        case created(path: String)
    }

    public let origin: Origin
    private let secret: [UInt8]

    public init(_ key: String, origin: Origin = .option) {
        self.secret = Array(key.utf8)
        self.origin = origin
    }

    public var value: String { String(decoding: secret, as: UTF8.self) }

    public static func path(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent(fileName)
    }

    /// Resolves the key: `option`, then the environment, then the file in `dataDirectory` (created if missing).
    public static func load(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            dataDirectory: String) throws -> AdminKey {
        if let option, !option.isEmpty { return try checked(option, origin: .option, what: "--admin-key") }
        if let value = environment[environmentVariable], !value.isEmpty {
            return try checked(value, origin: .environment, what: environmentVariable)
        }
        let fm = FileManager.default
        let path = path(dataDirectory: dataDirectory)
        if let data = fm.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return try checked(text, origin: .file(path: path), what: path)
        }
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = generated()
        guard fm.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SignallingError.configuration("cannot write the admin key to \(path)")
        }
        return AdminKey(key, origin: .created(path: path))
    }

    /// 32 random bytes, base64url; never starting with "-", which a command line would take for an option (one
    /// key in 64 did: `sabha recording status --admin-key -x…` then failed with "Missing value for '--admin-key'").
    static func generated() -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let key = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            if !key.hasPrefix("-") { return key }
        }
    }

    private static func checked(_ key: String, origin: Origin, what: String) throws -> AdminKey {
        guard key.utf8.count >= minimumLength else {
            throw SignallingError.configuration("the admin key from \(what) is shorter than \(minimumLength) characters; use a long random one (or remove it to have one generated)")
        }
        guard !key.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw SignallingError.configuration("the admin key from \(what) contains white space, which an Authorization header cannot carry")
        }
        return AdminKey(key, origin: origin)
    }

    /// Whether `presented` is the key, in time that depends only on the lengths, not on where they differ.
    public func matches(_ presented: String) -> Bool {
        Self.constantTimeEqual(secret, Array(presented.utf8))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }

    /// Checks an `Authorization` header value.
    public func authorize(_ authorization: String?) throws(Problem) {
        guard let authorization, authorization.lowercased().hasPrefix("bearer "),
              case let presented = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces), !presented.isEmpty else {
            throw Problem(status: 401, code: "admin-key-missing", title: "Admin key required",
                          detail: "Send the admin key as 'Authorization: Bearer <key>'. It is in \(Self.fileName) in the server's data directory, or set with --admin-key / \(Self.environmentVariable).")
        }
        guard matches(presented) else {
            throw Problem(status: 401, code: "admin-key-invalid", title: "Admin key invalid",
                          detail: "The bearer key is not this server's admin key.")
        }
    }
}

extension AdminKey: CustomStringConvertible {
    /// Never the key itself: this may end up in a log.
    public var description: String { "AdminKey(\(origin))" }
}

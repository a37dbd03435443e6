/// Where and how `SMTPClient` delivers mail.
///
/// From `SABHA_SMTP_URL` (see `init(url:)`):
///
///     smtp://[user[:password]@]host[:port][?starttls=required|off]
///     smtps://[user[:password]@]host[:port]
///
/// Defaults, chosen so that credentials never cross the network in clear unless asked to:
/// - `smtp://` with credentials: STARTTLS required, port 587 (message submission, RFC 6409).
/// - `smtp://` without credentials: no TLS, port 25 (a relay on a trusted network).
/// - `?starttls=required` without a port: port 587; `?starttls=off` without a port: port 25.
/// - `smtps://`: TLS from the first byte (RFC 8314), port 465; `starttls` is not allowed.
/// - User and password are percent-decoded (`p%40ss` is `p@ss`).
/// - Certificates are checked against the system trust store, or against `trustedCAFile` (PEM)
///   alone when set, and the host name (or IP address) must match; `verifyHostname = false`
///   exists for lab setups and should not be used in production.
/// - Timeouts: connect 10 s, each reply 30 s (the final "." of DATA included).
public struct SMTPConfiguration: Hashable, Sendable, CustomStringConvertible {
    public enum Security: String, Hashable, Sendable {
        /// Plain TCP; STARTTLS is not attempted even when offered.
        case off
        /// STARTTLS (RFC 3207) must succeed before AUTH and MAIL FROM; a server without it is an error.
        case startTLS
        /// Implicit TLS from connect (`smtps://`, RFC 8314 section 3.3).
        case implicitTLS
    }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    /// PEM file of the CA certificates to trust instead of the system store (private CAs, tests).
    public var trustedCAFile: String?
    public var verifyHostname: Bool
    /// The name sent in EHLO/HELO; RFC 5321 section 4.1.4 wants the client's FQDN or an address literal.
    public var heloName: String

    public init(
        host: String, port: Int? = nil, username: String? = nil, password: String? = nil,
        security: Security? = nil, connectTimeout: Duration = .seconds(10), commandTimeout: Duration = .seconds(30),
        trustedCAFile: String? = nil, verifyHostname: Bool = true, heloName: String = "localhost"
    ) {
        let security = security ?? (username != nil ? .startTLS : .off)
        self.host = host
        self.port = port ?? Self.defaultPort(security)
        self.username = username
        self.password = password
        self.security = security
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.trustedCAFile = trustedCAFile
        self.verifyHostname = verifyHostname
        self.heloName = heloName
    }

    /// Parses the `SABHA_SMTP_URL` form described on the type.
    public init(url: String) throws(SMTPError) {
        let schemeEnd = url.firstRange(of: "://")
        guard let schemeEnd else { throw .invalidConfiguration("'\(Self.redacted(url))' is not an smtp:// or smtps:// URL") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "smtp" || scheme == "smtps" else {
            throw .invalidConfiguration("unsupported scheme '\(scheme)' (use smtp:// or smtps://)")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw .invalidConfiguration("an SMTP URL has no path") }

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                username = try Self.percentDecoded(userinfo[..<colon])
                password = try Self.percentDecoded(userinfo[userinfo.index(after: colon)...])
            } else {
                username = try Self.percentDecoded(userinfo)
            }
            guard username?.isEmpty == false else { throw .invalidConfiguration("empty user name") }
        }

        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalidConfiguration("unterminated IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidConfiguration("unexpected text after IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw .invalidConfiguration("no host") }
        var port: Int?
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw .invalidConfiguration("port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }

        var security: Security? = scheme == "smtps" ? .implicitTLS : nil
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].lowercased()
            let value = pair.count > 1 ? pair[1].lowercased() : ""
            guard key == "starttls" else { throw .invalidConfiguration("unknown parameter '\(key)' (only starttls)") }
            guard scheme == "smtp" else { throw .invalidConfiguration("starttls does not apply to smtps://") }
            switch value {
            case "required": security = .startTLS
            case "off": security = .off
            default: throw .invalidConfiguration("starttls must be 'required' or 'off', not '\(value)'")
            }
        }
        self.init(host: String(host), port: port, username: username, password: password, security: security)
    }

    public static func defaultPort(_ security: Security) -> Int {
        switch security {
        case .off: 25
        case .startTLS: 587
        case .implicitTLS: 465
        }
    }

    /// Without the password.
    public var description: String {
        let user = username.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        return "smtp://\(user)\(host.contains(":") ? "[\(host)]" : host):\(port) (\(security.rawValue))"
    }

    private static func percentDecoded(_ text: Substring) throws(SMTPError) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else {
                throw .invalidConfiguration("bad percent-encoding in the user or password")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidConfiguration("user or password is not UTF-8 after percent-decoding")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The URL with any userinfo replaced, for error messages.
    private static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        return "***" + url[at...]
    }
}

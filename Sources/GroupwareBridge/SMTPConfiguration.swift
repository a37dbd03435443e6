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
        let (scheme, afterScheme) = try Self.scheme(of: url)
        let (authority, query) = try Self.authorityAndQuery(afterScheme)
        let (username, password, hostPort) = try Self.credentials(authority)
        let (host, port) = try Self.hostAndPort(hostPort)
        let security = try Self.security(scheme: scheme, query: query)
        self.init(host: host, port: port, username: username, password: password, security: security)
    }

    /// "smtp" or "smtps" (lower case), and what follows "://".
    private static func scheme(of url: String) throws(SMTPError) -> (scheme: String, rest: Substring) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .invalidConfiguration("'\(Self.redacted(url))' is not an smtp:// or smtps:// URL")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "smtp" || scheme == "smtps" else {
            throw .invalidConfiguration("unsupported scheme '\(scheme)' (use smtp:// or smtps://)")
        }
        return (scheme, url[schemeEnd.upperBound...])
    }

    /// Splits "authority[/][?query]"; an SMTP URL has no path.
    private static func authorityAndQuery(_ text: Substring) throws(SMTPError) -> (authority: Substring, query: Substring) {
        var rest = text
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw .invalidConfiguration("an SMTP URL has no path") }
        return (rest, query)
    }

    /// "[user[:password]@]hostport": the percent-decoded credentials and the rest. The last "@" ends the userinfo, so
    /// an unencoded "@" in the password still works.
    private static func credentials(_ authority: Substring) throws(SMTPError)
        -> (username: String?, password: String?, hostPort: Substring)
    {
        guard let at = authority.lastIndex(of: "@") else { return (nil, nil, authority) }
        let userinfo = authority[..<at]
        let username: String
        var password: String?
        if let colon = userinfo.firstIndex(of: ":") {
            username = try percentDecoded(userinfo[..<colon])
            password = try percentDecoded(userinfo[userinfo.index(after: colon)...])
        } else {
            username = try percentDecoded(userinfo)
        }
        guard !username.isEmpty else { throw .invalidConfiguration("empty user name") }
        return (username, password, authority[authority.index(after: at)...])
    }

    /// "host", "host:port", "[v6]" or "[v6]:port"; the port, when given, is 1 to 65535.
    private static func hostAndPort(_ text: Substring) throws(SMTPError) -> (host: String, port: Int?) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidConfiguration("unterminated IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidConfiguration("unexpected text after IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .invalidConfiguration("no host") }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .invalidConfiguration("port '\(portText)' is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    /// `smtps` is implicit TLS; `smtp` takes `?starttls=required|off`, else nil (the default follows the credentials).
    private static func security(scheme: String, query: Substring) throws(SMTPError) -> Security? {
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
        return security
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

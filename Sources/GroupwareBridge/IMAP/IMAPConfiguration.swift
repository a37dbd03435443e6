/// Where and how `IMAPClient` reads the mailbox that iMIP replies arrive in.
///
/// From `SABHA_IMAP_URL` (see `init(url:username:password:)`):
///
///     imap://[user[:password]@]host[:port][/MAILBOX][?starttls=required|off]
///     imaps://[user[:password]@]host[:port][/MAILBOX]
///
/// Defaults, chosen as for `SMTPConfiguration` so that a password never crosses the network in clear unless asked to:
/// - `imap://` with credentials: STARTTLS required (RFC 3501 section 6.2.1), port 143.
/// - `imap://` without credentials: no TLS, port 143 (only a PREAUTH server can be read that way).
/// - `imaps://`: TLS from the first byte (RFC 8314), port 993; `starttls` is not allowed.
/// - The mailbox is the percent-decoded path, "INBOX" when there is none. User and password are percent-decoded.
/// - Certificates are checked against the system trust store, or against `trustedCAFile` (PEM) alone when set.
/// - Timeouts: connect 10 s, each command 30 s (a whole message fetch included).
public struct IMAPConfiguration: Hashable, Sendable, CustomStringConvertible {
    public enum Security: String, Hashable, Sendable {
        /// Plain TCP; STARTTLS is not attempted.
        case off
        /// STARTTLS must succeed before LOGIN; a server that refuses it is an error, never a fallback to clear text.
        case startTLS
        /// Implicit TLS from connect (`imaps://`, RFC 8314 section 3.3).
        case implicitTLS
    }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var mailbox: String
    public var security: Security
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    /// PEM file of the CA certificates to trust instead of the system store (private CAs, tests).
    public var trustedCAFile: String?
    public var verifyHostname: Bool
    /// The largest literal the decoder buffers (a message body is one literal); larger ones end the session.
    /// A fetch whose `maximumSize` is larger raises it to that for its session.
    public var maximumLiteralSize: Int

    public init(
        host: String, port: Int? = nil, username: String? = nil, password: String? = nil, mailbox: String = "INBOX",
        security: Security? = nil, connectTimeout: Duration = .seconds(10), commandTimeout: Duration = .seconds(30),
        trustedCAFile: String? = nil, verifyHostname: Bool = true, maximumLiteralSize: Int = 4 << 20
    ) {
        let security = security ?? (username != nil ? .startTLS : .off)
        self.host = host
        self.port = port ?? Self.defaultPort(security)
        self.username = username
        self.password = password
        self.mailbox = mailbox
        self.security = security
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.trustedCAFile = trustedCAFile
        self.verifyHostname = verifyHostname
        self.maximumLiteralSize = maximumLiteralSize
    }

    /// Parses the `SABHA_IMAP_URL` form described on the type. `username` and `password`, when given (from
    /// `SABHA_IMAP_USER` / `SABHA_IMAP_PASSWORD`, which keep the secret out of the URL), replace those in the URL.
    public init(url: String, username: String? = nil, password: String? = nil) throws(IMAPError) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .invalidConfiguration("'\(Self.redacted(url))' is not an imap:// or imaps:// URL")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "imap" || scheme == "imaps" else {
            throw .invalidConfiguration("unsupported scheme '\(scheme)' (use imap:// or imaps://)")
        }
        var rest = url[schemeEnd.upperBound...]
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var mailbox = "INBOX"
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { mailbox = try Self.percentDecoded(path) }
            rest = rest[..<slash]
        }
        let (urlUser, urlPassword, hostPort) = try Self.credentials(rest)
        let (host, port) = try Self.hostAndPort(hostPort)
        let security = try Self.security(scheme: scheme, query: query)
        let user = username ?? urlUser
        guard user.map({ !$0.isEmpty }) ?? true else { throw .invalidConfiguration("empty user name") }
        self.init(host: host, port: port, username: user, password: password ?? urlPassword, mailbox: mailbox,
                  security: security)
    }

    /// "[user[:password]@]hostport"; the last "@" ends the userinfo, so an unencoded "@" in the password works.
    private static func credentials(_ authority: Substring) throws(IMAPError)
        -> (username: String?, password: String?, hostPort: Substring)
    {
        guard let at = authority.lastIndex(of: "@") else { return (nil, nil, authority) }
        let userinfo = authority[..<at]
        var username = try percentDecoded(userinfo)
        var password: String?
        if let colon = userinfo.firstIndex(of: ":") {
            username = try percentDecoded(userinfo[..<colon])
            password = try percentDecoded(userinfo[userinfo.index(after: colon)...])
        }
        guard !username.isEmpty else { throw .invalidConfiguration("empty user name") }
        return (username, password, authority[authority.index(after: at)...])
    }

    /// "host", "host:port", "[v6]" or "[v6]:port"; the port, when given, is 1 to 65535.
    private static func hostAndPort(_ text: Substring) throws(IMAPError) -> (host: String, port: Int?) {
        var host = text
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
        }
        guard !host.isEmpty else { throw .invalidConfiguration("no host") }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .invalidConfiguration("port '\(portText)' is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    /// `imaps` is implicit TLS; `imap` takes `?starttls=required|off`, else nil (the default follows the credentials).
    private static func security(scheme: String, query: Substring) throws(IMAPError) -> Security? {
        var security: Security? = scheme == "imaps" ? .implicitTLS : nil
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].lowercased()
            let value = pair.count > 1 ? pair[1].lowercased() : ""
            guard key == "starttls" else { throw .invalidConfiguration("unknown parameter '\(key)' (only starttls)") }
            guard scheme == "imap" else { throw .invalidConfiguration("starttls does not apply to imaps://") }
            switch value {
            case "required": security = .startTLS
            case "off": security = .off
            default: throw .invalidConfiguration("starttls must be 'required' or 'off', not '\(value)'")
            }
        }
        return security
    }

    public static func defaultPort(_ security: Security) -> Int {
        security == .implicitTLS ? 993 : 143
    }

    /// Without the password.
    public var description: String {
        let user = username.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        let scheme = security == .implicitTLS ? "imaps" : "imap"
        return "\(scheme)://\(user)\(host.contains(":") ? "[\(host)]" : host):\(port)/\(mailbox) (\(security.rawValue))"
    }

    private static func percentDecoded(_ text: Substring) throws(IMAPError) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else {
                throw .invalidConfiguration("bad percent-encoding in the user, password or mailbox")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidConfiguration("user, password or mailbox is not UTF-8 after percent-decoding")
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

/// The parts of a mail server URL as `SABHA_SMTP_URL` and `SABHA_IMAP_URL` write it:
/// `scheme://[user[:password]@]host[:port][/path][?starttls=required|off]`, with user, password and path
/// percent-decoded. `SMTPConfiguration` and `IMAPConfiguration` read theirs through it and add their own defaults.
struct MailServerURL {
    /// Why a URL cannot be used, as a sentence for the configuration's own error.
    struct Invalid: Error {
        let reason: String
    }

    /// Lower case: `plain` or `secure`.
    let scheme: String
    let username: String?
    let password: String?
    let host: String
    let port: Int?
    /// After the authority's "/", percent-decoded; nil when there is none or it is empty.
    let path: String?
    /// What the URL says about TLS; nil leaves it to the configuration's default (which follows the credentials).
    let tls: MailTransportSecurity?

    /// `plain` and `secure` are the two schemes ("smtp", "smtps"); `noPath`, when given, is why a path is refused;
    /// `decoded` names what is percent-decoded, for the error messages ("user or password").
    init(_ url: String, plain: String, secure: String, noPath: String?, decoded: String) throws(Invalid) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw Invalid(reason: "'\(Self.redacted(url))' is not an \(plain):// or \(secure):// URL")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == plain || scheme == secure else {
            throw Invalid(reason: "unsupported scheme '\(scheme)' (use \(plain):// or \(secure)://)")
        }
        var rest = url[schemeEnd.upperBound...]
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path: String?
        if let slash = rest.firstIndex(of: "/") {
            let text = rest[rest.index(after: slash)...]
            if !text.isEmpty {
                if let noPath { throw Invalid(reason: noPath) }
                path = try Self.percentDecoded(text, decoded)
            }
            rest = rest[..<slash]
        }
        let (username, password, hostPort) = try Self.credentials(rest, decoded)
        let (host, port) = try Self.hostAndPort(hostPort)
        self.scheme = scheme
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.path = path
        self.tls = try Self.tls(scheme: scheme, plain: plain, secure: secure, query: query)
    }

    /// "[user[:password]@]hostport": the percent-decoded credentials and the rest. The last "@" ends the userinfo, so
    /// an unencoded "@" in the password still works.
    private static func credentials(_ authority: Substring, _ decoded: String) throws(Invalid)
        -> (username: String?, password: String?, hostPort: Substring)
    {
        guard let at = authority.lastIndex(of: "@") else { return (nil, nil, authority) }
        let userinfo = authority[..<at]
        let username: String
        var password: String?
        if let colon = userinfo.firstIndex(of: ":") {
            username = try percentDecoded(userinfo[..<colon], decoded)
            password = try percentDecoded(userinfo[userinfo.index(after: colon)...], decoded)
        } else {
            username = try percentDecoded(userinfo, decoded)
        }
        guard !username.isEmpty else { throw Invalid(reason: "empty user name") }
        return (username, password, authority[authority.index(after: at)...])
    }

    /// "host", "host:port", "[v6]" or "[v6]:port"; the port, when given, is 1 to 65535.
    private static func hostAndPort(_ text: Substring) throws(Invalid) -> (host: String, port: Int?) {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw Invalid(reason: "unterminated IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Invalid(reason: "unexpected text after IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw Invalid(reason: "no host") }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw Invalid(reason: "port '\(portText)' is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    /// `secure` is implicit TLS; `plain` takes `?starttls=required|off`, else nil.
    private static func tls(scheme: String, plain: String, secure: String, query: Substring) throws(Invalid) -> MailTransportSecurity? {
        var tls: MailTransportSecurity? = scheme == secure ? .implicitTLS : nil
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].lowercased()
            let value = pair.count > 1 ? pair[1].lowercased() : ""
            guard key == "starttls" else { throw Invalid(reason: "unknown parameter '\(key)' (only starttls)") }
            guard scheme == plain else { throw Invalid(reason: "starttls does not apply to \(secure)://") }
            switch value {
            case "required": tls = .startTLS
            case "off": tls = .off
            default: throw Invalid(reason: "starttls must be 'required' or 'off', not '\(value)'")
            }
        }
        return tls
    }

    private static func percentDecoded(_ text: Substring, _ decoded: String) throws(Invalid) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else {
                throw Invalid(reason: "bad percent-encoding in the \(decoded)")
            }
            bytes.append(high << 4 | low)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Invalid(reason: "\(decoded) is not UTF-8 after percent-decoding")
        }
        return text
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
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        return "***" + url[at...]
    }
}

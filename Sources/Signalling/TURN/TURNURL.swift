/// A TURN server URI as ICE servers name them (RFC 7065): `turn:` or `turns:`, a host or IP literal, an optional port
/// and an optional `?transport=udp|tcp`. Only checked, never rewritten: browsers get the text the operator wrote.
public struct TURNURL: Sendable, Equatable, CustomStringConvertible {
    public var text: String
    /// TURN over TLS (`turns:`).
    public var secure: Bool
    public var host: String
    /// The port given, else nil (3478 for turn:, 5349 for turns:).
    public var port: Int?
    /// `udp` or `tcp` when the URI names one.
    public var transport: String?

    public var description: String { text }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses `text`; the error says what is wrong with it, for `sabha serve` to print.
    public init(_ text: String) throws(Invalid) {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("turns:") {
            secure = true
            rest = text.dropFirst(6)
        } else if lower.hasPrefix("turn:") {
            secure = false
            rest = text.dropFirst(5)
        } else {
            throw Invalid(description: "'\(text.prefix(80))' is not a TURN URL: it must start with turn: or turns: "
                                       + "(e.g. turns:turn.example.gov.in:443?transport=tcp)")
        }
        guard !rest.hasPrefix("//") else {
            throw Invalid(description: "'\(text.prefix(80))': TURN URLs have no '//' (write turns:HOST:PORT, RFC 7065)")
        }
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let authority = parts[0]
        if parts.count == 2 {
            let query = parts[1].lowercased()
            guard query == "transport=udp" || query == "transport=tcp" else {
                throw Invalid(description: "'\(text.prefix(80))': the only query a TURN URL takes is ?transport=udp or ?transport=tcp")
            }
            transport = String(query.dropFirst("transport=".count))
        }
        var hostPart = authority
        var portPart: Substring?
        let bracketed = authority.hasPrefix("[")
        if bracketed {
            guard let close = authority.firstIndex(of: "]") else {
                throw Invalid(description: "'\(text.prefix(80))': an IPv6 address needs its closing ']'")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Invalid(description: "'\(text.prefix(80))': expected ':PORT' after ']'") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        // A ':' in the host only inside brackets: "turn:2001:db8::1" would otherwise read as host "2001:db8:", port 1.
        guard !hostPart.isEmpty, hostPart.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || (bracketed && $0 == ":") }) else {
            throw Invalid(description: "'\(text.prefix(80))' has no valid host name or address (an IPv6 address goes in brackets)")
        }
        host = String(hostPart)
        if let portPart {
            guard let number = Int(portPart), (1...65535).contains(number) else {
                throw Invalid(description: "'\(text.prefix(80))': the port must be a number from 1 to 65535")
            }
            port = number
        }
        if secure && transport == "udp" {
            throw Invalid(description: "'\(text.prefix(80))': turns: runs over TLS, which needs ?transport=tcp (or no transport)")
        }
        self.text = text
    }
}

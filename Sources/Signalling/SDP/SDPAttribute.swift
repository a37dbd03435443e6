/// An `a=<name>[:<value>]` line (RFC 8866 §5.13).
public struct SDPAttribute: Sendable, Hashable {
    public var name: String
    /// nil for property attributes such as `a=rtcp-mux`.
    public var value: String?
    /// 1-based line number in the document.
    public var line: Int

    public init(name: String, value: String?, line: Int) {
        self.name = name
        self.value = value
        self.line = line
    }

    /// Splits an `a=` line at its first colon.
    init(_ line: SDPLine) {
        if let colon = line.value.firstIndex(of: ":") {
            name = String(line.value[..<colon])
            value = String(line.value[line.value.index(after: colon)...])
        } else {
            name = line.value
            value = nil
        }
        self.line = line.number
    }
}

extension SDPAttribute {
    /// The value of an attribute that needs one (`a=mid:0`, not `a=mid` or `a=mid:`).
    func requiredValue() throws(SDPError) -> String {
        guard let value, !value.isEmpty else {
            throw .malformed(line: line, "a=\(name) needs a value")
        }
        return value
    }

    /// token (RFC 8866 §9): visible ASCII except the separators.
    static func isToken<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            byte == 0x21 || (byte >= 0x23 && byte <= 0x27) || byte == 0x2A || byte == 0x2B
                || byte == 0x2D || byte == 0x2E || (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x5E && byte <= 0x7E)
        }
    }
}

extension Optional where Wrapped == SDPAttribute {
    /// Takes a single-valued attribute (mid, ice-ufrag, setup, ...), which may appear once per level.
    mutating func setOnce(_ attribute: SDPAttribute) throws(SDPError) {
        guard self == nil else {
            throw .malformed(line: attribute.line, "a=\(attribute.name) appears twice at the same level")
        }
        self = attribute
    }
}

extension Array where Element == SDPAttribute {
    /// Every attribute with this name, in document order.
    public func named(_ name: String) -> [SDPAttribute] { filter { $0.name == name } }
    public func first(named name: String) -> SDPAttribute? { first { $0.name == name } }
    public func contains(named name: String) -> Bool { contains { $0.name == name } }
}

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

extension Array where Element == SDPAttribute {
    /// Every attribute with this name, in document order.
    public func named(_ name: String) -> [SDPAttribute] { filter { $0.name == name } }
    public func first(named name: String) -> SDPAttribute? { first { $0.name == name } }
    public func contains(named name: String) -> Bool { contains { $0.name == name } }
}

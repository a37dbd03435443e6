/// A property parameter (RFC 5545 section 3.2): a name and one or more values, as in
/// `MEMBER="mailto:a@example.com","mailto:b@example.com"`.
public struct ICalendarParameter: Hashable, Sendable {
    /// Upper-cased: parameter names are case-insensitive (section 3.5).
    public var name: String
    /// Decoded values (quotes removed, RFC 6868 caret escapes resolved).
    public var values: [String]

    public init(_ name: String, _ values: [String]) {
        self.name = name.uppercased()
        self.values = values
    }

    public init(_ name: String, _ value: String) {
        self.init(name, [value])
    }

    /// The first value, which is all that single-valued parameters have.
    public var value: String { values.first ?? "" }
}

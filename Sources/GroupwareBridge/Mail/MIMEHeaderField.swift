/// One header field of a message or body part (RFC 5322 section 2.2), unfolded: CRLF before a continuation
/// line removed, the whitespace kept.
public struct MIMEHeaderField: Hashable, Sendable {
    /// As written; compare with `matches(_:)`, since field names are case-insensitive.
    public var name: String
    /// Without the leading and trailing whitespace.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public func matches(_ other: String) -> Bool {
        name.lowercased() == other.lowercased()
    }
}

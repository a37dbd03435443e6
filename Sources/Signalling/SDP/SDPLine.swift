/// One `<type>=<value>` line of an SDP document (RFC 8866 §5), CR/LF stripped.
public struct SDPLine: Sendable, Hashable {
    /// The one-letter type: "v", "o", "m", "a", ...
    public var type: Character
    /// Everything after the "=".
    public var value: String
    /// 1-based line number in the document.
    public var number: Int

    public init(type: Character, value: String, number: Int) {
        self.type = type
        self.value = value
        self.number = number
    }
}

/// What one `IMAPClient.fetchMessages` session found.
public struct IMAPFetchResult: Hashable, Sendable {
    /// The mailbox's UIDVALIDITY (RFC 3501 section 2.3.1.1): store it with `highestUID`; when it changes, UIDs
    /// were reassigned and reading starts again from the beginning.
    public var uidValidity: UInt32
    /// The messages read, by UID ascending.
    public var messages: [IMAPMessage]
    /// UIDs of messages larger than the `maximumSize` asked for: looked at, not read.
    public var skipped: [UInt32]
    /// The highest UID looked at (read or skipped): the caller's next `after`.
    public var highestUID: UInt32
    /// True when `limit` cut the list: call again with `after: highestUID` for the rest.
    public var more: Bool

    public init(uidValidity: UInt32, messages: [IMAPMessage], skipped: [UInt32], highestUID: UInt32, more: Bool) {
        self.uidValidity = uidValidity
        self.messages = messages
        self.skipped = skipped
        self.highestUID = highestUID
        self.more = more
    }
}

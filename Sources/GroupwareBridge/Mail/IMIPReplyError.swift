/// Why a mail from the reply mailbox is not an attendee's answer we can use.
public enum IMIPReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A mail of another kind (no calendar part, or a calendar with another METHOD): not an error of the sender,
    /// just nothing for us.
    case notAnIMIPReply(String)
    /// It meant to be a reply (or might have) but cannot be read: bad MIME, a calendar that does not parse, no UID.
    case malformed(String)

    public var description: String {
        switch self {
        case .notAnIMIPReply(let reason): "not an iMIP reply: \(reason)"
        case .malformed(let reason): "malformed iMIP reply: \(reason)"
        }
    }
}

/// One message as the server stores it (RFC 5322 bytes, `BODY[]`), with its UID.
public struct IMAPMessage: Hashable, Sendable {
    public var uid: UInt32
    public var bytes: [UInt8]

    public init(uid: UInt32, bytes: [UInt8]) {
        self.uid = uid
        self.bytes = bytes
    }
}

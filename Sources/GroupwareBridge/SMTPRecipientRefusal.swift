/// One envelope recipient the server refused at RCPT TO (RFC 5321 section 4.1.1.3).
public struct SMTPRecipientRefusal: Hashable, Sendable {
    public let address: String
    public let code: Int
    public let text: String

    public init(address: String, code: Int, text: String) {
        self.address = address
        self.code = code
        self.text = text
    }

    /// 4yz: the server may accept this recipient later (mailbox busy, greylisting).
    public var isTransient: Bool { (400..<500).contains(code) }
}

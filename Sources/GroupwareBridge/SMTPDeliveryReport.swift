/// What one `SMTPClient.send` achieved: the message was accepted (250 after the final ".") for
/// `accepted`; `refused` lists the recipients the server turned down at RCPT TO, so the outbox can
/// mark them permanently failed (5yz) or retry them alone (4yz).
public struct SMTPDeliveryReport: Hashable, Sendable {
    public let accepted: [String]
    public let refused: [SMTPRecipientRefusal]

    public init(accepted: [String], refused: [SMTPRecipientRefusal]) {
        self.accepted = accepted
        self.refused = refused
    }
}

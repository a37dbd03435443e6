/// The step of an SMTP session (RFC 5321 section 3) an error belongs to.
public enum SMTPStage: String, Hashable, Sendable, CustomStringConvertible {
    case connect, greeting, ehlo, helo, starttls, auth
    case mailFrom = "MAIL FROM"
    case rcptTo = "RCPT TO"
    case data = "DATA"
    /// The reply to the final "." that ends the message content.
    case message
    case quit

    public var description: String { rawValue }
}

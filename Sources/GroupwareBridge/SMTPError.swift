/// Why an SMTP send failed, typed so the outbox can decide between "retry later" and "give up".
///
/// `isTransient` follows RFC 5321 section 4.2.1: 4yz replies are transient, 5yz replies permanent.
/// Network trouble (refused or dropped connection, timeouts, replies that make no sense) is
/// transient too; configuration trouble (TLS verification, rejected credentials, a server without
/// the required extension) is permanent until an administrator acts.
///
/// Descriptions never contain passwords or message content.
public enum SMTPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `SABHA_SMTP_URL` or another setting is unusable (scheme, port, query, missing CA file).
    case invalidConfiguration(String)
    /// An envelope address or the message itself cannot be sent (CR/LF in an address, empty recipient list).
    case invalidArgument(String)
    /// TCP connect failed or the connection dropped mid-session.
    case connectionFailed(String)
    /// The server did not answer within the connect or command timeout.
    case timeout(SMTPStage)
    /// STARTTLS was required but not offered, the handshake failed, or the certificate was not trusted.
    case tlsFailed(String)
    /// The server rejected the credentials permanently (535 and other 5yz replies to AUTH).
    case authRejected(code: Int, text: String)
    /// Credentials are configured but the server offers neither AUTH PLAIN nor AUTH LOGIN.
    case authUnavailable(String)
    /// The server sent something that is not an SMTP reply (RFC 5321 section 4.2).
    case protocolError(String)
    /// An unexpected reply at `stage`.
    case reply(code: Int, text: String, stage: SMTPStage)
    /// RCPT TO was refused for every recipient; nothing was sent.
    case allRecipientsRefused([SMTPRecipientRefusal])

    /// True when sending the same message again later may succeed.
    public var isTransient: Bool {
        switch self {
        case .connectionFailed, .timeout, .protocolError: true
        case .reply(let code, _, _): (400..<500).contains(code)
        case .allRecipientsRefused(let refusals): refusals.allSatisfy(\.isTransient)
        case .invalidConfiguration, .invalidArgument, .tlsFailed, .authRejected, .authUnavailable: false
        }
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): "SMTP configuration: \(why)"
        case .invalidArgument(let why): "SMTP: \(why)"
        case .connectionFailed(let why): "SMTP connection failed: \(why)"
        case .timeout(let stage): "SMTP server did not answer in time (\(stage))"
        case .tlsFailed(let why): "SMTP TLS failed: \(why)"
        case .authRejected(let code, let text): "SMTP authentication rejected: \(code) \(text)"
        case .authUnavailable(let why): "SMTP authentication unavailable: \(why)"
        case .protocolError(let why): "SMTP protocol error: \(why)"
        case .reply(let code, let text, let stage): "SMTP \(stage) failed: \(code) \(text)"
        case .allRecipientsRefused(let refusals):
            "SMTP: every recipient refused (" + refusals.map { "\($0.address): \($0.code)" }.joined(separator: ", ") + ")"
        }
    }
}

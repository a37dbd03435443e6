/// Why reading the mailbox failed, typed so the caller can decide between "poll again later" and "tell an
/// administrator".
///
/// Network trouble (refused or dropped connection, timeouts, a server that sends nonsense) is transient;
/// configuration trouble (bad URL, TLS verification, rejected credentials, a missing mailbox) is permanent
/// until someone acts. A command the server refuses is transient only with an RFC 5530 response code that
/// says so ([UNAVAILABLE], [INUSE], [LIMIT], [SERVERBUG]).
///
/// Descriptions never contain passwords or message content.
public enum IMAPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `SABHA_IMAP_URL` or another setting is unusable (scheme, port, query, missing CA file, no credentials).
    case invalidConfiguration(String)
    /// TCP connect failed, or the server greeted with BYE.
    case connectFailed(String)
    /// STARTTLS was refused, the handshake failed, or the certificate was not trusted.
    case tlsFailed(String)
    /// NO to LOGIN (or a server that forbids LOGIN): retrying with the same password will not help.
    case authenticationFailed(String)
    /// NO or BAD to `command` (EXAMINE of a mailbox that does not exist, say), with the server's text.
    case commandFailed(command: String, text: String)
    /// Bytes that are not an IMAP response (RFC 3501 section 7), or a line longer than the decoder allows.
    case malformedResponse(String)
    /// No answer within the connect or command timeout; the stage says where.
    case timeout(String)
    /// The server closed the connection before the session was done.
    case closed
    /// A literal (`{n}`) larger than the configured maximum, refused before it is buffered.
    case literalTooLarge(Int)

    /// True when the same call later may succeed.
    public var isTransient: Bool {
        switch self {
        case .connectFailed, .malformedResponse, .timeout, .closed: true
        case .commandFailed(_, let text):
            ["[UNAVAILABLE]", "[INUSE]", "[LIMIT]", "[SERVERBUG]"].contains { text.uppercased().hasPrefix($0) }
        case .invalidConfiguration, .tlsFailed, .authenticationFailed, .literalTooLarge: false
        }
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): "IMAP configuration: \(why)"
        case .connectFailed(let why): "IMAP connection failed: \(why)"
        case .tlsFailed(let why): "IMAP TLS failed: \(why)"
        case .authenticationFailed(let text): "IMAP login rejected: \(text)"
        case .commandFailed(let command, let text): "IMAP \(command) failed: \(text)"
        case .malformedResponse(let why): "IMAP protocol error: \(why)"
        case .timeout(let stage): "IMAP server did not answer in time (\(stage))"
        case .closed: "IMAP server closed the connection"
        case .literalTooLarge(let size): "IMAP literal of \(size) bytes is over the limit"
        }
    }
}

/// Where and how `IMAPClient` reads the mailbox that iMIP replies arrive in.
///
/// From `SABHA_IMAP_URL` (see `init(url:username:password:)`):
///
///     imap://[user[:password]@]host[:port][/MAILBOX][?starttls=required|off]
///     imaps://[user[:password]@]host[:port][/MAILBOX]
///
/// Defaults, chosen as for `SMTPConfiguration` so that a password never crosses the network in clear unless asked to:
/// - `imap://` with credentials: STARTTLS required (RFC 3501 section 6.2.1), port 143.
/// - `imap://` without credentials: no TLS, port 143 (only a PREAUTH server can be read that way).
/// - `imaps://`: TLS from the first byte (RFC 8314), port 993; `starttls` is not allowed.
/// - The mailbox is the percent-decoded path, "INBOX" when there is none. User and password are percent-decoded.
/// - Certificates are checked against the system trust store, or against `trustedCAFile` (PEM) alone when set.
/// - Timeouts: connect 10 s, each command 30 s (a whole message fetch included).
public struct IMAPConfiguration: Hashable, Sendable, CustomStringConvertible {
    public typealias Security = MailTransportSecurity

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var mailbox: String
    public var security: Security
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    /// PEM file of the CA certificates to trust instead of the system store (private CAs, tests).
    public var trustedCAFile: String?
    public var verifyHostname: Bool
    /// The largest literal the decoder buffers (a message body is one literal); larger ones end the session.
    /// A fetch whose `maximumSize` is larger raises it to that for its session.
    public var maximumLiteralSize: Int

    public init(
        host: String, port: Int? = nil, username: String? = nil, password: String? = nil, mailbox: String = "INBOX",
        security: Security? = nil, connectTimeout: Duration = .seconds(10), commandTimeout: Duration = .seconds(30),
        trustedCAFile: String? = nil, verifyHostname: Bool = true, maximumLiteralSize: Int = 4 << 20
    ) {
        let security = security ?? (username != nil ? .startTLS : .off)
        self.host = host
        self.port = port ?? Self.defaultPort(security)
        self.username = username
        self.password = password
        self.mailbox = mailbox
        self.security = security
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.trustedCAFile = trustedCAFile
        self.verifyHostname = verifyHostname
        self.maximumLiteralSize = maximumLiteralSize
    }

    /// Parses the `SABHA_IMAP_URL` form described on the type. `username` and `password`, when given (from
    /// `SABHA_IMAP_USER` / `SABHA_IMAP_PASSWORD`, which keep the secret out of the URL), replace those in the URL.
    public init(url: String, username: String? = nil, password: String? = nil) throws(IMAPError) {
        let parts: MailServerURL
        do {
            parts = try MailServerURL(url, plain: "imap", secure: "imaps", noPath: nil, decoded: "user, password or mailbox")
        } catch {
            throw .invalidConfiguration(error.reason)
        }
        let user = username ?? parts.username
        guard user.map({ !$0.isEmpty }) ?? true else { throw .invalidConfiguration("empty user name") }
        self.init(host: parts.host, port: parts.port, username: user, password: password ?? parts.password,
                  mailbox: parts.path ?? "INBOX", security: parts.tls)
    }

    public static func defaultPort(_ security: Security) -> Int {
        security == .implicitTLS ? 993 : 143
    }

    /// Without the password.
    public var description: String {
        let user = username.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        let scheme = security == .implicitTLS ? "imaps" : "imap"
        return "\(scheme)://\(user)\(host.contains(":") ? "[\(host)]" : host):\(port)/\(mailbox) (\(security.rawValue))"
    }
}

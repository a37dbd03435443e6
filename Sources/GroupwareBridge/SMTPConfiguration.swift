/// Where and how `SMTPClient` delivers mail.
///
/// From `SABHA_SMTP_URL` (see `init(url:)`):
///
///     smtp://[user[:password]@]host[:port][?starttls=required|off]
///     smtps://[user[:password]@]host[:port]
///
/// Defaults, chosen so that credentials never cross the network in clear unless asked to:
/// - `smtp://` with credentials: STARTTLS required, port 587 (message submission, RFC 6409).
/// - `smtp://` without credentials: no TLS, port 25 (a relay on a trusted network).
/// - `?starttls=required` without a port: port 587; `?starttls=off` without a port: port 25.
/// - `smtps://`: TLS from the first byte (RFC 8314), port 465; `starttls` is not allowed.
/// - User and password are percent-decoded (`p%40ss` is `p@ss`).
/// - Certificates are checked against the system trust store, or against `trustedCAFile` (PEM)
///   alone when set, and the host name (or IP address) must match; `verifyHostname = false`
///   exists for lab setups and should not be used in production.
/// - Timeouts: connect 10 s, each reply 30 s (the final "." of DATA included).
public struct SMTPConfiguration: Hashable, Sendable, CustomStringConvertible {
    public typealias Security = MailTransportSecurity

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    /// PEM file of the CA certificates to trust instead of the system store (private CAs, tests).
    public var trustedCAFile: String?
    public var verifyHostname: Bool
    /// The name sent in EHLO/HELO; RFC 5321 section 4.1.4 wants the client's FQDN or an address literal.
    public var heloName: String

    public init(
        host: String, port: Int? = nil, username: String? = nil, password: String? = nil,
        security: Security? = nil, connectTimeout: Duration = .seconds(10), commandTimeout: Duration = .seconds(30),
        trustedCAFile: String? = nil, verifyHostname: Bool = true, heloName: String = "localhost"
    ) {
        let security = security ?? (username != nil ? .startTLS : .off)
        self.host = host
        self.port = port ?? Self.defaultPort(security)
        self.username = username
        self.password = password
        self.security = security
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.trustedCAFile = trustedCAFile
        self.verifyHostname = verifyHostname
        self.heloName = heloName
    }

    /// Parses the `SABHA_SMTP_URL` form described on the type.
    public init(url: String) throws(SMTPError) {
        let parts: MailServerURL
        do {
            parts = try MailServerURL(url, plain: "smtp", secure: "smtps", noPath: "an SMTP URL has no path", decoded: "user or password")
        } catch {
            throw .invalidConfiguration(error.reason)
        }
        self.init(host: parts.host, port: parts.port, username: parts.username, password: parts.password,
                  security: parts.tls)
    }

    public static func defaultPort(_ security: Security) -> Int {
        switch security {
        case .off: 25
        case .startTLS: 587
        case .implicitTLS: 465
        }
    }

    /// Without the password.
    public var description: String {
        let user = username.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        return "smtp://\(user)\(host.contains(":") ? "[\(host)]" : host):\(port) (\(security.rawValue))"
    }
}

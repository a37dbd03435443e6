/// How a connection to a mail server is secured: one type for SMTP and IMAP (`SMTPConfiguration.Security`,
/// `IMAPConfiguration.Security`) and for what a `MailServerURL` says.
public enum MailTransportSecurity: String, Hashable, Sendable {
    /// Plain TCP; STARTTLS is not attempted, even when offered.
    case off
    /// STARTTLS (SMTP: RFC 3207; IMAP: RFC 3501 section 6.2.1) must succeed before authenticating (AUTH, LOGIN) or
    /// sending mail; a server without it is an error, never a fallback to clear text.
    case startTLS
    /// Implicit TLS from connect (`smtps://`, `imaps://`; RFC 8314 section 3.3).
    case implicitTLS
}

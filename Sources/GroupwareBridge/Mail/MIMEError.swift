/// Why a mail could not be read as MIME (RFC 2045, RFC 2046). Descriptions say what and where, never the content.
public enum MIMEError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The structure is broken: a multipart without a boundary, bad base64, ...
    case malformed(String)
    /// Deeper nesting or more parts than `MIMEEntity.Limits` allow.
    case limitExceeded(String)
    /// A charset or transfer encoding this reader does not know.
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed MIME: \(why)"
        case .limitExceeded(let why): "MIME limit exceeded: \(why)"
        case .unsupported(let why): "unsupported MIME: \(why)"
        }
    }
}

/// Why a CalDAV request failed, typed so the meeting sync can decide between "retry later",
/// "re-read and merge" (`preconditionFailed`), "resynchronise from scratch" (`syncTokenInvalid`)
/// and "an administrator must act".
///
/// Descriptions never contain passwords or calendar content; `http` carries at most a short,
/// single-line excerpt of the server's error body.
public enum CalDAVError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The collection URL (or a resource name or href) cannot be used.
    case invalidURL(String)
    /// 412: If-Match or If-None-Match did not hold; someone else changed the resource.
    case preconditionFailed
    /// 404 where the resource or collection must exist.
    case notFound
    /// 401 or 403: wrong credentials or no access to the collection.
    case unauthorized
    /// The sync token is no longer valid (RFC 6578 section 3.2, DAV:valid-sync-token); sync again without one.
    case syncTokenInvalid
    /// Any other unexpected status.
    case http(status: Int, detail: String)
    /// Connecting, sending or receiving failed, or the request timed out.
    case transport(String)
    /// The server answered, but not with something this client understands (or too much of it).
    case badResponse(String)

    /// True when the same request may succeed later: network trouble, 5xx, 408 and 429.
    /// Client errors and responses this client cannot read stay broken until something changes.
    public var isTransient: Bool {
        switch self {
        case .transport: true
        case .http(let status, _): status >= 500 || status == 408 || status == 429
        case .invalidURL, .preconditionFailed, .notFound, .unauthorized, .syncTokenInvalid, .badResponse: false
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let why): "CalDAV: invalid URL: \(why)"
        case .preconditionFailed: "CalDAV: precondition failed (the resource changed on the server)"
        case .notFound: "CalDAV: not found"
        case .unauthorized: "CalDAV: unauthorized (check the user name, password and access rights)"
        case .syncTokenInvalid: "CalDAV: the sync token is no longer valid"
        case .http(let status, let detail): "CalDAV: HTTP \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        case .transport(let why): "CalDAV: transport failed: \(why)"
        case .badResponse(let why): "CalDAV: bad response: \(why)"
        }
    }
}

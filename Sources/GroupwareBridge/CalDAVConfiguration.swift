import Foundation

/// Which calendar collection `CalDAVClient` works on, and as whom.
///
/// The collection URL is an absolute http(s) URL without query, fragment or credentials; it is
/// normalised to end with "/" (a collection, RFC 4918 section 5.2). User and password go in their
/// own fields so that the URL can be logged; Basic auth is sent only when a user name is set.
public struct CalDAVConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// E.g. `http://127.0.0.1:5232/alice/calendar/`.
    public var collectionURL: String
    public var username: String?
    public var password: String?
    /// Upper bound for one request, connect to last body byte.
    public var timeout: Duration

    public init(collectionURL: String, username: String?, password: String?, timeout: Duration = .seconds(15))
        throws(CalDAVError)
    {
        let endpoint = try Endpoint(collectionURL)
        self.collectionURL = endpoint.collectionURL
        self.username = username
        self.password = password
        self.timeout = timeout
    }

    /// The URL and user, never the password.
    public var description: String {
        "CalDAVConfiguration(\(collectionURL), user: \(username ?? "-"), password: \(password == nil ? "none" : "set"), timeout: \(timeout))"
    }

    /// The collection URL split the way requests need it.
    struct Endpoint: Sendable, Hashable {
        /// `scheme://authority`, the prefix of every request URL.
        var origin: String
        /// Percent-encoded, starting and ending with "/".
        var path: String

        var collectionURL: String { origin + path }

        init(_ url: String) throws(CalDAVError) {
            let trimmed = url.trimmingCharacters(in: .whitespaces)
            guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
                  scheme == "http" || scheme == "https"
            else { throw .invalidURL("'\(Self.redacted(trimmed))' is not an absolute http(s) URL") }
            guard let host = components.host, !host.isEmpty else { throw .invalidURL("'\(Self.redacted(trimmed))' has no host") }
            guard components.user == nil, components.password == nil else {
                throw .invalidURL("put the credentials in username/password, not in the URL '\(Self.redacted(trimmed))'")
            }
            guard components.query == nil, components.fragment == nil else {
                throw .invalidURL("'\(trimmed)' has a query or fragment")
            }
            guard trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw .invalidURL("'\(trimmed)' contains spaces, control or non-ASCII characters (percent-encode them)")
            }
            // The authority exactly as written (keeps IPv6 brackets and an explicit port).
            let afterScheme = trimmed[trimmed.index(trimmed.startIndex, offsetBy: scheme.count + 3)...]
            let authority = afterScheme.prefix { $0 != "/" }
            var path = components.percentEncodedPath
            if !path.hasPrefix("/") { path = "/" + path }
            if !path.hasSuffix("/") { path += "/" }
            origin = scheme + "://" + authority
            self.path = path
        }

        /// The URL with any userinfo cut out, for error messages.
        static func redacted(_ url: String) -> String {
            guard let schemeEnd = url.firstRange(of: "://") else { return url }
            let rest = url[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
            return String(url[..<schemeEnd.upperBound]) + "…@" + rest[rest.index(after: at)...]
        }
    }
}

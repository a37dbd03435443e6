import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Reads and writes the events of one CalDAV calendar collection (RFC 4791) over async-http-client:
/// conditional PUT/DELETE on ETags, GET, collection tags (ctag, sync-token), the sync-collection
/// report (RFC 6578), a Depth 1 PROPFIND listing for servers without it, and calendar-multiget.
///
/// Resources are named either relative to the collection (`m-abc.ics`) or by the href the server
/// reported (`/alice/calendar/m-abc.ics`, or a full URL on the same origin). Hrefs in results are
/// the server's, percent-encoding untouched, and can be passed back as they are. ETags are kept
/// exactly as sent, quotes included, and go back unchanged in If-Match.
///
/// Every request, connect to last body byte, is bounded by `configuration.timeout`; response
/// bodies over 16 MiB are refused. Each request is logged at debug (method, path, status),
/// never with credentials or calendar content.
public final class CalDAVClient: Sendable {
    public let configuration: CalDAVConfiguration
    private let endpoint: Result<CalDAVConfiguration.Endpoint, CalDAVError>
    private let httpClient: HTTPClient
    private let logger: Logger
    private let authorization: String?

    static let maximumResponseBytes = CalDAVMultistatus.defaultMaximumBytes
    /// Hrefs per calendar-multiget, so a response stays far below the body limit.
    static let multigetBatch = 100
    /// Rounds of a truncated sync-collection report (RFC 6578 section 3.6) before giving up.
    static let maximumSyncRounds = 64

    /// An HTTP client for a server that must not hold up its caller when the CalDAV server is down: a refused
    /// connection fails at once instead of being retried until the request's deadline (the outbox retries with
    /// its own backoff), and connecting gives up after `connectTimeout`. Shut it down when done.
    public static func makeHTTPClient(connectTimeout: TimeAmount = .seconds(5)) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = connectTimeout
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public init(
        configuration: CalDAVConfiguration, httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "sabha.groupware.caldav")
    ) {
        self.configuration = configuration
        // The fields are public and mutable, so check the URL again rather than trust it.
        endpoint = Result { () throws(CalDAVError) in try CalDAVConfiguration.Endpoint(configuration.collectionURL) }
        self.httpClient = httpClient
        var logger = logger
        logger[metadataKey: "caldav.collection"] = "\(configuration.collectionURL)"
        self.logger = logger
        if let username = configuration.username {
            let credentials = Data("\(username):\(configuration.password ?? "")".utf8).base64EncodedString()
            authorization = "Basic \(credentials)"
        } else {
            authorization = nil
        }
    }

    // MARK: single resources

    /// Stores `ics` at `resource` if `condition` holds; returns the new ETag when the server sent one
    /// (servers that change the data on write leave it out, RFC 4791 section 5.3.4).
    @discardableResult
    public func put(_ ics: String, resource: String, condition: CalDAVWriteCondition) async throws(CalDAVError) -> String? {
        var headers = [("Content-Type", "text/calendar; charset=utf-8")]
        switch condition {
        case .create: headers.append(("If-None-Match", "*"))
        case .replace(let etag): headers.append(("If-Match", try Self.checkedETag(etag)))
        case .any: break
        }
        let reply = try await send("PUT", try target(resource), headers: headers, body: ics)
        switch reply.status {
        case 200, 201, 204: return reply.etag
        default: throw Self.failure(reply)
        }
    }

    /// The resource with its ETag, or nil when there is none (404, 410).
    public func get(_ resource: String) async throws(CalDAVError) -> CalDAVResource? {
        let target = try target(resource)
        let reply = try await send("GET", target, headers: [("Accept", "text/calendar")])
        switch reply.status {
        case 200:
            guard let body = String(validating: reply.body.readableBytesView, as: UTF8.self) else {
                throw .badResponse("GET \(target.path): body is not UTF-8")
            }
            return CalDAVResource(href: target.path, etag: reply.etag, body: body)
        case 404, 410:
            return nil
        default:
            throw Self.failure(reply)
        }
    }

    /// Deletes the resource, only if it still has `etag` when one is given. A resource that is
    /// already gone counts as deleted; a changed one throws `preconditionFailed`.
    public func delete(_ resource: String, ifMatch etag: String?) async throws(CalDAVError) {
        var headers: [(String, String)] = []
        if let etag { headers.append(("If-Match", try Self.checkedETag(etag))) }
        let reply = try await send("DELETE", try target(resource), headers: headers)
        switch reply.status {
        case 200, 202, 204, 404, 410: return
        default: throw Self.failure(reply)
        }
    }

    // MARK: the collection

    /// Creates the collection as a calendar (MKCALENDAR, RFC 4791 section 5.3.1). Returns false when
    /// it already exists as a calendar, so operators and tests can call it unconditionally.
    @discardableResult
    public func makeCalendar(displayName: String? = nil) async throws(CalDAVError) -> Bool {
        let collection = try target(nil)
        var body: String?
        if let displayName {
            body = """
                <?xml version="1.0" encoding="utf-8"?>
                <c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>\
                <d:displayname>\(Self.xmlEscaped(displayName))</d:displayname></d:prop></d:set></c:mkcalendar>
                """
        }
        let reply = try await send("MKCALENDAR", collection, headers: Self.xmlContent, body: body)
        switch reply.status {
        case 200, 201:
            return true
        case 405, 409:  // RFC 4918 section 9.3.1: something exists there already; fine if it is a calendar
            let multistatus = try await propfind(depth: 0, properties: "<d:resourcetype/>")
            let types = multistatus.responses.first(where: isCollection)?.property(.resourceType)?.children ?? []
            guard types.contains(.calendar) else { throw Self.failure(reply) }
            return false
        default:
            throw Self.failure(reply)
        }
    }

    /// The collection's CS:getctag (changes with every write; calendarserver.org ctag extension) and
    /// DAV:sync-token (RFC 6578 section 4), each nil when the server does not offer it.
    public func collectionTag() async throws(CalDAVError) -> (ctag: String?, syncToken: String?) {
        let multistatus = try await propfind(depth: 0, properties: "<cs:getctag/><d:sync-token/>")
        guard let response = multistatus.responses.first(where: isCollection) ?? multistatus.responses.first else {
            throw .badResponse("PROPFIND of the collection returned no response")
        }
        return (response.value(.getCTag), response.value(.syncToken))
    }

    /// The members changed and removed since `token` (nil: all members, as changes), with the token
    /// for next time: REPORT DAV:sync-collection, sync-level 1, DAV:getetag (RFC 6578 section 3).
    /// A token the server no longer accepts throws `syncTokenInvalid`: start again with nil. A
    /// truncated report (507 on the collection, section 3.6) is continued until complete.
    public func syncCollection(since token: String?) async throws(CalDAVError) -> CalDAVSyncResult {
        var token = token
        var result = CalDAVSyncResult(token: token ?? "", changed: [:], removed: [])
        for _ in 0..<Self.maximumSyncRounds {
            let tokenElement = token.map { "<d:sync-token>\(Self.xmlEscaped($0))</d:sync-token>" } ?? "<d:sync-token/>"
            let body = """
                <?xml version="1.0" encoding="utf-8"?>
                <d:sync-collection xmlns:d="DAV:">\(tokenElement)<d:sync-level>1</d:sync-level>\
                <d:prop><d:getetag/></d:prop></d:sync-collection>
                """
            let reply = try await send("REPORT", try target(nil), headers: Self.xmlContent + [("Depth", "1")], body: body)
            switch reply.status {
            case 207:
                break
            case 403, 409:  // RFC 6578 section 3.2: the precondition names the reason
                let invalidToken = reply.body.readableBytesView.firstRange(of: Array("valid-sync-token".utf8)) != nil
                throw invalidToken ? .syncTokenInvalid : Self.failure(reply)
            default:
                throw Self.failure(reply)
            }
            let multistatus = try CalDAVMultistatus(parsing: reply.body.readableBytesView)
            guard let next = multistatus.syncToken, !next.isEmpty else {
                throw .badResponse("sync-collection report without a DAV:sync-token")
            }
            var truncated = false
            for response in multistatus.responses {
                guard let href = response.href else { continue }
                if isCollection(response) {
                    truncated = truncated || response.status == 507
                    continue
                }
                if response.status == 404 {
                    result.changed[href] = nil
                    if !result.removed.contains(href) { result.removed.append(href) }
                } else if let etag = response.value(.getETag) {
                    result.changed[href] = etag
                    result.removed.removeAll { $0 == href }
                } else {
                    logger.debug("caldav sync member without an etag", metadata: ["caldav.href": "\(href)"])
                }
            }
            result.token = next
            guard truncated else { return result }
            token = next
        }
        throw .badResponse("sync-collection report still truncated after \(Self.maximumSyncRounds) rounds")
    }

    /// Href → ETag of every member that is not itself a collection (PROPFIND Depth 1): the fallback
    /// for servers without sync-collection, compared against the previous listing.
    public func listEvents() async throws(CalDAVError) -> [String: String] {
        let multistatus = try await propfind(depth: 1, properties: "<d:getetag/><d:resourcetype/>")
        var events: [String: String] = [:]
        for response in multistatus.responses {
            guard let href = response.href, !isCollection(response),
                  response.property(.resourceType)?.children.contains(.collection) != true,
                  let etag = response.value(.getETag)
            else { continue }
            events[href] = etag
        }
        return events
    }

    /// Bodies and ETags of the given members (REPORT calendar-multiget, RFC 4791 section 7.9), in
    /// the server's order; hrefs the server does not know are left out.
    ///
    /// calendar-data travels inside XML, whose parsers turn CRLF into LF (XML 1.0 section 2.11);
    /// the line ends are put back to CRLF, as iCalendar wants and as GET returns them.
    public func fetch(_ hrefs: [String]) async throws(CalDAVError) -> [CalDAVResource] {
        var resources: [CalDAVResource] = []
        var start = 0
        while start < hrefs.count {
            let batch = hrefs[start..<min(start + Self.multigetBatch, hrefs.count)]
            start += batch.count
            var elements = ""
            for href in batch { elements += "<d:href>\(Self.xmlEscaped(try target(href).path))</d:href>" }
            let body = """
                <?xml version="1.0" encoding="utf-8"?>
                <c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">\
                <d:prop><d:getetag/><c:calendar-data/></d:prop>\(elements)</c:calendar-multiget>
                """
            let reply = try await send("REPORT", try target(nil), headers: Self.xmlContent + [("Depth", "1")], body: body)
            guard reply.status == 207 else { throw Self.failure(reply) }
            let multistatus = try CalDAVMultistatus(parsing: reply.body.readableBytesView)
            for response in multistatus.responses {
                guard let href = response.href, let data = response.property(.calendarData)?.text else { continue }
                resources.append(CalDAVResource(href: href, etag: response.value(.getETag), body: Self.crlf(data)))
            }
        }
        return resources
    }

    // MARK: requests

    /// Where a request goes: the full URL, and the path for logs and results.
    struct Target: Sendable {
        var url: String
        var path: String
    }

    struct Reply: Sendable {
        var method: String
        var path: String
        var status: Int
        var etag: String?
        var body: ByteBuffer
    }

    private static let xmlContent = [("Content-Type", "application/xml; charset=utf-8")]

    /// `resource` nil is the collection itself.
    func target(_ resource: String?) throws(CalDAVError) -> Target {
        let endpoint = try endpoint.get()
        guard let resource else { return Target(url: endpoint.collectionURL, path: endpoint.path) }
        let path = try Self.path(of: resource, in: endpoint)
        return Target(url: endpoint.origin + path, path: path)
    }

    /// The percent-encoded path of a resource name, an absolute path or a same-origin URL.
    static func path(of resource: String, in endpoint: CalDAVConfiguration.Endpoint) throws(CalDAVError) -> String {
        let lowercased = resource.lowercased()
        if lowercased.hasPrefix("http://") || lowercased.hasPrefix("https://") {
            let origin = endpoint.origin.lowercased()
            guard lowercased.hasPrefix(origin),
                  lowercased.dropFirst(origin.count).first == "/"
            else {
                // Never send the collection's credentials to another origin.
                throw .invalidURL("href '\(resource.prefix(200))' is not on \(endpoint.origin)")
            }
            return try checkedPath(String(resource.dropFirst(origin.count)))
        }
        if resource.hasPrefix("/") { return try checkedPath(resource) }
        guard !resource.isEmpty, resource != ".", resource != "..", !resource.contains("/") else {
            throw .invalidURL("resource name '\(resource.prefix(200))' is not a single path segment")
        }
        return endpoint.path + percentEncodedSegment(resource)
    }

    /// An href path must already be in URL form: printable ASCII, no query or fragment.
    private static func checkedPath(_ path: String) throws(CalDAVError) -> String {
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }) else {
            throw .invalidURL("href '\(path.prefix(200))' is not a percent-encoded path")
        }
        return path
    }

    /// A name already in URL form (pchar and valid %XX escapes, e.g. the last segment of an href)
    /// stays as it is; any other name is percent-encoded byte by byte, "%" included.
    static func percentEncodedSegment(_ name: String) -> String {
        let bytes = Array(name.utf8)
        func isPChar(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                Array("-._~!$&'()*+,;=:@".utf8).contains(byte)
            }
        }
        func isHex(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66) }
        var alreadyEncoded = true
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else {
                    alreadyEncoded = false
                    break
                }
                index += 3
            } else if isPChar(bytes[index]) {
                index += 1
            } else {
                alreadyEncoded = false
                break
            }
        }
        if alreadyEncoded { return name }
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for byte in bytes {
            if isPChar(byte) {
                encoded.append(byte)
            } else {
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// True when the response is about the collection itself (compared percent-decoded, since
    /// servers differ in what they escape).
    private func isCollection(_ response: CalDAVMultistatus.Response) -> Bool {
        guard let href = response.href, let endpoint = try? endpoint.get() else { return false }
        var path = href
        if let schemeEnd = href.firstRange(of: "://") {
            let rest = href[schemeEnd.upperBound...]
            path = String(rest[(rest.firstIndex(of: "/") ?? rest.endIndex)...])
        }
        func normalised(_ path: String) -> String {
            let decoded = path.removingPercentEncoding ?? path
            return decoded.hasSuffix("/") ? decoded : decoded + "/"
        }
        return normalised(path) == normalised(endpoint.path)
    }

    private func propfind(depth: Int, properties: String) async throws(CalDAVError) -> CalDAVMultistatus {
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/" xmlns:c="urn:ietf:params:xml:ns:caldav">\
            <d:prop>\(properties)</d:prop></d:propfind>
            """
        let reply = try await send("PROPFIND", try target(nil), headers: Self.xmlContent + [("Depth", "\(depth)")], body: body)
        guard reply.status == 207 else { throw Self.failure(reply) }
        return try CalDAVMultistatus(parsing: reply.body.readableBytesView)
    }

    /// One exchange, raced against `configuration.timeout` (async-http-client's own deadline ends
    /// with the response head; the body must be bounded as well).
    private func send(_ method: String, _ target: Target, headers: [(String, String)], body: String? = nil)
        async throws(CalDAVError) -> Reply
    {
        var request = HTTPClientRequest(url: target.url)
        request.method = .init(rawValue: method)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            let buffer = ByteBuffer(string: body)
            request.body = .bytes(buffer)
        }
        let timeout = configuration.timeout
        let httpClient = self.httpClient
        let prepared = request
        let start = ContinuousClock.now
        do {
            let reply = try await withThrowingTaskGroup(of: Reply?.self) { group in
                group.addTask {
                    let response = try await httpClient.execute(prepared, timeout: TimeAmount(timeout))
                    let body = try await response.body.collect(upTo: Self.maximumResponseBytes)
                    return Reply(
                        method: method, path: target.path, status: Int(response.status.code),
                        etag: response.headers.first(name: "ETag"), body: body)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let reply = first else {
                    throw CalDAVError.transport("no complete response within \(timeout)")
                }
                return reply
            }
            logger.debug(
                "caldav request",
                metadata: [
                    "caldav.method": "\(method)", "caldav.path": "\(target.path)", "caldav.status": "\(reply.status)",
                    "caldav.ms": "\(Int((ContinuousClock.now - start) / .milliseconds(1)))",
                ])
            return reply
        } catch {
            let failure: CalDAVError
            switch error {
            case let error as CalDAVError: failure = error
            case is NIOTooManyBytesError: failure = .badResponse("response body exceeds \(Self.maximumResponseBytes) bytes")
            case is CancellationError: failure = .transport("cancelled")
            default: failure = .transport(String(describing: error))
            }
            logger.debug(
                "caldav request failed",
                metadata: ["caldav.method": "\(method)", "caldav.path": "\(target.path)", "error": "\(failure)"])
            throw failure
        }
    }

    // MARK: helpers

    /// The error for a status this call did not expect.
    static func failure(_ reply: Reply) -> CalDAVError {
        switch reply.status {
        case 401, 403: return .unauthorized
        case 404, 410: return .notFound
        case 412: return .preconditionFailed
        default:
            // One short line: control characters and runs of whitespace become single spaces.
            let text = String(decoding: reply.body.readableBytesView.prefix(512), as: UTF8.self)
            let detail = text.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F })
                .map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
            return .http(status: reply.status, detail: "\(reply.method) \(reply.path): " + String(detail.prefix(200)))
        }
    }

    /// An ETag goes into a header line; one that could break it cannot match any resource either.
    private static func checkedETag(_ etag: String) throws(CalDAVError) -> String {
        guard !etag.isEmpty, etag.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { throw .preconditionFailed }
        return etag
    }

    static func xmlEscaped(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Every line end as CRLF (bare LF and bare CR included).
    static func crlf(_ text: String) -> String {
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + text.utf8.count / 32)
        var previous: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case lf where previous == cr: break  // written with the CR
            case lf, cr: bytes += [cr, lf]
            default: bytes.append(byte)
            }
            previous = byte
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

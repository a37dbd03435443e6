import HTTPTypes
import Hummingbird

/// Puts the browser-hardening headers on every response, pages, API answers, problems and 404s alike: a
/// Content-Security-Policy that runs only this server's own script files (no inline script or handlers, so no
/// `javascript:` navigation either), talks only to this server and may not be framed; no MIME sniffing; no Referer
/// (a page's address may carry a join token).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// `Strict-Transport-Security`, sent when the server itself speaks TLS.
    var strictTransportSecurity: String?
    /// In a cluster: the other nodes' WebSocket origins (`RoomPlacement.webSocketOrigins`), where a meeting page is
    /// sent to the node holding its meeting.
    var clusterOrigins: (@Sendable () -> [String])? = nil

    /// `connect-src 'self'` covers same-origin WebSockets in current browsers; the explicit ws/wss source for the
    /// requested host keeps older Safari working; `others` are the cluster's nodes' WebSocket origins (`ws://` or
    /// `wss://`, as their public URLs say). `img-src data:` is for the empty favicon of the meeting page.
    static func contentSecurityPolicy(host: String?, others: [String] = []) -> String {
        var connect = "'self'"
        if let host, isPlainHost(host) { connect += " ws://\(host) wss://\(host)" }
        for origin in others {
            let parts = origin.split(separator: "://", maxSplits: 1)
            guard parts.count == 2, parts[0] == "ws" || parts[0] == "wss", isPlainHost(String(parts[1])) else { continue }
            connect += " " + origin
        }
        return [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src \(connect)",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// A Host header fit to go into the policy: host name or address and port, nothing a policy would parse.
    static func isPlainHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255 && host.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                true
            default:
                false
            }
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        let policy = Self.contentSecurityPolicy(host: request.head.authority, others: clusterOrigins?() ?? [])
        response.headers[.contentSecurityPolicy] = policy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.frameOptions] = "DENY"
        response.headers[Self.referrerPolicy] = "no-referrer"
        response.headers[Self.permissionsPolicy] = "camera=(self), microphone=(self), display-capture=(self), geolocation=()"
        response.headers[Self.openerPolicy] = "same-origin"
        if let strictTransportSecurity { response.headers[.strictTransportSecurity] = strictTransportSecurity }
        return response
    }

    static var frameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    static var permissionsPolicy: HTTPField.Name { HTTPField.Name("Permissions-Policy")! }
    static var openerPolicy: HTTPField.Name { HTTPField.Name("Cross-Origin-Opener-Policy")! }
}

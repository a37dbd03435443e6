import HTTPTypes
import Hummingbird

/// While the server drains, new WHIP and WHEP sessions are refused with 503 and a `Retry-After` (RFC 9110 §10.2.3),
/// so a client tries again once the server is back, or a load balancer sends it elsewhere. Sessions already open, and
/// everything else (pages, the admin API, DELETE of a session), go on as before.
struct DrainMiddleware<Context: RequestContext>: RouterMiddleware {
    let drain: ServerDrain

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let retryAfter = drain.retryAfter,
              request.uri.path.hasPrefix("/whip/") || request.uri.path.hasPrefix("/whep/") else {
            return try await next(request, context)
        }
        throw Problem(status: 503, code: "server-shutdown", title: "Server restarting",
                      detail: "This server is shutting down and takes no new sessions; try again in \(retryAfter) s.",
                      headers: [.retryAfter: "\(retryAfter)"])
    }
}

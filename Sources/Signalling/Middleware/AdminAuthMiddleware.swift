import Hummingbird
import Logging

/// Lets a request through to the admin API only with `Authorization: Bearer <admin key>`; otherwise refuses with
/// 401 and a problem (`admin-key-missing`, `admin-key-invalid`) that names the realm in `WWW-Authenticate`.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: AdminKey

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            try key.authorize(request.headers[.authorization])
        } catch {
            context.logger.info("admin request refused", metadata: ["path": "\(request.uri.path)", "reason": "\(error.code)"])
            var refusal = error
            refusal.headers[.wwwAuthenticate] = "Bearer realm=\"sabha-admin\""
            throw refusal
        }
        return try await next(request, context)
    }
}

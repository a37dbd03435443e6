import Hummingbird
import Logging

/// Lets a request through to the admin API only with `Authorization: Bearer <admin key>`; otherwise answers
/// 401 with a problem (`admin-key-missing`, `admin-key-invalid`).
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: AdminKey

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            try key.authorize(request.headers[.authorization])
        } catch {
            context.logger.info("admin request refused", metadata: ["path": "\(request.uri.path)", "reason": "\(error.code)"])
            return error.response(extraHeaders: [.wwwAuthenticate: "Bearer realm=\"sabha-admin\""])
        }
        return try await next(request, context)
    }
}

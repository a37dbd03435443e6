import Hummingbird
import Logging

/// Logs every refusal a handler throws as a `Problem`, then lets it go on up to become its response: at error
/// level when it is the server's fault (5xx), at debug level otherwise (a refusal is the client's business, and
/// where one matters, as a bad token, its handler logs it at info with its reason).
struct ProblemLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            Self.log(problem, request: request, logger: context.logger)
            throw problem
        }
    }

    static func log(_ problem: Problem, request: Request, logger: Logger) {
        if problem.statusCode >= 500 {
            logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)",
                                                      "problem": "\(problem.code)", "detail": "\(problem.detail)"])
        } else {
            logger.debug("request refused", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)",
                                                       "status": "\(problem.statusCode)", "problem": "\(problem.code)"])
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem detail: every refusal says what went wrong and what to do, as JSON.
///
/// Handlers throw it; as an `HTTPResponseError` it becomes its own response wherever it is caught (the security
/// headers middleware, else Hummingbird), after `ProblemLogMiddleware` has logged it.
public struct Problem: Error, Sendable, Codable, Equatable {
    public var type: String
    public var title: String
    /// The HTTP status, also in the body as `status` (RFC 9457 §3.1.2).
    public var statusCode: Int
    public var detail: String
    /// Short machine-readable reason, stable across versions ("token-expired", "sdp-invalid", ...).
    public var code: String
    /// Extra response headers (`WWW-Authenticate` on a 401, `Allow` on a 405); not part of the body.
    public var headers: HTTPFields = [:]

    enum CodingKeys: String, CodingKey {
        case type, title, statusCode = "status", detail, code
    }

    public init(status: Int, code: String, title: String, detail: String, headers: HTTPFields = [:]) {
        self.type = "urn:sabha:problem:\(code)"
        self.title = title
        self.statusCode = status
        self.detail = detail
        self.code = code
        self.headers = headers
    }

    /// The problem as a response: `application/problem+json` with keys sorted, and its extra headers.
    public func response() -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(self)) ?? Data("{\"status\":\(statusCode)}".utf8)
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Problem: HTTPResponseError {
    public var status: HTTPResponse.Status { .init(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }
}

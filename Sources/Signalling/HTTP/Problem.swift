import Foundation
import Hummingbird
import Logging

/// An RFC 9457 problem detail: every refusal says what went wrong and what to do, as JSON.
public struct Problem: Error, Sendable, Codable, Equatable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    /// Short machine-readable reason, stable across versions ("token-expired", "sdp-invalid", ...).
    public var code: String

    public init(status: Int, code: String, title: String, detail: String) {
        self.type = "urn:sabha:problem:\(code)"
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
    }

    public func response(extraHeaders: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(self)) ?? Data("{\"status\":\(status)}".utf8)
        var headers = extraHeaders
        headers[.contentType] = "application/problem+json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Problem {
    /// Runs a handler whose refusals are problems: a refusal becomes its problem response, logged at error
    /// level when it is the server's fault (5xx) and at debug level otherwise.
    static func respond(_ request: Request, logger: Logger, _ body: () async throws(Problem) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            if error.status >= 500 {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "problem": "\(error.code)", "detail": "\(error.detail)"])
            } else {
                logger.debug("request refused", metadata: ["path": "\(request.uri.path)", "status": "\(error.status)", "problem": "\(error.code)"])
            }
            return error.response()
        }
    }
}

/// Start-up and configuration failures, printed to the operator.
public enum SignallingError: Error, CustomStringConvertible {
    case configuration(String)
    public var description: String {
        switch self {
        case .configuration(let s): return s
        }
    }
}

import Foundation
import Hummingbird

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

/// Start-up and configuration failures, printed to the operator.
public enum SignallingError: Error, CustomStringConvertible {
    case configuration(String)
    public var description: String {
        switch self {
        case .configuration(let s): return s
        }
    }
}

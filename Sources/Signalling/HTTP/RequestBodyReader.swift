import Foundation
import Hummingbird

/// The one way a request body is read, for the admin API, `/api/meetings` and WHIP/WHEP: the content type first
/// (where the route wants one), then the size (by Content-Length before anything is read, and while reading, for
/// chunked bodies), then the bytes as text or JSON. Every failure is a problem document; a refusal by size is
/// counted where the route counts them (`sabha_limit_refusals_total`).
struct RequestBodyReader: Sendable {
    /// The media type a route wants, and how its 415 refusal names the body.
    struct ExpectedType: Sendable {
        /// Without parameters, lower case: "application/sdp".
        var mediaType: String
        /// The problem's title: "SDP offer expected".
        var title: String
        /// What the body is, in the problem's detail: "the offer".
        var what: String
    }

    /// Largest body accepted, in bytes.
    let maximumSize: Int
    /// The 413 refusal of a larger body.
    let tooLarge: Problem
    /// nil takes a body of any type.
    var expected: ExpectedType?
    /// Counts a refusal by size.
    var refusedForSize: @Sendable () -> Void = {}

    /// The body's bytes, after the type and size checks.
    func bytes(of request: Request) async throws(Problem) -> ByteBuffer {
        if let expected {
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == expected.mediaType else {
                throw Problem(status: 415, code: "unsupported-media-type", title: expected.title,
                              detail: "Send \(expected.what) with 'Content-Type: \(expected.mediaType)' (got '\(contentType.isEmpty ? "none" : contentType)').")
            }
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumSize {
            refusedForSize()
            throw tooLarge
        }
        var request = request
        do {
            return try await request.collectBody(upTo: maximumSize)
        } catch {
            refusedForSize()
            throw tooLarge
        }
    }

    /// The body as UTF-8 text; `notText` when it is not.
    func text(of request: Request, notText: Problem) async throws(Problem) -> String {
        let body = try await bytes(of: request)
        guard let text = body.getString(at: body.readerIndex, length: body.readableBytes) else { throw notText }
        return text
    }

    /// The body as JSON; an empty body is `empty` when given. A body that is not the JSON expected is refused with
    /// 400 `bad-json`, saying which field is wrong.
    func json<T: Decodable>(_ type: T.Type, of request: Request, decoder: JSONDecoder, empty: T?) async throws(Problem) -> T {
        let body = try await bytes(of: request)
        if body.readableBytes == 0, let empty { return empty }
        do {
            return try decoder.decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw Problem(status: 400, code: "bad-json", title: "Bad JSON", detail: Self.describe(error))
        }
    }

    /// A decoding error in words an operator can act on ("missing field 'participants[0].role'").
    static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "the body" : "'\(text)'"
        }
        guard let error = error as? DecodingError else { return "The body is not valid JSON: \(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) should be \(jsonType(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) should be \(jsonType(type)), not null"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "The body is not valid JSON: \(underlying ?? context.debugDescription)"
        @unknown default:
            return "The body is not valid JSON."
        }
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") ? "an array" : (name.hasPrefix("Dictionary") || name.contains("KeyedDecodingContainer") ? "an object" : "a \(name)")
        }
    }
}

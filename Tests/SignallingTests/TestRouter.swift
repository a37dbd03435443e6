import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
@testable import Signalling

/// Drives routes and middleware in process, as `app.test(.router)` does: a router's own responder, a request built
/// here, a context whose logger keeps what it is told.
struct TestRouter {
    struct Source: RequestContextSource {
        var logger: Logger
    }

    struct Context: RequestContext {
        typealias Source = TestRouter.Source
        var coreContext: CoreRequestContextStorage
        init(source: Source) { coreContext = .init(source: source) }
    }

    /// Log records, kept for the test to read.
    final class LogRecords: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
        func add(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) { lock.withLock { records.append((level, message, metadata)) } }
        var all: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.withLock { records } }
    }

    struct Handler: LogHandler {
        let records: LogRecords
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
                 function: String, line: UInt) {
            records.add(level, message.description, metadata ?? [:])
        }
    }

    let router = Router(context: Context.self)
    let logs = LogRecords()

    /// A router with the server's own middleware, in the server's order.
    static func withServerMiddleware() -> TestRouter {
        let test = TestRouter()
        test.router.add(middleware: SecurityHeadersMiddleware())
        test.router.add(middleware: ProblemLogMiddleware())
        return test
    }

    /// Sends one request through the router; returns the response and its body as text.
    func send(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) async throws -> (Response, String) {
        let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path, headerFields: headers),
                              body: RequestBody(buffer: body))
        let logger = Logger(label: "test") { _ in Handler(records: logs) }
        let response = try await router.buildResponder().respond(to: request, context: Context(source: Source(logger: logger)))
        let collector = TextCollector()
        try await response.body.write(collector)
        return (response, collector.text)
    }

    /// Gathers a response body as text.
    final class TextCollector: ResponseBodyWriter, @unchecked Sendable {
        private(set) var text = ""
        func write(_ buffer: ByteBuffer) async throws { text += String(buffer: buffer) }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

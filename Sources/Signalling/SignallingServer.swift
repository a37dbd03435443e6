import Foundation
import Hummingbird
import Logging
import MediaCore

/// The HTTP side of Sabha: web client, WHIP/WHEP, health and metrics, wired to a media engine.
public struct SignallingServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8080
        public init() {}
    }

    public let service: SessionService
    public let tokens: TokenAuthority
    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, engine: MediaEngine, tokens: TokenAuthority, logger: Logger) {
        self.configuration = configuration
        self.tokens = tokens
        self.logger = logger
        self.service = SessionService(engine: engine, registry: SessionRegistry(), logger: logger)
    }

    /// The routes, separate from the listener so tests can drive them in process.
    public func makeRouter() throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in "ok\n" }
        MediaSessionRoutes(service: service, tokens: tokens, logger: logger).register(on: router)
        MetricsRoute(engine: service.engine, registry: service.registry).register(on: router)
        try StaticFiles().register(on: router)
        return router
    }

    /// Serves until SIGINT/SIGTERM, following media events meanwhile. `onRunning` gets the bound port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            router: try makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Sabha"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        let service = self.service
        let events = Task { await service.runEventLoop() }
        defer { events.cancel() }
        try await app.runService()
    }
}

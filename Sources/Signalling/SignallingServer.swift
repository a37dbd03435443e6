import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import MediaCore
import Scheduling
import ServiceLifecycle

/// Who may read `GET /metrics`: anyone on the HTTP port, only with the admin key, or only on its own listen address
/// (an internal interface the monitoring reaches), and then not on the HTTP port.
public enum MetricsAccess: Sendable, Equatable {
    case `public`
    case adminKey
    case listener(host: String, port: Int)
}

/// The HTTP side of Sabha: web client, WHIP/WHEP, meetings, the admin API, health and metrics, wired to a media
/// engine and the SQLite store. A `Service`: it runs in `sabha serve`'s service group, first to stop on SIGTERM.
public struct SignallingServer: Service {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8080
        /// How long a meeting participant whose WebSocket dropped may resume before it is let go.
        public var resumeGrace: Duration = .seconds(30)
        /// Base URL people open ("https://meet.example.gov.in"): the links the admin API hands out start with it.
        public var publicURL: String = "http://127.0.0.1:8080"
        /// What one logged-in user can hold at once (sessions per token, sockets per address, ...).
        public var limits = SignallingLimits()
        /// TURN relays offered to WHIP/WHEP clients in `Link` headers (the meeting hub has its own copy).
        public var turn: TURNConfiguration?
        /// On SIGTERM, how long meetings may go on (joins refused, everyone told) before the server closes them.
        public var drainTimeout: Duration = .seconds(30)
        /// HTTPS and WSS on the one port, with this certificate (reloaded on SIGHUP); nil: plain HTTP.
        public var tls: TLSCredentials?
        /// With TLS: a plain-HTTP listener that answers everything with a redirect to the HTTPS address.
        public var redirectHost: String?
        public var redirectPort: Int?
        /// Proxies whose X-Forwarded-For or Forwarded header names the client (for the audit trail and the limits).
        public var trustedProxies = TrustedProxies()
        /// Where `GET /metrics` is served.
        public var metrics: MetricsAccess = .public
        public init() {}
    }

    public let service: SessionService
    public let meetings: MeetingHub
    public let tokens: TokenAuthority
    public let store: any RoomStore
    /// Scheduled meetings (admin API `/api/meetings`, the join window of their rooms).
    public let scheduler: MeetingScheduler
    let adminKey: AdminKey
    let audit: AuditRecorder
    /// Attendance reports of scheduled meetings (`/api/meetings/{id}/attendance`).
    let reporter: AttendanceReporter?
    /// Closed rooms, removed people, withdrawn links and scheduled meetings' rules, for every way in.
    let access: RoomAccess
    /// In a cluster: relays of publishers between nodes, for viewers of another node's room.
    let cascade: CascadeRelays?
    /// This node's viewers and `--max-viewers` (WHEP viewers and meeting viewers together); nil: WHEP viewers only.
    let capacity: NodeCapacity?
    /// How often each limit refused something (`/metrics`).
    public let limitCounters: LimitCounters
    let webSockets: WebSocketConnections
    /// Set on SIGTERM: `/readyz` says 503, joins and new WHIP/WHEP sessions are refused.
    public let drain = ServerDrain()
    let configuration: Configuration
    /// Called with the bound port once the server listens (port 0 binds a free one).
    let onRunning: @Sendable (Int) async -> Void
    let logger: Logger

    /// Serves parts built and wired elsewhere (`sabha serve`'s composition root): the meeting hub already has its
    /// audit sink and session ender, the scheduler its hooks; `audit` is the recorder whose sink the admin API uses.
    public init(configuration: Configuration, service: SessionService, meetings: MeetingHub, tokens: TokenAuthority,
                store: any RoomStore, adminKey: AdminKey, scheduler: MeetingScheduler, audit: AuditRecorder,
                limitCounters: LimitCounters, reporter: AttendanceReporter? = nil, placement: RoomPlacement? = nil,
                cascade: CascadeRelays? = nil, capacity: NodeCapacity? = nil, logger: Logger,
                onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.configuration = configuration
        self.service = service
        self.meetings = meetings
        self.tokens = tokens
        self.store = store
        self.adminKey = adminKey
        self.scheduler = scheduler
        self.audit = audit
        self.reporter = reporter
        self.limitCounters = limitCounters
        self.webSockets = WebSocketConnections(perAddress: configuration.limits.webSocketsPerAddress)
        self.access = RoomAccess(store: store, scheduler: scheduler, placement: placement, logger: logger)
        self.cascade = cascade
        self.capacity = capacity
        self.onRunning = onRunning
        self.logger = logger
    }

    var metricsRoute: MetricsRoute {
        MetricsRoute(engine: service.engine, registry: service.registry, meetings: meetings, outbox: scheduler.store,
                     limits: limitCounters, webSockets: webSockets, drain: drain, tls: configuration.tls)
    }

    /// The routes, separate from the listener so tests can drive them in process.
    public func makeRouter() throws -> Router<SabhaRequestContext> {
        let router = Router(context: SabhaRequestContext.self)
        // First, so that it wraps every route added below (and the 404 answer).
        // Once a browser has seen the TLS site, it uses nothing else for a year (RFC 6797), even if a link says http.
        var clusterOrigins: (@Sendable () -> [String])?
        if let placement = access.placement { clusterOrigins = { placement.webSocketOrigins() } }
        router.add(middleware: SecurityHeadersMiddleware<SabhaRequestContext>(
            strictTransportSecurity: configuration.tls == nil ? nil : "max-age=31536000", clusterOrigins: clusterOrigins))
        router.add(middleware: ProblemLogMiddleware())
        router.add(middleware: DrainMiddleware(drain: drain))
        router.get("/healthz") { _, _ in "ok\n" }
        // For load balancers and orchestrators: 503 from the moment the server starts draining (`/healthz` stays 200
        // while the process serves the meetings it has).
        router.get("/readyz") { [drain] _, _ -> Response in
            guard let retryAfter = drain.retryAfter else { return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n"))) }
            return Response(status: .serviceUnavailable, headers: [.retryAfter: "\(retryAfter)"],
                            body: .init(byteBuffer: ByteBuffer(string: "draining\n")))
        }
        MediaSessionRoutes(service: service, tokens: tokens, access: access, limits: configuration.limits, counters: limitCounters,
                           turn: configuration.turn, cascade: cascade, capacity: capacity, logger: logger).register(on: router)
        if let cascade {
            ClusterRoutes(relays: cascade, hub: meetings, recordings: { [meetings] in await meetings.recordingLibrary }, logger: logger)
                .register(on: router)
        }
        switch configuration.metrics {
        case .public: metricsRoute.register(on: router)
        case .adminKey: metricsRoute.register(on: router.group().add(middleware: AdminAuthMiddleware(key: adminKey)))
        case .listener: break  // on its own address (`run`)
        }
        MeetingSocket(hub: meetings, tokens: tokens, access: access, limits: configuration.limits, connections: webSockets,
                      counters: limitCounters, drain: drain, proxies: configuration.trustedProxies, logger: logger).register(on: router)
        AdminRoutes(store: store, hub: meetings, tokens: tokens, key: adminKey, publicURL: configuration.publicURL,
                    scheduler: scheduler, reporter: reporter, audit: audit.sink, placement: access.placement, cascade: cascade, logger: logger)
            .register(on: router)
        try StaticFiles().register(on: router)
        return router
    }

    /// Serves until the service group shuts down gracefully, then drains: joins are refused, every participant is
    /// told `server-shutdown`, and the meetings go on until they end or `drainTimeout` is up; then the listener
    /// closes, open requests finish and the meeting sockets are closed (going away) before this returns.
    ///
    /// The HTTP application runs in a service group of its own, in a detached task, so that the outer group's graceful
    /// shutdown does not reach it before the drain is over; cancellation (the outer group's time is up) still does.
    public func run() async throws {
        let router = try makeRouter()
        // A peer has as long to answer the library's close frame as ours (MeetingSocket.closeGrace).
        let http1: HTTPServerBuilder = .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(maxFrameSize: MeetingWire.maximumMessageSize,
                                                                                                            closeTimeout: MeetingSocket.closeGrace))
        let app = Application(
            router: router,
            server: try configuration.tls.map { try .tls(http1, tlsConfiguration: $0.serverConfiguration()) } ?? http1,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Sabha"),
            onServerRunning: { [onRunning] channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        var services: [any Service] = [app]
        if let host = configuration.redirectHost, let port = configuration.redirectPort {
            services.append(HTTPSRedirect.application(host: host, port: port, publicURL: configuration.publicURL,
                                                      httpsPort: configuration.port, logger: logger))
        }
        if case .listener(let host, let port) = configuration.metrics {
            let router = Router()
            metricsRoute.register(on: router)
            services.append(Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "Sabha"),
                                        onServerRunning: { [logger] channel in
                                            logger.info("metrics served on their own address", metadata: ["metrics": "\(host):\(channel.localAddress?.port ?? port)"])
                                        },
                                        logger: logger))
        }
        let http = ServiceGroup(configuration: .init(services: services, logger: logger))
        let serving = Task.detached { try await http.run() }
        enum Ended { case served, drained }
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Ended.self) { group in
                group.addTask {
                    try await serving.value
                    return .served
                }
                group.addTask {
                    try await gracefulShutdown()
                    await drainMeetings()
                    await http.triggerGracefulShutdown()
                    return .drained
                }
                // The server ending by itself (a port taken) ends the wait for a shutdown too.
                if try await group.next() == .served { group.cancelAll() }
                try await group.waitForAll()
            }
        } onCancel: {
            serving.cancel()
        }
    }

    /// The drain: refuse joins, tell everyone, and wait (up to `drainTimeout`) until nobody is connected.
    func drainMeetings() async {
        let started = ContinuousClock.now
        drain.begin(until: started + configuration.drainTimeout)
        let told = await meetings.announceShutdown(retryAfter: drain.retryAfter ?? 0)
        logger.notice("draining before shutdown", metadata: ["participants": "\(told)", "drain-timeout": "\(configuration.drainTimeout)"])
        var left = told
        while left > 0, ContinuousClock.now - started < configuration.drainTimeout {
            try? await Task.sleep(for: .milliseconds(200))
            if Task.isCancelled { break }
            left = await meetings.connectedCount()
        }
        if left > 0 {
            logger.notice("drain time is up; closing the meetings", metadata: ["participants": "\(left)"])
        } else {
            logger.info("drained: no meeting connection left", metadata: ["after": "\(ContinuousClock.now - started)"])
        }
        logger.info("shutting down")
    }
}

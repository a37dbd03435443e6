import Foundation
import GroupwareBridge
import Hummingbird
import HummingbirdWebSocket
import Logging
import MediaCore
import Scheduling

/// The HTTP side of Sabha: web client, WHIP/WHEP, meetings, the admin API, health and metrics, wired to a media
/// engine and the SQLite store.
public struct SignallingServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8080
        /// How long a meeting participant whose WebSocket dropped may resume before it is let go.
        public var resumeGrace: Duration = .seconds(30)
        /// Base URL people open ("https://meet.example.gov.in"): the links the admin API hands out start with it.
        public var publicURL: String = "http://127.0.0.1:8080"
        /// What one logged-in user can hold at once (sessions per token, sockets per address, ...).
        public var limits = SignallingLimits()
        public init() {}
    }

    public let service: SessionService
    public let meetings: MeetingHub
    public let tokens: TokenAuthority
    public let store: SabhaStore
    /// Scheduled meetings (admin API `/api/meetings`, the join window of their rooms).
    public let scheduler: MeetingScheduler
    let adminKey: AdminKey
    let audit: AuditRecorder
    /// Closed rooms, removed people, withdrawn links and scheduled meetings' rules, for every way in.
    let access: RoomAccess
    /// How often each limit refused something (`/metrics`).
    public let limitCounters: LimitCounters
    let webSockets: WebSocketConnections
    let configuration: Configuration
    let logger: Logger

    /// `meetingPolicy` says which channels carry invitations; `outboxChanged` wakes whatever sends them.
    public init(configuration: Configuration, engine: MediaEngine, tokens: TokenAuthority, store: SabhaStore, adminKey: AdminKey,
                meetingPolicy: MeetingPolicy = MeetingPolicy(), outboxChanged: @escaping @Sendable () -> Void = {}, logger: Logger) {
        self.configuration = configuration
        self.tokens = tokens
        self.store = store
        self.adminKey = adminKey
        self.audit = AuditRecorder(store: store)
        self.logger = logger
        let counters = LimitCounters()
        self.limitCounters = counters
        self.webSockets = WebSocketConnections(perAddress: configuration.limits.webSocketsPerAddress)
        self.service = SessionService(engine: engine, registry: SessionRegistry(), logger: logger)
        // The hub checks the stored rules itself (inside its actor); the scheduled meetings' rules come on top for
        // /ws, WHIP and WHEP through `access`, below, once the scheduler exists.
        let hub = MeetingHub(engine: engine, logger: logger, resumeGrace: configuration.resumeGrace,
                             access: RoomAccess(store: store, scheduler: nil, logger: logger))
        self.meetings = hub
        let base = configuration.publicURL.hasSuffix("/") ? String(configuration.publicURL.dropLast()) : configuration.publicURL
        let hooks = MeetingHooks(
            issueLink: { request in
                let role: ParticipantRole = switch request.role {
                case .host: .host
                case .participant: .participant
                case .viewer: .viewer
                }
                // The token outlives the join window by 30 days: the window itself is checked at join time against
                // the meeting as it is then (moved, over, cancelled), which says more than "token expired".
                let lifetime = max(60, request.expires.timeIntervalSinceNow) + 30 * 86_400
                let token = try await tokens.issue(AccessToken(identity: request.identity, room: request.room, role: role,
                                                               name: request.name.isEmpty ? nil : request.name, lifetime: lifetime))
                return "\(base)/m/\(request.room)?t=\(token)"
            },
            openRoom: { room, title in
                _ = try store.createRoom(RoomRecord(name: room, title: title, createdAt: Date(), source: .api))
            },
            closeRoom: { room in
                let count = await hub.endMeeting(room: room, reason: "cancelled")
                do { try store.markEnded(room) } catch { logger.error("room not marked ended", metadata: ["room": "\(room)", "error": "\(error)"]) }
                logger.notice("meeting cancelled; room ended", metadata: ["room": "\(room)", "participants": "\(count)"])
            },
            dismiss: { room, identities in
                await hub.dismiss(room: room, identities: Set(identities))
            },
            rolesLowered: { room, identities in
                await hub.roleLowered(room: room, identities: Set(identities))
            },
            outboxChanged: outboxChanged,
            limitReached: { limit, times in
                if let limit = LimitCounters.Limit(rawValue: limit) { counters.count(limit, times) }
            })
        self.scheduler = MeetingScheduler(store: store.meetings, policy: meetingPolicy, hooks: hooks,
                                          logger: Logger(label: "sabha.meetings"))
        self.access = RoomAccess(store: store, scheduler: scheduler, logger: logger)
    }

    /// The routes, separate from the listener so tests can drive them in process.
    public func makeRouter() throws -> Router<SabhaRequestContext> {
        let router = Router(context: SabhaRequestContext.self)
        // First, so that it wraps every route added below (and the 404 answer).
        router.add(middleware: SecurityHeadersMiddleware())
        router.get("/healthz") { _, _ in "ok\n" }
        MediaSessionRoutes(service: service, tokens: tokens, access: access, limits: configuration.limits, counters: limitCounters,
                           logger: logger).register(on: router)
        MetricsRoute(engine: service.engine, registry: service.registry, meetings: meetings, outbox: scheduler.store,
                     limits: limitCounters, webSockets: webSockets).register(on: router)
        MeetingSocket(hub: meetings, tokens: tokens, access: access, limits: configuration.limits, connections: webSockets,
                      counters: limitCounters, logger: logger).register(on: router)
        AdminRoutes(store: store, hub: meetings, tokens: tokens, key: adminKey, publicURL: configuration.publicURL,
                    scheduler: scheduler, audit: audit.sink, logger: logger)
            .register(on: router)
        try StaticFiles().register(on: router)
        return router
    }

    /// Serves until SIGINT/SIGTERM, following media events meanwhile. `onRunning` gets the bound port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = try makeRouter()
        let app = Application(
            router: router,
            // A peer has as long to answer the library's close frame as ours (MeetingSocket.closeGrace).
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(maxFrameSize: MeetingWire.maximumMessageSize,
                                                                                        closeTimeout: MeetingSocket.closeGrace)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Sabha"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        let service = self.service
        let meetings = self.meetings
        let audit = self.audit
        await meetings.setAuditSink(audit.sink)
        await meetings.setMediaSessionEnder { room, identity, tokenID in
            await service.endSessions(room: room, identity: identity, tokenID: tokenID)
        }
        let auditWriter = Task { await audit.run() }
        let events = Task { await service.runEventLoop(meetings: meetings) }
        defer { events.cancel() }
        do {
            try await app.runService()
        } catch {
            audit.finish()
            throw error
        }
        audit.finish()  // the writer drains what is queued, then ends
        await auditWriter.value
    }
}

import ArgumentParser
import AsyncHTTPClient
import Composition
import Foundation
import GroupwareBridge
import Logging
import MediaCore
import PostgresStore
import Recording
import Scheduling
import ServiceLifecycle
import Signalling
import UnixSignals

/// The composition root of `sabha serve`: every part is built and wired here, and the long-running ones run as the
/// services of one ServiceGroup. SIGTERM or SIGINT shuts them down gracefully, one after the other in the reverse of
/// their order in `services`: the HTTP server drains (joins refused, everyone told, up to `--drain-timeout` for the
/// meetings to end), stops taking requests and closes the meeting sockets (so meetings have
/// done their part of the teardown), the calendar watcher finishes its round, the outbox relay stores the outcome of
/// what it is sending, the audit writer writes what is queued, and the media engine stops last.
struct SabhaApplication {
    /// Graceful shutdown gets this long after the drain (SIGTERM to exit is at most the drain timeout plus this);
    /// then whatever still runs is cancelled.
    static let shutdownLimit: Duration = .seconds(6)

    let group: ServiceGroup
    /// The calendars' HTTP client, shut down after the services.
    let httpClient: HTTPClient?
    /// `<data-dir>/sabha.lock`, held while the server runs.
    let lock: DataDirectoryLock

    static func build(_ settings: ServeSettings, logger: Logger) async throws -> SabhaApplication {
        // Before anything else: a second server on the same store is refused with who holds it.
        let lock = try DataDirectoryLock(dataDirectory: settings.dataDirectory, doing: "serve")
        let store = try Self.store(settings)
        let (tokens, admin) = try await Self.credentials(settings, store: store, logger: logger)
        let placement = Self.placement(settings, store: store)
        let mailer = try settings.groupware.smtp.map { (configuration: SMTPConfiguration) throws -> SMTPClient in
            do { return try SMTPClient(configuration: configuration, logger: Logger(label: "sabha.smtp")) } catch {
                throw ValidationError("--smtp-url: \(error)")
            }
        }
        let engine: MediaEngine
        do {
            engine = try MediaEngine(configuration: settings.media)
            try engine.start()
        } catch {
            throw ValidationError("cannot start media on UDP \(settings.rtcHost):\(settings.rtcPort): \(error) (choose another address with --rtc)")
        }
        let channels = Self.channels(settings.groupware, mailer: mailer)

        let limits = LimitCounters()
        let sessions = SessionService(engine: engine, registry: SessionRegistry(), logger: logger)
        // The hub checks the stored rules itself (inside its actor); the scheduled meetings' rules come on top for /ws,
        // WHIP and WHEP through the server's RoomAccess, which has the scheduler.
        let hub = MeetingHub(engine: engine, logger: logger, resumeGrace: settings.http.resumeGrace,
                             access: RoomAccess(store: store, scheduler: nil, logger: logger), turn: settings.http.turn)
        let relay = OutboxRelay(store: store.meetings, channels: channels.relay, retryDelay: settings.groupware.outboxRetry,
                                sharedStore: settings.database != nil, logger: Logger(label: "sabha.outbox"))
        let clusterClient = try Self.clusterClient(placement, store: store)
        let meetingActions = placement.flatMap { placement in clusterClient.map {
            ClusterMeetingActions(placement: placement, client: $0, hub: hub, logger: Logger(label: "sabha.cluster")) } }
        let hooks = MeetingHooks.signalling(tokens: tokens, store: store, hub: hub, publicURL: settings.http.publicURL,
                                            counters: limits, cluster: meetingActions, outboxChanged: { relay.wake() }, logger: logger)
        let scheduler = MeetingScheduler(store: store.meetings, policy: settings.groupware.policy, hooks: hooks,
                                         logger: Logger(label: "sabha.meetings"))
        let watcher = channels.resourceCalendar.map {
            CalendarWatcher(calendar: $0, scheduler: scheduler, interval: .milliseconds(Int(settings.groupware.watchInterval * 1000)),
                            mayRun: Self.job("calendar-watcher", every: settings.groupware.watchInterval, placement), logger: Logger(label: "sabha.watcher"))
        }
        let reporter = AttendanceReporter(scheduler: scheduler, events: { room in try store.attendanceEvents(room: room) },
                                          addresses: settings.groupware.reportAddresses, logger: Logger(label: "sabha.attendance"))
        let collector = Self.replyCollector(settings.groupware, scheduler: scheduler, organizerCalendar: channels.relay.organizerCalendar,
                                            placement: placement)
        let audit = AuditRecorder(store: store, roomEnded: { room, by, at in reporter.roomEnded(room, by: by, at: at) })
        await hub.setAuditSink(audit.sink)
        await hub.setInvitedList { room in Self.invited(room, store: scheduler.store) }
        let (recordings, composition) = await Self.recording(settings, hub: hub, audit: audit, logger: logger)
        await hub.setMediaSessionEnder { room, identity, tokenID in
            await sessions.endSessions(room: room, identity: identity, tokenID: tokenID)
        }
        let (capacity, cascade) = await Self.mediaPlacement(settings.http.limits, placement: placement, sessions: sessions, hub: hub,
                                                            cluster: clusterClient)
        let server = SignallingServer(configuration: settings.http, service: sessions, meetings: hub, tokens: tokens, store: store,
                                      adminKey: admin, scheduler: scheduler, audit: audit, limitCounters: limits, reporter: reporter,
                                      placement: placement, cascade: cascade, capacity: capacity, logger: logger,
                                      onRunning: { port in await welcome(settings, port: port, tokens: tokens, admin: admin) })

        logStart(settings, engine: engine, admin: admin, logger: logger)
        // Started in this order, stopped in the reverse one.
        var services: [any Service] = [MediaEngineService(engine: engine, sessions: sessions, meetings: hub, cascade: cascade, logger: logger),
                                       AuditWriterService(recorder: audit), relay,
                                       RetentionService(store: store, retention: settings.retention, recordings: recordings,
                                                        recordingDays: settings.recordingRetentionDays, logger: Logger(label: "sabha.store"))]
        services.append(CompositionService(queue: composition, directory: recordings.directory))
        if let watcher { services.append(watcher) }
        services.append(reporter)
        if let collector { services.append(collector) }
        if let placement {
            services.append(ClusterHeartbeatService(placement: placement, hub: hub, sessions: sessions.registry, capacity: capacity,
                                                    logger: Logger(label: "sabha.cluster")))
        }
        if let cascade { services.append(CascadeService(relays: cascade, hub: hub)) }
        services.append(CertificateReloadService(credentials: settings.http.tls, logger: Logger(label: "sabha.tls")))
        services.append(server)
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: Logger(label: "sabha.services"))
        configuration.maximumGracefulShutdownDuration = settings.http.drainTimeout + shutdownLimit
        return SabhaApplication(group: ServiceGroup(configuration: configuration), httpClient: channels.httpClient, lock: lock)
    }

    /// Recordings: where they go, the queue that composes them, and the ones a killed server left running, finished
    /// and queued.
    static func recording(_ settings: ServeSettings, hub: MeetingHub, audit: AuditRecorder,
                          logger: Logger) async -> (RecordingLibrary, CompositionQueue) {
        let recordings = RecordingLibrary(directory: (settings.dataDirectory as NSString).appendingPathComponent("recordings"))
        var compositionSettings = Composer.Settings()
        compositionSettings.minimumFree = Int64(settings.recordingMinimumFree)
        let composition = CompositionQueue(settings: compositionSettings, logger: Logger(label: "sabha.recording"))
        await hub.setRecordingDirectory(recordings.directory, composition: composition, minimumFree: Int64(settings.recordingMinimumFree))
        for (folder, manifest) in recordings.recoverInterrupted() {
            logger.notice("finished a recording the server was stopped in", metadata: ["room": "\(manifest.room)", "recording": "\(manifest.id)",
                                                                                  "duration-ms": "\(manifest.duration)", "tracks": "\(manifest.tracks.count)"])
            audit.sink(MeetingHub.AuditEvent(room: manifest.room, identity: "", participant: "", event: "recording-stopped", actor: "server-stopped",
                                             detail: manifest.id))
            if !manifest.tracks.isEmpty { composition.enqueue(folder: folder) }
        }
        return (recordings, composition)
    }

    /// The start-up lines an operator reads first: where media listens, what is announced, the store and its retention.
    static func logStart(_ settings: ServeSettings, engine: MediaEngine, admin: AdminKey, logger: Logger) {
        logger.info("media workers listening", metadata: ["udp": "\(settings.rtcHost):\(engine.ports.map(String.init).joined(separator: ","))",
                                                          "ice-tcp": "\(settings.media.iceTCP ? "same ports" : "off")",
                                                          "announce": "\(settings.media.announceIPs.isEmpty ? settings.rtcHost : settings.media.announceIPs.joined(separator: ","))",
                                                          "srtp": "\(settings.media.srtpProfiles.map(\.rawValue).joined(separator: ","))",
                                                          "data-dir": "\(settings.dataDirectory)", "admin-key": "\(admin.origin)",
                                                          "retention": "\(RetentionOptions.describe(settings.retention))"])
        if let tls = settings.http.tls {
            let summary = tls.summary
            logger.info("HTTPS and WSS on the HTTP port", metadata: ["certificate": "\(tls.certificatePath)", "names": "\(summary.names.joined(separator: ","))",
                                                                     "valid-until": "\(summary.notAfter)", "redirect-from": "\(settings.http.redirectPort.map { "\(settings.http.redirectHost ?? ""):\($0)" } ?? "off")"])
            if summary.notAfter < Date() { logger.error("the TLS certificate has expired; browsers will refuse it", metadata: ["valid-until": "\(summary.notAfter)"]) }
        }
        if !settings.http.trustedProxies.isEmpty {
            logger.info("client addresses from X-Forwarded-For/Forwarded of trusted proxies", metadata: ["proxies": "\(settings.http.trustedProxies.count) entries"])
        }
        if let turn = settings.http.turn {
            // Never the secret: the URLs and how long each client's credentials last.
            logger.info("TURN relay offered to clients", metadata: ["turn": "\(turn.urls.map(\.text).joined(separator: ","))",
                                                                    "credentials-valid": "\(Settings.describe(turn.lifetime))"])
        }
    }

    /// Runs every service until SIGTERM/SIGINT has shut them all down, or one of them failed.
    func run() async throws {
        do {
            try await group.run()
        } catch {
            try? await httpClient?.shutdown()
            throw error
        }
        try? await httpClient?.shutdown()
    }

    /// The outbox relay's channels from the settings; both calendars share one HTTP client.
    /// The embedded SQLite file in the data directory, or the PostgreSQL database of `--database`.
    static func store(_ settings: ServeSettings) throws -> any RoomStore {
        let logger = Logger(label: "sabha.store")
        guard let url = settings.database else {
            do { return try SQLiteStore(dataDirectory: settings.dataDirectory, logger: logger) } catch {
                throw ValidationError("cannot use data directory '\(settings.dataDirectory)': \(error)")
            }
        }
        do {
            let store = try PostgresRoomStore(url: url, logger: logger)
            logger.notice("store: PostgreSQL", metadata: ["database": "\(url)"])
            return store
        } catch {
            throw ValidationError("--database: \(error)")
        }
    }

    static func channels(_ settings: GroupwareSettings, mailer: SMTPClient?)
        -> (relay: OutboxRelay.Channels, resourceCalendar: CalDAVClient?, httpClient: HTTPClient?)
    {
        let logger = Logger(label: "sabha.groupware")
        var channels = OutboxRelay.Channels()
        if let mailer, let sender = settings.sender {
            channels.mailer = mailer
            channels.envelopeFrom = sender.email.value
            logger.info("invitations are mailed", metadata: ["smtp": "\(mailer.configuration)", "from": "\(sender.email)"])
        }
        let httpClient = settings.organizerCalendar == nil && settings.resourceCalendar == nil ? nil : CalDAVClient.makeHTTPClient()
        func calendar(_ configuration: CalDAVConfiguration?) -> CalDAVClient? {
            guard let configuration, let httpClient else { return nil }
            return CalDAVClient(configuration: configuration, httpClient: httpClient, logger: Logger(label: "sabha.caldav"))
        }
        channels.organizerCalendar = calendar(settings.organizerCalendar)
        if let url = settings.organizerCalendar?.collectionURL {
            logger.info("meetings are written into the organizer calendar", metadata: ["caldav": "\(url)"])
        }
        let resource = calendar(settings.resourceCalendar)
        channels.resourceCalendar = resource
        if let url = settings.resourceCalendar?.collectionURL {
            logger.info("bookings of the resource calendar become meetings", metadata: ["caldav": "\(url)", "every": "\(settings.watchInterval)s"])
        }
        return (channels, resource, httpClient)
    }

    /// What `sabha serve` prints once it listens: the admin key when it was just created, and a link to try it.
    static func welcome(_ settings: ServeSettings, port: Int, tokens: TokenAuthority, admin: AdminKey) async {
        let base = ServeSettings.baseURL(settings.explicitPublicURL, host: settings.http.host, port: port, tls: settings.http.tls != nil)
        let hostToken = (try? await tokens.issue(AccessToken(identity: "host", room: "demo", role: .host, name: "Host", lifetime: 12 * 3600))) ?? ""
        if case .created(let path) = admin.origin {
            FileHandle.standardOutput.write(Data("Admin key (shown once, stored in \(path)): \(admin.value)\n".utf8))
        }
        let directory = settings.dataDirectory
        FileHandle.standardOutput.write(Data("""
            Sabha is running. Open \(base)/m/demo?t=\(hostToken)
            (that link joins meeting room 'demo' as its host for 12 hours; invite others with
             sabha token --data-dir \(directory) --room demo --identity NAME --role participant
             and send them \(base)/m/demo?t=TOKEN)
            Manage rooms with 'sabha room create|list|link|end --data-dir \(directory)' or the admin API under \(base)/api.

            """.utf8))
    }
}

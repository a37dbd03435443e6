import ArgumentParser
import Foundation
import GroupwareBridge
import Logging
import MediaCore
import Scheduling
import Signalling
import AsyncHTTPClient

/// `sabha serve`: the media engine, the HTTP API and the web client in one process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Sabha server.",
        discussion: "Every option can also be set with the environment variable named after it (SABHA_HTTP, SABHA_RTC, ...); the option wins.")

    @Option(help: "HTTP listen address (env SABHA_HTTP, default 127.0.0.1:8080).")
    var http: String?

    @Option(help: "UDP media address of the first worker; worker i uses port+i (env SABHA_RTC, default 127.0.0.1:40000).")
    var rtc: String?

    @Option(help: "IP address put in ICE candidates, when clients reach the server at another address than --rtc binds (env SABHA_ANNOUNCE_IP).")
    var announceIP: String?

    @Option(help: "Where the token key and state live (env SABHA_DATA_DIR, default ./sabha-data).")
    var dataDir: String?

    @Option(help: "Base URL people open, used in printed links (env SABHA_PUBLIC_URL, default http://<--http>).")
    var publicURL: String?

    @Option(help: "Key for the admin API (/api, 'sabha room') (env SABHA_ADMIN_KEY, default: <data-dir>/admin.key, created on first start).")
    var adminKey: String?

    @Option(help: "Media worker threads (env SABHA_WORKERS, default 1).")
    var workers: Int?

    @Option(help: "Seconds without ICE consent before a transport is closed (env SABHA_CONSENT_TIMEOUT, default 30, RFC 7675).")
    var consentTimeout: Double?

    @Option(help: "Seconds a meeting participant whose WebSocket dropped may reconnect and keep its place (env SABHA_RESUME_GRACE, default 30).")
    var resumeGrace: Double?

    @Option(help: "SRTP profiles offered, by preference: gcm (AEAD_AES_128_GCM), cm (AES_CM_128_HMAC_SHA1_80) (env SABHA_SRTP_PROFILES, default gcm,cm).")
    var srtpProfiles: String?

    @Option(help: "trace, debug, info, notice, warning, error (env SABHA_LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(help: "WHIP and WHEP sessions one token may hold open at once (env SABHA_MAX_SESSIONS_PER_TOKEN, default 16).")
    var maxSessionsPerToken: Int?

    @Option(help: "Open /ws connections one client address may hold (env SABHA_MAX_WEBSOCKETS_PER_ADDRESS, default 100).")
    var maxWebsocketsPerAddress: Int?

    @Option(help: "How long a /ws connection may stay open without joining, e.g. 10s (env SABHA_JOIN_TIMEOUT, default 10s).")
    var joinTimeout: String?

    @Option(help: "Bytes queued for one WebSocket before its slow reader is disconnected, e.g. 1MiB (env SABHA_WEBSOCKET_OUTBOX, default 1MiB).")
    var websocketOutbox: String?

    @Option(help: "Attendees one scheduled meeting or calendar booking may invite (env SABHA_MAX_ATTENDEES, default 100).")
    var maxAttendees: Int?

    @Option(help: "Mail domains invitations may go to, comma-separated; each admits its subdomains (env SABHA_INVITE_DOMAINS; unset: any).")
    var inviteDomains: String?

    @Option(help: "SMTP server for invitations: smtp://user:pass@host:port?starttls=required|off or smtps://... (env SABHA_SMTP_URL; unset: no mail).")
    var smtpURL: String?

    @Option(help: "From of invitation mails, 'Name <address>' or an address (env SABHA_SMTP_FROM; needed with --smtp-url).")
    var smtpFrom: String?

    @Option(help: "The organizer's CalDAV calendar collection; scheduled meetings are written there (env SABHA_CALDAV_URL).")
    var caldavURL: String?

    @Option(help: "CalDAV user (env SABHA_CALDAV_USER).")
    var caldavUser: String?

    @Option(help: "CalDAV password (env SABHA_CALDAV_PASSWORD).")
    var caldavPassword: String?

    @Option(help: "The conference resource's CalDAV calendar, watched for bookings (env SABHA_RESOURCE_CALENDAR_URL).")
    var resourceCalendarURL: String?

    @Option(help: "Meeting links work from this long before the start, e.g. 30m (env SABHA_JOIN_OPENS_BEFORE, default 30m).")
    var joinOpensBefore: String?

    @Option(help: "... until this long after the end (env SABHA_JOIN_CLOSES_AFTER, default 30m).")
    var joinClosesAfter: String?

    @Option(help: "First retry delay of an unsent mail or calendar write, at least 0.1s; doubles up to 10m (env SABHA_OUTBOX_RETRY, default 5s).")
    var outboxRetry: String?

    @Option(help: "How often the resource calendar is checked, at least 1s (env SABHA_WATCH_INTERVAL, default 30s).")
    var watchInterval: String?

    func run() async throws {
        let levelName = Settings.value(logLevel, env: "SABHA_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("log level '\(levelName)' is not one of trace, debug, info, notice, warning, error")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sabha")

        let httpAddress = try Settings.hostPort(Settings.value(http, env: "SABHA_HTTP", default: "127.0.0.1:8080"), what: "--http")
        let rtcAddress = try Settings.hostPort(Settings.value(rtc, env: "SABHA_RTC", default: "127.0.0.1:40000"), what: "--rtc")
        let announce = Settings.optional(announceIP, env: "SABHA_ANNOUNCE_IP")
        if announce == nil && (rtcAddress.host == "0.0.0.0" || rtcAddress.host == "::") {
            throw ValidationError("--rtc binds the wildcard address \(rtcAddress.host): set --announce-ip to the address clients reach this server at")
        }
        let directory = Settings.value(dataDir, env: "SABHA_DATA_DIR", default: "./sabha-data")

        var media = MediaEngineConfiguration()
        media.bindHost = rtcAddress.host
        media.basePort = UInt16(rtcAddress.port)
        media.announceIP = announce
        media.workers = workers ?? Int(Settings.value(nil, env: "SABHA_WORKERS", default: "1")) ?? 0
        // Worker i listens on port + i: every such port must exist (an overflowing port number trapped before).
        if rtcAddress.port != 0, (1...64).contains(media.workers), rtcAddress.port + media.workers - 1 > 65535 {
            throw ValidationError("--rtc port \(rtcAddress.port) with \(media.workers) workers needs ports up to \(rtcAddress.port + media.workers - 1); the last port is 65535")
        }
        media.consentTimeout = try Settings.seconds(consentTimeout, env: "SABHA_CONSENT_TIMEOUT", default: 30, range: 1...3600,
                                                    what: "--consent-timeout")
        media.srtpProfiles = try Self.profiles(Settings.value(srtpProfiles, env: "SABHA_SRTP_PROFILES", default: "gcm,cm"))
        let mediaLogger = Logger(label: "sabha.media")
        media.logHandler = { line in mediaLogger.notice("\(line)") }

        let tokens: TokenAuthority
        let store: SabhaStore
        let admin: AdminKey
        do {
            tokens = try await TokenAuthority.load(dataDirectory: directory)
            store = try SabhaStore(dataDirectory: directory, logger: Logger(label: "sabha.store"))
            admin = try AdminKey.load(option: adminKey, dataDirectory: directory)
        } catch {
            throw ValidationError("cannot use data directory '\(directory)': \(error)")
        }
        let engine: MediaEngine
        do {
            engine = try MediaEngine(configuration: media)
            try engine.start()
        } catch {
            throw ValidationError("cannot start media on UDP \(rtcAddress.host):\(rtcAddress.port): \(error) (choose another address with --rtc)")
        }

        var http = SignallingServer.Configuration()
        http.host = httpAddress.host
        http.port = httpAddress.port
        let grace = try Settings.seconds(resumeGrace, env: "SABHA_RESUME_GRACE", default: 30, range: 0...3600, what: "--resume-grace")
        http.resumeGrace = .milliseconds(Int(grace * 1000))
        let explicitURL = Settings.optional(publicURL, env: "SABHA_PUBLIC_URL")
        let listenHost = httpAddress.host.contains(":") ? "[\(httpAddress.host)]" : httpAddress.host
        http.publicURL = (explicitURL ?? "http://\(listenHost):\(httpAddress.port)").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        http.limits = try Self.limits(self)
        let groupware = try Self.groupware(self, store: store)
        let server = SignallingServer(configuration: http, engine: engine, tokens: tokens, store: store, adminKey: admin,
                                      meetingPolicy: groupware.policy, outboxChanged: { groupware.relay.wake() }, logger: logger)
        let watcher = groupware.resourceCalendar.map {
            CalendarWatcher(calendar: $0, scheduler: server.scheduler, interval: .milliseconds(Int(groupware.watchInterval * 1000)),
                            logger: Logger(label: "sabha.watcher"))
        }
        let relayTask = Task { await groupware.relay.run() }
        let watcherTask = Task { await watcher?.run() }
        defer {
            relayTask.cancel()
            watcherTask.cancel()
        }
        let workerPorts = engine.ports
        logger.info("media workers listening", metadata: ["udp": "\(rtcAddress.host):\(workerPorts.map(String.init).joined(separator: ","))",
                                                          "announce": "\(announce ?? rtcAddress.host)",
                                                          "srtp": "\(media.srtpProfiles.map(\.rawValue).joined(separator: ","))",
                                                          "data-dir": "\(directory)", "admin-key": "\(admin.origin)"])
        do {
            try await server.run { port in
                let host = httpAddress.host.contains(":") ? "[\(httpAddress.host)]" : httpAddress.host
                let base = (explicitURL ?? "http://\(host):\(port)").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                let hostToken = (try? await tokens.issue(AccessToken(identity: "host", room: "demo", role: .host, name: "Host", lifetime: 12 * 3600))) ?? ""
                if case .created(let path) = admin.origin {
                    FileHandle.standardOutput.write(Data("Admin key (shown once, stored in \(path)): \(admin.value)\n".utf8))
                }
                FileHandle.standardOutput.write(Data("""
                    Sabha is running. Open \(base)/m/demo?t=\(hostToken)
                    (that link joins meeting room 'demo' as its host for 12 hours; invite others with
                     sabha token --data-dir \(directory) --room demo --identity NAME --role participant
                     and send them \(base)/m/demo?t=TOKEN)
                    Manage rooms with 'sabha room create|list|link|end --data-dir \(directory)' or the admin API under \(base)/api.

                    """.utf8))
            }
        } catch {
            await engine.shutdown()
            throw error
        }
        logger.info("shutting down")
        relayTask.cancel()
        watcherTask.cancel()
        _ = await (relayTask.value, watcherTask.value)
        try? await groupware.httpClient?.shutdown()
        await engine.shutdown()
    }

    /// The limits a logged-in user cannot exceed, from the options and their environment variables.
    static func limits(_ options: ServeCommand) throws -> SignallingLimits {
        var limits = SignallingLimits()
        limits.sessionsPerToken = try Settings.count(options.maxSessionsPerToken, env: "SABHA_MAX_SESSIONS_PER_TOKEN",
                                                     default: limits.sessionsPerToken, range: 1...10_000, what: "--max-sessions-per-token")
        limits.webSocketsPerAddress = try Settings.count(options.maxWebsocketsPerAddress, env: "SABHA_MAX_WEBSOCKETS_PER_ADDRESS",
                                                         default: limits.webSocketsPerAddress, range: 1...100_000,
                                                         what: "--max-websockets-per-address")
        let join = try Settings.duration(Settings.value(options.joinTimeout, env: "SABHA_JOIN_TIMEOUT", default: "10s"),
                                         what: "--join-timeout", maximum: 3600)
        limits.joinTimeout = .milliseconds(Int((join * 1000).rounded(.up)))
        limits.webSocketOutboxBytes = try Settings.bytes(Settings.value(options.websocketOutbox, env: "SABHA_WEBSOCKET_OUTBOX", default: "1MiB"),
                                                         what: "--websocket-outbox", range: (16 << 10)...(1 << 30))
        return limits
    }

    static func profiles(_ text: String) throws -> [SRTPProfile] {
        var result: [SRTPProfile] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch name {
            case "gcm", "aead_aes_128_gcm", "srtp_aead_aes_128_gcm": result.append(.aeadAES128GCM)
            case "cm", "aes_cm_128_hmac_sha1_80", "srtp_aes128_cm_sha1_80": result.append(.aes128CMHMACSHA1_80)
            default: throw ValidationError("unknown SRTP profile '\(name)': use gcm and/or cm")
            }
        }
        guard !result.isEmpty else { throw ValidationError("--srtp-profiles needs at least one of gcm, cm") }
        return result
    }
}

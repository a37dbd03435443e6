import ArgumentParser
import Foundation
import Logging
import MediaCore
import PostgresStore
import Signalling

/// What `sabha serve` was told: each option, else its SABHA_* variable, else the default, checked before anything
/// starts, so a mistake is one clear message and nothing half started.
struct ServeSettings {
    var http = SignallingServer.Configuration()
    /// SABHA_PUBLIC_URL, when given; otherwise links name the address the server listens on.
    var explicitPublicURL: String?
    var rtcHost: String
    var rtcPort: Int
    var media = MediaEngineConfiguration()
    var dataDirectory: String
    /// `--database`: nil for the SQLite file in the data directory.
    var database: DatabaseURL?
    /// The admin key itself (--admin-key or SABHA_ADMIN_KEY); nil reads or creates <data-dir>/admin.key.
    var adminKey: String?
    var groupware: GroupwareSettings
    /// How long the store keeps audit rows, chat and finished outbox items (`RetentionService`).
    var retention: StoreRetention
    /// How many days finished recordings are kept (0: for ever).
    var recordingRetentionDays: Int
    /// Bytes the recordings' disk must keep free (0: not watched).
    var recordingMinimumFree: Int

    init(_ options: ServeOptions) throws {
        let httpAddress = try Settings.hostPort(Settings.value(options.http, env: "SABHA_HTTP", default: "127.0.0.1:8080"), what: "--http")
        let rtcAddress = try Settings.hostPort(Settings.value(options.rtc, env: "SABHA_RTC", default: "127.0.0.1:40000"), what: "--rtc")
        rtcHost = rtcAddress.host
        rtcPort = rtcAddress.port
        dataDirectory = Settings.value(options.dataDir, env: "SABHA_DATA_DIR", default: "./sabha-data")
        adminKey = options.adminKey
        if let text = Settings.optional(options.database, env: "SABHA_DATABASE"), !text.isEmpty {
            do { database = try DatabaseURL(text) } catch { throw ValidationError("--database: \(error)") }
        }
        media = try Self.media(options, rtcHost: rtcAddress.host, rtcPort: rtcAddress.port)

        http.host = httpAddress.host
        http.port = httpAddress.port
        let grace = try Settings.seconds(options.resumeGrace, env: "SABHA_RESUME_GRACE", default: 30, range: 0...3600, what: "--resume-grace")
        http.resumeGrace = .milliseconds(Int(grace * 1000))
        let drain = Settings.value(options.drainTimeout, env: "SABHA_DRAIN_TIMEOUT", default: "30s")
        let drainSeconds = drain == "0" ? 0 : try Settings.duration(drain, what: "--drain-timeout", maximum: 3600)
        http.drainTimeout = .milliseconds(Int((drainSeconds * 1000).rounded(.up)))
        explicitPublicURL = Settings.optional(options.publicURL, env: "SABHA_PUBLIC_URL")
        try Self.tls(options, into: &http)
        switch Settings.value(options.metrics, env: "SABHA_METRICS", default: "public") {
        case "public": http.metrics = .public
        case "admin-key": http.metrics = .adminKey
        case let address:
            guard address.contains(":") else { throw ValidationError("--metrics '\(address)' is not public, admin-key or a HOST:PORT to listen on") }
            let listen = try Settings.hostPort(address, what: "--metrics")
            http.metrics = .listener(host: listen.host, port: listen.port)
        }
        http.publicURL = Self.baseURL(explicitPublicURL, host: httpAddress.host, port: httpAddress.port, tls: http.tls != nil)
        http.limits = try Self.limits(options)
        http.turn = try Self.turn(options)
        groupware = try GroupwareSettings(options)
        retention = try options.retention.policy()
        recordingRetentionDays = try Settings.count(options.recordingRetentionDays, env: "SABHA_RECORDING_RETENTION_DAYS", default: 90,
                                                    range: 0...36_500, what: "--recording-retention-days")
        recordingMinimumFree = try Settings.bytes(Settings.value(options.recordingMinFree, env: "SABHA_RECORDING_MIN_FREE", default: "1GiB"),
                                                  what: "--recording-min-free", range: 0...(1 << 50))
    }

    /// The base of the links people open: SABHA_PUBLIC_URL, else http(s)://<listen address>:<port>, without a trailing "/".
    static func baseURL(_ explicit: String?, host: String, port: Int, tls: Bool) -> String {
        let listenHost = host.contains(":") ? "[\(host)]" : host
        return (explicit ?? "\(tls ? "https" : "http")://\(listenHost):\(port)").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    /// `--tls-cert`/`--tls-key` (both or neither), `--http-redirect` (only with them) and `--trusted-proxy`.
    static func tls(_ options: ServeOptions, into http: inout SignallingServer.Configuration) throws {
        let cert = Settings.optional(options.tlsCert, env: "SABHA_TLS_CERT")
        let key = Settings.optional(options.tlsKey, env: "SABHA_TLS_KEY")
        switch (cert, key) {
        case (nil, nil): break
        case (let cert?, let key?):
            do { http.tls = try TLSCredentials(certificatePath: cert, keyPath: key) } catch { throw ValidationError(error.description) }
        case (nil, _): throw ValidationError("--tls-key needs --tls-cert, the certificate chain it belongs to")
        case (_, nil): throw ValidationError("--tls-cert needs --tls-key, its private key")
        }
        if let redirect = Settings.optional(options.httpRedirect, env: "SABHA_HTTP_REDIRECT") {
            guard http.tls != nil else { throw ValidationError("--http-redirect redirects to HTTPS: it needs --tls-cert and --tls-key") }
            let address = try Settings.hostPort(redirect, what: "--http-redirect")
            (http.redirectHost, http.redirectPort) = (address.host, address.port)
        }
        let proxies = (options.trustedProxy.isEmpty ? [Settings.optional(nil, env: "SABHA_TRUSTED_PROXY") ?? ""] : options.trustedProxy)
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        do { http.trustedProxies = try TrustedProxies(proxies) } catch { throw ValidationError(error.description) }
    }

    /// The media workers' addresses, consent timeout and SRTP profiles.
    static func media(_ options: ServeOptions, rtcHost: String, rtcPort: Int) throws -> MediaEngineConfiguration {
        let announced = (Settings.optional(options.announceIP, env: "SABHA_ANNOUNCE_IP") ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if announced.isEmpty && (rtcHost == "0.0.0.0" || rtcHost == "::") {
            throw ValidationError("--rtc binds the wildcard address \(rtcHost): set --announce-ip to the address(es) clients reach this server at")
        }
        var media = MediaEngineConfiguration()
        media.bindHost = rtcHost
        media.basePort = UInt16(rtcPort)
        media.announceIPs = announced
        do {
            try MediaEngine.checkAnnounced(announced, bindHost: rtcHost)
        } catch {
            throw ValidationError("--announce-ip: \(error)")
        }
        media.iceTCP = try options.rtcTcp ?? Settings.flag(env: "SABHA_RTC_TCP", default: true)
        media.workers = options.workers ?? Int(Settings.value(nil, env: "SABHA_WORKERS", default: "1")) ?? 0
        // Worker i listens on port + i: every such port must exist (an overflowing port number trapped before).
        if rtcPort != 0, (1...64).contains(media.workers), rtcPort + media.workers - 1 > 65535 {
            throw ValidationError("--rtc port \(rtcPort) with \(media.workers) workers needs ports up to \(rtcPort + media.workers - 1); the last port is 65535")
        }
        media.consentTimeout = try Settings.seconds(options.consentTimeout, env: "SABHA_CONSENT_TIMEOUT", default: 30, range: 1...3600,
                                                    what: "--consent-timeout")
        media.srtpProfiles = try profiles(Settings.value(options.srtpProfiles, env: "SABHA_SRTP_PROFILES", default: "gcm,cm"))
        let mediaLogger = Logger(label: "sabha.media")
        media.logHandler = { line in mediaLogger.notice("\(line)") }
        return media
    }

    /// The TURN relay offered to clients: both URLs and a secret, or neither.
    static func turn(_ options: ServeOptions) throws -> TURNConfiguration? {
        let texts = options.turnURL.isEmpty ? Settings.optional(nil, env: "SABHA_TURN_URL").map { [$0] } ?? [] : options.turnURL
        let urlTexts = texts.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let secret = try turnSecret(options)
        switch (urlTexts.isEmpty, secret) {
        case (true, nil):
            return nil
        case (true, .some):
            throw ValidationError("a TURN secret is set but no --turn-url (SABHA_TURN_URL): name the relay, e.g. turns:turn.example.gov.in:443?transport=tcp")
        case (false, nil):
            throw ValidationError("--turn-url needs coturn's static-auth-secret: set SABHA_TURN_SECRET or --turn-secret-file (or --turn-secret)")
        case (false, .some(let secret)):
            var urls: [TURNURL] = []
            for text in urlTexts {
                do { urls.append(try TURNURL(text)) } catch { throw ValidationError("--turn-url: \(error)") }
            }
            let ttl = try Settings.duration(Settings.value(options.turnTTL, env: "SABHA_TURN_TTL", default: "1h"), what: "--turn-ttl",
                                            maximum: 7 * 86_400)
            // A lifetime shorter than a minute would expire while a slow client still gathers its candidates.
            guard ttl >= 60 else { throw ValidationError("--turn-ttl must be at least 60s; got \(ttl)s") }
            return TURNConfiguration(urls: urls, secret: secret, lifetime: ttl)
        }
    }

    /// The shared secret: --turn-secret, SABHA_TURN_SECRET, or the file --turn-secret-file / SABHA_TURN_SECRET_FILE.
    static func turnSecret(_ options: ServeOptions) throws -> [UInt8]? {
        let direct = Settings.optional(options.turnSecret, env: "SABHA_TURN_SECRET")
        let file = Settings.optional(options.turnSecretFile, env: "SABHA_TURN_SECRET_FILE")
        if direct != nil && file != nil {
            throw ValidationError("give the TURN secret once: either --turn-secret/SABHA_TURN_SECRET or --turn-secret-file/SABHA_TURN_SECRET_FILE")
        }
        var text = direct
        if let file {
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ValidationError("--turn-secret-file: cannot read '\(file)': \(error.localizedDescription)")
            }
            text = text?.trimmingCharacters(in: .newlines)
        }
        guard let text else { return nil }
        guard !text.isEmpty else { throw ValidationError("the TURN secret is empty") }
        return Array(text.utf8)
    }

    /// The limits a logged-in user cannot exceed, from the options and their environment variables.
    static func limits(_ options: ServeOptions) throws -> SignallingLimits {
        var limits = SignallingLimits()
        limits.sessionsPerToken = try Settings.count(options.maxSessionsPerToken, env: "SABHA_MAX_SESSIONS_PER_TOKEN",
                                                     default: limits.sessionsPerToken, range: 1...10_000, what: "--max-sessions-per-token")
        limits.maxViewers = try Settings.count(options.maxViewers, env: "SABHA_MAX_VIEWERS", default: limits.maxViewers,
                                               range: 0...1_000_000, what: "--max-viewers")
        limits.maxPublishers = try Settings.count(options.maxPublishers, env: "SABHA_MAX_PUBLISHERS", default: limits.maxPublishers,
                                                  range: 0...1_000_000, what: "--max-publishers")
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

import ArgumentParser
import Foundation
import Logging
import MediaCore
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
    /// The admin key itself (--admin-key or SABHA_ADMIN_KEY); nil reads or creates <data-dir>/admin.key.
    var adminKey: String?
    var groupware: GroupwareSettings

    init(_ options: ServeCommand) throws {
        let httpAddress = try Settings.hostPort(Settings.value(options.http, env: "SABHA_HTTP", default: "127.0.0.1:8080"), what: "--http")
        let rtcAddress = try Settings.hostPort(Settings.value(options.rtc, env: "SABHA_RTC", default: "127.0.0.1:40000"), what: "--rtc")
        rtcHost = rtcAddress.host
        rtcPort = rtcAddress.port
        dataDirectory = Settings.value(options.dataDir, env: "SABHA_DATA_DIR", default: "./sabha-data")
        adminKey = options.adminKey
        media = try Self.media(options, rtcHost: rtcAddress.host, rtcPort: rtcAddress.port)

        http.host = httpAddress.host
        http.port = httpAddress.port
        let grace = try Settings.seconds(options.resumeGrace, env: "SABHA_RESUME_GRACE", default: 30, range: 0...3600, what: "--resume-grace")
        http.resumeGrace = .milliseconds(Int(grace * 1000))
        explicitPublicURL = Settings.optional(options.publicURL, env: "SABHA_PUBLIC_URL")
        http.publicURL = Self.baseURL(explicitPublicURL, host: httpAddress.host, port: httpAddress.port)
        http.limits = try Self.limits(options)
        groupware = try GroupwareSettings(options)
    }

    /// The base of the links people open: SABHA_PUBLIC_URL, else http://<listen address>:<port>, without a trailing "/".
    static func baseURL(_ explicit: String?, host: String, port: Int) -> String {
        let listenHost = host.contains(":") ? "[\(host)]" : host
        return (explicit ?? "http://\(listenHost):\(port)").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    /// The media workers' addresses, consent timeout and SRTP profiles.
    static func media(_ options: ServeCommand, rtcHost: String, rtcPort: Int) throws -> MediaEngineConfiguration {
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

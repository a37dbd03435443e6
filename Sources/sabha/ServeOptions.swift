import ArgumentParser

/// Every option of `sabha serve`, each with its SABHA_* variable; `sabha doctor` takes the same ones to check them.
struct ServeOptions: ParsableArguments {
    @Option(help: "HTTP listen address (env SABHA_HTTP, default 127.0.0.1:8080).")
    var http: String?

    @Option(help: "PEM certificate chain (leaf first) for HTTPS and WSS on the --http port; re-read on SIGHUP (env SABHA_TLS_CERT; needs --tls-key).")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert, not protected by a passphrase (env SABHA_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "With TLS: a plain-HTTP listen address whose every request is redirected to HTTPS, e.g. 0.0.0.0:80 (env SABHA_HTTP_REDIRECT).")
    var httpRedirect: String?

    @Option(help: ArgumentHelp("Reverse proxy whose X-Forwarded-For or Forwarded header names the client, an address or CIDR block; repeatable, "
                               + "or comma-separated (env SABHA_TRUSTED_PROXY; unset: headers ignored, the TCP peer is the client).", valueName: "address"))
    var trustedProxy: [String] = []

    @Option(help: "UDP media address of the first worker; worker i uses port+i (env SABHA_RTC, default 127.0.0.1:40000).")
    var rtc: String?

    @Option(help: "IP addresses put in ICE candidates, comma-separated, most preferred first, when clients reach the server at other addresses than --rtc binds: behind NAT, or an IPv4 and an IPv6 address with --rtc [::]:PORT (env SABHA_ANNOUNCE_IP).")
    var announceIP: String?

    @Flag(inversion: .prefixedNo, help: "Passive ICE-TCP (RFC 6544) on a TCP port of the same number beside each worker's UDP port, for networks that let out only TCP; UDP stays preferred (env SABHA_RTC_TCP=0 turns it off; default on).")
    var rtcTcp: Bool?

    @Option(help: "Where the token key and state live (env SABHA_DATA_DIR, default ./sabha-data).")
    var dataDir: String?

    @Option(help: "The store: leave out for the embedded SQLite file in --data-dir, or postgres://USER:PASSWORD@HOST:PORT/DATABASE for a PostgreSQL database that several nodes share (env SABHA_DATABASE).")
    var database: String?

    @OptionGroup var retention: RetentionOptions

    @Option(help: "Days finished recordings are kept under <data-dir>/recordings before they are deleted; 0 keeps them for ever (env SABHA_RECORDING_RETENTION_DAYS, default 90).")
    var recordingRetentionDays: Int?

    @Option(help: "Free space the recordings' disk must keep: below it no recording starts, and one running stops cleanly and the room is told (env SABHA_RECORDING_MIN_FREE, default 1GiB; 0 turns the check off).")
    var recordingMinFree: String?

    @Option(help: "Base URL people open, used in printed links (env SABHA_PUBLIC_URL, default http://<--http>).")
    var publicURL: String?

    @Option(parsing: .unconditional,
            help: "Key for the admin API (/api, 'sabha room') (env SABHA_ADMIN_KEY, default: <data-dir>/admin.key, created on first start).")
    var adminKey: String?

    @Option(help: "Media worker threads (env SABHA_WORKERS, default 1).")
    var workers: Int?

    @Option(help: "Seconds without ICE consent before a transport is closed (env SABHA_CONSENT_TIMEOUT, default 30, RFC 7675).")
    var consentTimeout: Double?

    @Option(help: "Seconds a meeting participant whose WebSocket dropped may reconnect and keep its place (env SABHA_RESUME_GRACE, default 30).")
    var resumeGrace: Double?

    @Option(help: "On SIGTERM, how long meetings may go on before the server closes them: joins are refused, everyone is told to reconnect once it is back, /readyz says 503; 0 closes at once (env SABHA_DRAIN_TIMEOUT, default 30s).")
    var drainTimeout: String?

    @Option(help: "SRTP profiles offered, by preference: gcm (AEAD_AES_128_GCM), cm (AES_CM_128_HMAC_SHA1_80) (env SABHA_SRTP_PROFILES, default gcm,cm).")
    var srtpProfiles: String?

    @Option(help: ArgumentHelp("TURN relay offered to clients, e.g. turns:turn.example.gov.in:443?transport=tcp; repeatable, "
                               + "or comma-separated (env SABHA_TURN_URL; needs a TURN secret).", valueName: "url"))
    var turnURL: [String] = []

    @Option(help: "coturn's static-auth-secret, for per-client TURN credentials; better SABHA_TURN_SECRET or --turn-secret-file (not in the process list).")
    var turnSecret: String?

    @Option(help: "File holding coturn's static-auth-secret (env SABHA_TURN_SECRET_FILE; a trailing newline is ignored).")
    var turnSecretFile: String?

    @Option(help: "How long TURN credentials stay valid after they are handed out, e.g. 1h or 3600 (env SABHA_TURN_TTL, default 1h).")
    var turnTTL: String?

    @Option(help: "trace, debug, info, notice, warning, error (env SABHA_LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(help: "Log lines as text, or as one JSON object per line with room and participant ids as fields, for log collectors (env SABHA_LOG_FORMAT, default text).")
    var logFormat: String?

    @Option(help: "Who may read GET /metrics: public (on the HTTP port), admin-key (on the HTTP port, with the admin key as a bearer token) or HOST:PORT (its own plain-HTTP listener only) (env SABHA_METRICS, default public).")
    var metrics: String?

    @Option(help: "WHIP and WHEP sessions one token may hold open at once (env SABHA_MAX_SESSIONS_PER_TOKEN, default 16).")
    var maxSessionsPerToken: Int?

    @Option(help: "WHEP viewers this node serves at most (env SABHA_MAX_VIEWERS, default 0: no limit). In a cluster, viewers past it go to a node with room, which relays the publisher from the node holding the room.")
    var maxViewers: Int?

    @Option(help: "Meeting participants who publish whose media this node serves at most (env SABHA_MAX_PUBLISHERS, default 0: no limit). In a cluster, the media of those past it goes to a node with room, which relays their tracks to the node holding the meeting.")
    var maxPublishers: Int?

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

    @Option(help: "Language of invitations to attendees without one of their own, and of the organizer's calendar copy: en, hi or or (env SABHA_LANGUAGE, default en).")
    var language: String?

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

    @Option(help: "Mailbox that answers to invitations arrive in, read for iMIP REPLY mails: imap://host[:port][/MAILBOX][?starttls=required|off] or imaps://host[:port][/MAILBOX] (env SABHA_IMAP_URL; unset: answers come from the calendar only).")
    var imapURL: String?

    @Option(help: "IMAP user (env SABHA_IMAP_USER).")
    var imapUser: String?

    @Option(help: "IMAP password (env SABHA_IMAP_PASSWORD).")
    var imapPassword: String?

    @Option(help: "How often answers are collected from the mailbox and the organizer's calendar, at least 1s (env SABHA_REPLY_INTERVAL, default 60s).")
    var replyInterval: String?

    @Option(help: "Whether attendance reports list network addresses: yes or no (env SABHA_REPORT_ADDRESSES, default yes).")
    var reportAddresses: String?
}

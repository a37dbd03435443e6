import ArgumentParser
import Foundation
import GroupwareBridge
import Scheduling

/// The mail and calendar side of `sabha serve`: how meetings behave and which channels carry them. Only settings
/// here; the composition root makes the clients.
struct GroupwareSettings {
    var policy = MeetingPolicy()
    var smtp: SMTPConfiguration?
    /// MAIL FROM and From of invitations (SABHA_SMTP_FROM); set whenever `smtp` is.
    var sender: CalendarUser?
    /// The organizer's calendar (SABHA_CALDAV_URL), where scheduled meetings are written.
    var organizerCalendar: CalDAVConfiguration?
    /// The conference resource's calendar (SABHA_RESOURCE_CALENDAR_URL), watched for bookings.
    var resourceCalendar: CalDAVConfiguration?
    var outboxRetry: TimeInterval
    var watchInterval: TimeInterval
    /// The reply mailbox (SABHA_IMAP_URL), read for iMIP REPLY mails.
    var imap: IMAPConfiguration?
    /// How often answers are collected (mailbox and organizer's calendar).
    var replyInterval: TimeInterval
    /// Whether attendance reports list network addresses.
    var reportAddresses: Bool

    init(_ options: ServeOptions) throws {
        policy.opensBefore = try Settings.duration(Settings.value(options.joinOpensBefore, env: "SABHA_JOIN_OPENS_BEFORE", default: "30m"),
                                                   what: "--join-opens-before")
        policy.closesAfter = try Settings.duration(Settings.value(options.joinClosesAfter, env: "SABHA_JOIN_CLOSES_AFTER", default: "30m"),
                                                   what: "--join-closes-after")
        policy.maximumAttendees = try Settings.count(options.maxAttendees, env: "SABHA_MAX_ATTENDEES", default: policy.maximumAttendees,
                                                     range: 1...10_000, what: "--max-attendees")
        if let domains = Settings.optional(options.inviteDomains, env: "SABHA_INVITE_DOMAINS") {
            policy.inviteDomains = try Settings.domains(domains, what: "--invite-domains")
        }
        let language = Settings.value(options.language, env: "SABHA_LANGUAGE", default: "en")
        guard let known = MessageLanguage(code: language) else {
            throw ValidationError("--language must be en (English), hi (Hindi) or or (Odia); got '\(language.prefix(20))'")
        }
        policy.language = known
        outboxRetry = try Settings.duration(Settings.value(options.outboxRetry, env: "SABHA_OUTBOX_RETRY", default: "5s"), what: "--outbox-retry")
        watchInterval = try Settings.duration(Settings.value(options.watchInterval, env: "SABHA_WATCH_INTERVAL", default: "30s"),
                                              what: "--watch-interval")
        // Each round is a CalDAV request or two: faster than once a second only loads both servers.
        guard watchInterval >= 1 else {
            throw ValidationError("--watch-interval must be at least 1s (a round asks the calendar server for changes); got \(watchInterval)s")
        }
        guard outboxRetry >= 0.1 else {
            throw ValidationError("--outbox-retry must be at least 0.1s (it doubles from there, up to 10m); got \(outboxRetry)s")
        }
        replyInterval = try Settings.duration(Settings.value(options.replyInterval, env: "SABHA_REPLY_INTERVAL", default: "60s"),
                                              what: "--reply-interval")
        guard replyInterval >= 1 else {
            throw ValidationError("--reply-interval must be at least 1s (a round reads the mailbox and the calendar); got \(replyInterval)s")
        }
        switch Settings.value(options.reportAddresses, env: "SABHA_REPORT_ADDRESSES", default: "yes").lowercased() {
        case "yes", "true", "1", "on": reportAddresses = true
        case "no", "false", "0", "off": reportAddresses = false
        case let other: throw ValidationError("--report-addresses must be yes or no; got '\(other.prefix(20))'")
        }
        try readMail(options)
        try readCalendars(options)
        try readMailbox(options)
    }

    private mutating func readMailbox(_ options: ServeOptions) throws {
        guard let url = Settings.optional(options.imapURL, env: "SABHA_IMAP_URL") else { return }
        let user = Settings.optional(options.imapUser, env: "SABHA_IMAP_USER")
        let password = Settings.optional(options.imapPassword, env: "SABHA_IMAP_PASSWORD")
        do { imap = try IMAPConfiguration(url: url, username: user, password: password) } catch {
            throw ValidationError("--imap-url: \(error)")
        }
    }

    private mutating func readMail(_ options: ServeOptions) throws {
        guard let url = Settings.optional(options.smtpURL, env: "SABHA_SMTP_URL") else { return }
        do { smtp = try SMTPConfiguration(url: url) } catch { throw ValidationError("--smtp-url: \(error)") }
        guard let from = Settings.optional(options.smtpFrom, env: "SABHA_SMTP_FROM") else {
            throw ValidationError("--smtp-url needs --smtp-from (SABHA_SMTP_FROM): the address invitations come from, e.g. 'Sabha <meet@dept.gov.in>'")
        }
        let sender = try Self.sender(from)
        self.sender = sender
        policy.sender = sender
        policy.mail = true
    }

    private mutating func readCalendars(_ options: ServeOptions) throws {
        let user = Settings.optional(options.caldavUser, env: "SABHA_CALDAV_USER")
        let password = Settings.optional(options.caldavPassword, env: "SABHA_CALDAV_PASSWORD")
        func calendar(_ url: String, what: String) throws -> CalDAVConfiguration {
            do { return try CalDAVConfiguration(collectionURL: url, username: user, password: password) } catch {
                throw ValidationError("\(what): \(error)")
            }
        }
        if let url = Settings.optional(options.caldavURL, env: "SABHA_CALDAV_URL") {
            organizerCalendar = try calendar(url, what: "--caldav-url")
            policy.organizerCalendar = true
        }
        if let url = Settings.optional(options.resourceCalendarURL, env: "SABHA_RESOURCE_CALENDAR_URL") {
            resourceCalendar = try calendar(url, what: "--resource-calendar-url")
            policy.resourceCalendar = true
        }
    }

    /// "Name <address>" or "address".
    static func sender(_ text: String) throws -> CalendarUser {
        let mailbox = Settings.mailbox(text)
        do { return CalendarUser(name: mailbox.name, email: try EmailAddress(mailbox.address)) } catch {
            throw ValidationError("--smtp-from '\(text)': \(error)")
        }
    }
}

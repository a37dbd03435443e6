import ArgumentParser
import AsyncHTTPClient
import Foundation
import GroupwareBridge
import Logging
import Scheduling
import Signalling

/// The mail and calendar side of `sabha serve`: which channels are configured, and the relay that uses them.
extension ServeCommand {
    struct Groupware {
        var policy: MeetingPolicy
        var relay: OutboxRelay
        var resourceCalendar: CalDAVClient?
        var watchInterval: TimeInterval
        /// Shared by both calendars; shut down when the server stops.
        var httpClient: HTTPClient?
    }

    static func groupware(_ options: ServeCommand, store: SabhaStore) throws -> Groupware {
        var policy = MeetingPolicy()
        policy.opensBefore = try Settings.duration(Settings.value(options.joinOpensBefore, env: "SABHA_JOIN_OPENS_BEFORE", default: "30m"),
                                                   what: "--join-opens-before")
        policy.closesAfter = try Settings.duration(Settings.value(options.joinClosesAfter, env: "SABHA_JOIN_CLOSES_AFTER", default: "30m"),
                                                   what: "--join-closes-after")
        policy.maximumAttendees = try Settings.count(options.maxAttendees, env: "SABHA_MAX_ATTENDEES", default: policy.maximumAttendees,
                                                     range: 1...10_000, what: "--max-attendees")
        if let domains = Settings.optional(options.inviteDomains, env: "SABHA_INVITE_DOMAINS") {
            policy.inviteDomains = try Settings.domains(domains, what: "--invite-domains")
        }
        let retry = try Settings.duration(Settings.value(options.outboxRetry, env: "SABHA_OUTBOX_RETRY", default: "5s"), what: "--outbox-retry")
        let watchInterval = try Settings.duration(Settings.value(options.watchInterval, env: "SABHA_WATCH_INTERVAL", default: "30s"),
                                                  what: "--watch-interval")
        // Each round is a CalDAV request or two: faster than once a second only loads both servers.
        guard watchInterval >= 1 else {
            throw ValidationError("--watch-interval must be at least 1s (a round asks the calendar server for changes); got \(watchInterval)s")
        }
        guard retry >= 0.1 else {
            throw ValidationError("--outbox-retry must be at least 0.1s (it doubles from there, up to 10m); got \(retry)s")
        }
        let logger = Logger(label: "sabha.groupware")
        var channels = OutboxRelay.Channels()

        if let url = Settings.optional(options.smtpURL, env: "SABHA_SMTP_URL") {
            let configuration: SMTPConfiguration
            do { configuration = try SMTPConfiguration(url: url) } catch { throw ValidationError("--smtp-url: \(error)") }
            guard let from = Settings.optional(options.smtpFrom, env: "SABHA_SMTP_FROM") else {
                throw ValidationError("--smtp-url needs --smtp-from (SABHA_SMTP_FROM): the address invitations come from, e.g. 'Sabha <meet@dept.gov.in>'")
            }
            let sender = try Self.sender(from)
            do { channels.mailer = try SMTPClient(configuration: configuration, logger: Logger(label: "sabha.smtp")) } catch {
                throw ValidationError("--smtp-url: \(error)")
            }
            channels.envelopeFrom = sender.email.value
            policy.sender = sender
            policy.mail = true
            logger.info("invitations are mailed", metadata: ["smtp": "\(configuration)", "from": "\(sender.email)"])
        }
        let user = Settings.optional(options.caldavUser, env: "SABHA_CALDAV_USER")
        let password = Settings.optional(options.caldavPassword, env: "SABHA_CALDAV_PASSWORD")
        var httpClient: HTTPClient?
        func calendar(_ url: String, what: String) throws -> CalDAVClient {
            let client = httpClient ?? CalDAVClient.makeHTTPClient()
            httpClient = client
            do {
                return CalDAVClient(configuration: try CalDAVConfiguration(collectionURL: url, username: user, password: password),
                                    httpClient: client, logger: Logger(label: "sabha.caldav"))
            } catch {
                throw ValidationError("\(what): \(error)")
            }
        }
        if let url = Settings.optional(options.caldavURL, env: "SABHA_CALDAV_URL") {
            channels.organizerCalendar = try calendar(url, what: "--caldav-url")
            policy.organizerCalendar = true
            logger.info("meetings are written into the organizer calendar", metadata: ["caldav": "\(url)"])
        }
        var resource: CalDAVClient?
        if let url = Settings.optional(options.resourceCalendarURL, env: "SABHA_RESOURCE_CALENDAR_URL") {
            resource = try calendar(url, what: "--resource-calendar-url")
            channels.resourceCalendar = resource
            policy.resourceCalendar = true
            logger.info("bookings of the resource calendar become meetings", metadata: ["caldav": "\(url)", "every": "\(watchInterval)s"])
        }
        let relay = OutboxRelay(store: store.meetings, channels: channels, retryDelay: retry, logger: Logger(label: "sabha.outbox"))
        return Groupware(policy: policy, relay: relay, resourceCalendar: resource, watchInterval: watchInterval, httpClient: httpClient)
    }

    /// "Name <address>" or "address".
    static func sender(_ text: String) throws -> CalendarUser {
        let mailbox = Settings.mailbox(text)
        do { return CalendarUser(name: mailbox.name, email: try EmailAddress(mailbox.address)) } catch {
            throw ValidationError("--smtp-from '\(text)': \(error)")
        }
    }
}

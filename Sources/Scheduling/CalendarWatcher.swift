import Foundation
import GroupwareBridge
import Logging
import ServiceLifecycle
import Synchronization

/// Follows the conference resource's calendar: a new booking becomes a meeting (room, personal links mailed, the
/// meeting page written back into the event), a changed one updates it, a deleted or cancelled one cancels it.
///
/// Uses sync-collection (RFC 6578) while the server offers it, else polls the collection's ctag and lists ETags.
/// Every round compares against the stored bookings, so changes made while Sabha was down are caught at start.
/// An event that cannot be a meeting is logged once per version and skipped; it never stops the watcher.
///
/// A `Service`: graceful shutdown lets the current round finish (so a booking is not left half applied) and ends the
/// wait for the next one.
public final class CalendarWatcher: Service {
    let calendar: CalDAVClient
    let scheduler: MeetingScheduler
    let interval: Duration
    let defaultTimeZone: String
    /// Asked before each round: false on a node of a cluster that does not hold the watcher's lease (one node
    /// watches the calendar; another takes over when it dies).
    let mayRun: @Sendable () -> Bool
    let logger: Logger

    private struct State {
        var syncToken: String?
        var syncUnsupported = false
        var ctag: String?
        /// href → ETag of versions already refused, so a bad event is logged once, not every round.
        var skipped: [String: String] = [:]
        var rounds = 0
    }
    private let state = Mutex(State())

    /// `syncCollection: false` goes straight to ctag/ETag polling (servers without RFC 6578, and its tests).
    public init(calendar: CalDAVClient, scheduler: MeetingScheduler, interval: Duration = .seconds(30),
                defaultTimeZone: String = "Asia/Kolkata", syncCollection: Bool = true,
                mayRun: @escaping @Sendable () -> Bool = { true }, logger: Logger) {
        self.calendar = calendar
        self.mayRun = mayRun
        self.scheduler = scheduler
        self.interval = interval
        self.defaultTimeZone = defaultTimeZone
        self.logger = logger
        state.withLock { $0.syncUnsupported = !syncCollection }
    }

    /// Rounds until graceful shutdown or until the task is cancelled.
    public func run() async {
        logger.info("watching the resource calendar", metadata: ["interval": "\(interval)"])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if mayRun() { await poll() }
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }

    /// One round: find what changed, act on it. Never throws; problems are logged and retried next round.
    public func poll(now: Date = Date()) async {
        let changes: (changed: [String: String], removed: [String])
        do {
            guard let found = try await findChanges() else { return }
            changes = found
        } catch {
            logger.warning("resource calendar not readable; trying again next round", metadata: ["error": "\(error)"])
            return
        }
        let bookings: [String: MeetingRecord]
        do { bookings = try scheduler.store.calendarBookings() } catch {
            logger.error("stored bookings not readable", metadata: ["error": "\(error)"])
            return
        }
        let skipped = state.withLock { $0.skipped }
        let stale = changes.changed.filter { href, etag in bookings[href]?.resourceETag != etag && skipped[href] != etag }
        if !stale.isEmpty {
            let resources: [CalDAVResource]
            do {
                resources = try await calendar.fetch(Array(stale.keys).sorted())
            } catch {
                logger.warning("bookings not fetched; trying again next round", metadata: ["error": "\(error)", "count": "\(stale.count)"])
                return
            }
            for resource in resources {
                await apply(resource, existing: bookings[resource.href], now: now)
            }
        }
        for href in changes.removed {
            state.withLock { _ = $0.skipped.removeValue(forKey: href) }
            guard let meeting = bookings[href], meeting.status == .scheduled else { continue }
            logger.notice("booking deleted from the resource calendar; cancelling", metadata: ["meeting": "\(meeting.id)", "href": "\(href)"])
            do { _ = try await scheduler.cancel(meeting.id) } catch {
                logger.error("meeting not cancelled", metadata: ["meeting": "\(meeting.id)", "error": "\(error)"])
            }
        }
    }

    /// href → ETag of everything present (or changed since the last token), and what was removed; nil when the
    /// ctag says nothing changed.
    private func findChanges() async throws(CalDAVError) -> (changed: [String: String], removed: [String])? {
        let (token, unsupported) = state.withLock { ($0.syncToken, $0.syncUnsupported) }
        if !unsupported {
            do {
                let result = try await calendar.syncCollection(since: token)
                state.withLock { $0.syncToken = result.token }
                if token == nil { return (result.changed, try knownMissing(from: result.changed)) }
                return (result.changed, result.removed)
            } catch .syncTokenInvalid {
                logger.notice("sync token no longer valid; reading the whole resource calendar")
                state.withLock { $0.syncToken = nil }
                let result = try await calendar.syncCollection(since: nil)
                state.withLock { $0.syncToken = result.token }
                return (result.changed, try knownMissing(from: result.changed))
            } catch {
                if error.isTransient { throw error }
                logger.notice("the resource calendar does not offer sync-collection; polling its ctag", metadata: ["error": "\(error)"])
                state.withLock { $0.syncUnsupported = true }
            }
        }
        let tag = try await calendar.collectionTag()
        let previous = state.withLock { $0.ctag }
        if let ctag = tag.ctag, ctag == previous { return nil }
        let listing = try await calendar.listEvents()
        state.withLock { $0.ctag = tag.ctag }
        return (listing, try knownMissing(from: listing))
    }

    /// Stored, still scheduled bookings whose event is not in a full listing.
    private func knownMissing(from listing: [String: String]) throws(CalDAVError) -> [String] {
        do {
            return try scheduler.store.calendarBookings().filter { $0.value.status == .scheduled && listing[$0.key] == nil }.map(\.key)
        } catch {
            throw .badResponse("stored bookings not readable: \(error)")
        }
    }

    /// A booking names no languages: its attendees have the server's, as they were stored. Without this every
    /// change of the event that is not ours (an attendee's answer written by the calendar server) compared unequal
    /// and sent everyone a new invitation.
    static func withLanguages(_ draft: MeetingDraft, _ language: MessageLanguage) -> MeetingDraft {
        var draft = draft
        for index in draft.attendees.indices where draft.attendees[index].language == nil {
            draft.attendees[index].language = language
        }
        return draft
    }

    private func apply(_ resource: CalDAVResource, existing: MeetingRecord?, now: Date) async {
        let metadata: Logger.Metadata = ["href": "\(resource.href)", "etag": "\(resource.etag ?? "-")"]
        let booking: CalendarBooking
        do {
            booking = try CalendarBooking.read(resource.body, defaultTimeZone: defaultTimeZone)
        } catch {
            state.withLock { $0.skipped[resource.href] = resource.etag ?? "" }
            logger.warning("resource calendar event skipped: \(error)", metadata: metadata)
            return
        }
        if let ignored = booking.ignoredSequence {
            logger.warning("booking's SEQUENCE is not a whole number from 0 to 2147483647; ignored, Sabha numbers its own versions",
                           metadata: metadata.merging(["sequence": "\(ignored.prefix(40))"]) { $1 })
        }
        // The department's sender mails only whom the policy allows: attendees outside SABHA_INVITE_DOMAINS are left
        // out (the rest of the booking works); a booking with too many attendees makes no meeting at all.
        let policy = scheduler.policy
        let (draft, leftOut) = policy.screen(booking.draft)
        if !leftOut.isEmpty {
            scheduler.hooks.limitReached("invite-domains", leftOut.count)
            logger.warning("booking's attendees outside the invitation domains get no link and no mail",
                           metadata: metadata.merging(["left-out": "\(leftOut.map(\.email.value).joined(separator: ","))",
                                                       "domains": "\(policy.inviteDomains.joined(separator: ","))"]) { $1 })
        }
        // A cancellation always goes through: it mails only those already invited.
        if !booking.cancelled, draft.attendees.isEmpty || draft.attendees.count > policy.maximumAttendees {
            state.withLock { $0.skipped[resource.href] = resource.etag ?? "" }
            if draft.attendees.isEmpty {
                logger.warning("booking skipped: nobody in it may be invited (SABHA_INVITE_DOMAINS)", metadata: metadata)
            } else {
                scheduler.hooks.limitReached("attendees", 1)
                logger.warning("booking skipped: \(draft.attendees.count) attendees, more than the \(policy.maximumAttendees) allowed (SABHA_MAX_ATTENDEES)",
                               metadata: metadata)
            }
            return
        }
        do {
            if let existing {
                guard existing.status == .scheduled else { return }
                if booking.cancelled {
                    logger.notice("booking cancelled in the resource calendar", metadata: metadata.merging(["meeting": "\(existing.id)"]) { $1 })
                    _ = try await scheduler.cancel(existing.id)
                } else if try scheduler.draft(of: existing) != Self.withLanguages(draft, policy.language) {
                    _ = try await scheduler.update(existing.id, to: draft, resourceETag: resource.etag,
                                                   minimumSequence: booking.sequence)
                } else {
                    try scheduler.store.setResourceETag(resource.etag, meeting: existing.id)  // our own write-back, or a change that does not matter
                }
                // The attendees' answers, as the calendar server recorded them in the booking (RFC 6638).
                if !booking.cancelled { await scheduler.applyCalendarAnswers(booking.calendar, meeting: existing.id, now: now) }
                return
            }
            guard !booking.cancelled, draft.end > now else {
                state.withLock { $0.skipped[resource.href] = resource.etag ?? "" }
                logger.info("booking in the past or cancelled; no meeting", metadata: metadata)
                return
            }
            if let sameUID = try? scheduler.store.meeting(uid: booking.uid) {
                state.withLock { $0.skipped[resource.href] = resource.etag ?? "" }
                logger.warning("a booking with this UID already is meeting \(sameUID.id); skipped", metadata: metadata)
                return
            }
            let meeting = try await scheduler.create(
                draft, origin: .calendar(uid: booking.uid, href: resource.href, etag: resource.etag, sequence: booking.sequence))
            logger.notice("booking became a meeting", metadata: metadata.merging(["meeting": "\(meeting.meeting.id)"]) { $1 })
        } catch {
            logger.error("booking not applied; trying again next round", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}

import Foundation
import GroupwareBridge
import Logging
import ServiceLifecycle

/// Sends what the outbox holds, oldest first, one item at a time per lane: mail over SMTP in one lane, our copies
/// into the organizer's calendar and join links into resource-calendar bookings over CalDAV in the other, so an
/// outage of one server never holds up the other's messages. A transient failure (server down, 4xx,
/// 5xx from CalDAV) is retried with doubling delay up to `maximumDelay`; a permanent one marks the item failed.
/// Items survive restarts: what was pending when the process died goes out when it starts again.
///
/// A `Service`: on graceful shutdown each lane finishes the item it is sending and stores its outcome, then stops,
/// so a mail that went out is not sent again after the restart.
public final class OutboxRelay: Service {
    public struct Channels: Sendable {
        public var mailer: SMTPClient?
        /// MAIL FROM (the address of SABHA_SMTP_FROM).
        public var envelopeFrom: String
        public var organizerCalendar: CalDAVClient?
        public var resourceCalendar: CalDAVClient?

        public init(mailer: SMTPClient? = nil, envelopeFrom: String = "", organizerCalendar: CalDAVClient? = nil,
                    resourceCalendar: CalDAVClient? = nil) {
            self.mailer = mailer
            self.envelopeFrom = envelopeFrom
            self.organizerCalendar = organizerCalendar
            self.resourceCalendar = resourceCalendar
        }
    }

    public static let maximumDelay: TimeInterval = 600
    /// On a shared store, how long an item being sent is held back from other relays (`MeetingStore.claimNextDue`):
    /// longer than any SMTP or CalDAV exchange takes, short enough that an item a dead node was sending goes out
    /// soon after. Alone on its store a relay holds nothing back, so what a killed server was sending goes out as
    /// soon as it starts again.
    public static let claimHold: TimeInterval = 120

    let store: any MeetingStore
    let channels: Channels
    let retryDelay: TimeInterval
    let logger: Logger
    /// On a store that several nodes share, each item is held back from the others while one relay sends it
    /// (`claimHold`), and a lane runs only on nodes that have its channel (a node without SMTP leaves mail to those
    /// with it, rather than taking items only to put them back with "not configured").
    let sharedStore: Bool
    var hold: TimeInterval { sharedStore ? Self.claimHold : 0 }
    private let mailDoorbell = Doorbell()
    private let calendarDoorbell = Doorbell()

    /// What each lane carries.
    static let mailKinds: [OutboxItem.Kind] = [.mail]
    static let calendarKinds: [OutboxItem.Kind] = [.calendarPut, .calendarDelete, .calendarLink, .calendarReport]

    public init(store: any MeetingStore, channels: Channels, retryDelay: TimeInterval = 5, sharedStore: Bool = false, logger: Logger) {
        self.store = store
        self.channels = channels
        self.retryDelay = max(0.05, retryDelay)
        self.sharedStore = sharedStore
        self.logger = logger
    }

    /// Something new is queued: look now rather than at the next due time.
    public func wake() {
        mailDoorbell.ring()
        calendarDoorbell.ring()
    }

    /// Works until graceful shutdown or until the task is cancelled.
    public func run() async {
        logger.info("outbox relay running", metadata: ["mail": "\(channels.mailer != nil)",
                                                      "organizer-calendar": "\(channels.organizerCalendar != nil)",
                                                      "resource-calendar": "\(channels.resourceCalendar != nil)"])
        await withGracefulShutdownHandler {
            let mail = !sharedStore || channels.mailer != nil
            let calendars = !sharedStore || channels.organizerCalendar != nil || channels.resourceCalendar != nil
            guard mail || calendars else {
                // A Service must not return before shutdown: this node leaves the outbox to the others.
                logger.notice("outbox relay idle on this node: no SMTP or CalDAV configured; nodes with them send")
                try? await gracefulShutdown()
                return
            }
            await withTaskGroup(of: Void.self) { group in
                if mail { group.addTask { await self.runLane(Self.mailKinds, self.mailDoorbell) } }
                if calendars { group.addTask { await self.runLane(Self.calendarKinds, self.calendarDoorbell) } }
            }
        } onGracefulShutdown: {
            self.wake()  // a sleeping lane looks again, sees the shutdown and stops
        }
    }

    private func runLane(_ kinds: [OutboxItem.Kind], _ doorbell: Doorbell) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = Date()
            let due: (item: OutboxItem?, next: Date?)
            do {
                due = try store.claimNextDue(at: now, kinds: kinds, hold: hold)
            } catch {
                logger.error("outbox not readable; retrying", metadata: ["error": "\(error)"])
                await doorbell.wait(timeout: .seconds(5))
                continue
            }
            if let item = due.item {
                if await !attempt(item) { await doorbell.wait(timeout: .seconds(5)) }
                continue
            }
            // Nothing due: sleep until the next retry (at most a minute, so a clock jump cannot strand items).
            let seconds = min(60, max(0.01, (due.next ?? now.addingTimeInterval(60)).timeIntervalSince(now)))
            await doorbell.wait(timeout: .milliseconds(Int(seconds * 1000)))
        }
    }

    /// Tries every item that is due now once (a failed one is rescheduled past now), then returns.
    public func drain() async {
        let now = Date()
        while let item = try? store.claimNextDue(at: now, hold: hold).item {
            await attempt(item)
        }
    }

    /// One try; false when its outcome could not be stored (the caller then waits before looking again, so a
    /// broken database does not turn into a resend loop).
    @discardableResult
    func attempt(_ item: OutboxItem) async -> Bool {
        guard let id = item.id else { return true }
        let outcome = await send(item)
        let now = Date()
        let metadata: Logger.Metadata = ["outbox": "\(id)", "meeting": "\(item.meetingId)", "kind": "\(item.kind.rawValue)",
                                         "recipient": "\(item.recipient ?? "-")", "sequence": "\(item.sequence)",
                                         "attempt": "\(item.attempts + 1)"]
        do {
            switch outcome {
            case .sent:
                try store.finish(id, state: .sent, error: nil, nextAttemptAt: nil, at: now)
                logger.info("outbox item sent", metadata: metadata)
            case .retry(let why):
                let delay = min(Self.maximumDelay, retryDelay * pow(2, Double(min(item.attempts, 20))))
                try store.finish(id, state: .pending, error: why, nextAttemptAt: now.addingTimeInterval(delay), at: now)
                logger.warning("outbox item not sent; will retry", metadata: metadata.merging(["error": "\(why)", "retry-in": "\(Int(delay.rounded(.up)))s"]) { $1 })
            case .failed(let why):
                try store.finish(id, state: .failed, error: why, nextAttemptAt: nil, at: now)
                logger.error("outbox item refused for good; not retried", metadata: metadata.merging(["error": "\(why)"]) { $1 })
            }
        } catch {
            logger.error("outbox outcome not stored", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return false
        }
        return true
    }

    enum Outcome: Equatable {
        case sent
        case retry(String)
        case failed(String)
    }

    func send(_ item: OutboxItem) async -> Outcome {
        switch item.kind {
        case .mail:
            guard let mailer = channels.mailer else { return .retry("SMTP is not configured (SABHA_SMTP_URL)") }
            guard let recipient = item.recipient else { return .failed("mail without recipient") }
            do {
                let report = try await mailer.send(from: channels.envelopeFrom, to: [recipient], message: Array(item.payload))
                if let refusal = report.refused.first {
                    let why = "\(refusal.code) \(refusal.text)"
                    return refusal.isTransient ? .retry(why) : .failed(why)
                }
                return .sent
            } catch {
                return error.isTransient ? .retry(error.description) : .failed(error.description)
            }
        case .calendarPut, .calendarDelete:
            guard let calendar = channels.organizerCalendar else { return .retry("CalDAV is not configured (SABHA_CALDAV_URL)") }
            return await writeOrganizerCalendar(item, calendar)
        case .calendarLink:
            guard let calendar = channels.resourceCalendar else { return .retry("the resource calendar is not configured") }
            return await writeLink(item, calendar)
        case .calendarReport:
            return await writeReport(item)
        }
    }
}

import Foundation
import GroupwareBridge
import Logging
import ServiceLifecycle

/// Collects attendees' answers every `interval`: the PARTSTATs in our copies in the organizer's calendar (a CalDAV
/// server that does scheduling, RFC 6638, writes them there), and the iMIP REPLY mails in the reply mailbox
/// (`SABHA_IMAP_URL`). Bookings in the resource calendar are read by `CalendarWatcher`, which applies theirs.
///
/// A `Service`: graceful shutdown lets the current round finish and ends the wait for the next one. Errors are
/// logged and the round is tried again at the next interval; they never stop the collector.
public final class ReplyCollector: Service {
    let scheduler: MeetingScheduler
    let organizerCalendar: CalDAVClient?
    let mailbox: ReplyMailbox?
    let interval: Duration
    /// Asked before each round: false on a node of a cluster that does not hold the collector's lease.
    let mayRun: @Sendable () -> Bool
    let logger: Logger

    public init(scheduler: MeetingScheduler, organizerCalendar: CalDAVClient?, mailbox: ReplyMailbox?, interval: Duration = .seconds(60),
                mayRun: @escaping @Sendable () -> Bool = { true }, logger: Logger) {
        self.mayRun = mayRun
        self.scheduler = scheduler
        self.organizerCalendar = organizerCalendar
        self.mailbox = mailbox
        self.interval = interval
        self.logger = logger
    }

    public func run() async {
        logger.info("collecting replies", metadata: ["organizer-calendar": "\(organizerCalendar != nil)",
                                                     "mailbox": "\(mailbox?.description ?? "-")", "interval": "\(interval)"])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if mayRun() { await round() }
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }

    /// One round of both sources.
    public func round(now: Date = Date()) async {
        if let mailbox { await mailbox.collect(into: scheduler) }
        if let organizerCalendar { await readCalendarCopies(organizerCalendar, now: now) }
    }

    /// Reads our copy of every meeting that is still to come or under way (until its join window closes), and
    /// applies its PARTSTATs when its ETag moved since we wrote or read it.
    func readCalendarCopies(_ calendar: CalDAVClient, now: Date) async {
        let meetings: [MeetingRecord]
        do {
            meetings = try scheduler.store.meetings().filter {
                $0.source == .api && $0.status == .scheduled && $0.calendarETag != nil
                    && $0.end.addingTimeInterval(scheduler.policy.closesAfter) > now
            }
        } catch {
            logger.error("meetings not readable", metadata: ["error": "\(error)"])
            return
        }
        for meeting in meetings {
            do {
                guard let copy = try await calendar.get(meeting.calendarResourceName) else { continue }
                guard copy.etag == nil || copy.etag != meeting.calendarETag else { continue }
                let object = try ICalendarParser().parseCalendar(Array(copy.body.utf8))
                await scheduler.applyCalendarAnswers(object, meeting: meeting.id, now: now)
                // Only if nothing else wrote meanwhile: the relay keeps the ETag of its own writes.
                if let etag = copy.etag { try scheduler.store.replaceCalendarETag(meeting.calendarETag, with: etag, meeting: meeting.id) }
            } catch {
                logger.warning("organizer's calendar copy not read; trying again next round",
                               metadata: ["meeting": "\(meeting.id)", "error": "\(error)"])
            }
        }
    }
}

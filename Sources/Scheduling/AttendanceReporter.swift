import Foundation
import GroupwareBridge
import Logging
import ServiceLifecycle

/// Sends each scheduled meeting's attendance report once: when a host or an administrator ends the meeting, when the
/// last person leaves after its end time, or, if neither happened (or the server was down then), when its join
/// window closes. The report goes into the outbox in the same transaction that marks the meeting reported, so it is
/// sent exactly once, across crashes too: a mail to the organizer (text and CSV) and a summary with the CSV in the
/// organizer's calendar event (our copy, or the booking).
///
/// A `Service`: it looks for meetings whose window closed every `sweepInterval`.
public final class AttendanceReporter: Service {
    /// The room's audit trail, oldest first.
    public typealias Events = @Sendable (_ room: String) throws -> [AttendanceEvent]

    let scheduler: MeetingScheduler
    let events: Events
    /// Whether reports list network addresses (`--report-addresses`).
    let addresses: Bool
    let sweepInterval: Duration
    let logger: Logger

    public init(scheduler: MeetingScheduler, events: @escaping Events, addresses: Bool = true, sweepInterval: Duration = .seconds(60),
                logger: Logger) {
        self.scheduler = scheduler
        self.events = events
        self.addresses = addresses
        self.sweepInterval = sweepInterval
        self.logger = logger
    }

    var store: any MeetingStore { scheduler.store }

    public func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            sweep()
            try? await cancelWhenGracefulShutdown { [sweepInterval] in try await Task.sleep(for: sweepInterval) }
        }
    }

    /// The report of meeting `id` as it stands at `now` (a meeting under way counts its open sessions until now).
    public func report(_ id: String, now: Date = Date()) throws(MeetingError) -> AttendanceReport {
        let meeting: MeetingRecord
        let attendees: [MeetingAttendeeRecord]
        let trail: [AttendanceEvent]
        do {
            guard let found = try store.meeting(id: id) else { throw MeetingError.notFound(id) }
            meeting = found
            attendees = try store.attendees(of: meeting.id)
            trail = try events(meeting.room)
        } catch let error as MeetingError {
            throw error
        } catch {
            throw .failed("attendance not readable: \(error)")
        }
        let endedAt = meeting.reportedAt.map { min($0, now) } ?? now
        return AttendanceReport(meeting: meeting, attendees: attendees, events: trail, now: endedAt, endedBy: "", addresses: addresses)
    }

    /// The room of a meeting was ended by a host or an administrator (`by`: "host", "admin"), or closed after the
    /// last person left ("empty"): the report goes out, for "empty" only once the meeting's end time has passed.
    public func roomEnded(_ room: String, by: String, at: Date = Date()) {
        let meeting: MeetingRecord?
        do { meeting = try store.meeting(room: room) } catch {
            logger.error("meeting not readable; the sweep will report it", metadata: ["room": "\(room)", "error": "\(error)"])
            return
        }
        guard let meeting, meeting.status == .scheduled, meeting.report == .pending else { return }
        if by == "empty" && at < meeting.end { return }
        queue(meeting, endedBy: by, at: at)
    }

    /// Reports every meeting whose join window closed without one.
    public func sweep(now: Date = Date()) {
        let due: [MeetingRecord]
        do {
            let closed = now.addingTimeInterval(-scheduler.policy.closesAfter)
            due = try store.read { tx in try tx.meetingsAwaitingReport(endedBefore: closed, limit: 50) }
        } catch {
            logger.error("meetings not readable for reports", metadata: ["error": "\(error)"])
            return
        }
        for meeting in due { queue(meeting, endedBy: "window-closed", at: meeting.end.addingTimeInterval(scheduler.policy.closesAfter)) }
    }

    func queue(_ meeting: MeetingRecord, endedBy: String, at: Date) {
        let metadata: Logger.Metadata = ["meeting": "\(meeting.id)", "ended-by": "\(endedBy)"]
        do {
            let attendees = try store.attendees(of: meeting.id)
            let report = AttendanceReport(meeting: meeting, attendees: attendees, events: try events(meeting.room), now: at,
                                          endedBy: endedBy, addresses: addresses)
            let items = try outboxItems(report, meeting: meeting, attendees: attendees, now: Date())
            let queued = try store.write { tx -> Bool in
                guard var fresh = try tx.meeting(id: meeting.id), fresh.report == .pending,
                      fresh.status == .scheduled else { return false }
                fresh.report = .queued
                fresh.reportedAt = at
                try tx.update(fresh)
                for item in items { try tx.enqueue(item) }
                return true
            }
            guard queued else { return }
            logger.notice("attendance report queued", metadata: metadata.merging([
                "invited": "\(report.invitedCount)", "attended": "\(report.attendedCount)", "guests": "\(report.guestCount)",
                "outbox": "\(items.count)"]) { $1 })
            scheduler.hooks.outboxChanged()
        } catch {
            logger.error("attendance report not queued; the sweep tries again", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// The mail to the organizer and the calendar write, as the policy allows.
    func outboxItems(_ report: AttendanceReport, meeting: MeetingRecord, attendees: [MeetingAttendeeRecord], now: Date) throws -> [OutboxItem] {
        let policy = scheduler.policy
        let organizerEmail = meeting.organizerEmail.lowercased()
        let language = attendees.first { $0.email == organizerEmail }?.language ?? policy.language
        let organizer = CalendarUser(name: meeting.organizerName, email: try EmailAddress(meeting.organizerEmail))
        let csv = Array(report.csv.utf8)
        let filename = "attendance-\(meeting.id).csv"
        func item(_ kind: OutboxItem.Kind, recipient: String?, payload: [UInt8]) -> OutboxItem {
            OutboxItem(id: nil, meetingId: meeting.id, kind: kind, recipient: recipient, method: Self.method, sequence: meeting.sequence,
                       key: OutboxItem.key(uid: meeting.uid, sequence: 0, method: Self.method, recipient: recipient, kind: kind),
                       payload: Data(payload), state: .pending, attempts: 0, lastError: nil, nextAttemptAt: now, createdAt: now, sentAt: nil)
        }
        var items: [OutboxItem] = []
        if policy.mail {
            let mail = NotificationMail(
                from: policy.sender ?? organizer, to: organizer, subject: ReportStrings.table(language).subject(meeting.title),
                text: report.text(in: language), language: language,
                attachments: [.init(filename: filename, contentType: "text/csv; charset=UTF-8", body: csv)],
                date: now, key: "\(meeting.uid)|attendance")
            items.append(item(.mail, recipient: organizerEmail, payload: mail.bytes))
        }
        let calendar = meeting.source == .api ? policy.organizerCalendar : policy.resourceCalendar
        if calendar {
            let note = CalendarReportNote(summary: report.calendarSummary(in: language), filename: filename, csv: report.csv)
            items.append(item(.calendarReport, recipient: nil, payload: Array(try JSONEncoder().encode(note))))
        }
        return items
    }

    /// The outbox method of report items: never superseded by, nor superseding, invitations.
    public static let method = "REPORT"
}

/// What the relay writes into the organizer's calendar event: the summary for DESCRIPTION and the CSV to attach.
struct CalendarReportNote: Codable, Sendable {
    var summary: String
    var filename: String
    var csv: String
}

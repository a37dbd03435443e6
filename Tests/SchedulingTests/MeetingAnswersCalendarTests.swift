import Foundation
import Logging
import Testing
import GroupwareBridge
@testable import Scheduling
import GroupwareTestSupport

/// Answers read back from calendars, and the attendance report written into one, against a real Radicale: the
/// PARTSTAT a scheduling server would put into a booking or into our copy, and the summary and CSV in the event.
@Suite(
    .enabled(if: RadicaleServer.hasRadicale, "needs radicale in <repo>/.venv: run tools/setup.sh"),
    .radicale,
    .timeLimit(.minutes(1))
)
struct MeetingAnswersCalendarTests {
    var server: RadicaleServer {
        get throws { try #require(RadicaleServer.current) }
    }

    static let logger = Logger(label: "test")

    @Test func aBookingsPartstatBecomesTheAttendeesAnswer() async throws {
        let resource = try await server.freshCalendar()
        let scheduler = try MeetingCalendarTests.scheduler(organizerCalendar: false, resourceCalendar: true)
        let watcher = CalendarWatcher(calendar: resource, scheduler: scheduler, interval: .seconds(1), logger: Self.logger)
        let start = Date().addingTimeInterval(600).addingTimeInterval(-Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60))
        _ = try await resource.put(MeetingCalendarTests.booking(uid: "b1@pune", summary: "Relief", start: start), resource: "b1.ics",
                                   condition: .create)
        await watcher.poll()
        let meeting = try #require(try scheduler.store.meetings().first)
        #expect(try scheduler.store.attendees(of: meeting.id).first { $0.email == "asha@example.in" }?.answer == .needsAction)

        let current = try #require(try await resource.get("b1.ics"))
        _ = try await resource.put(current.body.replacingOccurrences(of: "ATTENDEE;CN=Asha;ROLE=REQ-PARTICIPANT:",
                                                                      with: "ATTENDEE;CN=Asha;ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE:"),
                                   resource: "b1.ics", condition: .replace(etag: try #require(current.etag)))
        await watcher.poll()
        let asha = try #require(try scheduler.store.attendees(of: meeting.id).first { $0.email == "asha@example.in" })
        #expect(asha.answer == .tentative && asha.answerSource == .calendar)
        let after = try #require(try scheduler.store.meeting(id: meeting.id))
        #expect(after.sequence == 0, "an answer is not a change of the meeting (nor a reason to invite everyone again)")
    }

    @Test func theCollectorReadsOurCopyAndTheReportLandsInTheEventWithItsCSV() async throws {
        let calendar = try await server.freshCalendar()
        let scheduler = try MeetingCalendarTests.scheduler(organizerCalendar: true, resourceCalendar: false)
        let relay = OutboxRelay(store: scheduler.store, channels: .init(organizerCalendar: calendar), retryDelay: 0.05, logger: Self.logger)
        let collector = ReplyCollector(scheduler: scheduler, organizerCalendar: calendar, mailbox: nil, logger: Self.logger)
        let start = Date().addingTimeInterval(-600)
        let id = try await scheduler.create(try MeetingSchedulerTests.draft(start: start)).meeting.id
        await relay.drain()
        await collector.round()
        #expect(try scheduler.store.attendees(of: id).allSatisfy { $0.answer == .needsAction }, "our own copy holds no answer")

        // What a scheduling server does when Ravi declines: the PARTSTAT in the organizer's copy.
        let copy = try #require(try await calendar.get(id + ".ics"))
        let unfolded = copy.body.replacingOccurrences(of: "\r\n ", with: "")
        let declined = unfolded.components(separatedBy: "\r\n").map { line in
            line.hasPrefix("ATTENDEE") && line.lowercased().hasSuffix("mailto:ravi@example.in")
                ? line.replacingOccurrences(of: "PARTSTAT=NEEDS-ACTION", with: "PARTSTAT=DECLINED") : line
        }.joined(separator: "\r\n")
        #expect(declined != unfolded)
        _ = try await calendar.put(declined, resource: id + ".ics", condition: .replace(etag: try #require(copy.etag)))
        await collector.round()
        #expect(try scheduler.store.attendees(of: id).first { $0.email == "ravi@example.in" }?.answer == .declined)

        let reporter = AttendanceReporter(scheduler: scheduler, events: { _ in [] }, logger: Self.logger)
        reporter.roomEnded(id, by: "host")
        await relay.drain()
        let written = try #require(try await calendar.get(id + ".ics"))
        let event = try ICalendarParser().parseCalendar(Array(written.body.utf8)).components("VEVENT")[0]
        #expect(event.property("DESCRIPTION")?.text.contains("Attendance:\nCame: 0 of the 2 invited") == true)
        let attach = try #require(event.property("ATTACH"))
        #expect(attach.parameter("FILENAME") == "attendance-\(id).csv")
        let csv = String(decoding: Data(base64Encoded: attach.value) ?? Data(), as: UTF8.self)
        #expect(csv.hasPrefix("email,name,role,") && csv.contains("ravi@example.in,Ravi,viewer,no,yes,declined,"))
        #expect(try scheduler.store.meeting(id: id)?.calendarETag == written.etag, "our write is not taken for someone else's")
        // A second round of the collector sees no change of answers from our own write.
        await collector.round()
        #expect(try scheduler.store.attendees(of: id).first { $0.email == "ravi@example.in" }?.answer == .declined)
    }
}

import Foundation
import Logging
import ServiceLifecycle
import Testing
import GroupwareBridge
@testable import Scheduling
import GroupwareTestSupport

/// Meetings in calendars, against a real Radicale: our copy in the organizer's calendar (create, update over
/// someone else's change, delete), and bookings of the resource calendar turned into meetings by the watcher.
@Suite(
    .enabled(if: RadicaleServer.hasRadicale, "needs radicale in <repo>/.venv: run tools/setup.sh"),
    .radicale,
    .timeLimit(.minutes(1))
)
struct MeetingCalendarTests {
    var server: RadicaleServer {
        get throws { try #require(RadicaleServer.current) }
    }

    static let logger = Logger(label: "test")

    static func scheduler(organizerCalendar: Bool, resourceCalendar: Bool) throws -> MeetingScheduler {
        var policy = MeetingPolicy()
        policy.organizerCalendar = organizerCalendar
        policy.resourceCalendar = resourceCalendar
        let hooks = MeetingHooks(issueLink: { "https://meet.dept.gov.in/m/\($0.room)?t=\($0.identity)" })
        return MeetingScheduler(store: try SQLiteMeetingStore.inMemory(), policy: policy, hooks: hooks, logger: logger)
    }

    @Test func theOrganizerCalendarFollowsCreateUpdateAndCancelEvenOverAForeignChange() async throws {
        let calendar = try await server.freshCalendar()
        let scheduler = try Self.scheduler(organizerCalendar: true, resourceCalendar: false)
        let relay = OutboxRelay(store: scheduler.store, channels: .init(organizerCalendar: calendar), retryDelay: 0.05, logger: Self.logger)
        let start = Date().addingTimeInterval(86_400)
        let id = try await scheduler.create(try MeetingSchedulerTests.draft(start: start)).meeting.id
        await relay.drain()
        let created = try #require(try await calendar.get(id + ".ics"))
        #expect(created.body.contains("SUMMARY:District review\r\n"))
        #expect(created.body.contains("SEQUENCE:0\r\n"))
        #expect(try scheduler.store.meeting(id: id)?.calendarETag == created.etag)

        // Someone edits the event in their calendar client: our stored ETag is stale now.
        _ = try await calendar.put(created.body.replacingOccurrences(of: "SUMMARY:District review", with: "SUMMARY:Edited elsewhere"),
                                   resource: id + ".ics", condition: .any)
        _ = try await scheduler.update(id, to: try MeetingSchedulerTests.draft(title: "Review (moved)", start: start))
        await relay.drain()
        let updated = try #require(try await calendar.get(id + ".ics"))
        #expect(updated.body.contains("SUMMARY:Review (moved)\r\n"))
        #expect(updated.body.contains("SEQUENCE:1\r\n"))
        #expect(try scheduler.store.outbox(meeting: id).allSatisfy { $0.state == .sent || $0.state == .superseded })

        _ = try await scheduler.cancel(id)
        await relay.drain()
        #expect(try await calendar.get(id + ".ics") == nil)
        #expect(try scheduler.store.outbox(meeting: id).filter { $0.kind == .calendarDelete }.map(\.state) == [.sent])
    }

    static func booking(uid: String, summary: String, start: Date, extra: [String] = []) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Kolkata")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        return ([
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", "UID:\(uid)", "DTSTAMP:20261123T000000Z",
            "DTSTART;TZID=Asia/Kolkata:\(formatter.string(from: start))", "DTEND;TZID=Asia/Kolkata:\(formatter.string(from: start.addingTimeInterval(3600)))",
            "SUMMARY:\(summary)", "ORGANIZER;CN=Collector:mailto:collector@pune.gov.in",
            "ATTENDEE;CN=Asha;ROLE=REQ-PARTICIPANT:mailto:asha@example.in",
            "ATTENDEE;CUTYPE=RESOURCE;CN=Conference room:mailto:conference@pune.gov.in",
        ] + extra + ["END:VEVENT", "END:VCALENDAR", ""]).joined(separator: "\r\n")
    }

    /// Once with sync-collection (RFC 6578), once with ctag/ETag polling, the fallback for servers without it.
    @Test(arguments: [true, false])
    func bookingsBecomeMeetingsCarryTheLinkFollowChangesAndBadEventsAreSkipped(syncCollection: Bool) async throws {
        let resource = try await server.freshCalendar()
        let scheduler = try Self.scheduler(organizerCalendar: false, resourceCalendar: true)
        let relay = OutboxRelay(store: scheduler.store, channels: .init(resourceCalendar: resource), retryDelay: 0.05, logger: Self.logger)
        let watcher = CalendarWatcher(calendar: resource, scheduler: scheduler, interval: .seconds(1), syncCollection: syncCollection,
                                      logger: Self.logger)
        let start = Date().addingTimeInterval(600).addingTimeInterval(-Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60))

        _ = try await resource.put(Self.booking(uid: "b1@pune", summary: "Relief", start: start), resource: "b1.ics", condition: .create)
        // Radicale stores only valid iCalendar; an all-day event is valid there and no meeting for us.
        _ = try await resource.put(Self.booking(uid: "allday@pune", summary: "Holiday", start: start)
            .replacingOccurrences(of: #"DTSTART;TZID=Asia/Kolkata:(\d{8})T\d{6}"#, with: "DTSTART;VALUE=DATE:$1", options: .regularExpression)
            .replacingOccurrences(of: #"DTEND;TZID=Asia/Kolkata:[0-9T]+\r\n"#, with: "", options: .regularExpression),
            resource: "allday.ics", condition: .create)
        await watcher.poll()
        var meetings = try scheduler.store.meetings()
        #expect(meetings.count == 1, "the all-day event is skipped, the booking is not held up by it")
        let meeting = try #require(meetings.first)
        #expect(meeting.source == .calendar)
        #expect(meeting.uid == "b1@pune")
        #expect(meeting.title == "Relief")
        #expect(try scheduler.store.attendees(of: meeting.id).map(\.email) == ["collector@pune.gov.in", "asha@example.in"])

        await relay.drain()
        let withLink = try #require(try await resource.get("b1.ics"))
        #expect(withLink.body.contains("LOCATION:https://meet.dept.gov.in/m/\(meeting.id)\r\n"))
        #expect(!withLink.body.contains("?t="), "the shared booking carries no personal token")

        // Our own write-back is not a change; a new round leaves the meeting as it is.
        await watcher.poll()
        #expect(try scheduler.store.meeting(id: meeting.id)?.sequence == 0)

        // A real change: the title. A booking without ORGANIZER in the same round is skipped (Radicale itself refuses
        // events without DTSTART; CalendarBookingTests covers those).
        _ = try await resource.put(withLink.body.replacingOccurrences(of: "SUMMARY:Relief", with: "SUMMARY:Relief (moved)"),
                                   resource: "b1.ics", condition: .replace(etag: try #require(withLink.etag)))
        _ = try await resource.put(Self.booking(uid: "b2@pune", summary: "Broken", start: start).replacingOccurrences(of: "ORGANIZER;CN=Collector:mailto:collector@pune.gov.in\r\n", with: ""),
                                   resource: "b2.ics", condition: .create)
        await watcher.poll()
        let changed = try #require(try scheduler.store.meeting(id: meeting.id))
        #expect(changed.title == "Relief (moved)")
        #expect(changed.sequence == 1)
        meetings = try scheduler.store.meetings()
        #expect(meetings.count == 1)

        // Deleting the booking cancels the meeting.
        try await resource.delete("b1.ics", ifMatch: nil)
        await watcher.poll()
        #expect(try scheduler.store.meeting(id: meeting.id)?.status == .cancelled)
    }

    /// As in `sabha serve`'s service group: the first round turns a booking into a meeting, and graceful shutdown ends
    /// the wait for the next round (an hour away here; before, the watcher slept it out until it was cancelled).
    @Test func inAServiceGroupTheWatcherPollsAndStopsOnGracefulShutdown() async throws {
        let resource = try await server.freshCalendar()
        let scheduler = try Self.scheduler(organizerCalendar: false, resourceCalendar: true)
        let watcher = CalendarWatcher(calendar: resource, scheduler: scheduler, interval: .seconds(3600), logger: Self.logger)
        let start = Date().addingTimeInterval(600).addingTimeInterval(-Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60))
        _ = try await resource.put(Self.booking(uid: "svc@pune", summary: "Relief", start: start), resource: "svc.ics", condition: .create)
        let group = ServiceGroup(configuration: .init(services: [watcher], logger: Self.logger))
        // A child task: when the time limit cancels the test, the group is cancelled too, so a relay or watcher
        // that ignores graceful shutdown fails the test instead of hanging it.
        async let running: Void = group.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try scheduler.store.meetings().isEmpty {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try scheduler.store.meetings().map(\.uid) == ["svc@pune"])
        await group.triggerGracefulShutdown()
        try await running
    }
}

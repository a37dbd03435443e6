import Foundation
import GRDB
import GroupwareBridge
import Logging
import Testing
@testable import Scheduling

/// Answers from REPLY mails and calendar PARTSTATs, and the attendance report going into the outbox exactly once.
@Suite struct MeetingRepliesTests {
    static let start = MeetingSchedulerTests.start

    static func created() async throws -> (MeetingScheduler, ScheduledMeeting) {
        let scheduler = try MeetingSchedulerTests.scheduler()
        let meeting = try await scheduler.create(try MeetingSchedulerTests.draft(), now: start.addingTimeInterval(-86_400))
        return (scheduler, meeting)
    }

    static func reply(_ meeting: ScheduledMeeting, from: String, attendee: String, _ status: ParticipationStatus, sequence: Int = 0,
                      at seconds: Double = 0, comment: String? = nil) throws -> IMIPReply {
        IMIPReply(from: try EmailAddress(from), uid: meeting.meeting.uid, sequence: sequence,
                  dtstamp: start.addingTimeInterval(-3600 + seconds), comment: comment,
                  answers: [.init(email: try EmailAddress(attendee), status: status)])
    }

    @Test func aReplyFromTheAttendeeRecordsTheirAnswerAndComment() async throws {
        let (scheduler, meeting) = try await Self.created()
        let outcome = await scheduler.apply(try Self.reply(meeting, from: "Asha@Example.in", attendee: "asha@example.in", .accepted,
                                                       comment: "Will join\u{7}  from the office"))
        #expect(outcome == .applied(meeting: meeting.meeting.id, attendees: ["asha@example.in"]))
        let asha = try scheduler.store.attendees(of: meeting.meeting.id)[0]
        #expect(asha.answer == .accepted && asha.answerSource == .mail && asha.answerComment == "Will join  from the office")
    }

    @Test func forgedStaleAndUnknownRepliesChangeNothing() async throws {
        let (scheduler, meeting) = try await Self.created()
        #expect(await scheduler.apply(try Self.reply(meeting, from: "mallory@evil.in", attendee: "mallory@evil.in", .accepted))
                == .ignored("not-invited"))
        #expect(await scheduler.apply(try Self.reply(meeting, from: "mallory@evil.in", attendee: "asha@example.in", .declined))
                == .ignored("sender-mismatch"))
        var unknown = try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .declined)
        unknown.uid = "other@sabha"
        #expect(await scheduler.apply(unknown) == .ignored("unknown-meeting"))
        _ = await scheduler.apply(try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .accepted, at: 100))
        #expect(await scheduler.apply(try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .declined, at: 50))
                == .ignored("older-than-known"))
        _ = try await scheduler.update(meeting.meeting.id, to: try MeetingSchedulerTests.draft(title: "Moved"))
        #expect(await scheduler.apply(try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .declined, at: 200))
                == .ignored("older-sequence"))
        let asha = try scheduler.store.attendees(of: meeting.meeting.id)[0]
        #expect(asha.answer == .accepted, "the answer survives the update and nothing above changed it")
    }

    @Test func aCalendarPartstatCountsOnlyWhenTheCalendarChangedIt() async throws {
        let (scheduler, meeting) = try await Self.created()
        func object(_ asha: String) -> ICalendarComponent {
            ICalendarComponent("VCALENDAR", components: [ICalendarComponent("VEVENT", properties: [
                ICalendarProperty("UID", value: meeting.meeting.uid),
                ICalendarProperty("ATTENDEE", parameters: [ICalendarParameter("PARTSTAT", asha)], value: "mailto:Asha@Example.in"),
            ])])
        }
        // Our own copy's NEEDS-ACTION, read before anyone answered in the calendar, is no answer: a reply by mail stands.
        _ = await scheduler.apply(try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .tentative, at: 10))
        #expect(await scheduler.applyCalendarAnswers(object("NEEDS-ACTION"), meeting: meeting.meeting.id) == .ignored("unchanged"))
        #expect(try scheduler.store.attendees(of: meeting.meeting.id)[0].answer == .tentative)
        #expect(await scheduler.applyCalendarAnswers(object("DECLINED"), meeting: meeting.meeting.id)
                == .applied(meeting: meeting.meeting.id, attendees: ["asha@example.in"]))
        // A newer answer by mail; the calendar still says DECLINED, which is no change there: the mail's answer stands.
        _ = await scheduler.apply(try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .accepted, at: 1e6))
        #expect(await scheduler.applyCalendarAnswers(object("DECLINED"), meeting: meeting.meeting.id) == .ignored("unchanged"))
        #expect(try scheduler.store.attendees(of: meeting.meeting.id)[0].answer == .accepted)
        #expect(await scheduler.applyCalendarAnswers(object("TENTATIVE"), meeting: meeting.meeting.id)
                == .applied(meeting: meeting.meeting.id, attendees: ["asha@example.in"]))
    }

    @Test func theOrganizersCopyCarriesTheAnswersAndInvitationsAskAnew() async throws {
        let (scheduler, meeting) = try await Self.created()
        _ = await scheduler.apply(try Self.reply(meeting, from: "asha@example.in", attendee: "asha@example.in", .accepted))
        _ = try await scheduler.update(meeting.meeting.id, to: try MeetingSchedulerTests.draft(title: "Moved"))
        let items = try scheduler.store.outbox(meeting: meeting.meeting.id).filter { $0.state == .pending }
        let copy = String(decoding: items.first { $0.kind == .calendarPut }!.payload, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: "")
        #expect(copy.contains("PARTSTAT=ACCEPTED"))
        let mail = items.first { $0.kind == .mail && $0.recipient == "asha@example.in" }!
        let invitation = try #require(String(data: Data(base64Encoded: Self.calendarPart(of: mail.payload)) ?? Data(), encoding: .utf8))
            .replacingOccurrences(of: "\r\n ", with: "")
        #expect(invitation.contains("PARTSTAT=NEEDS-ACTION") && !invitation.contains("PARTSTAT=ACCEPTED"))
    }

    /// The base64 body of the mail's text/calendar part.
    static func calendarPart(of payload: Data) -> String {
        let text = String(decoding: payload, as: UTF8.self)
        guard let range = text.range(of: "Content-Type: text/calendar") else { return "" }
        let rest = text[range.upperBound...]
        guard let body = rest.range(of: "\r\n\r\n") else { return "" }
        return rest[body.upperBound...].prefix { $0 != "-" }.replacingOccurrences(of: "\r\n", with: "")
    }

    @Test func theReportIsQueuedOnceWhicheverWayTheMeetingEnds() async throws {
        let (scheduler, meeting) = try await Self.created()
        let room = meeting.meeting.room
        let start = Self.start
        let events: AttendanceReporter.Events = { _ in
            [AttendanceEvent(at: start, identity: "asha@example.in", participant: "p-1", event: "joined"),
             AttendanceEvent(at: start.addingTimeInterval(20), identity: "asha@example.in", participant: "p-1", event: "left")]
        }
        let reporter = AttendanceReporter(scheduler: scheduler, events: events, logger: Logger(label: "test"))
        reporter.roomEnded(room, by: "empty", at: Self.start.addingTimeInterval(1800))
        #expect(try scheduler.store.meeting(id: meeting.meeting.id)?.report == .pending, "empty before the end time is a break, not the end")
        reporter.roomEnded(room, by: "host", at: Self.start.addingTimeInterval(3000))
        reporter.roomEnded(room, by: "empty", at: Self.start.addingTimeInterval(4000))
        reporter.sweep(now: start.addingTimeInterval(86_400))
        let reports = try scheduler.store.outbox(meeting: meeting.meeting.id).filter { $0.method == AttendanceReporter.method }
        #expect(reports.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.calendarReport, .mail])
        #expect(reports.first { $0.kind == .mail }?.recipient == "collector@pune.gov.in")
        let mail = String(decoding: reports.first { $0.kind == .mail }!.payload, as: UTF8.self)
        #expect(mail.contains("Subject: Attendance: District review") && mail.contains("attendance-\(meeting.meeting.id).csv"))
        // An invitation mail queued afterwards to the organizer does not supersede the report.
        _ = try await scheduler.update(meeting.meeting.id, to: try MeetingSchedulerTests.draft(
            attendees: [("Collector", "collector@pune.gov.in", .host)]))
        #expect(try scheduler.store.outbox(meeting: meeting.meeting.id).filter { $0.method == AttendanceReporter.method }
            .allSatisfy { $0.state == .pending })
    }

    @Test func theSweepReportsAMeetingWhoseWindowClosedAndACancelledOneNever() async throws {
        let (scheduler, meeting) = try await Self.created()
        let other = try await scheduler.create(try MeetingSchedulerTests.draft(title: "Called off"), now: Self.start.addingTimeInterval(-86_400))
        _ = try await scheduler.cancel(other.meeting.id)
        let reporter = AttendanceReporter(scheduler: scheduler, events: { _ in [] }, logger: Logger(label: "test"))
        reporter.sweep(now: Self.start.addingTimeInterval(3600 + 60))  // before the window closes (30 min after the end)
        #expect(try scheduler.store.meeting(id: meeting.meeting.id)?.report == .pending)
        reporter.sweep(now: Self.start.addingTimeInterval(3600 + 1801))
        #expect(try scheduler.store.meeting(id: meeting.meeting.id)?.report == .queued)
        #expect(try scheduler.store.meeting(id: other.meeting.id)?.report == .skipped)
    }
}

import Foundation
import GroupwareBridge
import Testing
@testable import Scheduling

/// Presence from the audit trail: sessions, lost connections, resumes, replacements, removals, guests.
@Suite struct AttendanceReportTests {
    static let t0 = Date(timeIntervalSince1970: 1_796_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func meeting() -> MeetingRecord {
        MeetingRecord(id: "m-test", uid: "m-test@sabha", room: "m-test", source: .api, title: "Review", description: "",
                      start: t0, end: t0.addingTimeInterval(3600), timeZone: "Asia/Kolkata", organizerName: "Collector",
                      organizerEmail: "collector@pune.gov.in", organizerLink: "", sequence: 0, status: .scheduled, createdAt: t0,
                      updatedAt: t0)
    }

    static func attendee(_ email: String, _ name: String, answer: ParticipationStatus = .needsAction, position: Int) -> MeetingAttendeeRecord {
        MeetingAttendeeRecord(meetingId: "m-test", email: email, name: name, role: .participant, status: .invited, link: "",
                              position: position, answer: answer)
    }

    static func event(_ seconds: Double, _ identity: String, _ participant: String, _ event: String, address: String? = nil,
                      actor: String? = nil) -> AttendanceEvent {
        AttendanceEvent(at: at(seconds), identity: identity, participant: participant, event: event, address: address, actor: actor)
    }

    @Test func aLostConnectionThatResumesCountsAsOneReconnectAndTheGapIsNotPresence() {
        let events = [
            Self.event(0, "asha@x.in", "p-1", "joined", address: "10.0.0.1"),
            Self.event(20, "asha@x.in", "p-1", "connection-lost"),
            Self.event(25, "asha@x.in", "p-1", "resumed", address: "10.0.0.2"),
            Self.event(60, "asha@x.in", "p-1", "left"),
        ]
        let report = AttendanceReport(meeting: Self.meeting(), attendees: [Self.attendee("asha@x.in", "Asha", position: 0)],
                                      events: events, now: Self.at(100), endedBy: "host", addresses: true)
        let asha = report.people.first { $0.identity == "asha@x.in" }!
        #expect(asha.secondsPresent == 55)
        #expect(asha.reconnects == 1)
        #expect(asha.sessions == 1)
        #expect(asha.firstJoin == Self.at(0))
        #expect(asha.lastLeave == Self.at(60))
        #expect(asha.addresses == ["10.0.0.1", "10.0.0.2"])
    }

    @Test func aSecondJoinThatReplacesADroppedSessionIsAReconnectAndOverlapCountsOnce() {
        let events = [
            Self.event(0, "ravi@x.in", "p-1", "joined"),
            Self.event(30, "ravi@x.in", "p-1", "connection-lost"),
            Self.event(32, "ravi@x.in", "p-2", "joined"),
            Self.event(32, "ravi@x.in", "p-1", "replaced"),
            Self.event(50, "ravi@x.in", "p-3", "joined"),  // a second window: replaces p-2 with overlap
            Self.event(50.5, "ravi@x.in", "p-2", "replaced"),
            Self.event(80, "", "", "room-ended", actor: "collector@pune.gov.in"),
            Self.event(80, "ravi@x.in", "p-3", "ended"),
        ]
        let report = AttendanceReport(meeting: Self.meeting(), attendees: [Self.attendee("ravi@x.in", "Ravi", position: 0)],
                                      events: events, now: Self.at(200), endedBy: "host", addresses: false)
        let ravi = report.people.first { $0.identity == "ravi@x.in" }!
        #expect(ravi.secondsPresent == 78)  // 0–30 and 32–80
        #expect(ravi.sessions == 3)
        #expect(ravi.reconnects == 2)
        #expect(ravi.addresses == nil, "addresses are left out when asked")
        #expect(ravi.lastLeave == Self.at(80))
    }

    @Test func anInviteeWhoNeverCameIsListedWithTheirAnswerAndAGuestIsAddedAfterTheInvited() {
        let attendees = [Self.attendee("asha@x.in", "Asha", answer: .declined, position: 0),
                         Self.attendee("ravi@x.in", "Ravi", answer: .accepted, position: 1)]
        let events = [
            Self.event(0, "guest-7", "p-9", "joined"),
            Self.event(10, "ravi@x.in", "p-1", "joined"),
            Self.event(40, "ravi@x.in", "p-1", "removed", actor: "collector@pune.gov.in"),
        ]
        let report = AttendanceReport(meeting: Self.meeting(), attendees: attendees, events: events, now: Self.at(100),
                                      endedBy: "", addresses: true)
        #expect(report.people.map(\.identity) == ["collector@pune.gov.in", "asha@x.in", "ravi@x.in", "guest-7"])
        #expect(report.people[0].organizer && report.people[0].answer == "organizer" && !report.people[0].attended)
        #expect(report.people[1].answer == "declined" && !report.people[1].attended && report.people[1].secondsPresent == 0)
        #expect(report.people[2].removed && report.people[2].removedBy == "collector@pune.gov.in" && report.people[2].secondsPresent == 30)
        #expect(report.people[3].role == "guest" && !report.people[3].invited && report.people[3].secondsPresent == 100,
                "a session still open counts until the report is made")
        #expect(report.guestCount == 1 && report.attendedCount == 1 && report.invitedCount == 2)
    }

    @Test func theCSVHasOneRowPerPersonQuotesCommasAndDisarmsFormulas() {
        var attendees = [Self.attendee("asha@x.in", "=HYPERLINK(\"x\")", answer: .tentative, position: 0)]
        attendees[0].answerComment = "Late, by 10 minutes"
        let events = [Self.event(0, "asha@x.in", "p-1", "joined"), Self.event(3725, "asha@x.in", "p-1", "left")]
        let csv = AttendanceReport(meeting: Self.meeting(), attendees: attendees, events: events, now: Self.at(4000),
                                   endedBy: "host", addresses: true).csv
        let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("email,name,role,organizer,invited,answer,comment,"))
        #expect(lines[2].contains("\"'=HYPERLINK(\"\"x\"\")\""))
        #expect(lines[2].contains(",tentative,\"Late, by 10 minutes\","))
        #expect(lines[2].contains(",3725,1:02:05,1,0,no,"))
        #expect(lines[2].contains("2026-11-30T06:23:20+05:30"), "times are in the meeting's zone")
    }

    @Test func theTextIsInTheOrganizersLanguage() {
        let report = AttendanceReport(meeting: Self.meeting(), attendees: [Self.attendee("asha@x.in", "Asha", answer: .accepted, position: 0)],
                                      events: [], now: Self.at(10), endedBy: "host", addresses: true)
        #expect(report.text(in: .english).contains("Came: 0 of the 1 invited"))
        #expect(report.text(in: .english).contains("Asha <asha@x.in>: accepted — did not join"))
        #expect(report.text(in: .hindi).contains("स्वीकार किया"))
        #expect(report.text(in: .odia).contains("ସ୍ୱୀକାର କଲେ"))
    }
}

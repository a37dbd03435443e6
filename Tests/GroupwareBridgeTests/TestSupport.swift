import Foundation
@testable import GroupwareBridge

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ical")

    static let names = [
        "rfc5545-3.6.1-meeting.ics", "rfc5545-3.6.1-reminder.ics", "rfc5545-3.6.1-anniversary.ics",
        "rfc5545-3.6.1-multiday.ics", "rfc5545-3.6.5-new-york-history.ics", "rfc5545-3.6.5-new-york-dtstart-only.ics",
        "rfc5545-3.6.5-new-york-current.ics", "rfc5545-3.6.5-fictitious-until.ics",
        "rfc5545-3.6.5-fictitious-two-daylight.ics", "rfc5545-s4-conference.ics", "rfc5545-s4-group-meeting.ics",
        "rfc5545-s4-mime-method.ics", "rfc5545-s4-todo-alarm.ics", "rfc5545-s4-journal.ics", "rfc5545-s4-freebusy.ics",
    ]

    static func load(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func parse(_ name: String) throws -> [ICalendarComponent] {
        try ICalendarParser().parse(load(name))
    }
}

/// A sample meeting: an organizer, a host, a participant with a Hindi name and a viewer.
enum Sample {
    static let start = Date(timeIntervalSince1970: 1_772_613_000)  // 2026-03-04T08:30:00Z = 14:00 in Kolkata

    static func attendees() throws -> [Attendee] {
        [
            Attendee(name: "Asha Rao", email: try EmailAddress("asha@example.in"), role: .host,
                     joinURL: "https://meet.example.in/j/ABC?t=host-token"),
            Attendee(name: "सुनील कुमार", email: try EmailAddress("sunil@example.in"), role: .participant,
                     joinURL: "https://meet.example.in/j/ABC?t=sunil,token;1"),
            Attendee(name: "Viewer, The", email: try EmailAddress("viewer@example.org"), role: .viewer,
                     joinURL: "https://meet.example.in/j/ABC?t=viewer-token"),
        ]
    }

    static func invitation(zone: String = "Asia/Kolkata", sequence: Int = 0) throws -> MeetingInvitation {
        MeetingInvitation(
            uid: "room-42@meet.example.in", sequence: sequence, dtstamp: Date(timeIntervalSince1970: 1_772_000_000),
            start: start, end: start.addingTimeInterval(3600), timeZoneID: zone,
            summary: "Quarterly review; budget, plans \\ and मंथन",
            description: "Agenda:\n1. Numbers\n2. Plans",
            organizer: CalendarUser(name: "Asha Rao", email: try EmailAddress("asha@example.in")),
            attendees: try attendees())
    }
}

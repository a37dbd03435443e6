import Foundation
import Testing
import GroupwareBridge
@testable import Scheduling

/// Reading bookings of the conference resource: what becomes a meeting, and what is refused with a reason.
@Suite struct CalendarBookingTests {
    static func event(_ lines: [String]) -> String {
        (["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT"] + lines + ["END:VEVENT", "END:VCALENDAR", ""])
            .joined(separator: "\r\n")
    }

    static let people = [
        "ORGANIZER;CN=Collector Pune:mailto:collector@pune.gov.in",
        "ATTENDEE;CN=Asha;ROLE=REQ-PARTICIPANT:mailto:asha@example.in",
        "ATTENDEE;CN=Observer;ROLE=NON-PARTICIPANT:mailto:obs@example.in",
        "ATTENDEE;CUTYPE=RESOURCE;CN=Conference room:mailto:conference@pune.gov.in",
    ]

    @Test func readsAZonedBookingWithItsPeople() throws {
        let booking = try CalendarBooking.read(Self.event([
            "UID:abc-1", "SEQUENCE:2", "SUMMARY:Flood review", "DTSTART;TZID=Europe/Berlin:20261201T100000",
            "DTEND;TZID=Europe/Berlin:20261201T113000",
        ] + Self.people))
        #expect(booking.uid == "abc-1")
        #expect(booking.sequence == 2)
        #expect(!booking.cancelled)
        #expect(booking.draft.title == "Flood review")
        #expect(booking.draft.timeZone == "Europe/Berlin")
        #expect(booking.draft.start == Date(timeIntervalSince1970: 1_796_115_600))  // 09:00 UTC
        #expect(booking.draft.end.timeIntervalSince(booking.draft.start) == 5400)
        #expect(booking.draft.attendees.map(\.email.value) == ["collector@pune.gov.in", "asha@example.in", "obs@example.in"])
        #expect(booking.draft.attendees.map(\.role) == [.host, .participant, .viewer])
    }

    @Test func utcStartWithDurationAndMozillaStyleZones() throws {
        let utc = try CalendarBooking.read(Self.event(["UID:u", "DTSTART:20261201T043000Z", "DURATION:PT45M"] + Self.people))
        #expect(utc.draft.timeZone == "Asia/Kolkata")
        #expect(utc.draft.end.timeIntervalSince(utc.draft.start) == 2700)
        let mozilla = try CalendarBooking.read(Self.event(["UID:m", "DTSTART;TZID=/mozilla.org/20070129_1/Europe/Berlin:20261201T100000"] + Self.people))
        #expect(mozilla.draft.timeZone == "Europe/Berlin")
        #expect(mozilla.draft.end.timeIntervalSince(mozilla.draft.start) == 3600, "no DTEND and no DURATION: one hour")
    }

    @Test(arguments: [
        (["UID:x"] + CalendarBookingTests.people, "no DTSTART"),
        (["UID:x", "DTSTART;VALUE=DATE:20261201"] + CalendarBookingTests.people, "all-day"),
        (["UID:x", "DTSTART;TZID=India Standard Time:20261201T100000"] + CalendarBookingTests.people, "not an IANA zone"),
        (["UID:x", "DTSTART:20261201T100000Z", "DTEND:20261201T090000Z"] + CalendarBookingTests.people, "after 'start'"),
        (["UID:x", "DTSTART:20261201T100000Z"], "ORGANIZER"),
        (["DTSTART:20261201T100000Z"] + CalendarBookingTests.people, "UID"),
        (["UID:x", "DTSTART:garbage"] + CalendarBookingTests.people, "DTSTART"),
    ])
    func unusableBookingsAreRefusedWithAReason(lines: [String], reason: String) {
        do {
            _ = try CalendarBooking.read(Self.event(lines))
            Issue.record("accepted a booking with \(reason)")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func garbageIsUnreadableNotACrash() {
        for text in ["", "hello", "BEGIN:VCALENDAR\r\n", String(repeating: "\u{0}", count: 100), "BEGIN:VEVENT\r\nEND:VCALENDAR\r\n"] {
            #expect(throws: BookingError.self) { try CalendarBooking.read(text) }
        }
    }

    @Test func theLinkIsWrittenOnceAndOurLineNeverPilesUp() throws {
        let text = Self.event(["UID:abc", "DESCRIPTION:Bring the flood data", "DTSTART:20261201T043000Z"] + Self.people)
        let calendar = try ICalendarParser().parseCalendar(Array(text.utf8))
        let link = "https://meet.dept.gov.in/m/m-abcdefgh"
        let written = try #require(CalendarBooking.withLink(calendar, link: link))
        let event = try #require(written.components("VEVENT").first)
        #expect(event.property("LOCATION")?.text == link)
        #expect(event.property("CONFERENCE")?.value == link)
        #expect(event.property("DESCRIPTION")?.text == "Bring the flood data\n\nJoin the meeting: \(link)")
        #expect(CalendarBooking.withLink(written, link: link) == nil, "already carries the link")
        let reread = try CalendarBooking.read(ICalendarWriter.string(written))
        #expect(reread.draft.description == "Bring the flood data", "our line is not part of the meeting's description")
    }

    @Test func durationsFollowRFC5545() {
        #expect(CalendarBooking.seconds("PT1H30M") == 5400)
        #expect(CalendarBooking.seconds("P1D") == 86_400)
        #expect(CalendarBooking.seconds("P1W") == 604_800)
        #expect(CalendarBooking.seconds("PT") == nil)
        #expect(CalendarBooking.seconds("1H") == nil)
        #expect(CalendarBooking.seconds("-PT1H") == nil)
    }

    @Test func hugeDurationsAreRefusedNotCarriedIntoDates() {
        let huge = "P" + String(repeating: "9", count: 400) + "W"
        #expect(CalendarBooking.seconds(huge) == .infinity, "Double(\"9…9\") is infinite, not a trap")
        #expect(throws: BookingError.self) {
            try CalendarBooking.read(Self.event(["UID:d", "DTSTART:20261201T043000Z", "DURATION:\(huge)"] + Self.people))
        }
    }

    @Test(arguments: [
        ("SEQUENCE:2147483647", 2_147_483_647, nil),
        ("SEQUENCE:0", 0, nil),
        ("SEQUENCE:9223372036854775807", 0, "9223372036854775807"),
        ("SEQUENCE:99999999999999999999999", 0, "99999999999999999999999"),
        ("SEQUENCE:2147483648", 0, "2147483648"),
        ("SEQUENCE:-1", 0, "-1"),
        ("SEQUENCE:seven", 0, "seven"),
    ] as [(String, Int, String?)])
    func aSequenceOutsideICalendarsIntegerIsIgnoredNotStored(line: String, sequence: Int, ignored: String?) throws {
        let booking = try CalendarBooking.read(Self.event(["UID:s", line, "DTSTART:20261201T043000Z"] + Self.people))
        #expect(booking.sequence == sequence)
        #expect(booking.ignoredSequence == ignored)
    }
}

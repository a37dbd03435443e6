import Foundation
import Testing
@testable import GroupwareBridge

/// The VCALENDAR each attendee receives (RFC 5546 REQUEST and CANCEL, RFC 7986 CONFERENCE).
struct MeetingInvitationTests {
    func event(_ invitation: MeetingInvitation, for index: Int) throws -> (ICalendarComponent, ICalendarComponent) {
        let recipient = invitation.attendees[index]
        let bytes = try ICalendarDocument.bytes(invitation, for: recipient)
        let calendar = try ICalendarParser().parseCalendar(bytes)
        return (calendar, try #require(calendar.components("VEVENT").first))
    }

    @Test func requestCarriesEveryRequiredPropertyAndThePersonalLink() throws {
        let invitation = try Sample.invitation()
        let (calendar, event) = try event(invitation, for: 1)
        #expect(calendar.property("PRODID")?.value == GroupwareBridge.productID)
        #expect(calendar.property("VERSION")?.value == "2.0")
        #expect(calendar.property("METHOD")?.value == "REQUEST")
        #expect(calendar.components.map(\.name) == ["VTIMEZONE", "VEVENT"])
        #expect(calendar.components("VTIMEZONE").first?.property("TZID")?.value == "Asia/Kolkata")

        #expect(event.property("UID")?.text == "room-42@meet.example.in")
        #expect(event.property("DTSTAMP")?.value == "20260225T061320Z")
        #expect(event.property("SEQUENCE")?.value == "0")
        #expect(event.property("DTSTART")?.parameter("TZID") == "Asia/Kolkata")
        #expect(event.property("DTSTART")?.value == "20260304T140000")
        #expect(event.property("DTEND")?.value == "20260304T150000")
        #expect(event.property("SUMMARY")?.text == invitation.summary)
        #expect(event.property("STATUS")?.value == "CONFIRMED")

        let link = invitation.attendees[1].joinURL  // has "," and ";": escaped in TEXT, raw in URI
        #expect(event.property("LOCATION")?.text == link)
        #expect(event.property("LOCATION")?.value == "https://meet.example.in/j/ABC?t=sunil\\,token\\;1")
        #expect(event.property("DESCRIPTION")?.text == "Agenda:\n1. Numbers\n2. Plans\n\nJoin the meeting: \(link)")
        #expect(event.property("URL")?.value == link)
        let conference = try #require(event.property("CONFERENCE"))
        #expect(conference.value == link)
        #expect(conference.parameter("VALUE") == "URI")
        #expect(conference.parameter("FEATURE") == "VIDEO")
        #expect(conference.parameter("LABEL") == "Join")
        // Nobody else's link is in this copy.
        let text = String(decoding: try ICalendarDocument.bytes(invitation, for: invitation.attendees[1]), as: UTF8.self)
        #expect(!text.contains("host-token") && !text.contains("viewer-token"))

        let organizer = try #require(event.property("ORGANIZER"))
        #expect(organizer.value == "mailto:asha@example.in")
        #expect(organizer.parameter("CN") == "Asha Rao")

        let attendees = event.properties("ATTENDEE")
        #expect(attendees.map(\.value) == ["mailto:asha@example.in", "mailto:sunil@example.in", "mailto:viewer@example.org"])
        #expect(attendees.map { $0.parameter("ROLE") } == ["CHAIR", "REQ-PARTICIPANT", "OPT-PARTICIPANT"])
        #expect(attendees.allSatisfy { $0.parameter("PARTSTAT") == "NEEDS-ACTION" && $0.parameter("RSVP") == "TRUE" })
        #expect(attendees.map { $0.parameter("CN") } == ["Asha Rao", "सुनील कुमार", "Viewer, The"])
    }

    @Test func dstZoneWritesLocalTimeWithTZID() throws {
        let (calendar, event) = try event(try Sample.invitation(zone: "America/New_York"), for: 0)
        #expect(event.property("DTSTART")?.value == "20260304T033000")  // 08:30Z is 03:30 EST
        #expect(calendar.components("VTIMEZONE").first?.components.count == 2)
    }

    @Test func updateRaisesSequence() throws {
        let (_, event) = try event(try Sample.invitation(sequence: 3), for: 0)
        #expect(event.property("SEQUENCE")?.value == "3")
    }

    @Test func cancelForARemovedAttendeeNamesOnlyThemAndDropsTheLink() throws {
        let invitation = try Sample.invitation(sequence: 2)
        let removed = invitation.attendees[2]
        let cancel = invitation.cancellation(for: [removed])
        let (calendar, event) = try event(cancel, for: 0)
        #expect(calendar.property("METHOD")?.value == "CANCEL")
        #expect(event.property("STATUS")?.value == "CANCELLED")
        #expect(event.property("SEQUENCE")?.value == "2")
        #expect(event.properties("ATTENDEE").map(\.value) == ["mailto:viewer@example.org"])
        #expect(event.property("CONFERENCE") == nil && event.property("URL") == nil && event.property("LOCATION") == nil)
        #expect(event.property("UID")?.text == invitation.uid)
        // Cancelling the meeting: CANCEL listing everyone.
        var all = invitation
        all.method = .cancel
        let (_, everyone) = try self.event(all, for: 1)
        #expect(everyone.properties("ATTENDEE").count == 3)
    }

    static let badMeetings: [(String, BridgeError.Code)] = [
        ("zone", .unknownTimeZone), ("end", .invalidMeeting), ("uid", .invalidMeeting),
        ("link", .invalidJoinURL), ("nobody", .invalidMeeting), ("stranger", .invalidMeeting),
    ]

    @Test(arguments: badMeetings)
    func badMeetingsAreTypedErrors(change: String, code: BridgeError.Code) throws {
        var invitation = try Sample.invitation()
        var recipient = invitation.attendees[0]
        switch change {
        case "zone": invitation.timeZoneID = "Asia/Calcutta_Nowhere"
        case "end": invitation.end = invitation.start
        case "uid": invitation.uid = ""
        case "link": invitation.attendees[0].joinURL = "javascript:alert(1)"; recipient = invitation.attendees[0]
        case "nobody": invitation.attendees = []
        default: recipient.email = try EmailAddress("stranger@example.net")
        }
        #expect {
            _ = try ICalendarDocument.bytes(invitation, for: recipient)
        } throws: { ($0 as? BridgeError)?.code == code }
        if change == "zone" {
            do { _ = try ICalendarDocument.bytes(invitation, for: recipient) } catch {
                #expect(error.description == "unknown time zone 'Asia/Calcutta_Nowhere'")
            }
        }
    }

    @Test(arguments: ["a@example.com", "first.last+tag@mail.example.co.in", "x_y@sub.example.org", "अ@example.in"])
    func goodEmailAddresses(address: String) throws {
        #expect(try EmailAddress(address).value == address)
    }

    @Test(arguments: [
        "", "plain", "@example.com", "a@", "a@b", "a@@example.com", "a@b@example.com", "a b@example.com",
        "a@exa mple.com", "a\n@example.com", "a@example..com", "a@.example.com", "a@example.com.", ".a@example.com",
        "a..b@example.com", "<a@example.com>", "a,b@example.com", "a@example.com\r\nBcc: x@evil.example",
    ])
    func badEmailAddresses(address: String) {
        #expect {
            _ = try EmailAddress(address)
        } throws: { ($0 as? BridgeError)?.code == .invalidEmailAddress }
    }
}

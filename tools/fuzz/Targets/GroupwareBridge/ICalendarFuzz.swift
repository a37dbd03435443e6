@testable import GroupwareBridge

/// iCalendar (RFC 5545) as a calendar server or a mail hands it to us: parsed, written back and parsed
/// again to the same components; and read as a booking of the conference resource, as the calendar
/// watcher does, with the join link written into it.
enum ICalendarFuzz {
    static let name = "ical"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let bytes = Array(data)
        if let components = try? ICalendarParser().parse(bytes) {
            let written = ICalendarWriter.bytes(components)
            let again: [ICalendarComponent]
            do {
                again = try ICalendarParser().parse(written)
            } catch {
                throw FuzzFailure(name, "written calendar does not parse: \(error)")
            }
            try check(again == components, name, "components changed on write-back")
        }
        let text = String(decoding: data, as: UTF8.self)
        if (try? CalendarBooking.read(text)) != nil, let calendar = try? ICalendarParser().parseCalendar(bytes) {
            if let linked = CalendarBooking.withLink(calendar, link: "https://sabha.example/m/room?t=token") {
                _ = ICalendarWriter.bytes(linked)
            }
        }
    }
}

@testable import GroupwareBridge

/// iCalendar (RFC 5545) as a calendar server or a mail hands it to us: parsed, written back and parsed
/// again to the same components. (Reading it as a booking is the `booking` target of Scheduling.)
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
    }
}

@testable import GroupwareBridge
@testable import Scheduling

/// An event of the conference resource's calendar, read as the calendar watcher reads a booking, with the join
/// link written into it as the outbox writes it back.
enum BookingFuzz {
    static let name = "booking"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let bytes = Array(data)
        let text = String(decoding: data, as: UTF8.self)
        guard (try? CalendarBooking.read(text)) != nil, let calendar = try? ICalendarParser().parseCalendar(bytes) else { return }
        if let linked = CalendarBooking.withLink(calendar, link: "https://sabha.example/m/room?t=token") {
            let written = ICalendarWriter.bytes(linked)
            do {
                _ = try ICalendarParser().parseCalendar(written)
            } catch {
                throw FuzzFailure(name, "a booking with its link written in does not parse: \(error)")
            }
        }
    }
}

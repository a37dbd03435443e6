import Foundation
import GroupwareBridge

/// A booking of the conference resource, read from an event in the resource calendar: what meeting it asks for.
///
/// Accepted: one VEVENT (the master, when there are overrides) with UID, DTSTART as a date-time (with TZID,
/// UTC, or floating in the default zone), DTEND or DURATION (else one hour), ORGANIZER and ATTENDEEs as mailto.
/// Attendees whose CUTYPE is ROOM or RESOURCE (the conference resource itself) are not people and get no link;
/// the organizer always hosts. CHAIR maps to host, NON-PARTICIPANT to viewer, everyone else to participant.
public struct CalendarBooking: Sendable, Equatable {
    public var uid: String
    /// The event's SEQUENCE, always within `0...MeetingRecord.maximumSequence`; 0 when absent or unusable.
    public var sequence: Int
    /// The SEQUENCE text when it was not a whole number from 0 to 2147483647 (RFC 5545 INTEGER) and was
    /// therefore ignored: the booking still works, and the watcher logs it.
    public var ignoredSequence: String?
    public var cancelled: Bool
    public var draft: MeetingDraft
    /// The calendar object as read: the watcher takes the attendees' answers (PARTSTAT) from it.
    public var calendar: ICalendarComponent

    /// The line the write-back puts into DESCRIPTION; stripped again when reading, so it never piles up.
    static let linkPrefix = "Join the meeting: "

    public static func read(_ text: String, defaultTimeZone: String = "Asia/Kolkata") throws(BookingError) -> CalendarBooking {
        let calendar: ICalendarComponent
        do { calendar = try ICalendarParser().parseCalendar(Array(text.utf8)) } catch { throw .unreadable(error.description) }
        guard let event = calendar.masterEvent else { throw .unusable("the calendar object holds no VEVENT") }
        guard let uid = event.property("UID")?.text, !uid.isEmpty else { throw .unusable("the event has no UID") }
        guard let dtstart = event.property("DTSTART") else { throw .unusable("the event has no DTSTART") }
        let zone = try Self.zone(of: dtstart, default: defaultTimeZone)
        let start = try Self.date(dtstart, zone: zone)
        let end: Date
        if let dtend = event.property("DTEND") {
            end = try Self.date(dtend, zone: try Self.zone(of: dtend, default: zone))
        } else if let duration = event.property("DURATION") {
            guard let seconds = Self.seconds(duration.value) else { throw .unusable("DURATION '\(duration.value.prefix(40))' is not a duration") }
            end = start.addingTimeInterval(seconds)
        } else {
            end = start.addingTimeInterval(3600)
        }
        guard let organizerProperty = event.property("ORGANIZER"), let organizerEmail = Self.email(organizerProperty.value) else {
            throw .unusable("the event has no ORGANIZER with a mailto address")
        }
        let organizer: CalendarUser
        do {
            organizer = CalendarUser(name: organizerProperty.parameter("CN") ?? "", email: try EmailAddress(organizerEmail))
        } catch {
            throw .unusable("ORGANIZER: \(error.reason)")
        }
        var attendees: [MeetingDraft.Invitee] = []
        for property in event.properties("ATTENDEE") {
            let type = property.parameter("CUTYPE")?.uppercased() ?? "INDIVIDUAL"
            guard type != "ROOM", type != "RESOURCE" else { continue }
            guard let address = Self.email(property.value), let email = try? EmailAddress(address) else { continue }  // not mail: skipped
            let role: Attendee.Role = switch property.parameter("ROLE")?.uppercased() {
            case "CHAIR": .host
            case "NON-PARTICIPANT": .viewer
            default: .participant
            }
            attendees.append(.init(name: property.parameter("CN") ?? "", email: email, role: role))
        }
        if let index = attendees.firstIndex(where: { $0.email.value.lowercased() == organizer.email.value.lowercased() }) {
            attendees[index].role = .host
            if attendees[index].name.isEmpty { attendees[index].name = organizer.name }
        } else {
            attendees.insert(.init(name: organizer.name, email: organizer.email, role: .host), at: 0)
        }
        let description = (event.property("DESCRIPTION")?.text ?? "")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix(Self.linkPrefix) }
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        let draft = MeetingDraft(
            title: event.property("SUMMARY")?.text.trimmingCharacters(in: .whitespacesAndNewlines).nonEmpty ?? "Meeting",
            description: description, start: start, end: end, timeZone: zone, organizer: organizer, attendees: attendees)
        let sequence = Self.sequence(event.property("SEQUENCE")?.value)
        do {
            return CalendarBooking(uid: uid, sequence: sequence ?? 0,
                                   ignoredSequence: sequence == nil ? event.property("SEQUENCE")?.value : nil,
                                   cancelled: event.property("STATUS")?.value.uppercased() == "CANCELLED",
                                   draft: try draft.validated(), calendar: calendar)
        } catch {
            throw .unusable(error.description)
        }
    }

    /// SEQUENCE (RFC 5545 section 3.8.7.4) is a non-negative INTEGER, which section 3.3.8 bounds at 2147483647:
    /// 0 when absent, nil when it is anything else. A bound matters because the scheduler adds to it (an
    /// event with SEQUENCE:9223372036854775807 once made every later edit trap on the addition).
    static func sequence(_ text: String?) -> Int? {
        guard let text else { return 0 }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (0...MeetingRecord.maximumSequence).contains(value) else { return nil }
        return value
    }

    /// The calendar object with the meeting page in the (master) event's LOCATION, CONFERENCE and DESCRIPTION;
    /// nil when it already carries it there.
    static func withLink(_ calendar: ICalendarComponent, link: String) -> ICalendarComponent? {
        var calendar = calendar
        guard let index = calendar.masterEventIndex else { return nil }
        var event = calendar.components[index]
        let description = event.property("DESCRIPTION")?.text ?? ""
        let hasConference = event.properties("CONFERENCE").contains { $0.value == link }
        if event.property("LOCATION")?.text == link, hasConference, description.contains(link) { return nil }
        event.properties.removeAll { $0.name == "LOCATION" || ($0.name == "CONFERENCE" && $0.value == link) || $0.name == "DESCRIPTION" }
        let kept = description.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix(linkPrefix) }.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        event.properties += [
            ICalendarProperty("LOCATION", text: link),
            ICalendarProperty("DESCRIPTION", text: kept.isEmpty ? linkPrefix + link : kept + "\n\n" + linkPrefix + link),
            ICalendarProperty("CONFERENCE", parameters: [ICalendarParameter("VALUE", "URI"), ICalendarParameter("FEATURE", "VIDEO"),
                                                         ICalendarParameter("LABEL", "Join")], value: link),
        ]
        calendar.components[index] = event
        return calendar
    }

    // MARK: - Values

    /// The zone of a DATE-TIME: its TZID when that names an IANA zone (also inside a longer id such as
    /// "/mozilla.org/20070129_1/Europe/Berlin"), UTC for "...Z", else `fallback`.
    /// A TZID that names no IANA zone (Windows names, say) is refused rather than guessed at.
    static func zone(of property: ICalendarProperty, default fallback: String) throws(BookingError) -> String {
        if property.value.hasSuffix("Z") { return fallback }
        guard let tzid = property.parameter("TZID") else { return fallback }
        let parts = tzid.split(separator: "/")
        for start in parts.indices {
            let candidate = parts[start...].joined(separator: "/")
            if candidate.contains("/") || candidate == "UTC", TimeZone(identifier: candidate) != nil { return candidate }
        }
        throw .unusable("time zone '\(tzid.prefix(60))' of \(property.name) is not an IANA zone (like Asia/Kolkata)")
    }

    static func date(_ property: ICalendarProperty, zone: String) throws(BookingError) -> Date {
        if property.parameter("VALUE")?.uppercased() == "DATE" || property.value.count == 8 {
            throw .unusable("\(property.name) is a date without a time (an all-day event is not a meeting)")
        }
        let parsed: ICalendarDateTime
        do { parsed = try ICalendarDateTime(parsing: property.value) } catch { throw .unusable("\(property.name): \(error.reason)") }
        if parsed.isUTC { return parsed.utcDate }
        guard let timeZone = TimeZone(identifier: zone) else { throw .unusable("unknown time zone '\(zone)'") }
        var components = DateComponents()
        (components.year, components.month, components.day) = (parsed.year, parsed.month, parsed.day)
        (components.hour, components.minute, components.second) = (parsed.hour, parsed.minute, parsed.second)
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = timeZone
        guard let date = gregorian.date(from: components) else { throw .unusable("\(property.name) is not a real time") }
        return date
    }

    /// RFC 5545 section 3.3.6: "PT1H30M", "P1D", "P1W", optionally signed.
    static func seconds(_ text: String) -> TimeInterval? {
        var rest = Substring(text.uppercased())
        if rest.hasPrefix("+") { rest = rest.dropFirst() }
        guard rest.hasPrefix("P") else { return nil }
        rest = rest.dropFirst()
        var total = 0.0
        var number = ""
        var inTime = false
        var sawUnit = false
        for character in rest {
            if character.isNumber { number.append(character); continue }
            if character == "T" { inTime = true; continue }
            guard let value = Double(number) else { return nil }
            number = ""
            sawUnit = true
            switch (character, inTime) {
            case ("W", false): total += value * 7 * 86_400
            case ("D", false): total += value * 86_400
            case ("H", true): total += value * 3600
            case ("M", true): total += value * 60
            case ("S", true): total += value
            default: return nil
            }
        }
        return sawUnit && number.isEmpty && total > 0 ? total : nil
    }

    static func email(_ value: String) -> String? {
        guard value.lowercased().hasPrefix("mailto:") else { return nil }
        let address = String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        return address.isEmpty ? nil : address
    }
}

/// Why an event in the resource calendar does not become a meeting (it is skipped and logged).
public enum BookingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not iCalendar at all.
    case unreadable(String)
    /// iCalendar, but not a meeting we can hold.
    case unusable(String)

    public var description: String {
        switch self {
        case .unreadable(let why): "not a calendar object: \(why)"
        case .unusable(let why): why
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

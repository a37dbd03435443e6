import Foundation
import GroupwareBridge

/// The report as CSV (RFC 4180) and as text in the organizer's language, with times in the meeting's time zone.
extension AttendanceReport {
    static let csvColumns = ["email", "name", "role", "organizer", "invited", "answer", "comment", "answered_at", "attended",
                             "first_join", "last_leave", "seconds_present", "time_present", "sessions", "reconnects", "removed",
                             "removed_by", "addresses"]

    /// One row per person; CRLF line ends; times as RFC 3339 with the meeting zone's offset.
    public var csv: String {
        let zone = TimeZone(identifier: timezone) ?? TimeZone(identifier: "UTC")!
        var lines = [Self.csvColumns.joined(separator: ",")]
        for p in people {
            let fields: [String] = [
                p.identity, p.name, p.role, p.organizer ? "yes" : "no", p.invited ? "yes" : "no", p.answer, p.answerComment ?? "",
                p.answeredAt.map { Self.timestamp($0, zone) } ?? "", p.attended ? "yes" : "no",
                p.firstJoin.map { Self.timestamp($0, zone) } ?? "", p.lastLeave.map { Self.timestamp($0, zone) } ?? "",
                String(p.secondsPresent), Self.duration(p.secondsPresent), String(p.sessions), String(p.reconnects),
                p.removed ? "yes" : "no", p.removedBy ?? "", (p.addresses ?? []).joined(separator: " "),
            ]
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// One CSV field (`CSV.field`: quoting, and formulas disarmed).
    static func csvField(_ value: String) -> String { CSV.field(value) }

    /// The mail's text in `language`.
    public func text(in language: MessageLanguage) -> String {
        let strings = ReportStrings.table(language)
        let zone = TimeZone(identifier: timezone) ?? TimeZone(identifier: "UTC")!
        let when = Self.when(start, end, zone: zone, language: language)
        var lines = [strings.heading(title, when)]
        if !endedBy.isEmpty { lines.append(strings.ended(Self.clock(endedAt, zone))) }
        lines.append("")
        let invited = people.filter(\.invited)
        let counts = [ParticipationStatus.accepted, .declined, .tentative, .needsAction].map { status in
            "\(strings.answer(status.wire)) \(invited.filter { $0.answer == status.wire }.count)"
        }
        lines.append(strings.invited(invited.count) + " (" + counts.joined(separator: ", ") + ")")
        lines.append(strings.attended(invited.filter(\.attended).count, invited.count))
        if guestCount > 0 { lines.append(strings.guests(guestCount)) }
        lines.append("")
        for person in people { lines.append("- " + line(person, strings, zone)) }
        lines += ["", strings.attachment(timezone)]
        return lines.joined(separator: "\n")
    }

    /// The short summary written into the organizer's calendar event (its DESCRIPTION).
    public func calendarSummary(in language: MessageLanguage) -> String {
        let strings = ReportStrings.table(language)
        let zone = TimeZone(identifier: timezone) ?? TimeZone(identifier: "UTC")!
        let invited = people.filter(\.invited)
        var lines = ["\(strings.calendarHeading):", strings.attended(invited.filter(\.attended).count, invited.count)]
        if guestCount > 0 { lines.append(strings.guests(guestCount)) }
        for person in people { lines.append("- " + line(person, strings, zone)) }
        return lines.joined(separator: "\n")
    }

    private func line(_ p: Person, _ strings: ReportStrings, _ zone: TimeZone) -> String {
        var text = p.name.isEmpty ? p.identity : "\(p.name) <\(p.identity)>"
        var answer = strings.answer(p.answer)
        if let comment = p.answerComment { answer += " “\(comment.replacingOccurrences(of: "\n", with: " "))”" }
        text += ": " + answer + " — "
        if let first = p.firstJoin, let last = p.lastLeave {
            text += strings.present(Self.duration(p.secondsPresent), Self.clock(first, zone), Self.clock(last, zone))
            if p.reconnects > 0 { text += ", " + strings.reconnects(p.reconnects) }
        } else {
            text += strings.notJoined
        }
        if p.removed { text += ", " + strings.removed(p.removedBy.flatMap { $0.isEmpty ? nil : $0 } ?? "admin") }
        return text
    }

    /// Hours, minutes and seconds, always all three ("0:20:03"), so no one reads minutes as hours.
    public static func duration(_ seconds: Int) -> String {
        let h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(h):\(two(m)):\(two(s))"
    }

    /// "10:04:05" in the meeting's zone.
    static func clock(_ date: Date, _ zone: TimeZone) -> String {
        let d = ICalendarDateTime(date, in: zone)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(d.hour)):\(two(d.minute)):\(two(d.second))"
    }

    /// "2026-12-05T10:04:05+05:30".
    static func timestamp(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// The meeting's date written out in the language, its times as offices write them, and the zone.
    static func when(_ start: Date, _ end: Date, zone: TimeZone, language: MessageLanguage) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let style = Date.FormatStyle(date: .complete, time: .omitted, locale: language.locale, calendar: calendar, timeZone: zone)
        let s = ICalendarDateTime(start, in: zone), e = ICalendarDateTime(end, in: zone)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(start.formatted(style)) \(two(s.hour)):\(two(s.minute))–\(two(e.hour)):\(two(e.minute)) (\(zone.identifier))"
    }
}

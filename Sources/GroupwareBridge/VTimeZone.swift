import Foundation

/// A VTIMEZONE (RFC 5545 section 3.6.5) derived from the tz database through Foundation's
/// `TimeZone`, because a DTSTART with TZID must travel with its zone's definition and we do not
/// want to ship our own copy of the rules.
///
/// For a zone with daylight saving the two transitions of the event's year give the current rules:
/// each becomes a STANDARD or DAYLIGHT observance with `RRULE:FREQ=YEARLY;BYMONTH=m;BYDAY=nSU`
/// (or `-1SU`), its DTSTART moved to the previous year so that the start of the event's year is
/// covered too. A zone without transitions is one STANDARD observance. Anything irregular (a zone
/// that changes its rules within the year) is written as one-off observances for that year.
public struct VTimeZone: Hashable, Sendable {
    /// One STANDARD or DAYLIGHT sub-component.
    public struct Observance: Hashable, Sendable {
        public enum Kind: String, Hashable, Sendable {
            case standard = "STANDARD"
            case daylight = "DAYLIGHT"
        }

        /// A yearly onset on the n-th (or last, -1) given weekday of a month.
        public struct YearlyRule: Hashable, Sendable {
            public var month: Int
            /// 1...4, or -1 for the last.
            public var ordinal: Int
            /// 0 = Sunday ... 6 = Saturday.
            public var weekday: Int

            static let weekdayNames = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]

            public var text: String {
                "FREQ=YEARLY;BYMONTH=\(month);BYDAY=\(ordinal)\(Self.weekdayNames[weekday])"
            }

            /// The day of the month this rule picks in a year.
            public func day(in year: Int) -> Int {
                let first = ICalendarDateTime.weekday(year: year, month: month, day: 1)
                let firstMatch = 1 + (weekday - first + 7) % 7
                if ordinal > 0 { return firstMatch + 7 * (ordinal - 1) }
                var day = firstMatch
                while day + 7 <= ICalendarDateTime.daysInMonth(year, month) { day += 7 }
                return day
            }
        }

        public var kind: Kind
        /// Local time of the first onset, in the offset before it (`offsetFrom`).
        public var onset: ICalendarDateTime
        public var offsetFrom: Int
        public var offsetTo: Int
        public var name: String?
        public var rule: YearlyRule?
    }

    public var identifier: String
    public var observances: [Observance]

    /// The definition of `identifier` valid for the year (in that zone) that contains `date`.
    public init(identifier: String, around date: Date) throws(BridgeError) {
        guard let zone = TimeZone(identifier: identifier) else { throw .unknownTimeZone(identifier) }
        self.identifier = identifier
        let year = ICalendarDateTime(date, in: zone).year
        let yearStart = Self.instant(ICalendarDateTime(year: year, month: 1, day: 1), in: zone)
        let yearEnd = Self.instant(ICalendarDateTime(year: year + 1, month: 1, day: 1), in: zone)

        var transitions: [Date] = []
        var cursor = yearStart.addingTimeInterval(-1)
        while transitions.count < 4, let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < yearEnd {
            transitions.append(next)
            cursor = next
        }

        func observance(at t: Date) -> Observance {
            let from = zone.secondsFromGMT(for: t.addingTimeInterval(-1))
            let to = zone.secondsFromGMT(for: t)
            let onset = ICalendarDateTime(secondsSinceEpoch: Int(t.timeIntervalSince1970) + from, isUTC: false)
            return Observance(
                kind: zone.isDaylightSavingTime(for: t) ? .daylight : .standard,
                onset: onset, offsetFrom: from, offsetTo: to, name: Self.name(zone, t), rule: nil)
        }

        let candidates = transitions.map(observance)
        if candidates.count == 2, Set(candidates.map(\.kind)).count == 2 {
            // Regular daylight saving: two yearly rules, first onsets in the previous year.
            observances = candidates.map { o in
                let d = o.onset
                let ordinal = d.day + 7 > ICalendarDateTime.daysInMonth(d.year, d.month) ? -1 : (d.day - 1) / 7 + 1
                let rule = Observance.YearlyRule(month: d.month, ordinal: ordinal, weekday: d.weekday)
                var first = d
                first.year = d.year - 1
                first.day = rule.day(in: first.year)
                var result = o
                result.onset = first
                result.rule = rule
                return result
            }
        } else {
            // No daylight saving (or an irregular year): the offset at the year's start, then one-offs.
            let offset = zone.secondsFromGMT(for: yearStart)
            observances = [Observance(
                kind: zone.isDaylightSavingTime(for: yearStart) ? .daylight : .standard,
                onset: ICalendarDateTime(year: 1970, month: 1, day: 1),
                offsetFrom: offset, offsetTo: offset, name: Self.name(zone, yearStart), rule: nil)]
                + candidates
        }
    }

    /// The VTIMEZONE component.
    public var component: ICalendarComponent {
        ICalendarComponent(
            "VTIMEZONE",
            properties: [ICalendarProperty("TZID", text: identifier)],
            components: observances.map { o in
                var properties = [
                    ICalendarProperty("DTSTART", value: o.onset.text),
                    ICalendarProperty("TZOFFSETFROM", value: UTCOffset.text(o.offsetFrom)),
                    ICalendarProperty("TZOFFSETTO", value: UTCOffset.text(o.offsetTo)),
                ]
                if let rule = o.rule { properties.insert(ICalendarProperty("RRULE", value: rule.text), at: 1) }
                if let name = o.name { properties.append(ICalendarProperty("TZNAME", text: name)) }
                return ICalendarComponent(o.kind.rawValue, properties: properties)
            })
    }

    /// The instant of a wall-clock time in a zone (the earlier one when it is ambiguous).
    static func instant(_ local: ICalendarDateTime, in zone: TimeZone) -> Date {
        let guess = Date(timeIntervalSince1970: TimeInterval(local.secondsSinceEpoch))
        let first = guess.addingTimeInterval(-TimeInterval(zone.secondsFromGMT(for: guess)))
        let second = guess.addingTimeInterval(-TimeInterval(zone.secondsFromGMT(for: first)))
        return min(first, second)
    }

    /// Foundation on Linux answers "GMT+2" style abbreviations; TZNAME is optional, so only
    /// real names (letters only, like "CET") are written.
    static func name(_ zone: TimeZone, _ date: Date) -> String? {
        guard let abbreviation = zone.abbreviation(for: date), !abbreviation.isEmpty,
              abbreviation.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else { return nil }
        return abbreviation
    }
}

import Foundation
import Testing
@testable import GroupwareBridge

/// Reads a VTIMEZONE the way a receiving client does (RFC 5545 section 3.6.5: the offset in force
/// is the TZOFFSETTO of the observance with the latest onset at or before the instant), for the
/// rule shapes time zones use: DTSTART, RDATE, and `FREQ=YEARLY;BYMONTH=m;BYDAY=nXX[;UNTIL=...]`.
struct VTimeZoneEvaluator {
    struct Missing: Error {}
    func need<T>(_ value: T?) throws -> T {
        guard let value else { throw Missing() }
        return value
    }

    var onsets: [(utc: Int, offset: Int)] = []

    init(_ zone: ICalendarComponent, throughYear lastYear: Int) throws {
        for observance in zone.components where observance.name == "STANDARD" || observance.name == "DAYLIGHT" {
            let start = try ICalendarDateTime(parsing: try #require(observance.property("DTSTART")).value)
            let from = try UTCOffset.seconds(parsing: try #require(observance.property("TZOFFSETFROM")).value)
            let to = try UTCOffset.seconds(parsing: try #require(observance.property("TZOFFSETTO")).value)
            var locals = [start]
            for rdate in observance.properties("RDATE") {
                locals += try rdate.value.split(separator: ",").map { try ICalendarDateTime(parsing: String($0)) }
            }
            if let rrule = observance.property("RRULE") {
                var parts: [String: String] = [:]
                for part in rrule.value.split(separator: ";") {
                    let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                    parts[kv[0]] = kv[1]
                }
                #expect(parts["FREQ"] == "YEARLY")
                let month = try need(Int(try need(parts["BYMONTH"])))
                let byday = try need(parts["BYDAY"])
                let weekday = try need(["SU", "MO", "TU", "WE", "TH", "FR", "SA"].firstIndex(of: String(byday.suffix(2))))
                let ordinal = try need(Int(byday.dropLast(2)))
                let rule = VTimeZone.Observance.YearlyRule(month: month, ordinal: ordinal, weekday: weekday)
                let until = try parts["UNTIL"].map { try ICalendarDateTime(parsing: $0).secondsSinceEpoch }
                for year in start.year...max(start.year, lastYear) {
                    var local = start
                    local.year = year
                    local.month = month
                    local.day = rule.day(in: year)
                    if local < start { continue }
                    if let until, local.secondsSinceEpoch - from > until { break }
                    locals.append(local)
                }
            }
            onsets += Set(locals).map { ($0.secondsSinceEpoch - from, to) }
        }
        onsets.sort { $0.utc < $1.utc }
    }

    func offset(at date: Date) -> Int? {
        let t = Int(date.timeIntervalSince1970)
        return onsets.last(where: { $0.utc <= t })?.offset
    }
}

struct VTimeZoneTests {
    static func mismatches(_ component: ICalendarComponent, zone: TimeZone, year: Int) throws -> [String] {
        let evaluator = try VTimeZoneEvaluator(component, throughYear: year + 1)
        let first = VTimeZone.instant(ICalendarDateTime(year: year, month: 1, day: 1), in: zone)
        let last = VTimeZone.instant(ICalendarDateTime(year: year + 1, month: 1, day: 1), in: zone)
        var instants: [Date] = []
        var t = first
        while t < last { instants.append(t); t += 3600 }
        var cursor = first
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < last {
            instants += [next - 1, next, next + 1]
            cursor = next
        }
        return instants.compactMap { instant in
            let implied = evaluator.offset(at: instant)
            let actual = zone.secondsFromGMT(for: instant)
            return implied == actual ? nil : "\(instant): VTIMEZONE says \(implied.map(String.init) ?? "nothing"), tz says \(actual)"
        }
    }

    static let zones = ["Asia/Kolkata", "Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Asia/Tehran"]

    /// For every instant of the year (hourly, and around each transition) the offset the written
    /// VTIMEZONE implies is the tz database's offset.
    @Test(arguments: zones, [2024, 2026, 2031])
    func writtenTimeZoneImpliesTheTZDatabaseOffsets(id: String, year: Int) throws {
        let zone = try #require(TimeZone(identifier: id))
        let middle = VTimeZone.instant(ICalendarDateTime(year: year, month: 6, day: 15), in: zone)
        let component = try VTimeZone(identifier: id, around: middle).component
        // Written and parsed back first, so the check reads what a client reads.
        let parsed = try #require(try ICalendarParser().parse(ICalendarWriter.bytes(component)).first)
        #expect(parsed == component)
        let wrong = try Self.mismatches(parsed, zone: zone, year: year)
        #expect(wrong.isEmpty, "\(id) \(year): \(wrong.prefix(3))")
    }

    @Test func kolkataIsOneStandardObservance() throws {
        let component = try VTimeZone(identifier: "Asia/Kolkata", around: Sample.start).component
        #expect(component.property("TZID")?.value == "Asia/Kolkata")
        #expect(component.components.map(\.name) == ["STANDARD"])
        let standard = component.components[0]
        #expect(standard.property("TZOFFSETFROM")?.value == "+0530")
        #expect(standard.property("TZOFFSETTO")?.value == "+0530")
        #expect(standard.property("DTSTART")?.value == "19700101T000000")
        #expect(standard.property("RRULE") == nil)
    }

    static let rules: [(String, [String: (String, String, String, String)])] = [
        // zone: kind -> (DTSTART, RRULE, TZOFFSETFROM, TZOFFSETTO), for meetings in 2026
        ("Europe/Berlin", [
            "DAYLIGHT": ("20250330T020000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "+0100", "+0200"),
            "STANDARD": ("20251026T030000", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "+0200", "+0100"),
        ]),
        ("America/New_York", [
            "DAYLIGHT": ("20250309T020000", "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "-0500", "-0400"),
            "STANDARD": ("20251102T020000", "FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "-0400", "-0500"),
        ]),
        ("Australia/Sydney", [
            "STANDARD": ("20250406T030000", "FREQ=YEARLY;BYMONTH=4;BYDAY=1SU", "+1100", "+1000"),
            "DAYLIGHT": ("20251005T020000", "FREQ=YEARLY;BYMONTH=10;BYDAY=1SU", "+1000", "+1100"),
        ]),
    ]

    @Test(arguments: rules)
    func daylightSavingZonesGetYearlyRules(id: String, expected: [String: (String, String, String, String)]) throws {
        let component = try VTimeZone(identifier: id, around: Sample.start).component
        #expect(component.components.count == 2)
        for observance in component.components {
            let want = try #require(expected[observance.name])
            #expect(observance.property("DTSTART")?.value == want.0)
            #expect(observance.property("RRULE")?.value == want.1)
            #expect(observance.property("TZOFFSETFROM")?.value == want.2)
            #expect(observance.property("TZOFFSETTO")?.value == want.3)
        }
    }

    @Test func unknownZoneIsATypedError() {
        #expect {
            _ = try VTimeZone(identifier: "Mars/Olympus_Mons", around: Sample.start)
        } throws: { error in
            (error as? BridgeError)?.code == .unknownTimeZone
                && (error as? BridgeError)?.reason == "unknown time zone 'Mars/Olympus_Mons'"
        }
    }

    /// The evaluator itself, checked on the RFC's own New York definitions against the tz database.
    @Test(arguments: [
        ("rfc5545-3.6.5-new-york-current.ics", [2008, 2015, 2024]),
        ("rfc5545-3.6.5-new-york-history.ics", [1970, 1975, 1980, 1990, 2000, 2006, 2008, 2024]),
    ])
    func rfcNewYorkDefinitionsMatchTheTZDatabase(name: String, years: [Int]) throws {
        let component = try #require(try Fixtures.parse(name).first)
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        for year in years {
            let wrong = try Self.mismatches(component, zone: zone, year: year)
            #expect(wrong.isEmpty, "\(name) \(year): \(wrong.prefix(3))")
        }
    }

    @Test func dateTimeAndOffsetValues() throws {
        #expect(try ICalendarDateTime(parsing: "19980312T083000").text == "19980312T083000")
        #expect(try ICalendarDateTime(parsing: "19960918T143000Z").isUTC)
        for bad in ["", "19980312", "19981312T083000", "19980230T000000", "19980312T250000", "1998031ZT083000", "19980312X083000"] {
            #expect(throws: BridgeError.self) { try ICalendarDateTime(parsing: bad) }
        }
        #expect(UTCOffset.text(19800) == "+0530")
        #expect(UTCOffset.text(-18000) == "-0500")
        #expect(UTCOffset.text(3600 + 30 * 60 + 45) == "+013045")
        #expect(try UTCOffset.seconds(parsing: "-0430") == -16200)
        #expect(throws: BridgeError.self) { try UTCOffset.seconds(parsing: "-0000") }
        #expect(ICalendarDateTime(utc: Date(timeIntervalSince1970: 0)).text == "19700101T000000Z")
        #expect(ICalendarDateTime(year: 2026, month: 3, day: 1).weekday == 0)
    }
}

import Foundation

/// A DATE-TIME value (RFC 5545 section 3.3.5) as its fields: local ("floating" or with TZID) or
/// UTC (trailing `Z`). Calendar arithmetic here is plain proleptic Gregorian integer math so that
/// writing and checking VTIMEZONE rules does not depend on a Calendar's locale settings.
public struct ICalendarDateTime: Hashable, Sendable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var isUTC: Bool

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, isUTC: Bool = false) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.isUTC = isUTC
    }

    /// The UTC fields of an instant.
    public init(utc date: Date) {
        self.init(secondsSinceEpoch: Int(date.timeIntervalSince1970.rounded(.down)), isUTC: true)
    }

    /// The wall-clock fields of an instant in a zone (not UTC-marked).
    public init(_ date: Date, in zone: TimeZone) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: date)
        self.init(secondsSinceEpoch: seconds, isUTC: false)
    }

    init(secondsSinceEpoch: Int, isUTC: Bool) {
        let days = Int((Double(secondsSinceEpoch) / 86_400).rounded(.down))
        let rest = secondsSinceEpoch - days * 86_400
        let (y, m, d) = Self.civil(fromDays: days)
        self.init(year: y, month: m, day: d, hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60, isUTC: isUTC)
    }

    /// Parses `YYYYMMDDTHHMMSS` with an optional `Z`.
    public init(parsing text: String) throws(BridgeError) {
        let b = Array(text.utf8)
        guard b.count == 15 || (b.count == 16 && b[15] == UInt8(ascii: "Z")), b[8] == UInt8(ascii: "T"),
              let y = Self.digits(b[0..<4]), let mo = Self.digits(b[4..<6]), let d = Self.digits(b[6..<8]),
              let h = Self.digits(b[9..<11]), let mi = Self.digits(b[11..<13]), let s = Self.digits(b[13..<15]),
              (1...12).contains(mo), (1...Self.daysInMonth(y, mo)).contains(d), h < 24, mi < 60, s <= 60
        else { throw .invalidValue("'\(text.prefix(40))' is not a DATE-TIME (YYYYMMDDTHHMMSS[Z])") }
        self.init(year: y, month: mo, day: d, hour: h, minute: mi, second: s, isUTC: b.count == 16)
    }

    /// `YYYYMMDDTHHMMSS`, plus `Z` for UTC.
    public var text: String {
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(hour, 2) + pad(minute, 2) + pad(second, 2)
            + (isUTC ? "Z" : "")
    }

    /// The fields read as if they were UTC, in seconds since 1970: local arithmetic without a zone.
    public var secondsSinceEpoch: Int {
        Self.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// The instant these fields name, for UTC values.
    public var utcDate: Date { Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    /// 0 = Sunday ... 6 = Saturday.
    public var weekday: Int { Self.weekday(year: year, month: month, day: day) }

    // MARK: proleptic Gregorian arithmetic (H. Hinnant's days-from-civil)

    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func weekday(year: Int, month: Int, day: Int) -> Int {
        let d = days(year: year, month: month, day: day)
        return ((d % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
    }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        var v = 0
        for b in bytes {
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + Int(b - 0x30)
        }
        return v
    }
}

/// A UTC-OFFSET value (RFC 5545 section 3.3.14): `+0530`, `-0500`, `+013045`.
public enum UTCOffset {
    /// Seconds east of UTC as `(+|-)HHMM[SS]`; seconds only when not zero.
    public static func text(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let a = abs(seconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let base = sign + two(a / 3600) + two(a / 60 % 60)
        return a % 60 == 0 ? base : base + two(a % 60)
    }

    /// Seconds east of UTC. `-0000` is not allowed (section 3.3.14).
    public static func seconds(parsing text: String) throws(BridgeError) -> Int {
        let b = Array(text.utf8)
        guard b.count == 5 || b.count == 7, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"),
              let h = ICalendarDateTime.digits(b[1..<3]), let m = ICalendarDateTime.digits(b[3..<5]), m < 60,
              let s = b.count == 7 ? ICalendarDateTime.digits(b[5..<7]) : 0, s < 60
        else { throw .invalidValue("'\(text.prefix(20))' is not a UTC offset (+HHMM[SS])") }
        let value = h * 3600 + m * 60 + s
        if value == 0 && b[0] == UInt8(ascii: "-") { throw .invalidValue("-0000 is not a valid UTC offset") }
        return b[0] == UInt8(ascii: "-") ? -value : value
    }
}

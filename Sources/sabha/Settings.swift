import ArgumentParser
import Foundation

/// Resolves a setting: command-line option first, then its SABHA_* environment variable, then the default.
enum Settings {
    static func value(_ option: String?, env: String, default fallback: String) -> String {
        if let option { return option }
        if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty { return value }
        return fallback
    }

    static func optional(_ option: String?, env: String) -> String? {
        if let option { return option }
        if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty { return value }
        return nil
    }

    /// "host:port", "[v6]:port" → (host, port); with `defaultPort`, also "host", "[v6]" and a bare IPv6 address.
    static func hostPort(_ text: String, what: String, defaultPort: Int? = nil) throws -> (host: String, port: Int) {
        var host: Substring
        var port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty, let defaultPort { return try hostPort("[\(host)]:\(defaultPort)", what: what) }
            guard rest.hasPrefix(":") else { throw ValidationError("\(what) '\(text)' needs a port: [ADDRESS]:PORT") }
            port = rest.dropFirst()
        } else {
            // No port, or a bare IPv6 address (more than one colon): the default port, when there is one.
            if let defaultPort, text.filter({ $0 == ":" }).count != 1 { return try hostPort("[\(text)]:\(defaultPort)", what: what) }
            guard let colon = text.lastIndex(of: ":") else { throw ValidationError("\(what) '\(text)' needs a port: HOST:PORT") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw ValidationError("\(what) '\(text)' has no address") }
        guard let number = Int(port), (0...65535).contains(number) else {
            throw ValidationError("\(what) '\(text)': port must be a number from 0 to 65535")
        }
        return (String(host), number)
    }

    /// `Name <address>` (the name may be quoted) or a bare address → (name, address); the name is empty when absent.
    static func mailbox(_ text: String) -> (name: String, address: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard let open = text.lastIndex(of: "<"), text.hasSuffix(">") else { return ("", text) }
        let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return (name, String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
    }

    /// The longest duration any option takes (ten years): more is a typo, and it keeps every later conversion
    /// (to milliseconds, to a whole number of seconds) far from overflowing.
    static let maximumDuration: TimeInterval = 10 * 366 * 86_400

    /// "90s", "15m", "1h", "7d", or plain seconds; positive and at most `maximum`.
    static func duration(_ text: String, what: String, maximum: TimeInterval = maximumDuration) throws -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text)
        var scale = 1.0
        if let last = text.last, let unit = units[last] {
            number = number.dropLast()
            scale = unit
        }
        guard let value = Double(number), value > 0, value.isFinite else {
            throw ValidationError("\(what) '\(text)' is not a duration like 90s, 15m, 1h or 7d")
        }
        let seconds = value * scale
        guard seconds <= maximum else {
            throw ValidationError("\(what) '\(text)' is longer than the \(describe(maximum)) allowed")
        }
        return seconds
    }

    /// "30d", "1h", "90s": the largest whole unit.
    static func describe(_ seconds: TimeInterval) -> String {
        for (unit, size) in [("d", 86_400.0), ("h", 3600.0), ("m", 60.0)] where seconds >= size && seconds.truncatingRemainder(dividingBy: size) == 0 {
            return "\(Int(seconds / size))\(unit)"
        }
        return "\(seconds)s"
    }

    /// A whole number from an option or its environment variable, within `range`.
    static func count(_ option: Int?, env: String, default fallback: Int, range: ClosedRange<Int>, what: String) throws -> Int {
        let text = option.map(String.init) ?? Settings.value(nil, env: env, default: String(fallback))
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text.prefix(40))'")
        }
        return value
    }

    /// A size in bytes: "1048576", "512KiB" / "512k", "1MiB" / "1m" (powers of 1024), within `range`.
    static func bytes(_ text: String, what: String, range: ClosedRange<Int>) throws -> Int {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        var number = Substring(lower)
        var scale = 1
        for (suffix, size) in [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)]
        where lower.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = size
            break
        }
        guard let value = Int(number), value >= 0, value <= range.upperBound / scale, range.contains(value * scale) else {
            throw ValidationError("\(what) '\(text.prefix(40))' must be a size from \(range.lowerBound) to \(range.upperBound) bytes (e.g. 1MiB, 256KiB)")
        }
        return value * scale
    }

    /// "gov.in, nic.in" → ["gov.in", "nic.in"]: lower case, each a domain with a dot and no spaces or '@'.
    static func domains(_ text: String, what: String) throws -> [String] {
        let domains = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        for domain in domains {
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }) else {
                throw ValidationError("\(what): '\(domain.prefix(80))' is not a mail domain like dept.gov.in")
            }
        }
        guard !domains.isEmpty else { throw ValidationError("\(what) names no domain; leave it unset to invite any domain") }
        return domains
    }

    /// A number of seconds from an option or its environment variable, finite and within `range`.
    static func seconds(_ option: Double?, env: String, default fallback: Double, range: ClosedRange<Double>, what: String) throws -> Double {
        let text = option.map { "\($0)" } ?? Settings.value(nil, env: env, default: "\(fallback)")
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ValidationError("\(what) must be a number of seconds from \(range.lowerBound) to \(range.upperBound); got '\(text.prefix(40))'")
        }
        return value
    }

    /// An on/off environment variable: 1/true/yes/on or 0/false/no/off; unset means `fallback`.
    static func flag(env: String, default fallback: Bool) throws -> Bool {
        guard let text = optional(nil, env: env) else { return fallback }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ValidationError("\(env) must be 1 or 0 (true/false, yes/no, on/off); got '\(text.prefix(40))'")
        }
    }
}

import Foundation
import Logging

/// `--log-format json`: one JSON object per line on standard error, for the state's log collectors (journald,
/// Fluent Bit, Loki). The fields are `time` (RFC 3339, UTC, milliseconds), `level`, `logger` (the label, e.g.
/// `sabha.outbox`), `message`, and every metadata key as a field of its own: `room`, `participant`, `identity`,
/// `address`, ... Each line goes out in one write, so lines from different threads never interleave.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        Self.write(label: label, level: event.level, message: "\(event.message)", metadata: fields)
    }

    /// One line; also for what is not logged through swift-log (the media workers' lines).
    static func write(label: String, level: Logger.Level, message: String, metadata: Logger.Metadata = [:]) {
        var line = "{\"time\":\(quoted(timestamp())),\"level\":\(quoted(level.rawValue)),\"logger\":\(quoted(label)),\"message\":\(quoted(message))"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !["time", "level", "logger", "message"].contains(key) {
            line += ",\(quoted(key)):\(json(value))"
        }
        line += "}\n"
        line.withCString { _ = Foundation.write(2, $0, strlen($0)) }
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quoted(text)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let entries): "{" + entries.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(json($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func timestamp() -> String {
        // From Date rather than clock_gettime: with MemberImportVisibility, timespec's members are attributed to
        // whichever module imported the C header first, which changed when PostgresNIO came in.
        let now = Date().timeIntervalSince1970
        let whole = now.rounded(.down)
        var seconds = time_t(whole)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, min(999, Int((now - whole) * 1000)))
    }
}

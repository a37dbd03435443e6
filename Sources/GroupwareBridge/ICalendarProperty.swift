/// One content line (RFC 5545 section 3.1): `name *(";" param) ":" value`.
///
/// `value` is kept as it is on the wire (still TEXT-escaped) because only the property's value
/// type says whether backslashes are escapes: a URI or RRULE value must not be unescaped.
/// Use `text` / `init(name:text:)` for TEXT values.
public struct ICalendarProperty: Hashable, Sendable {
    /// Upper-cased: property names are case-insensitive (section 3.5).
    public var name: String
    public var parameters: [ICalendarParameter]
    /// The raw value, after unfolding.
    public var value: String

    public init(_ name: String, parameters: [ICalendarParameter] = [], value: String) {
        self.name = name.uppercased()
        self.parameters = parameters
        self.value = value
    }

    /// A TEXT property (section 3.3.11): the value is escaped here.
    public init(_ name: String, parameters: [ICalendarParameter] = [], text: String) {
        self.init(name, parameters: parameters, value: Self.escape(text))
    }

    /// The value read as TEXT, escapes resolved.
    public var text: String { Self.unescape(value) }

    /// The value read as a comma-separated list of TEXT (CATEGORIES, RESOURCES); `\,` stays in its item.
    public var textList: [String] {
        var items: [String] = []
        var current = ""
        var escaped = false
        for ch in value {
            if escaped {
                current.append("\\")
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "," {
                items.append(Self.unescape(current))
                current = ""
            } else {
                current.append(ch)
            }
        }
        if escaped { current.append("\\") }
        items.append(Self.unescape(current))
        return items
    }

    /// The first value of a parameter, by case-insensitive name.
    public func parameter(_ name: String) -> String? {
        let upper = name.uppercased()
        return parameters.first { $0.name == upper }?.value
    }

    /// TEXT escaping: backslash, semicolon, comma and newline (section 3.3.11).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n": out += "\\n"
            case "\r": continue  // CRLF becomes one \n; a lone CR carries no meaning in TEXT.
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Resolves `\\ \; \, \n \N`; an unknown escape keeps its character (some producers write `\:`).
    public static func unescape(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var out = ""
        var escaped = false
        for scalar in value.unicodeScalars {
            if escaped {
                switch scalar {
                case "n", "N": out += "\n"
                default: out.unicodeScalars.append(scalar)
                }
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if escaped { out += "\\" }
        return out
    }
}

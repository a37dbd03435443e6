/// Writes components as RFC 5545 text: CRLF line ends, lines folded at 75 octets (section 3.1)
/// without ever splitting a UTF-8 sequence, parameter values quoted when they hold `:;,`.
public enum ICalendarWriter {
    /// The longest physical line, in octets, without its CRLF (section 3.1).
    public static let maxLineOctets = 75

    /// The whole component tree as UTF-8 bytes.
    public static func bytes(_ component: ICalendarComponent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2048)
        write(component, into: &out)
        return out
    }

    /// The whole component tree as a string (CRLF line ends).
    public static func string(_ component: ICalendarComponent) -> String {
        String(decoding: bytes(component), as: UTF8.self)
    }

    /// Several top-level components one after the other (a bare VTIMEZONE and VEVENT, for example).
    public static func bytes(_ components: [ICalendarComponent]) -> [UInt8] {
        var out: [UInt8] = []
        for component in components { write(component, into: &out) }
        return out
    }

    static func write(_ component: ICalendarComponent, into out: inout [UInt8]) {
        appendFolded("BEGIN:" + component.name, into: &out)
        for property in component.properties { appendFolded(contentLine(property), into: &out) }
        for child in component.components { write(child, into: &out) }
        appendFolded("END:" + component.name, into: &out)
    }

    /// One unfolded content line, without CRLF.
    public static func contentLine(_ property: ICalendarProperty) -> String {
        var line = property.name
        for parameter in property.parameters {
            line += ";" + parameter.name + "="
            line += parameter.values.map(parameterValue).joined(separator: ",")
        }
        line += ":"
        // A raw CR or LF would end the line early; TEXT values carry newlines as \n already.
        line += property.value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
            ? String(property.value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
            : property.value
        return line
    }

    /// RFC 6868 caret-encodes what a parameter value cannot hold, then quotes if needed.
    static func parameterValue(_ value: String) -> String {
        var encoded = ""
        var needsQuotes = false
        for scalar in value.unicodeScalars {
            switch scalar {
            case "^": encoded += "^^"
            case "\"": encoded += "^'"
            case "\n": encoded += "^n"
            case "\r": continue
            case ":", ";", ",": needsQuotes = true; encoded.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7F { continue }
                encoded.unicodeScalars.append(scalar)
            }
        }
        return needsQuotes ? "\"" + encoded + "\"" : encoded
    }

    /// Appends `line` + CRLF, folding so that no physical line exceeds 75 octets; a fold never
    /// lands inside a UTF-8 multi-octet sequence (section 3.1 and section 5, practice 4).
    static func appendFolded(_ line: String, into out: inout [UInt8]) {
        let utf8 = Array(line.utf8)
        var start = 0
        var limit = maxLineOctets
        while utf8.count - start > limit {
            var end = start + limit
            while end > start, utf8[end] & 0xC0 == 0x80 { end -= 1 }  // back off a continuation byte
            out.append(contentsOf: utf8[start..<end])
            out.append(contentsOf: [0x0D, 0x0A, 0x20])
            start = end
            limit = maxLineOctets - 1  // the leading space counts
        }
        out.append(contentsOf: utf8[start...])
        out.append(contentsOf: [0x0D, 0x0A])
    }
}

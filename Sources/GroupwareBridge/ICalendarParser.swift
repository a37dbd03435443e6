/// Parses RFC 5545 text into components: unfolds (section 3.1), splits content lines into name,
/// parameters (quoted or not, RFC 6868 caret escapes) and raw value, and nests BEGIN/END.
///
/// Input comes from CalDAV servers and mail we do not control, so every path is bounded by
/// `Limits` and every failure is a `BridgeError` with the physical line number: arbitrary bytes
/// never crash or hang the parser. Bare LF line ends are accepted because real producers use them.
public struct ICalendarParser: Sendable {
    /// Bounds on what one parse may consume.
    public struct Limits: Sendable {
        public var maxBytes: Int
        public var maxLines: Int
        /// Deepest BEGIN nesting (VCALENDAR > VEVENT > VALARM is 3).
        public var maxDepth: Int

        public init(maxBytes: Int = 1 << 20, maxLines: Int = 100_000, maxDepth: Int = 10) {
            self.maxBytes = maxBytes
            self.maxLines = maxLines
            self.maxDepth = maxDepth
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Every top-level component in the input, in order.
    public func parse(_ text: String) throws(BridgeError) -> [ICalendarComponent] {
        try parse(Array(text.utf8))
    }

    /// Every top-level component in the input, in order.
    public func parse(_ bytes: [UInt8]) throws(BridgeError) -> [ICalendarComponent] {
        guard bytes.count <= limits.maxBytes else {
            throw .limitExceeded("input is \(bytes.count) bytes, the limit is \(limits.maxBytes)")
        }
        var stack: [(component: ICalendarComponent, line: Int)] = []
        var result: [ICalendarComponent] = []
        for (line, number) in try logicalLines(bytes) {
            let property = try Self.contentLine(line, number: number)
            switch property.name {
            case "BEGIN":
                let name = property.value
                guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
                    throw .malformedContentLine("BEGIN needs a component name, found '\(name.prefix(40))'", line: number)
                }
                guard stack.count < limits.maxDepth else {
                    throw .limitExceeded("components nest deeper than \(limits.maxDepth)", line: number)
                }
                stack.append((ICalendarComponent(name), number))
            case "END":
                guard let open = stack.popLast() else {
                    throw .unbalancedComponent("END:\(property.value.prefix(40)) without a BEGIN", line: number)
                }
                guard open.component.name == property.value.uppercased() else {
                    throw .unbalancedComponent(
                        "END:\(property.value.prefix(40)) closes BEGIN:\(open.component.name) of line \(open.line)",
                        line: number)
                }
                if stack.isEmpty {
                    result.append(open.component)
                } else {
                    stack[stack.count - 1].component.components.append(open.component)
                }
            default:
                guard !stack.isEmpty else {
                    throw .unbalancedComponent("property \(property.name) outside any component", line: number)
                }
                stack[stack.count - 1].component.properties.append(property)
            }
        }
        if let open = stack.last {
            throw .unbalancedComponent("BEGIN:\(open.component.name) of line \(open.line) is never ended", line: nil)
        }
        guard !result.isEmpty else { throw BridgeError(.empty, "no iCalendar component in the input") }
        return result
    }

    /// Exactly one VCALENDAR object, as a CalDAV resource or an iMIP part holds.
    public func parseCalendar(_ bytes: [UInt8]) throws(BridgeError) -> ICalendarComponent {
        let components = try parse(bytes)
        guard components.count == 1, let calendar = components.first, calendar.name == "VCALENDAR" else {
            throw BridgeError(.unbalancedComponent, "expected one VCALENDAR, found \(components.map(\.name))")
        }
        return calendar
    }

    /// Unfolded lines with the physical line number each starts on. A line that starts with a
    /// space or tab continues the previous one, minus that one character (section 3.1).
    func logicalLines(_ bytes: [UInt8]) throws(BridgeError) -> [(ArraySlice<UInt8>, Int)] {
        var lines: [(ArraySlice<UInt8>, Int)] = []
        var current: [UInt8] = []
        var currentNumber = 0
        var number = 0
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // UTF-8 byte order mark
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            number += 1
            guard number <= limits.maxLines else {
                throw .limitExceeded("more than \(limits.maxLines) lines", line: number)
            }
            if lineEnd > start {
                if bytes[start] == 0x20 || bytes[start] == 0x09 {
                    guard currentNumber > 0 else {
                        throw .malformedContentLine("a continuation line with nothing to continue", line: number)
                    }
                    current.append(contentsOf: bytes[(start + 1)..<lineEnd])
                } else {
                    if currentNumber > 0 { lines.append((current[...], currentNumber)) }
                    current = Array(bytes[start..<lineEnd])
                    currentNumber = number
                }
            }
            start = end + 1
        }
        if currentNumber > 0 { lines.append((current[...], currentNumber)) }
        return lines
    }

    /// `name *(";" param) ":" value` (section 3.1), on one unfolded line.
    static func contentLine(_ line: ArraySlice<UInt8>, number: Int) throws(BridgeError) -> ICalendarProperty {
        var i = line.startIndex
        let end = line.endIndex
        func name() -> String {
            let from = i
            while i < end, isNameByte(line[i]) { i += 1 }
            return String(decoding: line[from..<i], as: UTF8.self).uppercased()
        }
        let propertyName = name()
        guard !propertyName.isEmpty else {
            throw .malformedContentLine("expected a property name, found '\(preview(line))'", line: number)
        }
        var parameters: [ICalendarParameter] = []
        while i < end, line[i] == UInt8(ascii: ";") {
            i += 1
            let parameterName = name()
            guard !parameterName.isEmpty else {
                throw .malformedContentLine("\(propertyName): a parameter without a name", line: number)
            }
            guard i < end, line[i] == UInt8(ascii: "=") else {
                throw .malformedContentLine("\(propertyName): parameter \(parameterName) has no '='", line: number)
            }
            i += 1
            var values: [String] = []
            while true {
                let raw: ArraySlice<UInt8>
                if i < end, line[i] == UInt8(ascii: "\"") {
                    let from = i + 1
                    i = from
                    while i < end, line[i] != UInt8(ascii: "\"") {
                        guard !isControl(line[i]) else {
                            throw .malformedContentLine("\(propertyName): control character in parameter \(parameterName)", line: number)
                        }
                        i += 1
                    }
                    guard i < end else {
                        throw .malformedContentLine("\(propertyName): parameter \(parameterName) has an unclosed quote", line: number)
                    }
                    raw = line[from..<i]
                    i += 1
                } else {
                    let from = i
                    while i < end, line[i] != UInt8(ascii: ";"), line[i] != UInt8(ascii: ":"), line[i] != UInt8(ascii: ",") {
                        guard line[i] != UInt8(ascii: "\""), !isControl(line[i]) else {
                            throw .malformedContentLine("\(propertyName): bad character in parameter \(parameterName)", line: number)
                        }
                        i += 1
                    }
                    raw = line[from..<i]
                }
                guard let value = String(validating: raw, as: UTF8.self) else { throw .invalidEncoding(line: number) }
                values.append(decodeCaret(value))
                guard i < end, line[i] == UInt8(ascii: ",") else { break }
                i += 1
            }
            parameters.append(ICalendarParameter(parameterName, values))
        }
        guard i < end, line[i] == UInt8(ascii: ":") else {
            throw .malformedContentLine("\(propertyName): expected ':' before the value", line: number)
        }
        i += 1
        let rawValue = line[i..<end]
        if rawValue.contains(where: isControl) {
            throw .malformedContentLine("\(propertyName): control character in the value", line: number)
        }
        guard let value = String(validating: rawValue, as: UTF8.self) else { throw .invalidEncoding(line: number) }
        return ICalendarProperty(propertyName, parameters: parameters, value: value)
    }

    /// iana-token and x-name characters: ALPHA, DIGIT and "-" (section 3.1).
    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D
    }

    /// CTL except HTAB, which section 3.1 excludes from values.
    static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0x09) || byte == 0x7F
    }

    /// RFC 6868: `^^` is `^`, `^n` a newline, `^'` a double quote; any other `^` stays.
    static func decodeCaret(_ value: String) -> String {
        guard value.contains("^") else { return value }
        var out = ""
        var caret = false
        for scalar in value.unicodeScalars {
            if caret {
                switch scalar {
                case "^": out += "^"
                case "n", "N": out += "\n"
                case "'": out += "\""
                default: out += "^"; out.unicodeScalars.append(scalar)
                }
                caret = false
            } else if scalar == "^" {
                caret = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if caret { out += "^" }
        return out
    }

    static func preview(_ line: ArraySlice<UInt8>) -> String {
        String(decoding: line.prefix(40), as: UTF8.self)
    }
}

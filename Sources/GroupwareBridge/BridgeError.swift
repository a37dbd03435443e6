/// The one error type of GroupwareBridge: a code that tests and callers switch on, the input line
/// where it applies (iCalendar parsing) and a reason a human can act on.
public struct BridgeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The input is larger than the parser's limits (bytes, lines or nesting depth).
        case limitExceeded
        /// A content line does not follow RFC 5545 section 3.1.
        case malformedContentLine
        /// BEGIN/END do not pair up, or a property sits outside any component.
        case unbalancedComponent
        /// The input is not UTF-8 (RFC 5545 section 6 requires it).
        case invalidEncoding
        /// The input holds no component at all.
        case empty
        /// A value does not have its type's syntax (DATE-TIME, UTC-OFFSET, ...).
        case invalidValue
        /// A property the component needs is absent (for example DTSTART).
        case missingProperty
        /// The IANA time zone id is not in the tz database.
        case unknownTimeZone
        /// An email address fails the pragmatic check.
        case invalidEmailAddress
        /// A join link is not an absolute http(s) URL.
        case invalidJoinURL
        /// The meeting itself is inconsistent (end before start, no attendees, ...).
        case invalidMeeting
    }

    public let code: Code
    /// 1-based physical line of the input, when the error comes from parsing.
    public let line: Int?
    public let reason: String
    public let file: String
    public let sourceLine: UInt

    init(_ code: Code, line: Int? = nil, _ reason: String, file: String = #fileID, sourceLine: UInt = #line) {
        self.code = code
        self.line = line
        self.reason = reason
        self.file = file
        self.sourceLine = sourceLine
    }

    public var description: String {
        if let line { return "line \(line): \(reason)" }
        return reason
    }

    static func limitExceeded(_ reason: String, line: Int? = nil, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.limitExceeded, line: line, reason, file: file, sourceLine: sourceLine)
    }
    static func malformedContentLine(_ reason: String, line: Int, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.malformedContentLine, line: line, reason, file: file, sourceLine: sourceLine)
    }
    static func unbalancedComponent(_ reason: String, line: Int?, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.unbalancedComponent, line: line, reason, file: file, sourceLine: sourceLine)
    }
    static func invalidEncoding(line: Int, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.invalidEncoding, line: line, "not valid UTF-8", file: file, sourceLine: sourceLine)
    }
    static func invalidValue(_ reason: String, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.invalidValue, reason, file: file, sourceLine: sourceLine)
    }
    static func missingProperty(_ name: String, in component: String, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.missingProperty, "\(component) has no \(name)", file: file, sourceLine: sourceLine)
    }
    static func unknownTimeZone(_ id: String, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.unknownTimeZone, "unknown time zone '\(id)'", file: file, sourceLine: sourceLine)
    }
    static func invalidEmailAddress(_ address: String, _ why: String, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.invalidEmailAddress, "invalid email address '\(address)': \(why)", file: file, sourceLine: sourceLine)
    }
    static func invalidJoinURL(_ url: String, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.invalidJoinURL, "join link '\(url)' is not an absolute http(s) URL", file: file, sourceLine: sourceLine)
    }
    static func invalidMeeting(_ reason: String, file: String = #fileID, sourceLine: UInt = #line) -> Self {
        Self(.invalidMeeting, reason, file: file, sourceLine: sourceLine)
    }
}

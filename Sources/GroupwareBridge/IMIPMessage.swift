import Foundation

/// The iMIP mail (RFC 6047) for one attendee, as RFC 5322 / MIME bytes ready for SMTP DATA.
///
/// Structure, because mail clients differ in which part they act on:
/// `multipart/mixed` { `multipart/alternative` { text/plain, text/html,
/// `text/calendar; method=...` }, `application/ics` attachment `invite.ics` }.
/// Every body is base64 (76-character lines), so any UTF-8 survives 7-bit transports and no body
/// line can look like a boundary; non-ASCII header text uses RFC 2047 encoded-words.
/// The Message-ID is derived from UID, SEQUENCE, method and recipient, so a retried send of the
/// same message carries the same id and receivers can drop duplicates.
public struct IMIPMessage: Sendable {
    public let recipient: Attendee
    public let subject: String
    /// `<...@...>`, deterministic.
    public let messageID: String
    /// The iCalendar object in the text/calendar part and the attachment.
    public let calendar: [UInt8]
    /// The complete message, CRLF line ends.
    public let bytes: [UInt8]

    /// `sender`, when given, is the From of the mail (the server's own address, which the mail system lets it use);
    /// the organizer then goes into Reply-To, so answers still reach them.
    public init(invitation: MeetingInvitation, recipient: Attendee, date: Date = Date(), sender: CalendarUser? = nil) throws(BridgeError) {
        var generator = BoundaryGenerator()
        try self.init(invitation: invitation, recipient: recipient, date: date, sender: sender, using: &generator)
    }

    /// `generator` only picks the MIME boundaries (inject a seeded one for reproducible tests).
    public init(
        invitation: MeetingInvitation, recipient: Attendee, date: Date, sender: CalendarUser? = nil,
        using generator: inout some RandomNumberGenerator
    ) throws(BridgeError) {
        let calendar = try ICalendarDocument.bytes(invitation, for: recipient)
        guard let zone = TimeZone(identifier: invitation.timeZoneID) else { throw .unknownTimeZone(invitation.timeZoneID) }
        self.recipient = recipient
        self.calendar = calendar
        let method = invitation.method.rawValue
        let strings = recipient.language.strings
        switch invitation.method {
        case .request: subject = (invitation.sequence > 0 ? strings.updatedSubject : strings.invitationSubject)(invitation.summary)
        case .cancel: subject = strings.cancelledSubject(invitation.summary)
        }
        messageID = Self.messageID(invitation, recipient: recipient)

        let mixed = Self.boundary(using: &generator)
        let alternative = Self.boundary(using: &generator)
        let (plain, html) = Self.bodies(invitation, recipient: recipient, zone: zone)

        var m = ""
        if let sender, sender.email != invitation.organizer.email {
            m += Self.header("From", Self.address(sender.name, sender.email))
            m += Self.header("Reply-To", Self.address(invitation.organizer.name, invitation.organizer.email))
        } else {
            m += Self.header("From", Self.address(invitation.organizer.name, invitation.organizer.email))
        }
        m += Self.header("To", Self.address(recipient.name, recipient.email))
        m += Self.header("Subject", Self.encodedText(subject))
        m += Self.header("Date", Self.rfc5322Date(date))
        m += Self.header("Message-ID", messageID)
        m += Self.header("MIME-Version", "1.0")
        m += Self.header("Content-Language", recipient.language.rawValue)
        m += Self.header("Content-Type", "multipart/mixed;\r\n boundary=\"\(mixed)\"")
        m += "\r\n"
        m += "This is a MIME message with a calendar invitation.\r\n"
        m += "--\(mixed)\r\n"
        m += Self.header("Content-Type", "multipart/alternative;\r\n boundary=\"\(alternative)\"")
        m += "\r\n"
        m += "--\(alternative)\r\n"
        m += Self.part("text/plain; charset=UTF-8", Array(plain.utf8))
        m += "--\(alternative)\r\n"
        m += Self.part("text/html; charset=UTF-8", Array(html.utf8))
        m += "--\(alternative)\r\n"
        m += Self.part("text/calendar; charset=UTF-8; method=\(method)", calendar)
        m += "--\(alternative)--\r\n"
        m += "--\(mixed)\r\n"
        m += Self.part(
            "application/ics; name=\"invite.ics\"", calendar,
            extra: "Content-Disposition: attachment; filename=\"invite.ics\"\r\n")
        m += "--\(mixed)--\r\n"
        bytes = Array(m.utf8)
    }

    // MARK: parts

    static func part(_ contentType: String, _ body: [UInt8], extra: String = "") -> String {
        header("Content-Type", contentType) + extra + "Content-Transfer-Encoding: base64\r\n\r\n" + base64Lines(body)
    }

    /// Base64 in lines of 76 characters, each ended by CRLF (RFC 2045 section 6.8).
    static func base64Lines(_ body: [UInt8]) -> String {
        let encoded = Data(body).base64EncodedString()
        var out = ""
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let next = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            out += encoded[index..<next] + "\r\n"
            index = next
        }
        return out
    }

    static func bodies(_ invitation: MeetingInvitation, recipient: Attendee, zone: TimeZone) -> (String, String) {
        let strings = recipient.language.strings
        let when = when(invitation, zone: zone, language: recipient.language)
        let organizer = invitation.organizer.name.isEmpty ? invitation.organizer.email.value : invitation.organizer.name
        var plain: [String]
        var html: [String]
        switch invitation.method {
        case .request:
            let opening = (invitation.sequence > 0 ? strings.updated : strings.invites)(organizer, invitation.summary)
            // The HTML opening: the same sentence, escaped, with the title in bold.
            let marker = "\u{E000}"
            let htmlOpening = escapeHTML((invitation.sequence > 0 ? strings.updated : strings.invites)(organizer, marker))
                .replacingOccurrences(of: "&quot;\(marker)&quot;", with: "<b>\(escapeHTML(invitation.summary))</b>")
                .replacingOccurrences(of: marker, with: escapeHTML(invitation.summary))
            plain = [opening, "", "\(strings.when): \(when)", "\(strings.join): \(recipient.joinURL)"]
            html = [
                "<p>\(htmlOpening)</p>",
                "<p>\(escapeHTML(strings.when)): \(escapeHTML(when))</p>",
                "<p><a href=\"\(escapeHTML(recipient.joinURL))\">\(escapeHTML(strings.joinTheMeeting))</a></p>",
                "<p>\(escapeHTML(strings.personalLink))</p>",
            ]
            plain += ["", strings.personalLink]
        case .cancel:
            plain = [strings.cancelled(organizer, invitation.summary), "", strings.plannedFor(when)]
            html = [
                "<p>\(escapeHTML(strings.cancelled(organizer, invitation.summary)))</p>",
                "<p>\(escapeHTML(strings.plannedFor(when)))</p>",
            ]
        }
        if !invitation.description.isEmpty {
            plain += ["", invitation.description]
            html.append("<p>" + escapeHTML(invitation.description).replacingOccurrences(of: "\n", with: "<br>") + "</p>")
        }
        let plainText = plain.joined(separator: "\r\n")
            .replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
        let htmlText = "<!DOCTYPE html>\r\n<html><body>\r\n" + html.joined(separator: "\r\n") + "\r\n</body></html>\r\n"
        return (plainText, htmlText)
    }

    /// "2025-03-03 10:00–11:00 (Asia/Kolkata, UTC+05:30)": unambiguous and locale-free in English; in Hindi and
    /// Odia the date is written out in the language ("सोमवार, 3 मार्च 2025 10:00–11:00 (Asia/Kolkata, UTC+05:30)").
    static func when(_ invitation: MeetingInvitation, zone: TimeZone, language: MessageLanguage = .english) -> String {
        let start = ICalendarDateTime(invitation.start, in: zone)
        let end = ICalendarDateTime(invitation.end, in: zone)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        func date(_ d: ICalendarDateTime) -> String { "\(d.year)-\(two(d.month))-\(two(d.day))" }
        func time(_ d: ICalendarDateTime) -> String { "\(two(d.hour)):\(two(d.minute))" }
        let offset = UTCOffset.text(zone.secondsFromGMT(for: invitation.start))
        let utc = "UTC" + offset.prefix(3) + ":" + offset.dropFirst(3).prefix(2)
        let endText = date(start) == date(end) ? time(end) : date(end) + " " + time(end)
        // The times and the zone as in English (24-hour, digits as the offices write them) in every language.
        let times = "\(time(start))–\(endText) (\(invitation.timeZoneID), \(utc))"
        guard language != .english else { return "\(date(start)) \(times)" }
        // The days written out in the language.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let style = Date.FormatStyle(date: .complete, time: .omitted, locale: language.locale, calendar: calendar, timeZone: zone)
        guard date(start) == date(end) else { return "\(invitation.start.formatted(style)) – \(invitation.end.formatted(style)): \(times)" }
        return "\(invitation.start.formatted(style)) \(times)"
    }

    static func escapeHTML(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    // MARK: headers

    static func header(_ name: String, _ value: String) -> String {
        name + ": " + value + "\r\n"
    }

    /// `Name <addr>`: the name quoted when it holds specials, RFC 2047-encoded when not ASCII.
    static func address(_ name: String, _ email: EmailAddress) -> String {
        let clean = String(name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
        guard !clean.isEmpty else { return "<\(email.value)>" }
        if clean.unicodeScalars.allSatisfy({ $0.isASCII }) {
            let atext = clean.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) || " !#$%&'*+-/=?^_`{|}~".unicodeScalars.contains($0)
            }
            let phrase = atext
                ? clean
                : "\"" + clean.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            return "\(phrase) <\(email.value)>"
        }
        return encodedText(clean) + "\r\n <\(email.value)>"  // the last word plus address could pass 78
    }

    /// Header text: as is when printable ASCII, else RFC 2047 `=?UTF-8?B?...?=` words of at most
    /// 75 characters, split between characters (never inside one), folded onto continuation lines.
    static func encodedText(_ text: String) -> String {
        let clean = String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
        if clean.unicodeScalars.allSatisfy({ $0.isASCII }) { return foldASCII(clean) }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in clean {
            let utf8 = Array(String(character).utf8)
            // 39 octets -> 52 base64 characters -> a 64-character word: "Subject: " + word < 78.
            if chunk.count + utf8.count > 39, !chunk.isEmpty {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += utf8
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// Folds long ASCII header text at spaces so lines stay under 78 characters (RFC 5322 2.1.1).
    static func foldASCII(_ text: String) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !line.isEmpty, line.count + 1 + word.count > 66 {
                lines.append(line)
                line = String(word)
            } else {
                line = line.isEmpty ? String(word) : line + " " + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\r\n ")
    }

    /// RFC 5322 section 3.3, in UTC: `Tue, 04 Mar 2025 09:30:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let d = ICalendarDateTime(utc: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[d.weekday]), \(two(d.day)) \(months[d.month - 1]) \(d.year) "
            + "\(two(d.hour)):\(two(d.minute)):\(two(d.second)) +0000"
    }

    /// `<hex@organizer-domain>` from UID, SEQUENCE, method and recipient (two FNV-1a 64 hashes).
    /// A MIME boundary: "=_" cannot occur in base64 bodies nor in our headers; 96 random bits make a clash moot.
    private static func boundary(using generator: inout some RandomNumberGenerator) -> String {
        var parts: [String] = []
        for _ in 0..<3 { parts.append(String(generator.next() as UInt32, radix: 16)) }
        return "=_sabha_" + parts.joined(separator: "_")
    }

    static func messageID(_ invitation: MeetingInvitation, recipient: Attendee) -> String {
        let key = Array("\(invitation.uid)\u{0}\(invitation.sequence)\u{0}\(invitation.method.rawValue)\u{0}\(recipient.email.value.lowercased())".utf8)
        func fnv(_ basis: UInt64) -> UInt64 {
            var hash = basis
            for byte in key {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            return hash
        }
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        let domain = invitation.organizer.email.domain.lowercased()
        return "<" + hex(fnv(0xCBF2_9CE4_8422_2325)) + hex(fnv(0x84222325_CBF29CE4)) + ".imip@" + domain + ">"
    }
}

/// The system generator with a counter beside it, for MIME boundaries. Not `SystemRandomNumberGenerator` alone: passed
/// `inout` as a generic generator, that empty struct has no real address, and ThreadSanitizer's access check on it
/// read a bogus one and crashed the process (found in the TSan test run); the counter gives the value a size.
struct BoundaryGenerator: RandomNumberGenerator {
    private var system = SystemRandomNumberGenerator()
    private(set) var draws: UInt64 = 0

    mutating func next() -> UInt64 {
        draws &+= 1
        return system.next()
    }
}

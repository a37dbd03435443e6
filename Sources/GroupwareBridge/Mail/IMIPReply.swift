import Foundation

/// An attendee's answer as it arrives by mail: an iMIP message (RFC 6047) carrying an iTIP REPLY (RFC 5546
/// section 3.2.3), read from the MIME tree of the whole mail.
///
/// Clients differ in where they put the calendar: Thunderbird and Google send multipart/alternative with a
/// text/calendar part (and often an application/ics attachment), Outlook/Exchange base64-encodes it, Apple Mail
/// may leave out the `method=` parameter. So the first text/calendar or application/ics part (or an attachment
/// named *.ics) whose VCALENDAR says METHOD:REPLY is taken, whatever the Content-Type parameters claim.
///
/// Only what the organizer needs is kept. Whether the answer is genuine (From or SENT-BY matching the
/// attendee, SEQUENCE and DTSTAMP not older than what is stored) is the caller's decision, which is why
/// `from`, `sender` and each `sentBy` are here.
public struct IMIPReply: Sendable, Equatable {
    public struct Answer: Sendable, Equatable, Hashable {
        /// From the ATTENDEE's mailto: URI, lower-cased.
        public var email: EmailAddress
        public var status: ParticipationStatus
        /// SENT-BY (RFC 5545 section 3.2.18): someone answering for the attendee.
        public var sentBy: EmailAddress?

        public init(email: EmailAddress, status: ParticipationStatus, sentBy: EmailAddress? = nil) {
            self.email = email
            self.status = status
            self.sentBy = sentBy
        }
    }

    /// The mail's From address (lower-cased).
    public var from: EmailAddress
    /// The Sender header's address, when there is one (a secretary's mail client).
    public var sender: EmailAddress?
    public var uid: String
    /// 0 when absent (RFC 5545 section 3.8.7.4).
    public var sequence: Int
    /// UTC; a floating value is read as UTC. nil when absent or unreadable.
    public var dtstamp: Date?
    /// The raw RECURRENCE-ID value when the answer is for one instance.
    public var recurrenceID: String?
    /// The attendee's COMMENT, unescaped.
    public var comment: String?
    public var answers: [Answer]

    /// A reply from its parts (a calendar server's, or a test's); addresses are used as given.
    public init(from: EmailAddress, sender: EmailAddress? = nil, uid: String, sequence: Int = 0, dtstamp: Date? = nil,
                recurrenceID: String? = nil, comment: String? = nil, answers: [Answer]) {
        self.from = from
        self.sender = sender
        self.uid = uid
        self.sequence = sequence
        self.dtstamp = dtstamp
        self.recurrenceID = recurrenceID
        self.comment = comment
        self.answers = answers
    }

    public init(mail: [UInt8]) throws(IMIPReplyError) {
        let entity: MIMEEntity
        do {
            entity = try MIMEEntity(parsing: mail)
        } catch {
            throw .malformed(error.description)
        }
        guard let from = entity.header("From").flatMap(Self.address) else {
            throw .malformed("no usable From address")
        }
        let event = try Self.replyEvent(in: entity)
        guard let uid = event.property("UID")?.text, !uid.isEmpty else { throw .malformed("the VEVENT has no UID") }
        var sequence = 0
        if let text = event.property("SEQUENCE")?.value {
            guard let value = Int(text.trimmed), value >= 0 else { throw .malformed("SEQUENCE '\(text.prefix(20))' is not a number") }
            sequence = value
        }
        self.from = from
        self.sender = entity.header("Sender").flatMap(Self.address)
        self.uid = uid
        self.sequence = sequence
        self.dtstamp = event.property("DTSTAMP").flatMap { try? ICalendarDateTime(parsing: $0.value).utcDate }
        self.recurrenceID = event.property("RECURRENCE-ID")?.value
        self.comment = event.property("COMMENT")?.text
        self.answers = event.properties("ATTENDEE").compactMap(Self.answer)
        guard !answers.isEmpty else { throw .malformed("no ATTENDEE with a mailto: address and a known PARTSTAT") }
    }

    /// The first VEVENT of the first calendar part whose METHOD is REPLY.
    static func replyEvent(in entity: MIMEEntity) throws(IMIPReplyError) -> ICalendarComponent {
        var failures: [String] = []
        var methods: [String] = []
        for part in entity.leaves where isCalendar(part) {
            let calendar: ICalendarComponent
            do {
                calendar = try ICalendarParser().parseCalendar(Array(try part.text().utf8))
            } catch let error as MIMEError {
                failures.append(error.description)
                continue
            } catch {
                failures.append(String(describing: error))
                continue
            }
            let method = calendar.property("METHOD")?.value.trimmed.uppercased() ?? "(none)"
            guard method == "REPLY" else {
                methods.append(method)
                continue
            }
            guard let event = calendar.components("VEVENT").first else { throw .malformed("the REPLY has no VEVENT") }
            return event
        }
        if let failure = failures.first { throw .malformed("calendar part unreadable: \(failure)") }
        if let method = methods.first { throw .notAnIMIPReply("the calendar's METHOD is \(method.prefix(20))") }
        throw .notAnIMIPReply("no text/calendar part")
    }

    static func isCalendar(_ part: MIMEEntity) -> Bool {
        switch part.contentType.mediaType {
        case "text/calendar", "application/ics", "text/x-vcalendar": true
        case "application/octet-stream": part.fileName?.lowercased().hasSuffix(".ics") ?? false
        default: false
        }
    }

    static func answer(_ property: ICalendarProperty) -> Answer? {
        guard let email = mailto(property.value) else { return nil }
        let partstat = property.parameter("PARTSTAT")
        guard let status = partstat.map(ParticipationStatus.init(partstat:)) ?? .needsAction else { return nil }
        return Answer(email: email, status: status, sentBy: property.parameter("SENT-BY").flatMap(mailto))
    }

    /// "mailto:x@y" (scheme in any case) as a lower-cased address.
    static func mailto(_ uri: String) -> EmailAddress? {
        let value = uri.trimmed
        guard value.lowercased().hasPrefix("mailto:") else { return nil }
        let address = value.dropFirst(7).removingPercentEncoding ?? String(value.dropFirst(7))
        return try? EmailAddress(address.trimmed.lowercased())
    }

    /// The address of a From or Sender field: inside the last "<...>", else the bare value without comments.
    static func address(_ field: String) -> EmailAddress? {
        var text = Substring(field)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        } else if let comment = text.firstIndex(of: "(") {
            text = text[..<comment]
        }
        return try? EmailAddress(String(text).trimmed.lowercased())
    }
}

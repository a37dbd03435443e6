import Foundation

/// Builds the VCALENDAR that one recipient receives (RFC 5546 over RFC 5545): PRODID, VERSION,
/// METHOD, the VTIMEZONE of the meeting's zone and one VEVENT. Each recipient gets their own copy
/// because the join link in it is personal; the link goes everywhere clients look for it
/// (LOCATION, DESCRIPTION, URL and RFC 7986 CONFERENCE), since clients differ in what they show.
public enum ICalendarDocument {
    /// The calendar object for `recipient`'s copy of `invitation`.
    public static func calendar(_ invitation: MeetingInvitation, for recipient: Attendee) throws(BridgeError) -> ICalendarComponent {
        guard invitation.attendees.contains(where: { $0.email == recipient.email }) else {
            throw .invalidMeeting("\(recipient.email) is not an attendee of this message")
        }
        return try build(invitation, link: recipient.joinURL, language: recipient.language, scheduling: true)
    }

    /// The calendar object stored in the organizer's calendar over CalDAV (RFC 4791 section 4.1: no METHOD),
    /// with `link` (the organizer's own) as the place to join, its text in `language`.
    public static func storedObject(_ invitation: MeetingInvitation, link: String, language: MessageLanguage = .english) throws(BridgeError) -> ICalendarComponent {
        try build(invitation, link: link, language: language, scheduling: false)
    }

    static func build(_ invitation: MeetingInvitation, link: String, language: MessageLanguage, scheduling: Bool) throws(BridgeError) -> ICalendarComponent {
        let strings = language.strings
        try invitation.validate()
        let zoneID = invitation.timeZoneID
        guard let zone = TimeZone(identifier: zoneID) else { throw .unknownTimeZone(zoneID) }
        let timeZone = try VTimeZone(identifier: zoneID, around: invitation.start)
        let tzid = [ICalendarParameter("TZID", zoneID)]
        let cancelled = invitation.method == .cancel

        var event: [ICalendarProperty] = [
            ICalendarProperty("UID", text: invitation.uid),
            ICalendarProperty("DTSTAMP", value: ICalendarDateTime(utc: invitation.dtstamp).text),
            ICalendarProperty("SEQUENCE", value: String(invitation.sequence)),
            ICalendarProperty("DTSTART", parameters: tzid, value: ICalendarDateTime(invitation.start, in: zone).text),
            ICalendarProperty("DTEND", parameters: tzid, value: ICalendarDateTime(invitation.end, in: zone).text),
            ICalendarProperty("SUMMARY", text: invitation.summary),
            ICalendarProperty("STATUS", value: cancelled ? "CANCELLED" : "CONFIRMED"),
            ICalendarProperty("TRANSP", value: "OPAQUE"),
        ]
        if cancelled {
            // The link is void once the meeting (or this person's place in it) is gone.
            if !invitation.description.isEmpty {
                event.append(ICalendarProperty("DESCRIPTION", text: invitation.description))
            }
        } else {
            let join = "\(strings.joinTheMeeting): \(link)"
            let description = invitation.description.isEmpty ? join : "\(invitation.description)\n\n\(join)"
            event += [
                ICalendarProperty("LOCATION", text: link),
                ICalendarProperty("DESCRIPTION", text: description),
                ICalendarProperty("URL", parameters: [ICalendarParameter("VALUE", "URI")], value: link),
                ICalendarProperty(
                    "CONFERENCE",
                    parameters: [
                        ICalendarParameter("VALUE", "URI"), ICalendarParameter("FEATURE", "VIDEO"),
                        ICalendarParameter("LABEL", strings.conferenceLabel),
                    ],
                    value: link),
            ]
        }
        var organizer: [ICalendarParameter] = []
        if !invitation.organizer.name.isEmpty { organizer.append(ICalendarParameter("CN", invitation.organizer.name)) }
        event.append(ICalendarProperty("ORGANIZER", parameters: organizer, value: invitation.organizer.email.mailto))
        // A scheduling message asks every attendee anew; the stored copy keeps the answers known so far.
        event += invitation.attendees.map { attendee in
            var attendee = attendee
            if scheduling { attendee.status = .needsAction }
            return attendee.property
        }

        var header = [
            ICalendarProperty("PRODID", text: GroupwareBridge.productID),
            ICalendarProperty("VERSION", value: "2.0"),
            ICalendarProperty("CALSCALE", value: "GREGORIAN"),
        ]
        if scheduling { header.append(ICalendarProperty("METHOD", value: invitation.method.rawValue)) }
        return ICalendarComponent(
            "VCALENDAR",
            properties: header,
            components: [timeZone.component, ICalendarComponent("VEVENT", properties: event)])
    }

    /// The same, as the bytes of an .ics file / text/calendar body.
    public static func bytes(_ invitation: MeetingInvitation, for recipient: Attendee) throws(BridgeError) -> [UInt8] {
        ICalendarWriter.bytes(try calendar(invitation, for: recipient))
    }
}

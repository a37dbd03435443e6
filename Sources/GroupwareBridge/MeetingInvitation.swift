import Foundation

/// Everything one scheduling message about a meeting says (RFC 5546 VEVENT): identity and
/// version (UID, SEQUENCE, DTSTAMP), time in an IANA zone, who organizes and who attends.
///
/// An update is the same UID with a higher `sequence`, sent as REQUEST to everyone; a removed
/// attendee gets a CANCEL that names only them (`cancellation(for:)`); cancelling the meeting is
/// a CANCEL to all.
public struct MeetingInvitation: Hashable, Sendable {
    public var uid: String
    public var sequence: Int
    /// When this version of the message was made (DTSTAMP, always UTC).
    public var dtstamp: Date
    public var start: Date
    public var end: Date
    /// IANA tz database id, for example "Asia/Kolkata".
    public var timeZoneID: String
    public var summary: String
    public var description: String
    public var organizer: CalendarUser
    public var attendees: [Attendee]
    public var method: ITIPMethod

    public init(
        uid: String, sequence: Int = 0, dtstamp: Date, start: Date, end: Date, timeZoneID: String,
        summary: String, description: String = "", organizer: CalendarUser, attendees: [Attendee],
        method: ITIPMethod = .request
    ) {
        self.uid = uid
        self.sequence = sequence
        self.dtstamp = dtstamp
        self.start = start
        self.end = end
        self.timeZoneID = timeZoneID
        self.summary = summary
        self.description = description
        self.organizer = organizer
        self.attendees = attendees
        self.method = method
    }

    /// The CANCEL that uninvites `removed` (RFC 5546 section 3.2.5): same UID and sequence as
    /// the update that dropped them, listing only them.
    public func cancellation(for removed: [Attendee]) -> MeetingInvitation {
        var copy = self
        copy.method = .cancel
        copy.attendees = removed
        return copy
    }

    /// Checks what any copy of the message needs; the builders call it.
    public func validate() throws(BridgeError) {
        guard !uid.isEmpty else { throw .invalidMeeting("the meeting has no UID") }
        guard sequence >= 0 else { throw .invalidMeeting("SEQUENCE must not be negative") }
        guard end > start else { throw .invalidMeeting("the meeting ends before it starts") }
        guard !attendees.isEmpty else { throw .invalidMeeting("the meeting has no attendees") }
        guard TimeZone(identifier: timeZoneID) != nil else { throw .unknownTimeZone(timeZoneID) }
        for attendee in attendees where method == .request {
            try Self.checkJoinURL(attendee.joinURL)
        }
    }

    static func checkJoinURL(_ text: String) throws(BridgeError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty,
              !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
        else { throw .invalidJoinURL(text) }
    }
}

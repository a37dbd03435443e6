/// One ATTENDEE (RFC 5545 section 3.8.4.1) with the personal join link that only their copy of
/// the invitation carries.
public struct Attendee: Hashable, Sendable {
    /// Sabha's meeting roles, mapped onto RFC 5545 ROLE (section 3.2.16).
    public enum Role: String, Hashable, Sendable, Codable {
        case host
        case participant
        case viewer

        /// A host chairs, a participant is required, a viewer only optional.
        public var icalendarRole: String {
            switch self {
            case .host: "CHAIR"
            case .participant: "REQ-PARTICIPANT"
            case .viewer: "OPT-PARTICIPANT"
            }
        }
    }

    public var name: String
    public var email: EmailAddress
    public var role: Role
    /// The attendee's own link (their token); goes into LOCATION, DESCRIPTION, URL and CONFERENCE.
    public var joinURL: String
    /// The language of their mail and of the text in their calendar copy.
    public var language: MessageLanguage
    /// Their answer so far: written into the organizer's stored copy, so a rewrite of it keeps the answers the
    /// calendar server recorded; invitations sent out always ask anew (NEEDS-ACTION).
    public var status: ParticipationStatus

    public init(name: String, email: EmailAddress, role: Role, joinURL: String, language: MessageLanguage = .english,
                status: ParticipationStatus = .needsAction) {
        self.name = name
        self.email = email
        self.role = role
        self.joinURL = joinURL
        self.language = language
        self.status = status
    }

    /// `ATTENDEE;CN=..;ROLE=..;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:..` for an invitation.
    var property: ICalendarProperty {
        var parameters: [ICalendarParameter] = []
        if !name.isEmpty { parameters.append(ICalendarParameter("CN", name)) }
        if language != .english { parameters.append(ICalendarParameter("LANGUAGE", language.rawValue)) }
        parameters += [
            ICalendarParameter("CUTYPE", "INDIVIDUAL"),
            ICalendarParameter("ROLE", role.icalendarRole),
            ICalendarParameter("PARTSTAT", status.rawValue),
        ]
        if status == .needsAction { parameters.append(ICalendarParameter("RSVP", "TRUE")) }
        return ICalendarProperty("ATTENDEE", parameters: parameters, value: email.mailto)
    }
}

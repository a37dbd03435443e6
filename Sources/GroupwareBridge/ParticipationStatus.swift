/// An attendee's answer to an invitation: PARTSTAT of a VEVENT's ATTENDEE (RFC 5545 section 3.2.12), as an iMIP
/// REPLY carries it (RFC 5546 section 3.2.3) or a scheduling server writes it into the organizer's copy (RFC 6638).
public enum ParticipationStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case needsAction = "NEEDS-ACTION"
    case accepted = "ACCEPTED"
    case declined = "DECLINED"
    case tentative = "TENTATIVE"
    case delegated = "DELEGATED"

    /// Reads a PARTSTAT value, any case; values a VEVENT cannot have (COMPLETED, IN-PROCESS) and x-names are nil.
    public init?(partstat: String) {
        self.init(rawValue: partstat.uppercased())
    }

    /// Lower case for JSON and CSV ("accepted", "needs-action").
    public var wire: String { rawValue.lowercased() }

    /// Whether the attendee has answered at all.
    public var isAnswer: Bool { self != .needsAction }
}

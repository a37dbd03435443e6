import Foundation
import GroupwareBridge

/// One attendee's answer as an iMIP REPLY carries it (RFC 5546 section 3.2.3), reduced to what the scheduler checks:
/// which meeting and version it answers, who sent it, and each ATTENDEE's PARTSTAT.
public struct AttendeeReply: Sendable, Equatable {
    public struct Answer: Sendable, Equatable {
        /// Lower case.
        public var email: String
        public var status: ParticipationStatus
        /// SENT-BY of the ATTENDEE (a delegate or secretary answering for them), lower case.
        public var sentBy: String?

        public init(email: String, status: ParticipationStatus, sentBy: String? = nil) {
            self.email = email.lowercased()
            self.status = status
            self.sentBy = sentBy?.lowercased()
        }
    }

    public var uid: String
    public var sequence: Int
    /// When the attendee answered (the REPLY's DTSTAMP); nil when it had none.
    public var dtstamp: Date?
    /// The mail's From and Sender addresses, lower case.
    public var from: String
    public var sender: String?
    public var comment: String?
    public var answers: [Answer]

    public init(uid: String, sequence: Int, dtstamp: Date?, from: String, sender: String? = nil, comment: String? = nil,
                answers: [Answer]) {
        self.uid = uid
        self.sequence = sequence
        self.dtstamp = dtstamp
        self.from = from.lowercased()
        self.sender = sender?.lowercased()
        self.comment = comment
        self.answers = answers
    }

    /// Whether the mail came from the attendee, or from whom the ATTENDEE line names as answering for them.
    func isSent(by answer: Answer) -> Bool {
        from == answer.email || sender == answer.email || (answer.sentBy != nil && (answer.sentBy == from || answer.sentBy == sender))
    }
}

/// What became of a reply.
public enum ReplyOutcome: Sendable, Equatable {
    /// These attendees' answers of this meeting changed.
    case applied(meeting: String, attendees: [String])
    /// Nothing changed, and why (logged; docs/meetings.md lists the reasons).
    case ignored(String)
}

import Foundation
import GroupwareBridge

/// Who was invited, what they answered, who came and for how long: the record of a scheduled meeting, built from
/// the attendees' answers and the audit trail only, so it holds nothing the audit trail does not.
///
/// Presence is counted per participant session (a join to its leave, less the time its connection was lost before it
/// resumed), then merged per identity, so two overlapping sessions of one person (a second window replacing the
/// first) count once.
public struct AttendanceReport: Codable, Sendable, Equatable {
    public struct Person: Codable, Sendable, Equatable {
        /// The identity of their link: an attendee's e-mail address.
        public var identity: String
        public var name: String
        /// host, participant, viewer; "guest" for someone who joined with another link.
        public var role: String
        public var organizer: Bool
        public var invited: Bool
        /// needs-action, accepted, declined, tentative, delegated; empty for guests.
        public var answer: String
        public var answerComment: String?
        public var answeredAt: Date?
        public var attended: Bool
        public var firstJoin: Date?
        public var lastLeave: Date?
        /// Whole seconds present.
        public var secondsPresent: Int
        /// Sessions (joins) and reconnects (resumed connections, and joins after the first).
        public var sessions: Int
        public var reconnects: Int
        public var removed: Bool
        /// Who removed them: a host's identity or "admin".
        public var removedBy: String?
        /// Network addresses they joined from (left out when the server is told to).
        public var addresses: [String]?
    }

    public var meeting: String
    public var title: String
    public var start: Date
    public var end: Date
    public var timezone: String
    public var organizerName: String
    public var organizerEmail: String
    /// When the meeting ended (or, before that, when this report was made), and how.
    public var endedAt: Date
    /// host, admin, empty (the last person left after the end time), window-closed, or "" while it goes on.
    public var endedBy: String
    public var people: [Person]

    public var invitedCount: Int { people.filter(\.invited).count }
    /// Of the invited (the organizer and guests aside).
    public var attendedCount: Int { people.filter { $0.invited && $0.attended }.count }
    public var guestCount: Int { people.filter { !$0.invited && !$0.organizer }.count }

    /// Builds the report of `meeting` from its attendees and the room's audit `events` (in time order), as at `now`:
    /// a session still open then counts until `now`.
    public init(meeting: MeetingRecord, attendees: [MeetingAttendeeRecord], events: [AttendanceEvent], now: Date,
                endedBy: String, addresses: Bool) {
        self.meeting = meeting.id
        title = meeting.title
        start = meeting.start
        end = meeting.end
        timezone = meeting.timeZone
        organizerName = meeting.organizerName
        organizerEmail = meeting.organizerEmail
        endedAt = now
        self.endedBy = endedBy
        let presence = Presence(events: events, until: now)
        let organizer = meeting.organizerEmail.lowercased()
        var people: [Person] = []
        var listed = Set<String>()
        func person(_ identity: String, name: String, role: String, invited: Bool, attendee: MeetingAttendeeRecord?) -> Person {
            let seen = presence.people[identity]
            return Person(identity: identity, name: name, role: role, organizer: identity == organizer, invited: invited,
                          answer: attendee?.answer.wire ?? (identity == organizer ? "organizer" : ""),
                          answerComment: attendee?.answerComment, answeredAt: attendee?.answeredAt,
                          attended: seen != nil, firstJoin: seen?.firstJoin, lastLeave: seen?.lastLeave,
                          secondsPresent: seen?.seconds ?? 0, sessions: seen?.sessions ?? 0, reconnects: seen?.reconnects ?? 0,
                          removed: seen?.removedBy != nil, removedBy: seen?.removedBy,
                          addresses: addresses ? (seen?.addresses ?? []) : nil)
        }
        if !attendees.contains(where: { $0.email == organizer }) {
            people.append(person(organizer, name: meeting.organizerName, role: "host", invited: false, attendee: nil))
            listed.insert(organizer)
        }
        for attendee in attendees where attendee.status == .invited {
            people.append(person(attendee.email, name: attendee.name, role: attendee.role.rawValue, invited: true, attendee: attendee))
            listed.insert(attendee.email)
        }
        // Whoever else came: guests with other links, and people removed from the invitation who still came before.
        for identity in presence.order where !listed.contains(identity) {
            let former = attendees.first { $0.email == identity }
            people.append(person(identity, name: former?.name ?? "", role: "guest", invited: false, attendee: nil))
            listed.insert(identity)
        }
        self.people = people
        // The room closes a grace period after the last person left: the meeting ended when they did.
        if endedBy == "empty", let last = people.compactMap(\.lastLeave).max() { endedAt = last }
    }
}

/// Presence per identity, from the audit trail.
struct Presence {
    struct Seen {
        var firstJoin: Date
        var lastLeave: Date
        var seconds: Int
        var sessions: Int
        var reconnects: Int
        var removedBy: String?
        var addresses: [String]
    }

    /// Identities in order of first join.
    private(set) var order: [String] = []
    private(set) var people: [String: Seen] = [:]

    /// Session ends: the participant id is not used again.
    static let finalEvents: Set<String> = ["left", "disconnected", "removed", "replaced", "ended", "role-changed"]

    init(events: [AttendanceEvent], until now: Date) {
        struct Session {
            var identity: String
            /// Start of the current stretch; nil while the connection is lost or after the end.
            var openedAt: Date?
            var intervals: [(Date, Date)] = []
            var resumes = 0
            var removedBy: String?
            var addresses: [String] = []
        }
        var sessions: [String: Session] = [:]
        var sessionOrder: [String] = []
        func close(_ id: String, at: Date) {
            guard let opened = sessions[id]?.openedAt else { return }
            sessions[id]?.intervals.append((opened, max(opened, at)))
            sessions[id]?.openedAt = nil
        }
        for event in events.sorted(by: { $0.at < $1.at }) {
            let id = event.participant
            switch event.event {
            case "joined":
                guard !id.isEmpty, sessions[id] == nil else { continue }
                sessions[id] = Session(identity: event.identity, openedAt: event.at)
                sessionOrder.append(id)
            case "connection-lost":
                close(id, at: event.at)
            case "resumed":
                guard sessions[id] != nil else { continue }
                sessions[id]?.resumes += 1
                if sessions[id]?.openedAt == nil { sessions[id]?.openedAt = event.at }
            case "closed", "room-ended":
                for open in sessions.keys { close(open, at: event.at) }
            case let name where Self.finalEvents.contains(name):
                close(id, at: event.at)
                if name == "removed" { sessions[id]?.removedBy = event.actor ?? "" }
            default:
                continue
            }
            if let address = event.address, !address.isEmpty, sessions[id] != nil, sessions[id]?.addresses.contains(address) == false {
                sessions[id]?.addresses.append(address)
            }
        }
        var intervals: [String: [(Date, Date)]] = [:]
        for id in sessionOrder {
            close(id, at: now)
            guard let session = sessions[id] else { continue }
            let identity = session.identity
            intervals[identity, default: []] += session.intervals
            if var seen = people[identity] {
                seen.sessions += 1
                seen.reconnects += 1 + session.resumes
                if let by = session.removedBy { seen.removedBy = by }
                seen.addresses += session.addresses.filter { !seen.addresses.contains($0) }
                people[identity] = seen
            } else {
                order.append(identity)
                people[identity] = Seen(firstJoin: .distantFuture, lastLeave: .distantPast, seconds: 0, sessions: 1,
                                        reconnects: session.resumes, removedBy: session.removedBy, addresses: session.addresses)
            }
        }
        for (identity, list) in intervals {
            guard var seen = people[identity] else { continue }
            let merged = Self.union(list)
            seen.firstJoin = merged.first?.0 ?? seen.firstJoin
            seen.lastLeave = merged.last?.1 ?? seen.lastLeave
            seen.seconds = Int(merged.reduce(0) { $0 + $1.1.timeIntervalSince($1.0) }.rounded())
            people[identity] = seen
        }
    }

    /// The union of time intervals, in order, without overlaps.
    static func union(_ intervals: [(Date, Date)]) -> [(Date, Date)] {
        var merged: [(Date, Date)] = []
        for interval in intervals.sorted(by: { $0.0 < $1.0 }) {
            if let last = merged.last, interval.0 <= last.1 {
                merged[merged.count - 1].1 = max(last.1, interval.1)
            } else {
                merged.append(interval)
            }
        }
        return merged
    }
}

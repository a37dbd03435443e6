import Foundation

/// A stored meeting with its attendees, as the API shows it.
public struct ScheduledMeeting: Sendable, Equatable {
    public var meeting: MeetingRecord
    /// In the order given, removed ones included (their `status` says so).
    public var attendees: [MeetingAttendeeRecord]

    public init(meeting: MeetingRecord, attendees: [MeetingAttendeeRecord]) {
        self.meeting = meeting
        self.attendees = attendees
    }
}

import GroupwareBridge

/// The phrases of the attendance report mail and of its summary in the organizer's calendar, in one language; one
/// table per language (`ReportStrings+Hindi.swift`, `ReportStrings+Odia.swift`), so a translator works on one file.
/// The CSV's column names stay English: programs read them.
struct ReportStrings: Sendable {
    var subject: @Sendable (_ title: String) -> String
    var heading: @Sendable (_ title: String, _ when: String) -> String
    var ended: @Sendable (_ at: String) -> String
    var invited: @Sendable (_ count: Int) -> String
    var attended: @Sendable (_ invited: Int, _ of: Int) -> String
    var guests: @Sendable (_ count: Int) -> String
    var accepted: String
    var declined: String
    var tentative: String
    var noAnswer: String
    var delegated: String
    var organizer: String
    var guest: String
    var present: @Sendable (_ duration: String, _ from: String, _ to: String) -> String
    var notJoined: String
    var reconnects: @Sendable (_ count: Int) -> String
    var removed: @Sendable (_ by: String) -> String
    var attachment: @Sendable (_ zone: String) -> String
    /// The heading of the summary added to the event's DESCRIPTION.
    var calendarHeading: String

    static func table(_ language: MessageLanguage) -> ReportStrings {
        switch language {
        case .english: .english
        case .hindi: .hindi
        case .odia: .odia
        }
    }

    /// The label of an answer ("accepted", "no answer").
    func answer(_ wire: String) -> String {
        switch wire {
        case ParticipationStatus.accepted.wire: accepted
        case ParticipationStatus.declined.wire: declined
        case ParticipationStatus.tentative.wire: tentative
        case ParticipationStatus.delegated.wire: delegated
        case "organizer": organizer
        case "": guest
        default: noAnswer
        }
    }

    static let english = ReportStrings(
        subject: { "Attendance: \($0)" },
        heading: { "Attendance at \"\($0)\", \($1)." },
        ended: { "The meeting ended at \($0)." },
        invited: { "Invited: \($0)" },
        attended: { "Came: \($0) of the \($1) invited" },
        guests: { "Guests with other links: \($0)" },
        accepted: "accepted",
        declined: "declined",
        tentative: "tentative",
        noAnswer: "no answer",
        delegated: "delegated",
        organizer: "organizer",
        guest: "guest",
        present: { "present \($0) (\($1)–\($2))" },
        notJoined: "did not join",
        reconnects: { $0 == 1 ? "1 reconnect" : "\($0) reconnects" },
        removed: { "removed by \($0)" },
        attachment: { "The attached CSV lists everyone; times are in \($0)." },
        calendarHeading: "Attendance")
}

import ArgumentParser
import Foundation
import GroupwareBridge
import Scheduling
import Signalling

/// `sabha meeting …`: scheduled meetings through the admin API of a running server (docs/meetings.md).
struct MeetingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meeting",
        abstract: "Schedule, change, cancel and list meetings; invitations go out by mail and calendar.",
        discussion: """
            Talks to the server's admin API like 'sabha room'. Attendees are given as EMAIL, 'NAME <EMAIL>' or \
            'NAME <EMAIL>:ROLE' with ROLE host, participant (default) or viewer. Times are RFC 3339 \
            (2026-12-01T10:00:00+05:30) or 'YYYY-MM-DD HH:MM' in --timezone.
            """,
        subcommands: [Create.self, Update.self, Cancel.self, List.self, Show.self, Attendance.self])

    /// What `create` and `update` both take.
    struct Details: ParsableArguments {
        @Option(help: "Title.")
        var title: String

        @Option(help: "Description (optional).")
        var description: String?

        @Option(help: "Start: 2026-12-01T10:00:00+05:30, or '2026-12-01 10:00' in --timezone.")
        var start: String

        @Option(help: "End: as --start, or a duration after it such as 45m or 1h.")
        var end: String

        @Option(help: "IANA time zone of the meeting.")
        var timezone: String = "Asia/Kolkata"

        @Option(help: "Organizer: 'NAME <EMAIL>' or EMAIL.")
        var organizer: String

        @Option(name: .customLong("attendee"), help: "An attendee: EMAIL, 'NAME <EMAIL>', 'NAME <EMAIL>:ROLE' or 'NAME <EMAIL>:ROLE:LANGUAGE' (host|participant|viewer; en|hi|or); repeat for each.")
        var attendees: [String] = []

        @Flag(inversion: .prefixedNo, help: "Joiners wait in a lobby until a host admits them (default: on when someone is invited from outside the department's domains).")
        var lobby: Bool?

        func request() throws -> AdminWire.MeetingRequest {
            guard !attendees.isEmpty else { throw ValidationError("give at least one --attendee") }
            let start = try Self.time(self.start, zone: timezone, what: "--start")
            let end: String
            if let seconds = try? Settings.duration(self.end, what: "--end"), let startDate = AdminWire.parseTime(start) {
                end = Self.rfc3339(startDate.addingTimeInterval(seconds))
            } else {
                end = try Self.time(self.end, zone: timezone, what: "--end")
            }
            let organizer = Self.person(self.organizer)
            let invitees = attendees.map { text -> AdminWire.Invitee in
                var text = text
                var role: String?
                var language: String?
                // Up to two ":..." suffixes after the address, each a role or a language (the two sets of words differ).
                for _ in 0..<2 {
                    guard let colon = text.lastIndex(of: ":") else { break }
                    let suffix = text[text.index(after: colon)...]
                    guard !suffix.contains("@"), !suffix.contains(">") else { break }
                    if MessageLanguage(code: String(suffix)) != nil { language = String(suffix) } else { role = String(suffix) }
                    text = String(text[..<colon])
                }
                let person = Self.person(text)
                return AdminWire.Invitee(name: person.name, email: person.email, role: role, language: language)
            }
            return AdminWire.MeetingRequest(title: title, description: description, start: start, end: end, timezone: timezone,
                                            organizer: organizer, attendees: invitees, lobby: lobby)
        }

        static func person(_ text: String) -> AdminWire.Person {
            let mailbox = Settings.mailbox(text)
            return AdminWire.Person(name: mailbox.name.isEmpty ? nil : mailbox.name, email: mailbox.address)
        }

        /// RFC 3339 as given, or "YYYY-MM-DD HH:MM" read in `zone`.
        static func time(_ text: String, zone: String, what: String) throws -> String {
            if AdminWire.parseTime(text) != nil { return text }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "yyyy-MM-dd HH:mm"
            guard let timeZone = TimeZone(identifier: zone) else { throw ValidationError("--timezone '\(zone)' is not an IANA time zone") }
            formatter.timeZone = timeZone
            guard let date = formatter.date(from: text) else {
                throw ValidationError("\(what) '\(text)' is neither RFC 3339 (2026-12-01T10:00:00+05:30) nor 'YYYY-MM-DD HH:MM'")
            }
            return rfc3339(date)
        }

        static func rfc3339(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: date)
        }
    }

    static func printMeeting(_ meeting: AdminWire.Meeting) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.timeZone = TimeZone(identifier: meeting.timezone)
        print("Meeting \(meeting.id) '\(meeting.title)' [\(meeting.status), sequence \(meeting.sequence), from \(meeting.source)]")
        print("  when:      \(formatter.string(from: meeting.start)) – \(formatter.string(from: meeting.end)) \(meeting.timezone)")
        print("  organizer: \(meeting.organizer.name) <\(meeting.organizer.email)> \(meeting.status == "scheduled" ? meeting.organizer.link : "")")
        for attendee in meeting.attendees {
            print("  \(attendee.role.padding(toLength: 11, withPad: " ", startingAt: 0)) \(attendee.name) <\(attendee.email)> [\(attendee.answer)] \(attendee.link ?? "(\(attendee.status))")")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedule a meeting and invite its attendees.")
        @OptionGroup var client: AdminClientOptions
        @OptionGroup var details: Details

        func run() async throws {
            let data = try await client.request("POST", "/api/meetings", body: try JSONEncoder().encode(details.request()))
            if client.json { return client.printRaw(data) }
            MeetingCommand.printMeeting(try client.decode(AdminWire.Meeting.self, data))
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a meeting's details; everyone gets an updated invitation, dropped attendees a cancellation.")
        @OptionGroup var client: AdminClientOptions
        @Argument(help: "The meeting id (m-…).")
        var id: String
        @OptionGroup var details: Details

        func run() async throws {
            let data = try await client.request("PUT", "/api/meetings/\(AdminClientOptions.pathSegment(id))",
                                                body: try JSONEncoder().encode(details.request()))
            if client.json { return client.printRaw(data) }
            MeetingCommand.printMeeting(try client.decode(AdminWire.Meeting.self, data))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a meeting: cancellations to all, the room ends, links stop working.")
        @OptionGroup var client: AdminClientOptions
        @Argument(help: "The meeting id (m-…).")
        var id: String

        func run() async throws {
            let data = try await client.request("DELETE", "/api/meetings/\(AdminClientOptions.pathSegment(id))")
            if client.json { return client.printRaw(data) }
            let meeting = try client.decode(AdminWire.Meeting.self, data)
            print("Meeting \(meeting.id) '\(meeting.title)' is \(meeting.status).")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one meeting with every attendee's link.")
        @OptionGroup var client: AdminClientOptions
        @Argument(help: "The meeting id (m-…).")
        var id: String

        func run() async throws {
            let data = try await client.request("GET", "/api/meetings/\(AdminClientOptions.pathSegment(id))")
            if client.json { return client.printRaw(data) }
            MeetingCommand.printMeeting(try client.decode(AdminWire.Meeting.self, data))
        }
    }

    struct Attendance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who was invited, what they answered, who came and for how long (the attendance report so far).")
        @OptionGroup var client: AdminClientOptions
        @Argument(help: "The meeting id (m-…).")
        var id: String
        @Flag(help: "Print the CSV the organizer's mail carries.")
        var csv = false

        func run() async throws {
            let path = "/api/meetings/\(AdminClientOptions.pathSegment(id))/attendance"
            if csv { return print(String(decoding: try await client.request("GET", path + "?format=csv"), as: UTF8.self), terminator: "") }
            let data = try await client.request("GET", path)
            if client.json { return client.printRaw(data) }
            let report = try client.decode(AttendanceReport.self, data)
            print("Attendance at '\(report.title)': \(report.attendedCount) of \(report.invitedCount) invited came, \(report.guestCount) guests")
            for p in report.people {
                let present = p.attended ? "present \(AttendanceReport.duration(p.secondsPresent)), \(p.reconnects) reconnects" : "did not join"
                let answer = p.answer.isEmpty ? "guest" : p.answer
                print("  \(answer.padding(toLength: 12, withPad: " ", startingAt: 0)) \(p.name.isEmpty ? p.identity : "\(p.name) <\(p.identity)>"): \(present)\(p.removed ? ", removed" : "")")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List meetings, newest first.")
        @OptionGroup var client: AdminClientOptions

        func run() async throws {
            let data = try await client.request("GET", "/api/meetings")
            if client.json { return client.printRaw(data) }
            let meetings = try client.decode(AdminWire.Meetings.self, data).meetings
            guard !meetings.isEmpty else { return print("No meetings yet: schedule one with 'sabha meeting create'.") }
            let formatter = ISO8601DateFormatter()
            for meeting in meetings {
                print("\(meeting.id)  \(meeting.status.padding(toLength: 9, withPad: " ", startingAt: 0))  \(formatter.string(from: meeting.start))  \(meeting.attendees.filter { $0.status == "invited" }.count) invited  \(meeting.title)")
            }
        }
    }
}

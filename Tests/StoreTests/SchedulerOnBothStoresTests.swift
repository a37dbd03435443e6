import Foundation
import GroupwareBridge
import Logging
@testable import Scheduling
import Signalling
import Testing

/// The scheduler's whole life of a meeting on each store: the same steps must leave the same meeting, attendees and
/// outbox in SQLite and in PostgreSQL.
@Suite struct SchedulerOnBothStoresTests {
    static let start = Date(timeIntervalSince1970: 1_796_000_000)

    static func scheduler(_ store: any MeetingStore) throws -> MeetingScheduler {
        var policy = MeetingPolicy()
        policy.mail = true
        policy.organizerCalendar = true
        policy.sender = CalendarUser(name: "Sabha", email: try EmailAddress("meet@dept.gov.in"))
        let hooks = MeetingHooks(issueLink: { request in "https://meet.dept.gov.in/m/\(request.room)?t=\(request.identity)-\(request.role.rawValue)" })
        return MeetingScheduler(store: store, policy: policy, hooks: hooks, logger: Logger(label: "test"))
    }

    static func draft(_ attendees: [(String, String)], title: String) throws -> MeetingDraft {
        MeetingDraft(title: title, description: "Monthly review — मासिक समीक्षा", start: start, end: start.addingTimeInterval(3600),
                     timeZone: "Asia/Kolkata", organizer: CalendarUser(name: "Collector", email: try EmailAddress("collector@pune.gov.in")),
                     attendees: try attendees.map { .init(name: $0.0, email: try EmailAddress($0.1), role: .participant) })
    }

    /// What the life of one meeting leaves behind, without ids and times that differ between runs.
    struct Outcome: Equatable {
        var meeting: [String]
        var attendees: [String]
        var outbox: [String]
    }

    static func life(on kind: StoreKind) async throws -> Outcome {
        let store = try kind.make().store.meetings
        let scheduler = try Self.scheduler(store)
        let created = try await scheduler.create(try Self.draft([("Asha", "asha@pune.gov.in"), ("Ravi", "ravi@pune.gov.in")], title: "Review"),
                                                 now: start.addingTimeInterval(-86_400))
        let id = created.meeting.id
        // Asha answers before the edit: her answer stays with her through it.
        try store.write { tx in
            guard var asha = try tx.attendee(of: id, email: "asha@pune.gov.in") else { return }
            asha.answer = .accepted
            asha.answeredAt = start.addingTimeInterval(-3_600)
            asha.answerSource = .mail
            try tx.update(asha)
        }
        _ = try await scheduler.update(id, to: try Self.draft([("Asha", "asha@pune.gov.in"), ("Meera", "meera@pune.gov.in")], title: "Review, moved"),
                                       now: start.addingTimeInterval(-80_000))
        guard case .admitted = scheduler.admission(room: id, identity: "meera@pune.gov.in", at: start) else {
            throw Failure("Meera is not admitted after the update")
        }
        guard case .refused = scheduler.admission(room: id, identity: "ravi@pune.gov.in", at: start) else {
            throw Failure("Ravi is still admitted after being dropped")
        }
        _ = try await scheduler.cancel(id, now: start.addingTimeInterval(-70_000))
        let meeting = try #require(try store.meeting(id: id))
        return Outcome(
            meeting: [meeting.title, meeting.status.rawValue, String(meeting.sequence), meeting.report.rawValue, meeting.description],
            attendees: try store.attendees(of: id).map { "\($0.email) \($0.status.rawValue) \($0.answer.rawValue) \($0.position)" },
            outbox: try store.outbox(meeting: id).reversed().map {
                "\($0.kind.rawValue) \($0.recipient ?? "-") \($0.method ?? "-") \($0.sequence) \($0.state.rawValue) \($0.payload.count > 0)"
            })
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func aMeetingsWholeLifeLeavesTheSameRowsInBothStores() async throws {
        let sqlite = try await Self.life(on: .sqlite)
        let postgres = try await Self.life(on: .postgres)
        #expect(sqlite == postgres)
        #expect(sqlite.meeting.prefix(4) == ["Review, moved", "cancelled", "2", "skipped"])
        #expect(sqlite.attendees == ["asha@pune.gov.in invited ACCEPTED 0", "meera@pune.gov.in invited NEEDS-ACTION 1",
                                     "ravi@pune.gov.in removed NEEDS-ACTION 2"])
        // Invitations, the update's REQUESTs and Ravi's CANCEL, then everyone's CANCEL: what was not sent yet was superseded.
        #expect(sqlite.outbox.filter { $0.contains(" pending ") }.count == 4, "\(sqlite.outbox)")
        #expect(sqlite.outbox.contains("mail ravi@pune.gov.in CANCEL 1 pending true"), "\(sqlite.outbox)")
    }
}

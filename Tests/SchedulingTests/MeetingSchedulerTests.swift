import Foundation
import GRDB
import Logging
import Testing
import GroupwareBridge
@testable import Scheduling

/// The scheduler on an in-memory store: what it stores, what it queues, and whom a room admits when.
@Suite struct MeetingSchedulerTests {
    static let start = Date(timeIntervalSince1970: 1_796_000_000)  // Monday 2026-11-30 00:53 UTC

    static func scheduler(mail: Bool = true, calendar: Bool = true, dismissed: DismissLog? = nil) throws -> MeetingScheduler {
        var policy = MeetingPolicy()
        policy.mail = mail
        policy.organizerCalendar = calendar
        policy.sender = CalendarUser(name: "Sabha", email: try EmailAddress("meet@dept.gov.in"))
        let hooks = MeetingHooks(
            issueLink: { request in "https://meet.dept.gov.in/m/\(request.room)?t=\(request.identity)-\(request.role.rawValue)" },
            dismiss: { room, identities in dismissed?.add(room, identities) })
        return MeetingScheduler(store: try SQLiteMeetingStore.inMemory(), policy: policy, hooks: hooks, logger: Logger(label: "test"))
    }

    final class DismissLog: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func add(_ room: String, _ identities: [String]) { lock.withLock { entries += identities.map { "\(room):\($0)" } } }
        var all: [String] { lock.withLock { entries } }
    }

    static func draft(attendees: [(String, String, Attendee.Role)] = [("Asha", "Asha@Example.in", .participant), ("Ravi", "ravi@example.in", .viewer)],
                      title: String = "District review", start: Date = start) throws -> MeetingDraft {
        MeetingDraft(title: title, description: "Monthly", start: start, end: start.addingTimeInterval(3600), timeZone: "Asia/Kolkata",
                     organizer: CalendarUser(name: "Collector", email: try EmailAddress("collector@pune.gov.in")),
                     attendees: try attendees.map { .init(name: $0.0, email: try EmailAddress($0.1), role: $0.2) })
    }

    @Test func createStoresTheMeetingAndQueuesOneInvitationPerAttendeeAndTheCalendarCopy() async throws {
        let scheduler = try Self.scheduler()
        let meeting = try await scheduler.create(try Self.draft(), now: Self.start.addingTimeInterval(-86_400))
        #expect(meeting.meeting.sequence == 0)
        #expect(meeting.meeting.uid == meeting.meeting.id + "@sabha")
        #expect(meeting.attendees.map(\.email) == ["asha@example.in", "ravi@example.in"])
        #expect(meeting.attendees[0].link.hasSuffix("?t=asha@example.in-participant"))
        #expect(meeting.meeting.organizerLink.hasSuffix("?t=collector@pune.gov.in-host"))
        let items = try scheduler.store.outbox().sorted { $0.id! < $1.id! }
        #expect(items.map(\.kind) == [.mail, .mail, .calendarPut])
        #expect(items.compactMap(\.recipient) == ["asha@example.in", "ravi@example.in"])
        #expect(items.allSatisfy { $0.state == .pending && $0.sequence == 0 })
        let mail = String(decoding: items[0].payload, as: UTF8.self)
        #expect(mail.contains("From: Sabha <meet@dept.gov.in>\r\n"))
        #expect(mail.contains("Reply-To: Collector <collector@pune.gov.in>\r\n"))
        let object = String(decoding: items[2].payload, as: UTF8.self)
        #expect(!object.contains("METHOD:"), "a stored calendar object carries no METHOD (RFC 4791 4.1)")
        #expect(object.contains("collector@pune.gov.in-host"))
    }

    @Test func updateRaisesTheSequenceReinvitesEveryoneAndCancelsTheDroppedAttendee() async throws {
        let dismissed = DismissLog()
        let scheduler = try Self.scheduler(dismissed: dismissed)
        let created = try await scheduler.create(try Self.draft())
        let id = created.meeting.id
        let updated = try await scheduler.update(
            id, to: try Self.draft(attendees: [("Asha", "asha@example.in", .host), ("Meena", "meena@example.in", .participant)], title: "Review (moved)"))
        #expect(updated.meeting.sequence == 1)
        #expect(updated.meeting.title == "Review (moved)")
        #expect(updated.attendees.map(\.status) == [.invited, .invited, .removed])
        #expect(updated.attendees.last?.email == "ravi@example.in")
        #expect(dismissed.all == ["\(id):ravi@example.in"])
        let items = try scheduler.store.outbox(meeting: id).filter { $0.sequence == 1 }
        #expect(Set(items.filter { $0.method == "REQUEST" }.compactMap(\.recipient)) == ["asha@example.in", "meena@example.in"])
        #expect(items.filter { $0.method == "CANCEL" }.compactMap(\.recipient) == ["ravi@example.in"])
        // The unsent sequence-0 invitations are superseded by the new ones; nothing is sent twice.
        let old = try scheduler.store.outbox(meeting: id).filter { $0.sequence == 0 }
        #expect(old.allSatisfy { $0.state == .superseded })
        #expect(scheduler.admission(room: id, identity: "ravi@example.in", at: Self.start) ==
                .refused(code: "link-revoked", detail: "You are no longer invited to 'Review (moved)'; this link has been withdrawn."))
        #expect(scheduler.admission(room: id, identity: "meena@example.in", at: Self.start) == .admitted(role: .participant))
    }

    @Test func cancelSendsCancelToEveryoneOnceAndRefusesEveryLink() async throws {
        let scheduler = try Self.scheduler()
        let id = try await scheduler.create(try Self.draft()).meeting.id
        let cancelled = try await scheduler.cancel(id)
        #expect(cancelled.meeting.status == .cancelled)
        #expect(cancelled.meeting.sequence == 1)
        let again = try await scheduler.cancel(id)
        #expect(again.meeting.sequence == 1, "cancelling twice changes nothing")
        let items = try scheduler.store.outbox(meeting: id).filter { $0.sequence == 1 }
        #expect(items.filter { $0.method == "CANCEL" }.count == 2)
        #expect(items.contains { $0.kind == .calendarDelete })
        guard case .refused(let code, _) = scheduler.admission(room: id, identity: "asha@example.in", at: Self.start) else {
            Issue.record("a cancelled meeting admitted someone")
            return
        }
        #expect(code == "meeting-cancelled")
        await #expect(throws: MeetingError.cancelled(id)) { _ = try await scheduler.update(id, to: try Self.draft()) }
    }

    @Test func theNextSequenceStaysWithinICalendarsIntegerWhateverCameBefore() {
        #expect(MeetingRecord.sequence(after: 0) == 1)
        #expect(MeetingRecord.sequence(after: 4, atLeast: 9) == 9)
        #expect(MeetingRecord.sequence(after: 9, atLeast: 4) == 10)
        #expect(MeetingRecord.sequence(after: -5) == 0)
        #expect(MeetingRecord.sequence(after: Int.max) == MeetingRecord.maximumSequence)
        #expect(MeetingRecord.sequence(after: Int.min, atLeast: Int.max) == MeetingRecord.maximumSequence)
        #expect(MeetingRecord.sequence(after: MeetingRecord.maximumSequence - 1) == MeetingRecord.maximumSequence)
        #expect(MeetingRecord.sequence(after: 1, atLeast: Int.min) == 2)
    }

    @Test func aBookingWithTheLargestSequenceCanStillBeEditedAndCancelled() async throws {
        let scheduler = try Self.scheduler()
        let created = try await scheduler.create(try Self.draft(), origin: .calendar(uid: "b-1", href: "/cal/b-1.ics", etag: "\"1\"", sequence: Int.max))
        #expect(created.meeting.sequence == MeetingRecord.maximumSequence)
        let edited = try await scheduler.update(created.meeting.id, to: try Self.draft(title: "Edited"), minimumSequence: Int.max)
        #expect(edited.meeting.sequence == MeetingRecord.maximumSequence)
        #expect(edited.meeting.title == "Edited")
        let cancelled = try await scheduler.cancel(created.meeting.id)
        #expect(cancelled.meeting.status == .cancelled && cancelled.meeting.sequence == MeetingRecord.maximumSequence)
    }

    @Test func aSequenceStoredByAnOlderVersionAtIntMaxDoesNotTrapTheNextEdit() async throws {
        let scheduler = try Self.scheduler()
        let id = try await scheduler.create(try Self.draft()).meeting.id
        try scheduler.store.write { tx in
            guard var meeting = try tx.meeting(id: id) else { return }
            meeting.sequence = Int.max
            try tx.update(meeting)
        }
        let edited = try await scheduler.update(id, to: try Self.draft(title: "After the crash loop"))
        #expect(edited.meeting.sequence == MeetingRecord.maximumSequence)
        try scheduler.store.write { tx in
            guard var meeting = try tx.meeting(id: id) else { return }
            meeting.sequence = Int.max
            try tx.update(meeting)
        }
        #expect(try await scheduler.cancel(id).meeting.status == .cancelled)
    }

    @Test func theMigrationBringsStoredSequencesBackIntoRange() throws {
        let queue = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        SQLiteMeetingStore.registerMigrations(in: &migrator)
        try migrator.migrate(queue, upTo: "meetings-v1")
        try queue.write { db in
            for (id, sequence) in [("m-huge", Int.max), ("m-negative", -3), ("m-fine", 7)] {
                try db.execute(sql: """
                    INSERT INTO meeting (id, uid, room, source, title, description, start, "end", timeZone, organizerName,
                                         organizerEmail, organizerLink, sequence, status, createdAt, updatedAt)
                    VALUES (?, ?, ?, 'calendar', 't', '', '2026-12-01 10:00:00', '2026-12-01 11:00:00', 'UTC', '', 'o@x.in', '', ?,
                            'scheduled', '2026-11-01 10:00:00', '2026-11-01 10:00:00')
                    """, arguments: [id, id + "@x", id, sequence])
            }
        }
        try migrator.migrate(queue)
        let sequences = try queue.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, sequence FROM meeting").map { ($0["id"] as String, $0["sequence"] as Int) })
        }
        #expect(sequences == ["m-huge": MeetingRecord.maximumSequence, "m-negative": 0, "m-fine": 7])
    }

    @Test func linksAdmitOnlyWithinTheJoinWindow() async throws {
        let scheduler = try Self.scheduler()
        let id = try await scheduler.create(try Self.draft()).meeting.id
        let early = scheduler.admission(room: id, identity: "asha@example.in", at: Self.start.addingTimeInterval(-31 * 60))
        guard case .refused("meeting-not-open", let detail) = early else {
            Issue.record("admitted 31 minutes early: \(early)")
            return
        }
        #expect(detail.contains("Monday 30 November 2026, 06:23"), "says when the meeting is: \(detail)")
        #expect(scheduler.admission(room: id, identity: "asha@example.in", at: Self.start.addingTimeInterval(-29 * 60)) == .admitted(role: .participant))
        #expect(scheduler.admission(room: id, identity: "asha@example.in", at: Self.start.addingTimeInterval(3600 + 29 * 60)) == .admitted(role: .participant))
        guard case .refused("meeting-not-open", _) = scheduler.admission(room: id, identity: "asha@example.in", at: Self.start.addingTimeInterval(3600 + 31 * 60)) else {
            Issue.record("admitted after the window")
            return
        }
        #expect(scheduler.admission(room: "some-other-room", identity: "x", at: Self.start) == .notAMeeting)
    }

    @Test func admissionTellsTheRoleTheMeetingGivesNowSoADowngradeBeatsAnOldHostLink() async throws {
        let lowered = DismissLog()
        let scheduler = MeetingScheduler(store: try SQLiteMeetingStore.inMemory(), policy: MeetingPolicy(),
                                         hooks: MeetingHooks(issueLink: { "link-\($0.identity)" }, rolesLowered: { lowered.add($0, $1) }),
                                         logger: Logger(label: "test"))
        let id = try await scheduler.create(try Self.draft(attendees: [("Asha", "asha@example.in", .host)])).meeting.id
        #expect(scheduler.admission(room: id, identity: "asha@example.in", at: Self.start) == .admitted(role: .host))
        _ = try await scheduler.update(id, to: try Self.draft(attendees: [("Asha", "asha@example.in", .viewer)]))
        #expect(scheduler.admission(room: id, identity: "Asha@Example.in", at: Self.start) == .admitted(role: .viewer))
        #expect(lowered.all == ["\(id):asha@example.in"], "whoever is in with the old role is sent out")
        _ = try await scheduler.update(id, to: try Self.draft(attendees: [("Asha", "asha@example.in", .participant)]))
        #expect(lowered.all.count == 1, "raising a role sends nobody out")
        #expect(scheduler.admission(room: id, identity: "collector@pune.gov.in", at: Self.start) == .admitted(role: .host),
                "the organizer hosts without being listed")
        #expect(scheduler.admission(room: id, identity: "someone-an-admin-invited", at: Self.start) == .admitted(role: nil))
    }

    @Test func aMeetingHasALobbyByDefaultWhenSomeoneIsInvitedFromOutsideTheDepartment() async throws {
        let outsiders = try Self.draft()  // the organizer is at pune.gov.in, the attendees at example.in
        let insiders = try Self.draft(attendees: [("Ravi", "ravi@pune.gov.in", .participant), ("Sub", "sdm@haveli.pune.gov.in", .participant)])
        #expect(MeetingPolicy().defaultLobby(outsiders))
        #expect(!MeetingPolicy().defaultLobby(insiders), "the organizer's domain and its subdomains")
        var listed = MeetingPolicy()
        listed.inviteDomains = ["example.in", "gov.in"]
        #expect(!listed.defaultLobby(outsiders), "with an invitation list, its domains are the department's")

        let scheduler = try Self.scheduler()
        let withLobby = try await scheduler.create(outsiders, now: Self.start.addingTimeInterval(-86_400))
        #expect(withLobby.meeting.lobby)
        var off = outsiders
        off.lobby = false
        let updated = try await scheduler.update(withLobby.meeting.id, to: off, now: Self.start.addingTimeInterval(-80_000))
        #expect(!updated.meeting.lobby)
        let unchanged = try await scheduler.update(withLobby.meeting.id, to: outsiders, now: Self.start.addingTimeInterval(-70_000))
        #expect(!unchanged.meeting.lobby, "an update that does not say keeps the lobby as it was")
        #expect(try await scheduler.create(insiders, now: Self.start.addingTimeInterval(-86_400)).meeting.lobby == false)
    }

    @Test func thePolicyRefusesOutsideDomainsAndTooManyAttendeesAndCountsIt() async throws {
        var policy = MeetingPolicy()
        policy.inviteDomains = ["example.in", "gov.in"]
        policy.maximumAttendees = 2
        #expect(policy.allowsInvitation(try EmailAddress("asha@example.in")))
        #expect(policy.allowsInvitation(try EmailAddress("ravi@pune.gov.in")), "subdomains of a listed domain")
        #expect(policy.allowsInvitation(try EmailAddress("RAVI@PUNE.GOV.IN")))
        #expect(!policy.allowsInvitation(try EmailAddress("eve@notgov.in")), "a suffix that is not a subdomain")
        #expect(!policy.allowsInvitation(try EmailAddress("eve@gov.in.evil.com")))
        #expect(MeetingPolicy().allowsInvitation(try EmailAddress("anyone@anywhere.org")), "no list: any domain")

        let reached = LimitLog()
        let scheduler = MeetingScheduler(store: try SQLiteMeetingStore.inMemory(), policy: policy,
                                         hooks: MeetingHooks(issueLink: { "link-\($0.identity)" }, limitReached: { reached.add($0, $1) }),
                                         logger: Logger(label: "test"))
        await #expect(throws: MeetingError.inviteDomainNotAllowed(email: "eve@evil.com", allowed: ["example.in", "gov.in"])) {
            _ = try await scheduler.create(try Self.draft(attendees: [("Asha", "asha@example.in", .host), ("Eve", "eve@evil.com", .viewer)]))
        }
        await #expect(throws: MeetingError.tooManyAttendees(count: 3, limit: 2)) {
            _ = try await scheduler.create(try Self.draft(attendees: [("A", "a@example.in", .host), ("B", "b@example.in", .viewer),
                                                                     ("C", "c@gov.in", .viewer)]))
        }
        #expect(try scheduler.store.outbox().isEmpty && scheduler.meetings().isEmpty, "nothing stored, nothing queued")
        let created = try await scheduler.create(try Self.draft(attendees: [("Asha", "asha@example.in", .host)]))
        await #expect(throws: MeetingError.inviteDomainNotAllowed(email: "eve@evil.com", allowed: ["example.in", "gov.in"])) {
            _ = try await scheduler.update(created.meeting.id, to: try Self.draft(attendees: [("Eve", "eve@evil.com", .host)]))
        }
        #expect(reached.all == ["invite-domains:1", "attendees:1", "invite-domains:1"])

        let screened = policy.screen(try Self.draft(attendees: [("Asha", "asha@example.in", .host), ("Eve", "eve@evil.com", .viewer)]))
        #expect(screened.draft.attendees.map(\.email.value) == ["asha@example.in"])
        #expect(screened.leftOut.map(\.email.value) == ["eve@evil.com"])
    }

    final class LimitLog: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func add(_ limit: String, _ count: Int) { lock.withLock { entries.append("\(limit):\(count)") } }
        var all: [String] { lock.withLock { entries } }
    }

    @Test func draftsWithBadFieldsAreRefusedWithTheirCode() throws {
        var endFirst = try Self.draft()
        endFirst.end = endFirst.start.addingTimeInterval(-60)
        #expect(throws: MeetingError.endBeforeStart) { try endFirst.validated() }
        var zone = try Self.draft()
        zone.timeZone = "Mars/Olympus"
        #expect((try? zone.validated()) == nil)
        do { _ = try zone.validated() } catch { #expect(error.code == "unknown-time-zone") }
        var nobody = try Self.draft()
        nobody.attendees = []
        do { _ = try nobody.validated() } catch { #expect(error.code == "invalid-field") }
        var twice = try Self.draft(attendees: [("A", "a@example.in", .host), ("A again", "A@EXAMPLE.IN", .viewer)])
        twice = try twice.validated()
        #expect(twice.attendees.count == 1)
        #expect(twice.attendees[0].role == .host)
    }

    @Test func withoutMailOrCalendarNothingIsQueued() async throws {
        let scheduler = try Self.scheduler(mail: false, calendar: false)
        let meeting = try await scheduler.create(try Self.draft())
        #expect(try scheduler.store.outbox(meeting: meeting.meeting.id).isEmpty)
    }
}

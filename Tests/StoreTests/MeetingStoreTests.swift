import Foundation
import GroupwareBridge
@testable import Scheduling
import Signalling
import Testing

/// Every `MeetingStore` operation, against SQLite and PostgreSQL alike.
@Suite struct MeetingStoreTests {
    static func at(_ seconds: Double) -> Date { RoomStoreTests.at(seconds) }

    static func meeting(_ id: String, created: Double = 0, end: Double = 3600, href: String? = nil) -> MeetingRecord {
        MeetingRecord(id: id, uid: id + "@sabha", room: id, source: href == nil ? .api : .calendar, title: "Review of \(id)",
                      description: "Line one\nline two — ଓଡ଼ିଆ", start: at(created + 60), end: at(end), timeZone: "Asia/Kolkata",
                      organizerName: "Collector", organizerEmail: "collector@gov.example", organizerLink: "https://sabha.example/j/x",
                      sequence: 0, status: .scheduled, createdAt: at(created), updatedAt: at(created), resourceHref: href,
                      resourceETag: href.map { _ in "\"e1\"" }, calendarETag: nil)
    }

    static func attendee(_ meeting: String, _ email: String, position: Int) -> MeetingAttendeeRecord {
        MeetingAttendeeRecord(meetingId: meeting, email: email, name: "Officer \(position)", role: .participant, status: .invited,
                              link: "https://sabha.example/j/\(position)", position: position, language: .hindi)
    }

    static func item(_ meeting: String, kind: OutboxItem.Kind = .mail, to recipient: String? = "a@gov.example", method: String? = "REQUEST",
                     sequence: Int = 0, due: Double = 0) -> OutboxItem {
        OutboxItem(id: nil, meetingId: meeting, kind: kind, recipient: recipient, method: method, sequence: sequence,
                   key: OutboxItem.key(uid: meeting + "@sabha", sequence: sequence, method: method, recipient: recipient, kind: kind),
                   payload: Data("BEGIN:VCALENDAR\r\n\u{0}\u{FF}".utf8) + Data([0, 255, 10]), state: .pending, attempts: 0, lastError: nil,
                   nextAttemptAt: at(due), createdAt: at(0), sentAt: nil)
    }

    @Test(arguments: StoreKind.allCases)
    func meetingsAndAttendeesAreFoundByEveryKeyAndKeepTheirOrder(kind: StoreKind) throws {
        let store = try kind.make().store.meetings
        let first = Self.meeting("m-1", created: 0)
        let booked = Self.meeting("m-2", created: 10, href: "/calendars/resource/b.ics")
        try store.write { tx in
            try tx.insert(first)
            try tx.insert(booked)
            for (position, email) in ["c@gov.example", "a@gov.example", "b@gov.example"].enumerated() {
                try tx.insert(Self.attendee("m-1", email, position: position))
            }
        }
        #expect(try store.meeting(id: "m-1") == first)
        #expect(try store.meeting(room: "m-2") == booked)
        #expect(try store.meeting(uid: "m-1@sabha") == first)
        #expect(try store.meeting(resourceHref: "/calendars/resource/b.ics") == booked)
        #expect(try store.meeting(id: "m-404") == nil)
        #expect(try store.meetings().map(\.id) == ["m-2", "m-1"])
        #expect(try store.meetings(limit: 1).map(\.id) == ["m-2"])
        #expect(try store.calendarBookings().keys.sorted() == ["/calendars/resource/b.ics"])
        #expect(try store.attendees(of: "m-1").map(\.email) == ["c@gov.example", "a@gov.example", "b@gov.example"])
        #expect(try store.attendees(of: "m-1").first == Self.attendee("m-1", "c@gov.example", position: 0))

        var changed = first
        changed.title = "Moved"
        changed.sequence = MeetingRecord.maximumSequence
        changed.resourceETag = nil
        changed.report = .queued
        changed.reportedAt = Self.at(99)
        var answered = Self.attendee("m-1", "a@gov.example", position: 1)
        answered.answer = .accepted
        answered.answerComment = "Will join from Koraput"
        answered.answeredAt = Self.at(50)
        answered.answerSource = .mail
        try store.write { [changed, answered] tx in
            try tx.update(changed)
            try tx.update(answered)
        }
        #expect(try store.meeting(id: "m-1") == changed)
        #expect(try store.read { try $0.attendee(of: "m-1", email: "a@gov.example") } == answered)
        try store.write { tx in try tx.deleteAttendees(of: "m-1") }
        #expect(try store.attendees(of: "m-1").isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func aNewerItemSupersedesTheStaleOneButNeverAReportAndAKeyIsQueuedOnce(kind: StoreKind) throws {
        let store = try kind.make().store.meetings
        try store.write { tx in try tx.insert(Self.meeting("m-1")) }
        let report = Self.item("m-1", to: "a@gov.example", method: AttendanceReporter.method)
        try store.write { tx in
            try tx.enqueue(Self.item("m-1", to: "a@gov.example", sequence: 0))
            try tx.enqueue(Self.item("m-1", to: "b@gov.example", sequence: 0))
            try tx.enqueue(report)
            try tx.enqueue(Self.item("m-1", kind: .calendarPut, to: nil, sequence: 0))
        }
        try store.write { tx in
            try tx.enqueue(Self.item("m-1", to: "a@gov.example", sequence: 1))
            try tx.enqueue(Self.item("m-1", kind: .calendarDelete, to: nil, method: "CANCEL", sequence: 1))
            try tx.enqueue(Self.item("m-1", to: "b@gov.example", sequence: 0))  // the same key again: nothing changes
        }
        let items = try store.outbox(meeting: "m-1")
        func state(_ kind: OutboxItem.Kind, _ recipient: String?, _ method: String?, _ sequence: Int) -> OutboxItem.State? {
            items.first { $0.kind == kind && $0.recipient == recipient && $0.method == method && $0.sequence == sequence }?.state
        }
        #expect(items.count == 6)
        #expect(state(.mail, "a@gov.example", "REQUEST", 0) == .superseded)
        #expect(state(.mail, "a@gov.example", "REQUEST", 1) == .pending)
        #expect(state(.mail, "b@gov.example", "REQUEST", 0) == .pending)
        #expect(state(.mail, "a@gov.example", AttendanceReporter.method, 0) == .pending)
        #expect(state(.calendarPut, nil, "REQUEST", 0) == .superseded)
        #expect(state(.calendarDelete, nil, "CANCEL", 1) == .pending)
        #expect(items.map { $0.id ?? 0 } == items.map { $0.id ?? 0 }.sorted(by: >))
        #expect(items.allSatisfy { $0.payload == Self.item("m-1").payload })
        #expect(try store.outboxCounts() == [.pending: 4, .superseded: 2])
        #expect(try store.outbox(meeting: "m-404").isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func theRelayTakesTheOldestDueItemAndRecordsEachAttempt(kind: StoreKind) throws {
        let store = try kind.make().store.meetings
        try store.write { tx in
            try tx.insert(Self.meeting("m-1"))
            try tx.enqueue(Self.item("m-1", to: "a@gov.example", due: 0))
            try tx.enqueue(Self.item("m-1", to: "b@gov.example", due: 100))
            try tx.enqueue(Self.item("m-1", kind: .calendarPut, to: nil, due: 0))
        }
        let first = try store.claimNextDue(at: Self.at(10), kinds: [.mail], hold: 120)
        let item = try #require(first.item)
        #expect(item.recipient == "a@gov.example" && first.next == Self.at(10))
        // Claimed: held back from every relay until the hold ends, while the next item is free.
        #expect(try store.outbox(meeting: "m-1").first { $0.id == item.id }?.nextAttemptAt == Self.at(130))
        #expect(try store.claimNextDue(at: Self.at(10), kinds: [.mail], hold: 120).next == Self.at(100))
        #expect(try store.claimNextDue(at: Self.at(10), kinds: [.calendarPut], hold: 120).item?.kind == .calendarPut)
        try store.finish(try #require(item.id), state: .pending, error: "421 try later", nextAttemptAt: Self.at(50), at: Self.at(10))
        #expect(try store.claimNextDue(at: Self.at(10), kinds: [.mail], hold: 120).next == Self.at(50))
        try store.finish(try #require(item.id), state: .sent, error: nil, nextAttemptAt: nil, at: Self.at(60))
        let sent = try #require(try store.outbox(meeting: "m-1").first { $0.id == item.id })
        #expect(sent.state == .sent && sent.attempts == 2 && sent.sentAt == Self.at(60) && sent.lastError == nil)
        #expect(try store.claimNextDue(at: Self.at(1000), kinds: [.mail], hold: 120).item?.recipient == "b@gov.example")
    }

    /// Relays on two nodes polling at once: each due item is taken by exactly one of them.
    @Test(arguments: StoreKind.allCases)
    func relaysOnTwoConnectionsNeverClaimTheSameItem(kind: StoreKind) async throws {
        let (first, open) = try kind.make()
        let stores = [first.meetings, try open().meetings]
        try stores[0].write { tx in
            try tx.insert(Self.meeting("m-1"))
            for index in 0..<30 { try tx.enqueue(Self.item("m-1", to: "p\(index)@gov.example")) }
        }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for index in 0..<6 {
                let store = stores[index % 2]
                group.addTask {
                    var mine: [Int64] = []
                    while let item = try store.claimNextDue(at: Self.at(10), kinds: [.mail], hold: 120).item { mine.append(item.id ?? -1) }
                    return mine
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(claimed.count == 30 && Set(claimed).count == 30)
    }

    @Test(arguments: StoreKind.allCases)
    func reportsAreDueForScheduledMeetingsThatEndedAndTheMailboxPositionIsKept(kind: StoreKind) throws {
        let store = try kind.make().store.meetings
        var cancelled = Self.meeting("m-3", end: 100)
        cancelled.status = .cancelled
        try store.write { [cancelled] tx in
            try tx.insert(Self.meeting("m-1", end: 100))
            try tx.insert(Self.meeting("m-2", end: 5000))
            try tx.insert(cancelled)
        }
        #expect(try store.read { try $0.meetingsAwaitingReport(endedBefore: Self.at(200), limit: 50) }.map(\.id) == ["m-1"])

        #expect(try store.read { try $0.mailboxCursor("INBOX") } == nil)
        let cursor = MailboxCursor(mailbox: "INBOX", uidValidity: UInt32.max, lastUID: 41, updatedAt: Self.at(1))
        try store.write { try $0.save(cursor) }
        var moved = cursor
        moved.lastUID = 42
        try store.write { [moved] in try $0.save(moved) }
        #expect(try store.read { try $0.mailboxCursor("INBOX") } == moved)

        try store.setCalendarETag("\"c1\"", meeting: "m-1")
        try store.replaceCalendarETag("\"old\"", with: "\"c2\"", meeting: "m-1")
        #expect(try store.meeting(id: "m-1")?.calendarETag == "\"c1\"")
        try store.replaceCalendarETag("\"c1\"", with: "\"c2\"", meeting: "m-1")
        try store.setResourceETag("\"r9\"", meeting: "m-1")
        #expect(try store.meeting(id: "m-1").map { [$0.calendarETag, $0.resourceETag] } == ["\"c2\"", "\"r9\""])
    }

    struct Refused: Error {}

    @Test(arguments: StoreKind.allCases)
    func aWriteThatThrowsLeavesNothingBehind(kind: StoreKind) throws {
        let store = try kind.make().store.meetings
        #expect(throws: Refused.self) {
            try store.write { tx in
                try tx.insert(Self.meeting("m-1"))
                try tx.enqueue(Self.item("m-1"))
                throw Refused()
            }
        }
        #expect(try store.meeting(id: "m-1") == nil)
        #expect(try store.outbox().isEmpty)
        // The connection is usable after the rollback.
        try store.write { tx in try tx.insert(Self.meeting("m-1")) }
        #expect(try store.meeting(id: "m-1") != nil)
    }

    /// Two nodes recording attempts on the same item at once: every attempt counts (writes are serialised).
    @Test(arguments: StoreKind.allCases)
    func concurrentWritesFromTwoConnectionsLoseNoUpdate(kind: StoreKind) async throws {
        let (first, open) = try kind.make()
        let stores = [first.meetings, try open().meetings]
        try stores[0].write { tx in
            try tx.insert(Self.meeting("m-1"))
            try tx.enqueue(Self.item("m-1"))
        }
        let id = try #require(try stores[1].outbox().first?.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let store = stores[index % 2]
                group.addTask { try store.finish(id, state: .pending, error: "try \(index)", nextAttemptAt: Self.at(1), at: Self.at(0)) }
            }
            try await group.waitForAll()
        }
        #expect(try stores[0].outbox().first?.attempts == 40)
    }
}

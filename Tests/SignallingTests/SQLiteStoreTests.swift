import Foundation
import GRDB
import Logging
import Testing
@testable import Signalling

@Suite struct SQLiteStoreTests {
    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "sabha-store-\(UInt64.random(in: 0...UInt64.max))"
    }

    static let logger = Logger(label: "test.store")

    @Test func migratesAFreshDatabaseWithTheV1TablesAndIndex() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        #expect(store.path == directory + "/" + SQLiteStore.fileName)
        #expect(try store.appliedMigrations() == ["v1", "meetings-v1", "meetings-v2-sequence-range", "meetings-v3-lobby-language", "meetings-v4-replies-attendance", "v2-access", "v3-meeting-controls"])
        try store.database.read { db in
            #expect(try db.tableExists("room"))
            #expect(try db.tableExists("audit"))
            #expect(try db.tableExists("roomRemoval"))
            #expect(try db.tableExists("revokedLink"))
            #expect(try db.columns(in: "room").map(\.name) == ["name", "title", "createdAt", "source", "endedAt", "closedAt", "closedBy", "lobby", "waitForHost"])
            #expect(try db.columns(in: "audit").map(\.name) == ["id", "at", "room", "identity", "participant", "event", "address", "actor", "detail"])
            let index = try db.indexes(on: "audit").first { $0.name == "audit_room_at" }
            #expect(index?.columns == ["room", "at"])
        }
        #expect(try store.rooms().isEmpty)
        #expect(try store.auditTrail().isEmpty)
    }

    @Test func createsRoomsOnceListsThemNewestFirstAndMarksThemEnded() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let earlier = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try store.createRoom(RoomRecord(name: "review", title: "Weekly review", createdAt: earlier, source: .api)))
        #expect(try store.createRoom(RoomRecord(name: "budget", title: "budget", createdAt: earlier + 60, source: .api)))
        #expect(try !store.createRoom(RoomRecord(name: "review", title: "Other", createdAt: earlier + 120, source: .api)))
        #expect(try store.rooms().map(\.name) == ["budget", "review"])
        #expect(try store.room(named: "review")?.title == "Weekly review")
        #expect(try store.room(named: "nope") == nil)

        #expect(try store.markEnded("review", at: earlier + 600))
        #expect(try !store.markEnded("nope"))
        #expect(try store.room(named: "review")?.endedAt == earlier + 600)
    }

    @Test func aJoinStoresAnUnknownRoomOnceAndReopensAnEndedOne() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try store.roomJoined("adhoc", at: at)
        try store.roomJoined("adhoc", at: at + 10)
        let room = try #require(try store.room(named: "adhoc"))
        #expect(room.source == .join && room.createdAt == at && room.title == "adhoc" && room.endedAt == nil)

        #expect(try store.createRoom(RoomRecord(name: "planned", title: "Planned", createdAt: at, source: .api)))
        try store.markEnded("planned", at: at + 100)
        try store.roomJoined("planned", at: at + 200)
        let planned = try #require(try store.room(named: "planned"))
        #expect(planned.source == .api && planned.title == "Planned" && planned.endedAt == nil)
    }

    @Test func recordsAndReadsTheAuditTrailNewestFirstPerRoomWithALimit() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        for (offset, event) in ["joined", "left", "joined"].enumerated() {
            store.recordAudit(AuditRecord(at: at + Double(offset), room: "r1", identity: "asha", participant: "p-1", event: event, address: "10.0.0.7"))
        }
        store.recordAudit(AuditRecord(at: at + 1.5, room: "r2", identity: "ravi", participant: "p-2", event: "joined", address: nil))

        let r1 = try store.auditTrail(room: "r1")
        #expect(r1.map(\.event) == ["joined", "left", "joined"])
        #expect(r1.map(\.at) == [at + 2, at + 1, at])
        #expect(r1.allSatisfy { $0.id != nil && $0.address == "10.0.0.7" && $0.identity == "asha" })
        #expect(try store.auditTrail().map(\.room) == ["r1", "r2", "r1", "r1"])
        #expect(try store.auditTrail(limit: 2).count == 2)
        #expect(try store.auditTrail(room: "r2").first?.address == nil)
        #expect(try store.auditTrail(room: "nobody").isEmpty)
    }

    @Test func reopeningKeepsRoomsAndTheAuditTrail() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
            #expect(try store.createRoom(RoomRecord(name: "kept", title: "Kept", createdAt: at, source: .api)))
            store.recordAudit(AuditRecord(at: at, room: "kept", identity: "asha", participant: "p-1", event: "joined", address: "127.0.0.1"))
        }
        let reopened = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        #expect(try reopened.appliedMigrations() == ["v1", "meetings-v1", "meetings-v2-sequence-range", "meetings-v3-lobby-language", "meetings-v4-replies-attendance", "v2-access", "v3-meeting-controls"])
        #expect(try reopened.room(named: "kept") == RoomRecord(name: "kept", title: "Kept", createdAt: at, source: .api))
        #expect(try reopened.auditTrail(room: "kept").map(\.event) == ["joined"])
    }

    @Test func theRecorderStoresJoinedRoomsMarksEndsAndKeepsOrder() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let recorder = AuditRecorder(store: store)
        let sink = recorder.sink
        let events: [(String, String?)] = [("joined", "10.0.0.1"), ("resumed", "10.0.0.2"), ("ended", nil), ("joined", nil)]
        for (event, address) in events {
            sink(MeetingHub.AuditEvent(room: "walk-in", identity: "asha", participant: "p-1", event: event, address: address))
        }
        recorder.finish()
        await recorder.run()
        let trail = try store.auditTrail(room: "walk-in")
        #expect(trail.map(\.event) == ["joined", "ended", "resumed", "joined"])
        // Events without an address get the one the participant last connected from, until it is gone.
        #expect(trail.map(\.address) == [nil, "10.0.0.2", "10.0.0.2", "10.0.0.1"])
        let room = try #require(try store.room(named: "walk-in"))
        #expect(room.source == .join && room.endedAt == nil, "the last join reopened it")
    }

    @Test func aClosedRoomStaysClosedThroughJoinsAndEmptinessUntilReopened() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try store.closeRoom("walk-in", by: "asha", at: at)  // never stored before: stored now, closed
        let closed = try #require(try store.room(named: "walk-in"))
        #expect(closed.source == .join && closed.closedAt == at && closed.closedBy == "asha" && closed.endedAt == at)
        try store.roomJoined("walk-in", at: at + 10)
        #expect(try store.closure(of: "walk-in")?.by == "asha", "a join does not reopen a closed room")
        #expect(try store.reopenRoom("walk-in"))
        #expect(try store.closure(of: "walk-in") == nil)
        #expect(try !store.reopenRoom("walk-in"), "reopening an open room changes nothing")
        #expect(try !store.reopenRoom("nowhere"))
    }

    @Test func removalsKeepOneIdentityOutOfOneRoomUntilReadmitted() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try store.remove("ravi", name: "Ravi", from: "r1", by: "asha", at: at)
        try store.remove("ravi", name: "Ravi K", from: "r1", by: "admin", at: at + 5)  // again: replaces
        try store.remove("meera", name: "Meera", from: "r1", by: "asha", at: at + 1)
        #expect(try store.removals(from: "r1").map(\.identity) == ["meera", "ravi"])
        #expect(try store.removal(of: "ravi", from: "r1")?.removedBy == "admin")
        #expect(try store.removal(of: "ravi", from: "r2") == nil, "one room only")
        #expect(try store.readmit("ravi", to: "r1"))
        #expect(try !store.readmit("ravi", to: "r1"))
        #expect(try store.removals(from: "r1").map(\.identity) == ["meera"])
    }

    @Test func aRevokedLinkIsRememberedOnce() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        #expect(try !store.isRevoked("abc"))
        #expect(try store.revokeLink("abc", room: "r1"))
        #expect(try !store.revokeLink("abc", room: "r1"))
        #expect(try store.isRevoked("abc"))
    }

    @Test func accessRefusesRevokedLinksClosedRoomsAndRemovedPeopleAndCapsNothingWithoutAMeeting() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let access = RoomAccess(store: store, scheduler: nil, logger: Self.logger)
        let token = AccessToken(identity: "ravi", room: "r1", role: .host, lifetime: 600)
        #expect(try access.admit(token) == token)
        try store.remove("ravi", name: "Ravi", from: "r1", by: "asha")
        #expect(throws: RoomAccess.Refusal.self) { try access.admit(token) }
        #expect(access.refusal(room: "r1", identity: "ravi", tokenID: token.tokenID)?.code == "removed")
        #expect(access.refusal(room: "r2", identity: "ravi", tokenID: token.tokenID) == nil)
        try store.closeRoom("r2", by: "admin")
        #expect(access.refusal(room: "r2", identity: "ravi", tokenID: token.tokenID)?.code == "room-closed")
        try store.revokeLink(try #require(token.tokenID), room: "r1")
        #expect(access.refusal(room: "r3", identity: "ravi", tokenID: token.tokenID)?.code == "link-revoked", "a token id is withdrawn everywhere")
        #expect(access.refusal(room: "r3", identity: "ravi", tokenID: nil) == nil)
    }

    @Test func chatIsKeptPerRoomAndReadBackNewestLimitOldestFirst() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let start = Date(timeIntervalSince1970: 1_796_000_000)
        for i in 0..<150 {
            let room = i % 3 == 0 ? "other" : "review"
            let saved = try store.appendChat(ChatMessage(room: room, at: start.addingTimeInterval(Double(i)), participant: "p-\(i)",
                                                         identity: "officer\(i)", name: "Officer \(i)", text: "message \(i)"))
            #expect(saved.id == Int64(i + 1))
        }
        let all = try store.chat(room: "review")
        #expect(all.count == 100 && all.first?.text == "message 1" && all.last?.text == "message 149")
        let last = try store.chat(room: "review", limit: 10)
        #expect(last.map(\.text) == all.suffix(10).map(\.text))
        #expect(try store.chat(room: "nobody").isEmpty)
    }

    @Test func roomOptionsChangeOnlyForStoredRoomsAndFeedTheAccessRules() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(dataDirectory: directory, logger: Self.logger)
        let access = RoomAccess(store: store, scheduler: nil, logger: Self.logger)
        #expect(try store.setRoomOptions("ghost", lobby: true, waitForHost: nil) == false)
        #expect(try store.createRoom(RoomRecord(name: "r1", title: "R1", createdAt: Date(), source: .api)))
        #expect(access.options(of: "r1") == RoomAccess.Options(lobby: false, waitForHost: false))
        #expect(try store.setRoomOptions("r1", lobby: true, waitForHost: nil))
        #expect(try store.setRoomOptions("r1", lobby: nil, waitForHost: true))
        #expect(access.options(of: "r1") == RoomAccess.Options(lobby: true, waitForHost: true))
        #expect(access.options(of: "unknown") == RoomAccess.Options(lobby: false, waitForHost: false))
    }
}

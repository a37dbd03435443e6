import Foundation
import PostgresStore
import Scheduling
import Signalling
import Testing

/// Every `RoomStore` operation, against SQLite and PostgreSQL alike: what one store does, the other must.
@Suite struct RoomStoreTests {
    /// Whole seconds: both stores keep them exactly (PostgreSQL keeps microseconds, GRDB milliseconds).
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test(arguments: StoreKind.allCases)
    func roomsAreCreatedOnceListedNewestFirstAndEndAndRestart(kind: StoreKind) throws {
        let store = try kind.make().store
        let room = RoomRecord(name: "review", title: "District review — जिला समीक्षा", createdAt: Self.at(0), source: .api)
        #expect(try store.createRoom(room))
        #expect(try !store.createRoom(RoomRecord(name: "review", title: "other", createdAt: Self.at(5), source: .api)))
        #expect(try store.room(named: "review") == room)
        #expect(try store.room(named: "nobody") == nil)
        #expect(try store.createRoom(RoomRecord(name: "later", title: "Later", createdAt: Self.at(10), source: .api)))
        #expect(try store.rooms().map(\.name) == ["later", "review"])

        #expect(try store.markEnded("review", at: Self.at(20)))
        #expect(try !store.markEnded("nobody", at: Self.at(20)))
        #expect(try store.room(named: "review")?.endedAt == Self.at(20))
        try store.roomJoined("review", at: Self.at(30))
        #expect(try store.room(named: "review")?.endedAt == nil)
        try store.roomJoined("walk-in", at: Self.at(40))
        #expect(try store.room(named: "walk-in") == RoomRecord(name: "walk-in", title: "walk-in", createdAt: Self.at(40), source: .join))

        #expect(try store.setRoomOptions("review", lobby: true, waitForHost: nil))
        #expect(try store.setRoomOptions("review", lobby: nil, waitForHost: true))
        let options = try #require(try store.room(named: "review"))
        #expect(options.lobby && options.waitForHost && options.title == room.title)
        #expect(try !store.setRoomOptions("nobody", lobby: true, waitForHost: true))
    }

    @Test(arguments: StoreKind.allCases)
    func chatKeepsOrderAndGivesTheNewestWithALimit(kind: StoreKind) throws {
        let store = try kind.make().store
        var ids: [Int64] = []
        for index in 0..<5 {
            let text = index == 2 ? "क्या आप सुन सकते हैं? ଆପଣ 'quoted' \"double\" \\ back" : "message \(index)"
            let stored = try store.appendChat(ChatMessage(room: "r", at: Self.at(Double(index)), participant: "p-\(index)",
                                                          identity: "i\(index)@gov.example", name: "Name \(index)", text: text))
            ids.append(try #require(stored.id))
        }
        _ = try store.appendChat(ChatMessage(room: "other", at: Self.at(9), participant: "p", identity: "x", name: "X", text: "elsewhere"))
        #expect(ids == ids.sorted() && Set(ids).count == 5)
        #expect(try store.chat(room: "r").map(\.participant) == ["p-0", "p-1", "p-2", "p-3", "p-4"])
        #expect(try store.chat(room: "r", limit: 2).map(\.participant) == ["p-3", "p-4"])
        #expect(try store.chat(room: "r", limit: 0).isEmpty)
        #expect(try store.chat(room: "r")[2].text == "क्या आप सुन सकते हैं? ଆପଣ 'quoted' \"double\" \\ back")
    }

    @Test(arguments: StoreKind.allCases)
    func closedRoomsRemovedPeopleAndRevokedLinksStayUntilUndone(kind: StoreKind) throws {
        let store = try kind.make().store
        try store.closeRoom("never-created", by: "host@gov.example", at: Self.at(1))
        let closure = try #require(try store.closure(of: "never-created"))
        #expect(closure.at == Self.at(1) && closure.by == "host@gov.example")
        #expect(try store.room(named: "never-created")?.endedAt == Self.at(1))
        #expect(try store.reopenRoom("never-created"))
        #expect(try !store.reopenRoom("never-created"))
        #expect(try store.closure(of: "never-created") == nil)

        try store.remove("a@gov.example", name: "A", from: "r", by: "host", at: Self.at(1))
        try store.remove("b@gov.example", name: "B", from: "r", by: "host", at: Self.at(2))
        try store.remove("a@gov.example", name: "A again", from: "r", by: "admin", at: Self.at(3))
        #expect(try store.removal(of: "a@gov.example", from: "r") == RoomRemoval(room: "r", identity: "a@gov.example", name: "A again",
                                                                                 removedAt: Self.at(3), removedBy: "admin"))
        #expect(try store.removals(from: "r").map(\.identity) == ["b@gov.example", "a@gov.example"])
        #expect(try store.removal(of: "a@gov.example", from: "other") == nil)
        #expect(try store.readmit("a@gov.example", to: "r"))
        #expect(try !store.readmit("a@gov.example", to: "r"))

        #expect(try store.revokeLink("jti-1", room: "r", at: Self.at(1)))
        #expect(try !store.revokeLink("jti-1", room: "r", at: Self.at(2)))
        #expect(try store.isRevoked("jti-1"))
        #expect(try !store.isRevoked("jti-2"))
    }

    @Test(arguments: StoreKind.allCases)
    func theAuditTrailFiltersByRoomAndTimeInBothOrders(kind: StoreKind) throws {
        let store = try kind.make().store
        let events = [("r1", "joined", 0.0, "10.0.0.1"), ("r2", "joined", 1, nil), ("r1", "left", 2, "10.0.0.1"), ("r1", "removed", 3, nil)]
        for (room, event, seconds, address) in events {
            store.recordAudit(AuditRecord(at: Self.at(seconds), room: room, identity: "who@gov.example", participant: "p-1", event: event,
                                          address: address, actor: event == "removed" ? "host" : nil, detail: nil))
        }
        #expect(try store.auditTrail().map(\.event) == ["removed", "left", "joined", "joined"])
        #expect(try store.auditTrail(room: "r1", oldestFirst: true).map(\.event) == ["joined", "left", "removed"])
        #expect(try store.auditTrail(limit: 1).map(\.event) == ["removed"])
        #expect(try store.auditTrail(from: Self.at(1), to: Self.at(3)).map(\.event) == ["left", "joined"])
        #expect(try store.auditTrail(room: "r2").first?.address == nil)
        #expect(try store.auditTrail(room: "nobody").isEmpty)
        let attendance = try store.attendanceEvents(room: "r1")
        #expect(attendance.map(\.event) == ["joined", "left", "removed"])
        #expect(attendance.first?.address == "10.0.0.1" && attendance.last?.actor == "host")
    }

    @Test(arguments: StoreKind.allCases)
    func pruningDeletesOnlyWhatRetentionNoLongerKeeps(kind: StoreKind) throws {
        let store = try kind.make().store
        let now = Self.at(400 * 86_400)
        for days in [200.0, 100, 1] {
            let at = now.addingTimeInterval(-days * 86_400)
            store.recordAudit(AuditRecord(at: at, room: "r", identity: "i", participant: "p", event: "joined", address: nil))
            _ = try store.appendChat(ChatMessage(room: "r", at: at, participant: "p", identity: "i", name: "N", text: "t"))
        }
        let pruned = try store.prune(.standard, now: now)
        #expect(pruned.audit == 1 && pruned.chat == 1 && pruned.outbox == 0)
        #expect(try store.auditTrail().count == 2 && store.chat(room: "r").count == 2)
        #expect(try store.prune(.standard, now: now).total == 0)
        #expect(try store.prune(StoreRetention(audit: nil, chat: nil, outbox: nil), now: now.addingTimeInterval(1e9)).total == 0)
    }

    /// Two nodes on one store: what one writes the other reads, and neither can take a room the other has.
    @Test(arguments: StoreKind.allCases)
    func twoConnectionsShareRoomsAndOnlyOneCreatesEachName(kind: StoreKind) async throws {
        let (first, open) = try kind.make()
        let second = try open()
        #expect(try first.createRoom(RoomRecord(name: "shared", title: "Shared", createdAt: Self.at(0), source: .api)))
        #expect(try second.room(named: "shared")?.title == "Shared")
        let stores = [first, second]
        let wins = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                let store = stores[index % 2]
                group.addTask { try store.createRoom(RoomRecord(name: "race", title: "\(index)", createdAt: Self.at(1), source: .api)) ? 1 : 0 }
            }
            return try await group.reduce(0, +)
        }
        #expect(wins == 1)
    }
}

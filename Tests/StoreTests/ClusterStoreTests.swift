import Foundation
import PostgresStore
import Signalling
import Testing

/// What nodes agree on through PostgreSQL: heartbeats, room leases, job leases and shared secrets, each seen from
/// two connections (two nodes).
@Suite struct ClusterStoreTests {
    static func at(_ seconds: Double) -> Date { RoomStoreTests.at(seconds) }

    static func twoNodes() throws -> (any ClusterStore, any ClusterStore) {
        let url = try ScratchPostgres.database()
        return (try PostgresRoomStore(url: url, logger: StoreKind.logger), try PostgresRoomStore(url: url, logger: StoreKind.logger))
    }

    @Test func aRoomIsHeldByOneNodeUntilItsLeaseRunsOutThenByTheNextThatAsks() throws {
        let (a, b) = try Self.twoNodes()
        #expect(try a.claimRoom("review", for: "http://a", now: Self.at(0), until: Self.at(6)) == "http://a")
        #expect(try b.claimRoom("review", for: "http://b", now: Self.at(1), until: Self.at(7)) == "http://a")
        // Past half its time, the holder's own claim renews the lease (before, one read answers).
        #expect(try a.claimRoom("review", for: "http://a", now: Self.at(4), until: Self.at(10)) == "http://a")
        #expect(try b.claimRoom("review", for: "http://b", now: Self.at(7.5), until: Self.at(13)) == "http://a")
        #expect(try b.claimRoom("review", for: "http://b", now: Self.at(10.5), until: Self.at(16)) == "http://b")
        #expect(try a.claimRoom("review", for: "http://a", now: Self.at(11), until: Self.at(17)) == "http://b")
    }

    @Test func aHeartbeatRenewsTheRoomsWithPeopleAndGivesUpTheRest() throws {
        let (a, b) = try Self.twoNodes()
        let now = Date()
        for room in ["one", "two"] { _ = try a.claimRoom(room, for: "http://a", now: now, until: now.addingTimeInterval(6)) }
        try a.heartbeat(ClusterNode(id: "http://a", startedAt: now, heartbeatAt: now, viewers: 40, maxViewers: 40, publishers: 2, maxPublishers: 30))
        try b.heartbeat(ClusterNode(id: "http://b", startedAt: now, heartbeatAt: now, viewers: 3, publishers: 5, maxPublishers: 5))
        try a.renewRooms(["one"], of: "http://a", until: now.addingTimeInterval(6))
        let nodes = try b.nodes()
        #expect(nodes.map(\.id).sorted() == ["http://a", "http://b"])
        // The viewer counts tell the others where viewers still fit (cascading).
        #expect(nodes.first { $0.id == "http://a" }.map { ($0.viewers, $0.maxViewers, $0.isFull) } ?? (0, 0, false) == (40, 40, true))
        #expect(nodes.first { $0.id == "http://b" }.map { ($0.viewers, $0.maxViewers, $0.isFull) } ?? (0, 0, true) == (3, 0, false))
        // And the publisher counts where a meeting's next publisher fits.
        #expect(nodes.first { $0.id == "http://a" }.map { ($0.publishers, $0.maxPublishers, $0.isFullOfPublishers) } ?? (0, 0, true) == (2, 30, false))
        #expect(nodes.first { $0.id == "http://b" }.map { ($0.publishers, $0.maxPublishers, $0.isFullOfPublishers) } ?? (0, 0, false) == (5, 5, true))
        #expect(nodes.first { $0.id == "http://a" }?.rooms == ["one"])
        #expect(nodes.allSatisfy { $0.isAlive(at: now.addingTimeInterval(5)) && !$0.isAlive(at: now.addingTimeInterval(7)) })
        #expect(try b.claimRoom("two", for: "http://b", now: now, until: now.addingTimeInterval(6)) == "http://b")
        try a.renewRooms([], of: "http://a", until: now.addingTimeInterval(6))
        #expect(try b.claimRoom("one", for: "http://b", now: now, until: now.addingTimeInterval(6)) == "http://b")
    }

    /// A join claims a room while the node's heartbeat is being written with a list made just before: the heartbeat
    /// must not give that room up (it did: the bench once saw a second node admit a join to a room the first held).
    @Test func aRoomClaimedWhileAHeartbeatIsWrittenIsNotGivenUp() throws {
        let (a, b) = try Self.twoNodes()
        // The heartbeat lists the rooms at 0 (none) and writes at 0.5; the join claimed the room at 0.2.
        #expect(try a.claimRoom("fresh", for: "http://a", now: Self.at(0.2), until: Self.at(6.2)) == "http://a")
        #expect(try a.renewRooms([], of: "http://a", until: Self.at(6)) == [:])
        #expect(try b.claimRoom("fresh", for: "http://b", now: Self.at(1), until: Self.at(7)) == "http://a",
                "the room stays with the node that claimed it")
        // A room the next heartbeat does not list (nobody came) is given up then.
        #expect(try a.renewRooms([], of: "http://a", until: Self.at(8)) == [:])
        #expect(try b.claimRoom("fresh", for: "http://b", now: Self.at(2.1), until: Self.at(8.1)) == "http://b")
    }

    @Test func aJobRunsOnOneNodeAndMovesWhenItsLeaseRunsOut() throws {
        let (a, b) = try Self.twoNodes()
        #expect(try a.holdLease("calendar-watcher", for: "http://a", now: Self.at(0), until: Self.at(60)))
        #expect(try !b.holdLease("calendar-watcher", for: "http://b", now: Self.at(1), until: Self.at(61)))
        #expect(try a.holdLease("calendar-watcher", for: "http://a", now: Self.at(30), until: Self.at(90)))
        #expect(try !b.holdLease("calendar-watcher", for: "http://b", now: Self.at(89), until: Self.at(149)))
        #expect(try b.holdLease("calendar-watcher", for: "http://b", now: Self.at(91), until: Self.at(151)))
        #expect(try !a.holdLease("calendar-watcher", for: "http://a", now: Self.at(92), until: Self.at(152)))
        #expect(try a.holdLease("reply-collector", for: "http://a", now: Self.at(92), until: Self.at(152)))
    }

    @Test func everyNodeGetsTheSecretTheFirstOneMade() async throws {
        let (a, b) = try Self.twoNodes()
        let secrets = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for index in 0..<8 {
                let store = index % 2 == 0 ? a : b
                group.addTask { try store.sharedSecret("token-hs256") { [UInt8](repeating: UInt8(index), count: 32) } }
            }
            return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(Set(secrets).count == 1 && secrets[0].count == 32)
        #expect(try a.sharedSecret("token-hs256") { [] } == secrets[0])
        #expect(try b.sharedSecret("admin-key") { Array("k".utf8) } == Array("k".utf8))
    }

    @Test func aNodesWebSocketAddressFollowsItsPublicURL() {
        #expect(RoomPlacement.webSocketURL("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/ws")
        #expect(RoomPlacement.webSocketURL("https://sabha-2.dc.gov.in/") == "wss://sabha-2.dc.gov.in/ws")
    }
}

extension ClusterStoreTests {
    /// A node whose lease ran out (paused, or cut off from the database) learns at its next heartbeat that another
    /// node took the room, and from whom, so it can send its participants there.
    @Test func aHeartbeatTellsWhichRoomsAnotherNodeTookMeanwhile() throws {
        let (a, b) = try Self.twoNodes()
        let now = Date()
        _ = try a.claimRoom("kept", for: "http://a", now: now, until: now.addingTimeInterval(6))
        _ = try a.claimRoom("lost", for: "http://a", now: now.addingTimeInterval(-10), until: now.addingTimeInterval(-4))
        #expect(try b.claimRoom("lost", for: "http://b", now: now, until: now.addingTimeInterval(6)) == "http://b")
        #expect(try a.renewRooms(["kept", "lost"], of: "http://a", until: now.addingTimeInterval(6)) == ["lost": "http://b"])
        #expect(try b.roomHolder("kept", now: now) == "http://a")
        #expect(try b.roomHolder("nowhere", now: now) == nil)
    }
}

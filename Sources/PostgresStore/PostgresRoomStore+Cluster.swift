import Foundation
import Logging
import PostgresNIO
import Signalling

/// The cluster's agreements (`ClusterStore`) in the shared database: rows in `clusterNode`, `roomLease`,
/// `jobLease` and `sharedSecret`, changed in write transactions (serialised across nodes).
extension PostgresRoomStore: ClusterStore {
    public func heartbeat(_ node: ClusterNode) throws {
        _ = try database.withSession { session in
            try session.execute("""
                INSERT INTO clusterNode (id, startedAt, heartbeatAt, viewers, maxViewers, publishers, maxPublishers, roomPeople)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (id) DO UPDATE SET startedAt = excluded.startedAt, heartbeatAt = excluded.heartbeatAt,
                    viewers = excluded.viewers, maxViewers = excluded.maxViewers, publishers = excluded.publishers,
                    maxPublishers = excluded.maxPublishers, roomPeople = excluded.roomPeople
                """, [.text(node.id), .date(node.startedAt), .date(node.heartbeatAt), .int(node.viewers), .int(node.maxViewers),
                      .int(node.publishers), .int(node.maxPublishers),
                      .text(String(decoding: try JSONEncoder().encode(node.people), as: UTF8.self))])
        }
    }

    public func nodes() throws -> [ClusterNode] {
        try database.transaction(writing: false) { session in
            var nodes = try Self.registeredNodes(session)
            for row in try session.query("SELECT room, node FROM roomLease WHERE expiresAt > now() ORDER BY room") {
                let (room, node) = try row.decode((String, String).self)
                if let index = nodes.firstIndex(where: { $0.id == node }) { nodes[index].rooms.append(room) }
            }
            return nodes
        }
    }

    /// The `clusterNode` rows, oldest first, without their rooms (also what `sabha doctor` reads).
    static func registeredNodes(_ session: PostgresSession) throws -> [ClusterNode] {
        try session.query("""
            SELECT id, startedAt, heartbeatAt, viewers, maxViewers, publishers, maxPublishers, roomPeople
            FROM clusterNode ORDER BY startedAt, id
            """).map { row in
            let (id, startedAt, heartbeatAt, viewers, maxViewers, publishers, maxPublishers, people) =
                try row.decode((String, Date, Date, Int, Int, Int, Int, String).self)
            return ClusterNode(id: id, startedAt: startedAt, heartbeatAt: heartbeatAt, viewers: viewers, maxViewers: maxViewers,
                               publishers: publishers, maxPublishers: maxPublishers,
                               people: (try? JSONDecoder().decode([String: Int].self, from: Data(people.utf8))) ?? [:])
        }
    }

    public func claimRoom(_ room: String, for node: String, now: Date, until: Date) throws -> String {
        // Most joins find the room held (by this node or a live other) with time to spare: answered by one read,
        // without the cluster-wide write lock. Only a claim, or a lease near its end, takes it.
        let margin = until.timeIntervalSince(now) / 2
        let known = try database.withSession { session in
            try session.query("SELECT node, expiresAt FROM roomLease WHERE room = $1", [.text(room)]).first
                .map { try $0.decode((String, Date).self) }
        }
        if let (holder, expiresAt) = known, expiresAt.timeIntervalSince(now) > margin { return holder }
        return try database.transaction(writing: true) { session in
            try takeLease(session, table: "roomLease", key: ("room", room), holder: ("node", node), now: now, until: until)
        }
    }

    /// In a write transaction: the lease's holder when another holds it until after `now`; otherwise `holder`,
    /// which takes or keeps it until `until`. The two lease tables differ only in their column names.
    private func takeLease(_ session: PostgresSession, table: String, key: (column: String, value: String),
                                  holder: (column: String, value: String), now: Date, until: Date) throws -> String {
        if let row = try session.query("SELECT \(holder.column), expiresAt FROM \(table) WHERE \(key.column) = $1", [.text(key.value)]).first {
            let (current, expiresAt) = try row.decode((String, Date).self)
            if current != holder.value && expiresAt > now { return current }
            if current != holder.value {
                logger.notice("lease taken over from a node that stopped renewing it",
                              metadata: ["lease": "\(table) \(key.value)", "from": "\(current)", "expired-at": "\(expiresAt)"])
            }
        }
        try session.execute("""
            INSERT INTO \(table) (\(key.column), \(holder.column), expiresAt) VALUES ($1, $2, $3)
            ON CONFLICT (\(key.column)) DO UPDATE SET \(holder.column) = excluded.\(holder.column), expiresAt = excluded.expiresAt
            """, [.text(key.value), .text(holder.value), .date(until)])
        return holder.value
    }

    public func roomHolder(_ room: String, now: Date) throws -> String? {
        try database.withSession { session in
            try session.query("SELECT node FROM roomLease WHERE room = $1 AND expiresAt > $2", [.text(room), .date(now)])
                .first.map { try $0.decode(String.self) }
        }
    }

    public func renewRooms(_ rooms: [String], of node: String, until: Date) throws -> [String: String] {
        // The rooms as one text parameter, split in SQL at U+0001 (no name the admin API accepts holds it).
        let list = SQLValue.text(rooms.joined(separator: "\u{1}"))
        return try database.transaction(writing: true) { session in
            try session.execute("UPDATE roomLease SET expiresAt = $1 WHERE node = $2 AND room = ANY(string_to_array($3, chr(1)))",
                                [.date(until), .text(node), list])
            // A lease this node took after the caller listed its rooms (a join meanwhile) runs past `until`: it stays.
            try session.execute("""
                DELETE FROM roomLease WHERE node = $1 AND NOT (room = ANY(string_to_array($2, chr(1)))) AND expiresAt <= $3
                """, [.text(node), list, .date(until)])
            var taken: [String: String] = [:]
            for row in try session.query("SELECT room, node FROM roomLease WHERE node != $1 AND room = ANY(string_to_array($2, chr(1)))",
                                         [.text(node), list]) {
                let (room, holder) = try row.decode((String, String).self)
                taken[room] = holder
            }
            return taken
        }
    }

    public func holdLease(_ name: String, for holder: String, now: Date, until: Date) throws -> Bool {
        try database.transaction(writing: true) { session in
            try takeLease(session, table: "jobLease", key: ("name", name), holder: ("holder", holder), now: now, until: until) == holder
        }
    }

    public func sharedSecret(_ name: String, make: () -> [UInt8]) throws -> [UInt8] {
        try database.transaction(writing: true) { session in
            if let row = try session.query("SELECT value FROM sharedSecret WHERE name = $1", [.text(name)]).first {
                return [UInt8](try row.makeRandomAccess()[0].decode(Data.self))
            }
            let secret = make()
            var binds = PostgresBindings()
            binds.append(name)
            try binds.append(Data(secret))
            try session.execute("INSERT INTO sharedSecret (name, value) VALUES ($1, $2)", binds)
            return secret
        }
    }
}

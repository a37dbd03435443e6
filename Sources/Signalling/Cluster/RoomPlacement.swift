import Foundation
import Logging
import Synchronization

/// Where a room's meeting runs in a cluster: on one node at a time, the first that admitted someone to it, held
/// by a lease in the shared database that this node's heartbeat renews while the room has people. A join that
/// reaches another node is sent to the holder (`{"type":"redirect"}` on /ws, 307 for WHIP/WHEP); once the holder
/// stops heartbeating, its lease runs out and the next join anywhere takes the room.
public final class RoomPlacement: Sendable {
    public enum Placement: Sendable, Equatable {
        case here
        /// The base URL of the node holding the room.
        case elsewhere(String)
    }

    /// This node's public URL: its id in the cluster.
    public let node: String
    let store: any ClusterStore
    let logger: Logger
    /// Rooms claimed lately, kept in the renewals for a while even before the meeting hub lists them, so a
    /// heartbeat between the claim and the join cannot give the room up.
    private let recentClaims = Mutex<[String: Date]>([:])
    /// Whether each job's lease was held at the last look (to log only changes).
    private let jobs = Mutex<[String: Bool]>([:])
    /// The nodes' WebSocket origins and when they were read, for `webSocketOrigins`.
    private let origins = Mutex<(read: Date, origins: [String])>((.distantPast, []))

    public init(node: String, store: any ClusterStore, logger: Logger) {
        self.node = node
        self.store = store
        self.logger = logger
    }

    /// Claims `room` for this node unless another live node holds it. Fails closed: when the database cannot say,
    /// the join is refused (503) rather than risking a second meeting of the same room on another node.
    public func place(_ room: String, now: Date = Date()) throws(RoomAccess.Refusal) -> Placement {
        // Noted before the claim, so that a heartbeat listing this node's rooms meanwhile keeps it.
        let noted = recentClaims.withLock { $0.updateValue(now, forKey: room) == nil }
        do {
            let holder = try store.claimRoom(room, for: node, now: now, until: now.addingTimeInterval(ClusterNode.deadAfter))
            if holder == node { return .here }
            if noted { recentClaims.withLock { _ = $0.removeValue(forKey: room) } }
            return .elsewhere(holder)
        } catch {
            logger.error("room placement failed; refusing", metadata: ["room": "\(room)", "error": "\(error)"])
            throw RoomAccess.Refusal(status: 503, code: "cluster-unavailable",
                                     detail: "The server cannot tell which node holds this meeting right now; try again in a moment.")
        }
    }

    /// The other node holding `room`, if one does (nil: this node, nobody, or the database cannot say).
    public func holder(of room: String, now: Date = Date()) -> String? {
        do {
            guard let holder = try store.roomHolder(room, now: now), holder != node else { return nil }
            return holder
        } catch {
            logger.error("room holder not readable; serving here", metadata: ["room": "\(room)", "error": "\(error)"])
            return nil
        }
    }

    /// Heartbeat: this node is alive; the leases of `rooms` (those with people here) and of rooms claimed in the
    /// last few seconds are extended, and the rest given up. Returns the rooms another node took meanwhile, with
    /// that node's base URL: their people here must go there.
    @discardableResult
    public func heartbeat(startedAt: Date, rooms: [String], viewers: Int = 0, maxViewers: Int = 0, publishers: Int = 0,
                          maxPublishers: Int = 0, people: [String: Int] = [:], now: Date = Date()) throws -> [String: String] {
        let claimed = recentClaims.withLock { claims in
            claims = claims.filter { now.timeIntervalSince($0.value) < 2 * ClusterNode.deadAfter }
            return Array(claims.keys)
        }
        try store.heartbeat(ClusterNode(id: node, startedAt: startedAt, heartbeatAt: now, viewers: viewers, maxViewers: maxViewers,
                                        publishers: publishers, maxPublishers: maxPublishers, people: people))
        return try store.renewRooms(Array(Set(rooms + claimed)).sorted(), of: node, until: now.addingTimeInterval(ClusterNode.deadAfter))
    }

    /// The nodes alive now, as their last heartbeats describe them; empty when the database cannot say.
    public func liveNodes(now: Date = Date()) -> [ClusterNode] {
        do {
            return try store.nodes().filter { $0.isAlive(at: now) }
        } catch {
            logger.error("cluster nodes not readable", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// Whether this node runs the single-instance job `name` now: it takes or keeps the job's lease for `hold`
    /// (longer than the job's interval, so the holder keeps it from round to round); false while another live
    /// node holds it, or when the database cannot say.
    public func holdJob(_ name: String, for hold: TimeInterval, now: Date = Date()) -> Bool {
        do {
            let held = try store.holdLease(name, for: node, now: now, until: now.addingTimeInterval(hold))
            let changed = jobs.withLock { jobs in jobs.updateValue(held, forKey: name) != held }
            if changed { logger.notice(held ? "this node runs the job" : "another node runs the job", metadata: ["job": "\(name)"]) }
            return held
        } catch {
            logger.error("job lease not readable; skipping this round", metadata: ["job": "\(name)", "error": "\(error)"])
            return false
        }
    }

    /// The WebSocket URL of `base` (a node's public URL): ws(s)://host/ws.
    /// The WebSocket origins (`wss://host:port`) of every node that ever joined the cluster: a meeting page served by
    /// one node may be sent to another's `/ws` (`redirect`), so its Content-Security-Policy must allow them. Read from
    /// the database at most every `ClusterNode.heartbeatInterval`; a node that cannot read it keeps the last list.
    public func webSocketOrigins(now: Date = Date()) -> [String] {
        if let fresh = origins.withLock({ now.timeIntervalSince($0.read) < ClusterNode.heartbeatInterval ? $0.origins : nil }) { return fresh }
        guard let nodes = try? store.nodes() else { return origins.withLock { $0.origins } }
        let list = nodes.map { String(Self.webSocketURL($0.id).dropLast("/ws".count)) }.sorted()
        origins.withLock { $0 = (now, list) }
        return list
    }

    public static func webSocketURL(_ base: String) -> String {
        let trimmed = trimmed(base)
        if trimmed.hasPrefix("https://") { return "wss://" + trimmed.dropFirst("https://".count) + "/ws" }
        if trimmed.hasPrefix("http://") { return "ws://" + trimmed.dropFirst("http://".count) + "/ws" }
        return trimmed + "/ws"
    }

    /// Where a 307 sends a request for `path` (and `query`) to the node `base`: the same path and query there.
    public static func location(on base: String, path: String, query: String?) -> String {
        trimmed(base) + path + (query.map { "?" + $0 } ?? "")
    }

    private static func trimmed(_ base: String) -> String {
        base.hasSuffix("/") ? String(base.dropLast()) : base
    }
}

import Foundation

/// What nodes sharing one database agree on through it: who is alive (a heartbeat per node), which node holds each
/// room (a lease renewed while the room has people), which node runs each single-instance job (the calendar
/// watcher, the reply mailbox), and the secrets every node must hold alike (the token key, the admin key).
///
/// Only a store several processes can share provides it (PostgreSQL); with the embedded SQLite file there is one
/// node and nothing to agree on.
public protocol ClusterStore: Sendable {
    /// Records that `node` is alive now (and where it is).
    func heartbeat(_ node: ClusterNode) throws
    /// Every node that ever registered, with the rooms each holds.
    func nodes() throws -> [ClusterNode]
    /// The node holding `room`: `node` itself when the room was free, its lease had expired, or it was already
    /// ours (then the lease runs until `until`); otherwise the live holder.
    func claimRoom(_ room: String, for node: String, now: Date, until: Date) throws -> String
    /// The node holding `room` now, if any (a lease not yet expired at `now`).
    func roomHolder(_ room: String, now: Date) throws -> String?
    /// Extends the leases of `rooms` held by `node` until `until`, and gives up its other rooms, except those it claimed
    /// after the caller made the list (their leases run past `until`). Returns the rooms of `rooms` that another node
    /// holds now (this node's lease had run out and was taken), with that node.
    func renewRooms(_ rooms: [String], of node: String, until: Date) throws -> [String: String]
    /// Takes or keeps the named lease for `holder` until `until`; false while another holder's lease runs.
    func holdLease(_ name: String, for holder: String, now: Date, until: Date) throws -> Bool
    /// The secret called `name`: the one stored, or `make()` stored now (by whichever node comes first).
    func sharedSecret(_ name: String, make: () -> [UInt8]) throws -> [UInt8]
}

/// One `sabha serve` process of a cluster, as the database knows it.
public struct ClusterNode: Sendable, Equatable, Codable {
    /// Its public URL, which is also where joins are sent when it holds their room.
    public var id: String
    public var startedAt: Date
    public var heartbeatAt: Date
    /// Rooms it holds (leases not yet expired).
    public var rooms: [String]
    /// Viewers it served at its last heartbeat (WHEP viewers, its own rooms' and relayed ones, and meeting viewers'
    /// media), and the most it serves (`--max-viewers`; 0: no limit): where viewers go when a node is full.
    public var viewers: Int
    public var maxViewers: Int
    /// Meeting participants who publish whose media it served at its last heartbeat, and the most it serves
    /// (`--max-publishers`; 0: no limit).
    public var publishers: Int
    public var maxPublishers: Int
    /// People in each meeting it runs, at its last heartbeat (`GET /api/rooms` on any node counts them).
    public var people: [String: Int]

    public init(id: String, startedAt: Date, heartbeatAt: Date, rooms: [String] = [], viewers: Int = 0, maxViewers: Int = 0,
                publishers: Int = 0, maxPublishers: Int = 0, people: [String: Int] = [:]) {
        self.people = people
        self.publishers = publishers
        self.maxPublishers = maxPublishers
        self.id = id
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.rooms = rooms
        self.viewers = viewers
        self.maxViewers = maxViewers
    }

    /// Whether its last heartbeat says it serves as many viewers as it may.
    public var isFull: Bool { maxViewers > 0 && viewers >= maxViewers }

    /// Whether its last heartbeat says it serves as many meeting publishers as it may.
    public var isFullOfPublishers: Bool { maxPublishers > 0 && publishers >= maxPublishers }

    /// A node is taken for dead this long after its last heartbeat: then its rooms and leases may be taken.
    public static let deadAfter: TimeInterval = 6
    /// How often each node writes its heartbeat and renews its leases.
    public static let heartbeatInterval: TimeInterval = 2

    public func isAlive(at now: Date) -> Bool { now.timeIntervalSince(heartbeatAt) < Self.deadAfter }
}

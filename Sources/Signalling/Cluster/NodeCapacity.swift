/// How many viewers this node serves and may serve (`--max-viewers`): WHEP viewers, meeting participants in the viewer
/// role whose media is here, and meeting viewers' media this node serves for other nodes. One count for every limit
/// check, the heartbeat, and where a viewer goes when this node is full.
public struct ViewerCapacity: Sendable {
    /// 0: no limit.
    public let maxViewers: Int
    /// nil when this server runs alone.
    let placement: RoomPlacement?
    let count: @Sendable () async -> Int

    public init(maxViewers: Int, placement: RoomPlacement?, count: @escaping @Sendable () async -> Int) {
        self.maxViewers = maxViewers
        self.placement = placement
        self.count = count
    }

    public func viewers() async -> Int { await count() }

    public func hasRoom() async -> Bool {
        maxViewers == 0 ? true : await count() < maxViewers
    }

    /// The other live nodes whose last heartbeat says they have room, fewest viewers first (each checks its own count
    /// again when asked, so a heartbeat up to 2 s old only orders them).
    func otherNodesWithRoom() -> [String] {
        guard let placement else { return [] }
        return placement.liveNodes().filter { $0.id != placement.node && !$0.isFull }
            .sorted { ($0.viewers, $0.id) < ($1.viewers, $1.id) }.map(\.id)
    }
}

/// How much media this node serves and may serve: viewers (`--max-viewers`: WHEP viewers, meeting participants in the
/// viewer role whose media is here, and meeting viewers' media served for other nodes) and meeting publishers
/// (`--max-publishers`: participants who publish whose media is here, for this node's meetings or others'). One count
/// for every limit check, the heartbeat, and where a participant's media goes when this node is full.
public struct NodeCapacity: Sendable {
    public enum Kind: String, Sendable {
        case viewer
        case publisher
    }

    /// 0: no limit.
    public let maxViewers: Int
    public let maxPublishers: Int
    /// nil when this server runs alone.
    let placement: RoomPlacement?
    let viewerCount: @Sendable () async -> Int
    let publisherCount: @Sendable () async -> Int

    public init(maxViewers: Int, maxPublishers: Int = 0, placement: RoomPlacement?, viewers: @escaping @Sendable () async -> Int,
                publishers: @escaping @Sendable () async -> Int = { 0 }) {
        self.maxViewers = maxViewers
        self.maxPublishers = maxPublishers
        self.placement = placement
        self.viewerCount = viewers
        self.publisherCount = publishers
    }

    public func viewers() async -> Int { await viewerCount() }
    public func publishers() async -> Int { await publisherCount() }

    public func limit(_ kind: Kind) -> Int { kind == .viewer ? maxViewers : maxPublishers }

    public func hasRoom(for kind: Kind) async -> Bool {
        let limit = limit(kind)
        guard limit > 0 else { return true }
        return await (kind == .viewer ? viewerCount() : publisherCount()) < limit
    }

    /// The other live nodes whose last heartbeat says they have room, least loaded first (each checks its own count
    /// again when asked, so a heartbeat up to 2 s old only orders them).
    func otherNodesWithRoom(for kind: Kind) -> [String] {
        guard let placement else { return [] }
        return placement.liveNodes().filter { $0.id != placement.node && !(kind == .viewer ? $0.isFull : $0.isFullOfPublishers) }
            .sorted { (kind == .viewer ? $0.viewers : $0.publishers, $0.id) < (kind == .viewer ? $1.viewers : $1.publishers, $1.id) }
            .map(\.id)
    }
}

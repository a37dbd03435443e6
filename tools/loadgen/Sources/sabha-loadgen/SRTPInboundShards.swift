import MediaCore

/// Inbound SRTP for a peer that receives many streams (a meeting participant gets audio, video and RTX from
/// everyone else, and new SSRCs whenever someone rejoins). The streams are spread over several contexts with the
/// same keys, at most `ssrcsPerContext` each, and a context whose SSRCs have all been retired is dropped: the
/// generator's own count never depends on how `SRTPContext` sizes or evicts its stream table (it held 32 SSRCs
/// and never freed one before issue 13; the instrument had to measure that bug, not suffer from it).
///
/// Used by one peer thread only.
final class SRTPInboundShards {
    /// SSRCs given to one context (within what any `SRTPContext` holds without evicting).
    static let ssrcsPerContext = 32
    /// More SSRCs than any sane run needs (a 50-participant meeting with 1000 rejoins sees about 6000).
    static let maxSSRCs = 65_536

    private let make: () -> SRTPContext?
    private var contexts: [SRTPContext?] = []
    /// SSRCs assigned to each context, and how many of those are still live.
    private var assigned: [Int] = []
    private var live: [Int] = []
    private var shardOf: [UInt32: Int] = [:]
    private(set) var refused: UInt64 = 0

    init(make: @escaping () -> SRTPContext?) {
        self.make = make
    }

    /// The context for `ssrc` (assigned on first sight), or nil when none can be made.
    func context(for ssrc: UInt32) -> SRTPContext? {
        if let shard = shardOf[ssrc] { return contexts[shard] }
        guard shardOf.count < Self.maxSSRCs else { refused &+= 1; return nil }
        var shard = assigned.lastIndex { $0 < Self.ssrcsPerContext } ?? -1
        if shard < 0 || contexts[shard] == nil {
            guard let context = make() else { refused &+= 1; return nil }
            contexts.append(context)
            assigned.append(0)
            live.append(0)
            shard = contexts.count - 1
        }
        assigned[shard] += 1
        live[shard] += 1
        shardOf[ssrc] = shard
        return contexts[shard]
    }

    /// The stream ended (its consumer is gone from the answer): a full context with no live SSRC is dropped.
    func retire(_ ssrc: UInt32) {
        guard let shard = shardOf[ssrc] else { return }
        live[shard] -= 1
        if live[shard] == 0 && assigned[shard] >= Self.ssrcsPerContext { contexts[shard] = nil }
    }

    var contextCount: Int { contexts.count { $0 != nil } }
}

/// Per-SSRC state of one SRTP direction (`SRTPContext`): the RTP index and replay window, the SRTCP index and
/// window, in an open-addressing table that follows the streams the transport carries.
///
/// - **Registered streams** (`register`) are the ones the worker knows: a producer's media and RTX SSRCs, a
///   consumer's, our own RTCP SSRC. They are never evicted, and `remove` frees them when their producer or
///   consumer closes (mediasoup's `RecvStreamClosed`/`SendStreamClosed`). A meeting participant's transport
///   carries three streams for every other participant, so a fixed table filled up at about ten people and
///   join/leave churn filled it sooner (issue 13).
/// - **Unregistered streams** get a slot on first use: the peer's RTCP sender SSRCs (one per receiving
///   transceiver with aiortc, which we are not told), streams bound on first sight. When the table is full,
///   the least recently used unregistered slot makes room, and only for a packet that authenticated
///   (`claim`): forged packets never evict anything. Evicting an RTCP-only SSRC is harmless (SRTCP carries its
///   index); a registered RTP stream's ROC is never lost.
/// - **Size**: `reserve` grows the table (off the packet path, when producers and consumers are added) so at
///   most half its slots are used; never beyond `maxStreams`, the clear limit past which a new stream gets
///   `.streamTableFull` (counted as `srtpStreamLimit`).
///
/// Lookups use linear probing; removal shifts the following entries back (no tombstones), so a lookup stops at
/// the first empty slot. One extra slot past the table, `scratch`, holds the state of an unknown SSRC while its
/// first packet is checked. Nothing here allocates except `reserve`.
final class SRTPStreamTable {
    /// Most streams one direction of one transport may hold: a 50-person meeting needs about 150 outbound.
    static let maxStreams = 2048
    static let minimumCapacity = 32

    /// Slots in the table (a power of two); `scratch` is one more.
    private(set) var capacity: Int
    /// Slots in use.
    private(set) var count = 0
    /// Streams evicted to make room for new unregistered ones.
    private(set) var evictions = 0
    /// Index of the slot outside the table used while an unknown SSRC's first packet is checked.
    var scratch: Int { capacity }

    private var shift: UInt32
    private var ssrcs: UnsafeMutablePointer<UInt32>
    private var used: UnsafeMutablePointer<Bool>
    private var registered: UnsafeMutablePointer<Bool>
    /// Recency stamp of each slot, for eviction.
    private var lastUsed: UnsafeMutablePointer<UInt64>
    private var clock: UInt64 = 0

    /// Highest RTP index (ROC << 16 | SEQ) per slot.
    private(set) var rtpHighest: UnsafeMutablePointer<UInt64>
    /// `SRTPReplayWindow.words` words per slot.
    private var rtpMasks: UnsafeMutablePointer<UInt64>
    /// SRTCP window start (inbound) or last index sent (outbound) per slot.
    private(set) var rtcpStart: UnsafeMutablePointer<UInt32>
    /// Two words per slot.
    private var rtcpMasks: UnsafeMutablePointer<UInt64>

    init(capacity requested: Int = minimumCapacity) {
        let capacity = Self.tableSize(for: requested)
        self.capacity = capacity
        shift = Self.shift(for: capacity)
        (ssrcs, used, registered, lastUsed, rtpHighest, rtpMasks, rtcpStart, rtcpMasks) = Self.allocate(capacity)
    }

    deinit {
        Self.deallocate(ssrcs, used, registered, lastUsed, rtpHighest, rtpMasks, rtcpStart, rtcpMasks)
    }

    private static func tableSize(for slots: Int) -> Int {
        var size = minimumCapacity
        while size < slots && size < 2 * maxStreams { size <<= 1 }
        return size
    }

    private static func shift(for capacity: Int) -> UInt32 {
        UInt32(32 - capacity.trailingZeroBitCount)
    }

    private static func allocate(_ capacity: Int) -> (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<Bool>, UnsafeMutablePointer<Bool>,
                                                     UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>,
                                                     UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<UInt64>) {
        let slots = capacity + 1
        let ssrcs = UnsafeMutablePointer<UInt32>.allocate(capacity: slots)
        ssrcs.initialize(repeating: 0, count: slots)
        let used = UnsafeMutablePointer<Bool>.allocate(capacity: slots)
        used.initialize(repeating: false, count: slots)
        let registered = UnsafeMutablePointer<Bool>.allocate(capacity: slots)
        registered.initialize(repeating: false, count: slots)
        let lastUsed = UnsafeMutablePointer<UInt64>.allocate(capacity: slots)
        lastUsed.initialize(repeating: 0, count: slots)
        let rtpHighest = UnsafeMutablePointer<UInt64>.allocate(capacity: slots)
        rtpHighest.initialize(repeating: 0, count: slots)
        let rtpMasks = UnsafeMutablePointer<UInt64>.allocate(capacity: slots * SRTPReplayWindow.words)
        rtpMasks.initialize(repeating: 0, count: slots * SRTPReplayWindow.words)
        let rtcpStart = UnsafeMutablePointer<UInt32>.allocate(capacity: slots)
        rtcpStart.initialize(repeating: 0, count: slots)
        let rtcpMasks = UnsafeMutablePointer<UInt64>.allocate(capacity: slots * 2)
        rtcpMasks.initialize(repeating: 0, count: slots * 2)
        return (ssrcs, used, registered, lastUsed, rtpHighest, rtpMasks, rtcpStart, rtcpMasks)
    }

    private static func deallocate(_ ssrcs: UnsafeMutablePointer<UInt32>, _ used: UnsafeMutablePointer<Bool>,
                                   _ registered: UnsafeMutablePointer<Bool>, _ lastUsed: UnsafeMutablePointer<UInt64>,
                                   _ rtpHighest: UnsafeMutablePointer<UInt64>, _ rtpMasks: UnsafeMutablePointer<UInt64>,
                                   _ rtcpStart: UnsafeMutablePointer<UInt32>, _ rtcpMasks: UnsafeMutablePointer<UInt64>) {
        ssrcs.deallocate()
        used.deallocate()
        registered.deallocate()
        lastUsed.deallocate()
        rtpHighest.deallocate()
        rtpMasks.deallocate()
        rtcpStart.deallocate()
        rtcpMasks.deallocate()
    }

    // MARK: - Per-slot state (the packet path)

    @inline(__always)
    func rtpMask(_ slot: Int) -> UnsafeMutablePointer<UInt64> { rtpMasks + slot * SRTPReplayWindow.words }

    @inline(__always)
    func rtcpMask(_ slot: Int) -> UnsafeMutablePointer<UInt64> { rtcpMasks + slot * 2 }

    @inline(__always)
    func touch(_ slot: Int) {
        clock &+= 1
        lastUsed[slot] = clock
    }

    @inline(__always)
    private func home(_ ssrc: UInt32) -> Int {
        Int((ssrc &* 0x9E37_79B1) >> shift)
    }

    /// The slot of `ssrc`, if it has one.
    @inline(__always)
    func find(_ ssrc: UInt32) -> Int? {
        let mask = capacity - 1
        var i = home(ssrc)
        for _ in 0..<capacity {
            if !used[i] { return nil }
            if ssrcs[i] == ssrc { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Where `ssrc`'s first packet is checked: the empty slot it would take, zeroed but not claimed, or the
    /// zeroed scratch slot when the table is full.
    func vacancy(for ssrc: UInt32) -> Int {
        let mask = capacity - 1
        var i = home(ssrc)
        for _ in 0..<capacity {
            if !used[i] {
                reset(i)
                return i
            }
            i = (i + 1) & mask
        }
        reset(scratch)
        return scratch
    }

    /// Makes `slot` (from `vacancy`) `ssrc`'s, after its packet authenticated; from the scratch slot, evicting
    /// the least recently used unregistered stream. Returns the slot that now holds the state, or nil when every
    /// slot belongs to a registered stream.
    @inline(__always)
    func claim(_ slot: Int, _ ssrc: UInt32) -> Int? {
        if slot < capacity {
            if used[slot] { return slot }
            if count < Self.maxStreams {
                take(slot, ssrc)
                return slot
            }
            move(from: slot, to: scratch)
        }
        // Full, or at the limit: room comes from the least recently used unregistered stream.
        guard evictLeastRecentlyUsed(), let free = emptySlot(for: ssrc) else { return nil }
        move(from: scratch, to: free)
        take(free, ssrc)
        return free
    }

    /// A new zeroed slot for `ssrc`, claimed now (the sending side: what we protect is ours to send);
    /// nil when the table is full of registered streams.
    func insert(_ ssrc: UInt32) -> Int? {
        if count >= Self.maxStreams || count >= capacity {
            guard evictLeastRecentlyUsed() else { return nil }
        }
        guard let slot = emptySlot(for: ssrc) else { return nil }
        reset(slot)
        take(slot, ssrc)
        return slot
    }

    @inline(__always)
    private func take(_ slot: Int, _ ssrc: UInt32) {
        ssrcs[slot] = ssrc
        used[slot] = true
        registered[slot] = false
        count += 1
    }

    // MARK: - Following the streams (off the packet path)

    /// Marks `ssrc` as a stream the transport carries (claiming a slot if it has none, growing the table when
    /// needed): it is never evicted. False when `maxStreams` streams are already held.
    @discardableResult
    func register(_ ssrc: UInt32) -> Bool {
        if let slot = find(ssrc) {
            registered[slot] = true
            return true
        }
        if count < Self.maxStreams { reserve(count + 1) }
        // At the limit, room may still come from an unregistered stream.
        guard let slot = insert(ssrc) else { return false }
        registered[slot] = true
        return true
    }

    /// Frees `ssrc`'s slot (its producer or consumer closed).
    func remove(_ ssrc: UInt32) {
        guard let slot = find(ssrc) else { return }
        let mask = capacity - 1
        used[slot] = false
        registered[slot] = false
        count -= 1
        // Backward-shift deletion: move later entries of the probe run into the hole when their home allows.
        var hole = slot
        var i = (slot + 1) & mask
        while used[i] {
            let h = home(ssrcs[i])
            let reachable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i)
            if reachable {
                move(from: i, to: hole)
                ssrcs[hole] = ssrcs[i]
                used[hole] = true
                registered[hole] = registered[i]
                lastUsed[hole] = lastUsed[i]
                used[i] = false
                registered[i] = false
                hole = i
            }
            i = (i + 1) & mask
        }
    }

    /// Whether `ssrc` is registered (tests, counters).
    func isRegistered(_ ssrc: UInt32) -> Bool { find(ssrc).map { registered[$0] } ?? false }

    /// Grows the table so that `streams` fit with at most half the slots used (up to `maxStreams`). Existing
    /// streams keep their state.
    func reserve(_ streams: Int) {
        let wanted = Self.tableSize(for: 2 * min(max(streams, count), Self.maxStreams))
        guard wanted > capacity else { return }
        let old = (capacity: capacity, ssrcs: ssrcs, used: used, registered: registered, lastUsed: lastUsed,
                   rtpHighest: rtpHighest, rtpMasks: rtpMasks, rtcpStart: rtcpStart, rtcpMasks: rtcpMasks)
        capacity = wanted
        shift = Self.shift(for: wanted)
        (ssrcs, used, registered, lastUsed, rtpHighest, rtpMasks, rtcpStart, rtcpMasks) = Self.allocate(wanted)
        for slot in 0..<old.capacity where old.used[slot] {
            let ssrc = old.ssrcs[slot]
            guard let free = emptySlot(for: ssrc) else { continue }  // cannot happen: the new table is larger
            ssrcs[free] = ssrc
            used[free] = true
            registered[free] = old.registered[slot]
            lastUsed[free] = old.lastUsed[slot]
            rtpHighest[free] = old.rtpHighest[slot]
            rtpMask(free).update(from: old.rtpMasks + slot * SRTPReplayWindow.words, count: SRTPReplayWindow.words)
            rtcpStart[free] = old.rtcpStart[slot]
            rtcpMask(free).update(from: old.rtcpMasks + slot * 2, count: 2)
        }
        Self.deallocate(old.ssrcs, old.used, old.registered, old.lastUsed, old.rtpHighest, old.rtpMasks, old.rtcpStart, old.rtcpMasks)
    }

    // MARK: - Helpers

    private func emptySlot(for ssrc: UInt32) -> Int? {
        let mask = capacity - 1
        var i = home(ssrc)
        for _ in 0..<capacity {
            if !used[i] { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Frees the unregistered slot used longest ago; false when every slot is registered.
    private func evictLeastRecentlyUsed() -> Bool {
        var victim = -1
        var oldest = UInt64.max
        for slot in 0..<capacity where used[slot] && !registered[slot] && lastUsed[slot] < oldest {
            victim = slot
            oldest = lastUsed[slot]
        }
        guard victim >= 0 else { return false }
        evictions += 1
        remove(ssrcs[victim])
        return true
    }

    /// Copies the replay state of one slot to another.
    private func move(from source: Int, to destination: Int) {
        rtpHighest[destination] = rtpHighest[source]
        rtpMask(destination).update(from: rtpMask(source), count: SRTPReplayWindow.words)
        rtcpStart[destination] = rtcpStart[source]
        rtcpMask(destination).update(from: rtcpMask(source), count: 2)
    }

    private func reset(_ slot: Int) {
        rtpHighest[slot] = 0
        rtcpStart[slot] = 0
        rtpMask(slot).update(repeating: 0, count: SRTPReplayWindow.words)
        rtcpMask(slot).update(repeating: 0, count: 2)
    }
}

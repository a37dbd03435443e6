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

    /// What a packet of one stream reads and writes besides its replay masks, together (32 bytes, two to a cache
    /// line): a lookup, the index estimate and the recency stamp touch one line, where separate arrays touched
    /// five (perf at 500 viewers: those misses were most of `protectRTP`'s own time).
    struct Slot {
        var ssrc: UInt32 = 0
        var used = false
        var registered = false
        /// SRTCP window start (inbound) or last index sent (outbound).
        var rtcpStart: UInt32 = 0
        /// Highest RTP index (ROC << 16 | SEQ).
        var highest: UInt64 = 0
        /// Recency stamp, for eviction.
        var lastUsed: UInt64 = 0
    }

    // The fields the packet path reads first, first.
    /// Slots in the table (a power of two); `scratch` is one more.
    private(set) var capacity: Int
    private var shift: UInt32
    /// `capacity + 1` slots.
    private(set) var slots: UnsafeMutablePointer<Slot>
    private var clock: UInt64 = 0
    /// `SRTPReplayWindow.words` words per slot.
    private var rtpMasks: UnsafeMutablePointer<UInt64>
    /// Two words per slot.
    private var rtcpMasks: UnsafeMutablePointer<UInt64>
    /// Slots in use.
    private(set) var count = 0
    /// Streams evicted to make room for new unregistered ones.
    private(set) var evictions = 0
    /// Index of the slot outside the table used while an unknown SSRC's first packet is checked.
    var scratch: Int { capacity }

    init(capacity requested: Int = minimumCapacity) {
        let capacity = Self.tableSize(for: requested)
        self.capacity = capacity
        shift = Self.shift(for: capacity)
        (slots, rtpMasks, rtcpMasks) = Self.allocate(capacity)
    }

    deinit {
        slots.deallocate()
        rtpMasks.deallocate()
        rtcpMasks.deallocate()
    }

    private static func tableSize(for slots: Int) -> Int {
        var size = minimumCapacity
        while size < slots && size < 2 * maxStreams { size <<= 1 }
        return size
    }

    private static func shift(for capacity: Int) -> UInt32 {
        UInt32(32 - capacity.trailingZeroBitCount)
    }

    private static func allocate(_ capacity: Int) -> (UnsafeMutablePointer<Slot>, UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>) {
        let count = capacity + 1
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: count)
        slots.initialize(repeating: Slot(), count: count)
        let rtpMasks = UnsafeMutablePointer<UInt64>.allocate(capacity: count * SRTPReplayWindow.words)
        rtpMasks.initialize(repeating: 0, count: count * SRTPReplayWindow.words)
        let rtcpMasks = UnsafeMutablePointer<UInt64>.allocate(capacity: count * 2)
        rtcpMasks.initialize(repeating: 0, count: count * 2)
        return (slots, rtpMasks, rtcpMasks)
    }

    // MARK: - Per-slot state (the packet path)

    @inline(__always)
    func rtpMask(_ slot: Int) -> UnsafeMutablePointer<UInt64> { rtpMasks + slot * SRTPReplayWindow.words }

    @inline(__always)
    func rtcpMask(_ slot: Int) -> UnsafeMutablePointer<UInt64> { rtcpMasks + slot * 2 }

    @inline(__always)
    func touch(_ slot: Int) {
        clock &+= 1
        slots[slot].lastUsed = clock
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
            let slot = slots[i]
            if !slot.used { return nil }
            if slot.ssrc == ssrc { return i }
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
            if !slots[i].used {
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
            if slots[slot].used { return slot }
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
        slots[slot].ssrc = ssrc
        slots[slot].used = true
        slots[slot].registered = false
        count += 1
    }

    // MARK: - Following the streams (off the packet path)

    /// Marks `ssrc` as a stream the transport carries (claiming a slot if it has none, growing the table when
    /// needed): it is never evicted. False when `maxStreams` streams are already held.
    @discardableResult
    func register(_ ssrc: UInt32) -> Bool {
        if let slot = find(ssrc) {
            slots[slot].registered = true
            return true
        }
        if count < Self.maxStreams { reserve(count + 1) }
        // At the limit, room may still come from an unregistered stream.
        guard let slot = insert(ssrc) else { return false }
        slots[slot].registered = true
        return true
    }

    /// Frees `ssrc`'s slot (its producer or consumer closed).
    func remove(_ ssrc: UInt32) {
        guard let slot = find(ssrc) else { return }
        let mask = capacity - 1
        slots[slot].used = false
        slots[slot].registered = false
        count -= 1
        // Backward-shift deletion: move later entries of the probe run into the hole when their home allows.
        var hole = slot
        var i = (slot + 1) & mask
        while slots[i].used {
            let h = home(slots[i].ssrc)
            let reachable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i)
            if reachable {
                slots[hole] = slots[i]
                move(from: i, to: hole)
                slots[i].used = false
                slots[i].registered = false
                hole = i
            }
            i = (i + 1) & mask
        }
    }

    /// Whether `ssrc` is registered (tests, counters).
    func isRegistered(_ ssrc: UInt32) -> Bool { find(ssrc).map { slots[$0].registered } ?? false }

    /// Grows the table so that `streams` fit with at most half the slots used (up to `maxStreams`). Existing
    /// streams keep their state.
    func reserve(_ streams: Int) {
        let wanted = Self.tableSize(for: 2 * min(max(streams, count), Self.maxStreams))
        guard wanted > capacity else { return }
        let old = (capacity: capacity, slots: slots, rtpMasks: rtpMasks, rtcpMasks: rtcpMasks)
        capacity = wanted
        shift = Self.shift(for: wanted)
        (slots, rtpMasks, rtcpMasks) = Self.allocate(wanted)
        for slot in 0..<old.capacity where old.slots[slot].used {
            guard let free = emptySlot(for: old.slots[slot].ssrc) else { continue }  // cannot happen: the new table is larger
            slots[free] = old.slots[slot]
            rtpMask(free).update(from: old.rtpMasks + slot * SRTPReplayWindow.words, count: SRTPReplayWindow.words)
            rtcpMask(free).update(from: old.rtcpMasks + slot * 2, count: 2)
        }
        old.slots.deallocate()
        old.rtpMasks.deallocate()
        old.rtcpMasks.deallocate()
    }

    // MARK: - Helpers

    private func emptySlot(for ssrc: UInt32) -> Int? {
        let mask = capacity - 1
        var i = home(ssrc)
        for _ in 0..<capacity {
            if !slots[i].used { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Frees the unregistered slot used longest ago; false when every slot is registered.
    private func evictLeastRecentlyUsed() -> Bool {
        var victim = -1
        var oldest = UInt64.max
        for slot in 0..<capacity where slots[slot].used && !slots[slot].registered && slots[slot].lastUsed < oldest {
            victim = slot
            oldest = slots[slot].lastUsed
        }
        guard victim >= 0 else { return false }
        evictions += 1
        remove(slots[victim].ssrc)
        return true
    }

    /// Copies the replay state of one slot to another.
    private func move(from source: Int, to destination: Int) {
        slots[destination].highest = slots[source].highest
        rtpMask(destination).update(from: rtpMask(source), count: SRTPReplayWindow.words)
        slots[destination].rtcpStart = slots[source].rtcpStart
        rtcpMask(destination).update(from: rtcpMask(source), count: 2)
    }

    private func reset(_ slot: Int) {
        slots[slot].highest = 0
        slots[slot].rtcpStart = 0
        rtpMask(slot).update(repeating: 0, count: SRTPReplayWindow.words)
        rtcpMask(slot).update(repeating: 0, count: 2)
    }
}

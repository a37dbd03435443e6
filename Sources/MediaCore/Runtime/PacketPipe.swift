import Atomics

/// Decrypted RTP from the worker that receives a producer to one other worker with viewers of it: a bounded
/// single-producer single-consumer ring of fixed slots, allocated once (mediasoup's PipeTransport, in-process).
/// The sending worker copies each packet in once per remote worker; the receiving worker forwards it to its
/// own consumers as if it had arrived on its socket. Full means the receiver is behind: the packet is dropped
/// and counted, never waited for.
final class PacketPipe: @unchecked Sendable {
    // @unchecked: `head` is written only by the sending worker and `tail` only by the receiving one; a slot's
    // bytes are handed over by the release store of `head` (and back by the release store of `tail`).

    /// What travels with each packet besides its bytes.
    struct SlotHeader {
        var producer: ProducerID
        var layer: Int32
        var length: Int32
    }

    static let slotPayload = 1504
    static let slotStride = 1536
    let capacity: Int
    private let mask: Int
    private let storage: UnsafeMutableRawPointer
    private let head = ManagedAtomic<Int>(0)
    private let tail = ManagedAtomic<Int>(0)
    /// The sender's view of `tail`, refreshed only when the ring looks full (fewer shared cache-line reads).
    private var cachedTail = 0
    /// Packets pushed but not yet published with `publish()` (the sender publishes once per receive batch).
    private var unpublishedHead = 0

    /// `capacity` is rounded up to a power of two.
    init(capacity requested: Int) {
        var size = 2
        while size < requested { size <<= 1 }
        capacity = size
        mask = size - 1
        storage = .allocate(byteCount: size * Self.slotStride, alignment: 64)
    }

    deinit { storage.deallocate() }

    // MARK: Sending worker

    /// Copies one packet into the next slot; false when the ring is full or the packet too large.
    @inline(__always)
    func push(producer: ProducerID, layer: Int, bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= Self.slotPayload, let base = bytes.baseAddress else { return false }
        if unpublishedHead - cachedTail >= capacity {
            cachedTail = tail.load(ordering: .acquiring)
            if unpublishedHead - cachedTail >= capacity { return false }
        }
        let slot = storage + (unpublishedHead & mask) * Self.slotStride
        slot.storeBytes(of: SlotHeader(producer: producer, layer: Int32(layer), length: Int32(bytes.count)), as: SlotHeader.self)
        (slot + MemoryLayout<SlotHeader>.stride).copyMemory(from: base, byteCount: bytes.count)
        unpublishedHead &+= 1
        return true
    }

    /// Makes the pushed packets visible to the receiver; true if there were any (ring its doorbell then).
    @inline(__always)
    func publish() -> Bool {
        guard unpublishedHead != head.load(ordering: .relaxed) else { return false }
        head.store(unpublishedHead, ordering: .releasing)
        return true
    }

    // MARK: Receiving worker

    /// Calls `body` for each waiting packet (at most `limit`), then frees their slots; returns how many.
    @inline(__always)
    func drain(limit: Int, _ body: (SlotHeader, UnsafeMutableRawPointer) -> Void) -> Int {
        let start = tail.load(ordering: .relaxed)
        let end = min(head.load(ordering: .acquiring), start + limit)
        guard end > start else { return 0 }
        for position in start..<end {
            let slot = storage + (position & mask) * Self.slotStride
            body(slot.load(as: SlotHeader.self), slot + MemoryLayout<SlotHeader>.stride)
        }
        tail.store(end, ordering: .releasing)
        return end - start
    }

    /// Packets published and not yet drained (any thread; a snapshot).
    var backlog: Int { head.load(ordering: .relaxed) - tail.load(ordering: .relaxed) }
}

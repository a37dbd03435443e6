/// What Sabha sent on one viewer transport, by transport-wide sequence number: the send-side
/// estimator needs each packet's send time and size when the viewer's feedback reports its
/// arrival. A fixed ring allocated at init, so recording a packet on the send path never
/// allocates; entries older than the ring are simply forgotten (their feedback is ignored).
final class TransportWideSendHistory {
    struct Entry {
        var sequence: Int64
        var sentMicroseconds: Int64
        var size: Int
        var isProbe: Bool
    }

    private let mask: Int
    /// The ring, `mask + 1` entries, and whether feedback already reported each slot's packet as received
    /// (duplicates are skipped). Raw storage rather than arrays: written on every packet sent, by the worker
    /// thread only, and an array in a class costs a uniqueness check and a retain on every write.
    private let entries: UnsafeMutablePointer<Entry>
    private let acknowledged: UnsafeMutablePointer<Bool>
    /// The next unwrapped sequence number `nextSequence()` hands out.
    @exclusivity(unchecked) private var next: Int64

    /// `capacity` is rounded up to a power of two: 8192 packets is over 3 s at 20 Mbit/s.
    init(capacity: Int = 8192, firstSequence: UInt16 = 0) {
        var size = 1
        while size < max(capacity, 16) { size <<= 1 }
        mask = size - 1
        entries = .allocate(capacity: size)
        entries.initialize(repeating: Entry(sequence: -1, sentMicroseconds: 0, size: 0, isProbe: false), count: size)
        acknowledged = .allocate(capacity: size)
        acknowledged.initialize(repeating: false, count: size)
        next = Int64(firstSequence)
    }

    deinit {
        entries.deallocate()
        acknowledged.deallocate()
    }

    /// Allocates the transport-wide sequence number for the next packet on this transport.
    func nextSequence() -> UInt16 {
        defer { next += 1 }
        return UInt16(truncatingIfNeeded: next)
    }

    /// The unwrapped form of a recent sequence number: the one nearest the last allocated.
    func unwrap(_ sequence: UInt16) -> Int64 {
        SequenceUnwrapper.extend(sequence, near: next - 1)
    }

    /// Records a packet as it leaves; `isProbe` marks padding sent to probe for bandwidth.
    func record(sequence: UInt16, sentMicroseconds: Int64, size: Int, isProbe: Bool) {
        let extended = unwrap(sequence)
        let slot = Int(extended & Int64(mask))
        entries[slot] = Entry(sequence: extended, sentMicroseconds: sentMicroseconds, size: size, isProbe: isProbe)
        acknowledged[slot] = false
    }

    /// The packet sent with this unwrapped sequence number, if it is still in the ring.
    func entry(_ extended: Int64) -> Entry? {
        let slot = Int(extended & Int64(mask))
        let entry = entries[slot]
        return entry.sequence == extended && extended >= 0 ? entry : nil
    }

    /// Marks the packet as reported received; false if it was already (a duplicate report) or
    /// is not in the ring.
    func markAcknowledged(_ extended: Int64) -> Bool {
        let slot = Int(extended & Int64(mask))
        guard entries[slot].sequence == extended, !acknowledged[slot] else { return false }
        acknowledged[slot] = true
        return true
    }
}

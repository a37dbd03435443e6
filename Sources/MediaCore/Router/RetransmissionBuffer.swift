/// The most recent plaintext RTP packets of one incoming stream (one simulcast layer), kept so a
/// viewer's NACK (RFC 4585 section 6.2.1) can be answered from the SFU instead of travelling
/// back to the publisher — the role of mediasoup's `RtpRetransmissionBuffer`.
///
/// Storage is one slab of `capacity` × `maxPacketSize` bytes allocated at init; a packet lives in
/// slot `sequence & (capacity - 1)`. Because `capacity` is a power of two it divides 65 536, so
/// the slot of a sequence number stays the same across the 16-bit wrap. Each slot also records
/// the sequence number and arrival time of what it holds: a lookup must never answer with a
/// different packet that happens to share the slot (one `capacity` or 65 536 numbers earlier),
/// and a packet older than `maxAgeMs` is not worth resending — the viewer's jitter buffer has
/// given up on it and a stale frame would only waste bandwidth.
///
/// Owned by one worker thread: no locks, no allocation after init.
final class RetransmissionBuffer {
    let capacity: Int
    let maxPacketSize: Int
    let maxAgeMs: Int64

    private let mask: Int
    private let slab: UnsafeMutableRawPointer
    /// Bytes held by each slot; 0 means empty.
    private let lengths: UnsafeMutablePointer<Int32>
    private let sequences: UnsafeMutablePointer<UInt16>
    private let storedAtMs: UnsafeMutablePointer<Int64>

    /// The newest sequence number stored since init or `reset()`, if any.
    @exclusivity(unchecked) private(set) var newestSequence: UInt16 = 0
    @exclusivity(unchecked) private var hasNewest = false

    /// Packets copied in.
    @exclusivity(unchecked) private(set) var storedCount = 0
    /// Packets not stored because they exceed `maxPacketSize`.
    @exclusivity(unchecked) private(set) var oversizedCount = 0
    /// Packets not stored because they are older than everything the buffer can hold: storing
    /// them would evict a newer packet from their slot.
    @exclusivity(unchecked) private(set) var tooOldCount = 0

    /// - Parameters:
    ///   - capacity: number of packets kept; a power of two between 1 and 32 768 (half the
    ///     sequence space, so "newer" and "older" stay unambiguous).
    ///   - maxPacketSize: largest packet kept; bigger ones are skipped and counted.
    ///   - maxAgeMs: packets older than this are not returned.
    init(capacity: Int = 512, maxPacketSize: Int = 1500, maxAgeMs: Int64 = 1000) {
        precondition(capacity > 0 && capacity <= 32_768 && capacity & (capacity - 1) == 0,
                     "capacity must be a power of two up to 32768")
        precondition(maxPacketSize > 0 && maxPacketSize <= Int(Int32.max) / capacity)
        self.capacity = capacity
        self.maxPacketSize = maxPacketSize
        self.maxAgeMs = maxAgeMs
        mask = capacity - 1
        slab = UnsafeMutableRawPointer.allocate(byteCount: capacity * maxPacketSize, alignment: 64)
        lengths = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        sequences = UnsafeMutablePointer<UInt16>.allocate(capacity: capacity)
        sequences.initialize(repeating: 0, count: capacity)
        storedAtMs = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
        storedAtMs.initialize(repeating: 0, count: capacity)
    }

    deinit {
        slab.deallocate()
        lengths.deallocate()
        sequences.deallocate()
        storedAtMs.deallocate()
    }

    /// Copies `packet` (a whole plaintext RTP packet) into the slot of `sequence`.
    /// Skips packets larger than `maxPacketSize`, empty ones, and ones at least `capacity`
    /// numbers older than the newest stored (they would overwrite a newer packet).
    func store(_ packet: UnsafeRawBufferPointer, sequence: UInt16, nowMs: Int64) {
        guard packet.count <= maxPacketSize else {
            oversizedCount += 1
            return
        }
        guard let source = packet.baseAddress, packet.count > 0 else { return }
        if hasNewest {
            let ahead = Int16(bitPattern: sequence &- newestSequence)
            if ahead > 0 {
                newestSequence = sequence
            } else if Int(ahead) <= -capacity {
                tooOldCount += 1
                return
            }
        } else {
            newestSequence = sequence
            hasNewest = true
        }
        let slot = Int(sequence) & mask
        (slab + slot * maxPacketSize).copyMemory(from: source, byteCount: packet.count)
        lengths[slot] = Int32(packet.count)
        sequences[slot] = sequence
        storedAtMs[slot] = nowMs
        storedCount += 1
    }

    /// The stored bytes of `sequence`, or nil when that exact packet is not held (never stored,
    /// overwritten, or older than `maxAgeMs`). The bytes stay valid until the next `store` or
    /// `reset`: copy them out (into the viewer's send buffer) before storing again.
    func packet(sequence: UInt16, nowMs: Int64) -> UnsafeRawBufferPointer? {
        let slot = Int(sequence) & mask
        let length = Int(lengths[slot])
        guard length > 0, sequences[slot] == sequence, nowMs - storedAtMs[slot] <= maxAgeMs else { return nil }
        return UnsafeRawBufferPointer(start: slab + slot * maxPacketSize, count: length)
    }

    /// Forgets every packet (after an SSRC change or a publisher restart). Counters are kept.
    func reset() {
        lengths.update(repeating: 0, count: capacity)
        hasNewest = false
        newestSequence = 0
    }
}

/// Puts one stream's RTP packets back in sequence order for a recording. A packet that is missing is waited for
/// (a NACK may bring it back) until `maximumWait` has passed or `capacity` packets are held behind it; then it is
/// given up as lost, and the loss is reported so that the frame it belonged to is not written half.
public struct RTPReorderBuffer {
    public enum Output: Equatable {
        /// A packet, with when it arrived (its place in time, whatever it waited here).
        case packet([UInt8], arrival: Int64)
        /// Packets given up as lost before the next one.
        case lost(count: Int)
    }

    public let maximumWait: Int64
    public let capacity: Int
    /// Held packets by extended sequence number, with the time they arrived.
    private var held: [Int64: (packet: [UInt8], arrival: Int64)] = [:]
    private var next: Int64?
    private var highest: Int64 = 0
    private var cycles: Int64 = 0
    private var lastSequence: UInt16 = 0
    /// Until the first packet goes out, every packet waits `maximumWait`: the stream's first packets may arrive out of
    /// order too, and the earliest decides where it starts.
    private var started = false

    public init(maximumWait: Int64 = 300, capacity: Int = 512) {
        self.maximumWait = maximumWait
        self.capacity = capacity
    }

    /// Adds a packet that arrived at `now` (ms); a duplicate, or one older than what was already given out, is dropped.
    public mutating func insert(_ packet: [UInt8], sequence: UInt16, now: Int64) {
        let extended = extend(sequence)
        if let next, extended < next {
            guard !started else { return }
            self.next = extended
        }
        if held[extended] != nil { return }
        held[extended] = (packet, now)
        if next == nil { next = extended }
    }

    /// What can go out now, in order: every packet up to the first gap, and past a gap once it has waited too long.
    public mutating func drain(now: Int64) -> [Output] {
        var out: [Output] = []
        if !started {
            guard let first = next, let arrival = held[first]?.arrival, now - arrival >= maximumWait || held.count >= capacity else { return out }
            started = true
        }
        while var expected = next {
            if let entry = held.removeValue(forKey: expected) {
                out.append(.packet(entry.packet, arrival: entry.arrival))
                next = expected + 1
                continue
            }
            guard let oldest = held.keys.min() else { break }
            let waited = now - (held[oldest]?.arrival ?? now)
            guard waited >= maximumWait || held.count >= capacity else { break }
            out.append(.lost(count: Int(oldest - expected)))
            expected = oldest
            next = expected
        }
        return out
    }

    /// The 16-bit sequence number unwrapped (RFC 3550 A.1), around the highest seen.
    private mutating func extend(_ sequence: UInt16) -> Int64 {
        if held.isEmpty && next == nil {
            lastSequence = sequence
            highest = Int64(sequence)
            return highest
        }
        let delta = Int16(bitPattern: sequence &- lastSequence)
        if delta > 0 && sequence < lastSequence { cycles += 65536 }
        if delta < 0 && sequence > lastSequence { return cycles - 65536 + Int64(sequence) }
        if delta > 0 { lastSequence = sequence }
        let extended = cycles + Int64(sequence)
        highest = max(highest, extended)
        return extended
    }
}

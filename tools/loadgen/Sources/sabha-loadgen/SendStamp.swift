import MediaCore
import Synchronization

/// The 8 bytes at the end of every RTP payload the generator sends: CLOCK_REALTIME nanoseconds when the packet
/// was built, and in the top two bits which stream it belongs to (0...2 a video layer, lowest first; 3 audio).
/// Realtime nanoseconds stay below 2^62 until the year 2116, so the two bits are free.
///
/// The stream tells a subscriber which simulcast layer a forwarded packet came from (the server rewrites SSRCs
/// and sequence numbers), and the time places it in a slot of `SlotCounter`.
enum SendStamp {
    static let audioStream = 3
    static let streams = 4

    static func encode(realtimeNs: Int64, stream: Int) -> UInt64 {
        UInt64(realtimeNs) & timeMask | UInt64(stream & 3) << 62
    }

    static func decode(_ stamp: UInt64) -> (realtimeNs: Int64, stream: Int) {
        (Int64(stamp & timeMask), Int(stamp >> 62))
    }

    /// The stamp at the end of a decrypted RTP packet's payload; nil when the packet does not parse or its payload
    /// is too short to carry one.
    static func read(_ data: UnsafeMutableRawPointer, length: Int) -> (header: RTPHeader, realtimeNs: Int64, stream: Int)? {
        guard let header = RTPHeader.parse(UnsafeRawBufferPointer(start: data, count: length)),
              header.payloadLength >= Publisher.stampLength else { return nil }
        let (realtimeNs, stream) = decode(data.be64(header.headerLength + header.payloadLength - Publisher.stampLength))
        return (header, realtimeNs, stream)
    }

    private static let timeMask: UInt64 = (1 << 62) - 1
}

/// Packets counted per stream and per 250 ms slot of their send stamp. The publisher counts what it sent, each
/// subscriber what it received and authenticated, both keyed by the same stamp: so over a window of whole slots
/// "expected" and "received" are the same packets, whatever the latency, and a subscriber that received
/// nothing shows 100 % loss (counting sequence gaps would show none).
///
/// Owned by one peer thread while it runs; read by the main thread after the threads are joined.
struct SlotCounter {
    static let slotNs: Int64 = 250_000_000
    /// Slots counted at most (a run of 2.5 hours), so a stamp far off cannot make the table huge.
    static let maxSlots = 36_000

    let epochNs: Int64
    /// slot * SendStamp.streams + stream
    private(set) var counts: [UInt32] = []

    init(epochNs: Int64) {
        self.epochNs = epochNs
    }

    mutating func note(realtimeNs: Int64, stream: Int) {
        let slot = (realtimeNs - epochNs) / Self.slotNs
        guard realtimeNs >= epochNs, slot < Self.maxSlots else { return }
        let index = Int(slot) * SendStamp.streams + stream
        if index >= counts.count {
            counts.append(contentsOf: repeatElement(0, count: index + 1 - counts.count + 40 * SendStamp.streams))
        }
        counts[index] &+= 1
    }

    /// Packets of `stream` stamped in the whole slots inside [start, end) (realtime ns).
    func count(stream: Int, window: SlotWindow) -> UInt64 {
        var total: UInt64 = 0
        precondition(window.epochNs == epochNs, "one epoch for all counters of a run")
        for slot in window.slots {
            let index = slot * SendStamp.streams + stream
            guard index < counts.count else { break }
            total += UInt64(counts[index])
        }
        return total
    }
}

/// The measurement window in realtime nanoseconds; counted over the whole slots it contains.
struct SlotWindow {
    var epochNs: Int64
    var startNs: Int64
    var endNs: Int64

    var slots: Range<Int> {
        let first = Int((startNs - epochNs + SlotCounter.slotNs - 1) / SlotCounter.slotNs)
        let end = Int((endNs - epochNs) / SlotCounter.slotNs)
        return max(first, 0)..<max(end, max(first, 0))
    }

    /// Seconds covered by the whole slots.
    var countedSeconds: Double {
        Double(slots.count) * Double(SlotCounter.slotNs) / 1e9
    }
}

/// The measurement window as the peer threads see it: the main thread opens and closes it, subscribers record
/// latency only for packets stamped inside it (the steady state, not the ramp while others still connect).
final class MeasurementWindow: Sendable {
    private let start = Atomic<Int64>(.max)
    private let end = Atomic<Int64>(.max)

    func open(realtimeNs: Int64) { start.store(realtimeNs, ordering: .relaxed) }
    func close(realtimeNs: Int64) { end.store(realtimeNs, ordering: .relaxed) }

    @inline(__always) func contains(realtimeNs: Int64) -> Bool {
        realtimeNs >= start.load(ordering: .relaxed) && realtimeNs < end.load(ordering: .relaxed)
    }
}

/// Builds the transport-wide CC feedback Sabha sends to a publisher (draft-holmer-rmcat-
/// transport-wide-cc-extensions-01): the publisher's browser runs its own send-side estimator on
/// these arrival times, so they must be ours, unfiltered, and every packet reported once.
///
/// Arrival times sit in a fixed ring indexed by the unwrapped sequence number, allocated at init:
/// `record` is on the packet path and never allocates. A packet that arrives after its sequence
/// number was already reported as missing is not reported again (libwebrtc does the same).
final class TransportWideFeedbackBuilder {
    private let capacity: Int
    private let mask: Int
    /// Arrival time per slot in microseconds; -1 when the packet has not arrived.
    private var arrivals: [Int64]
    /// Which unwrapped sequence number each slot currently describes.
    private var slotSequence: [Int64]
    private var unwrapper = SequenceUnwrapper()
    /// First unwrapped sequence number not yet covered by a feedback packet; -1 before any packet.
    private var nextToReport: Int64 = -1
    private var highest: Int64 = -1
    private(set) var feedbackPacketCount: UInt8 = 0

    /// `capacity` is rounded up to a power of two; it bounds how many packets one feedback
    /// interval can cover (4096 is about 400 ms at 100 Mbit/s of 1200-byte packets).
    init(capacity: Int = 4096) {
        var size = 1
        while size < max(capacity, 16) { size <<= 1 }
        self.capacity = size
        mask = size - 1
        arrivals = [Int64](repeating: -1, count: size)
        slotSequence = [Int64](repeating: -1, count: size)
    }

    /// Notes the arrival of a packet carrying the transport-wide sequence number extension.
    func record(sequence: UInt16, arrivalMicroseconds: Int64) {
        let extended = unwrapper.unwrap(sequence)
        if nextToReport < 0 {
            nextToReport = extended
            highest = extended - 1
        }
        guard extended >= nextToReport else { return }  // already reported, or older than the ring
        if extended > highest {
            let oldestKept = extended - Int64(capacity) + 1
            if nextToReport < oldestKept { nextToReport = oldestKept }  // a gap wider than the ring
            var s = max(highest + 1, oldestKept)
            while s <= extended {
                let slot = Int(s & Int64(mask))
                slotSequence[slot] = s
                arrivals[slot] = -1
                s += 1
            }
            highest = extended
        }
        let slot = Int(extended & Int64(mask))
        guard slotSequence[slot] == extended, arrivals[slot] < 0 else { return }  // duplicate: keep the first
        arrivals[slot] = arrivalMicroseconds
    }

    /// Writes one feedback packet covering what arrived since the last one, as much as fits in
    /// `buffer` (the rest goes in the next call); returns its length, 0 if there is nothing new
    /// or not even one packet fits. Call every 50–100 ms.
    func write(senderSSRC: UInt32, mediaSSRC: UInt32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard nextToReport >= 0, nextToReport <= highest else { return 0 }
        var first = nextToReport
        while first <= highest, arrival(first) < 0 { first += 1 }
        guard first <= highest else { return 0 }
        // Reference time: the first arrival rounded down to 64 ms, so the first delta is 0...255.
        let referenceUnits = Self.floorDivide(arrival(first), 64_000)
        let referenceTicks = referenceUnits * 256
        let base = nextToReport
        var previousTicks = referenceTicks
        let result = RTCPTransportWideFeedback.write(
            senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: UInt16(truncatingIfNeeded: base),
            referenceTime: Int32(truncatingIfNeeded: referenceUnits & 0xFF_FFFF), feedbackPacketCount: feedbackPacketCount,
            packetCount: Int(highest - base + 1), into: buffer
        ) { i in
            if i == 0 { previousTicks = referenceTicks }
            let time = arrival(base + Int64(i))
            guard time >= 0 else { return nil }
            let ticks = Self.floorDivide(time, 250)
            let delta = ticks - previousTicks
            guard delta >= Int64(Int32.min), delta <= Int64(Int32.max) else { return Int32.max }  // forces a stop
            previousTicks = ticks
            return Int32(delta)
        }
        guard result.packetCount > 0 else { return 0 }
        nextToReport = base + Int64(result.packetCount)
        feedbackPacketCount &+= 1
        return result.length
    }

    private func arrival(_ extended: Int64) -> Int64 {
        let slot = Int(extended & Int64(mask))
        return slotSequence[slot] == extended ? arrivals[slot] : -1
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let q = value / divisor
        return (value % divisor != 0 && value < 0) ? q - 1 : q
    }
}

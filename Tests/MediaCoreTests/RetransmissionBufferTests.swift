import Testing
@testable import MediaCore

struct RetransmissionBufferTests {
    /// A fake RTP packet whose bytes identify its sequence number.
    private func packet(_ sequence: UInt16, size: Int = 100) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes[0] = 0x80
        bytes[1] = 96
        bytes[2] = UInt8(sequence >> 8)
        bytes[3] = UInt8(sequence & 0xFF)
        for i in 12..<size { bytes[i] = UInt8(truncatingIfNeeded: Int(sequence) &+ i) }
        return bytes
    }

    private func store(_ buffer: RetransmissionBuffer, _ sequence: UInt16, nowMs: Int64, size: Int = 100) {
        packet(sequence, size: size).withUnsafeBytes { buffer.store($0, sequence: sequence, nowMs: nowMs) }
    }

    private func fetch(_ buffer: RetransmissionBuffer, _ sequence: UInt16, nowMs: Int64) -> [UInt8]? {
        buffer.packet(sequence: sequence, nowMs: nowMs).map { Array($0) }
    }

    @Test func returnsTheExactBytesStored() {
        let buffer = RetransmissionBuffer(capacity: 16)
        for sequence: UInt16 in 100..<110 { store(buffer, sequence, nowMs: 0, size: 60 + Int(sequence)) }
        for sequence: UInt16 in 100..<110 {
            #expect(fetch(buffer, sequence, nowMs: 10) == packet(sequence, size: 60 + Int(sequence)))
        }
        #expect(fetch(buffer, 99, nowMs: 10) == nil)
        #expect(fetch(buffer, 110, nowMs: 10) == nil)
    }

    @Test func doesNotReturnAnotherPacketSharingTheSlot() {
        let buffer = RetransmissionBuffer(capacity: 16)
        for sequence: UInt16 in 0..<20 { store(buffer, sequence, nowMs: 0) }
        // 16...19 overwrote 0...3 in slots 0...3.
        for sequence: UInt16 in 0..<4 { #expect(fetch(buffer, sequence, nowMs: 0) == nil) }
        for sequence: UInt16 in 16..<20 { #expect(fetch(buffer, sequence, nowMs: 0) == packet(sequence)) }
        // Slot 4 holds 4; 20 and 36 map there too but were never stored.
        #expect(fetch(buffer, 20, nowMs: 0) == nil)
        #expect(fetch(buffer, 36, nowMs: 0) == nil)
    }

    @Test func packetsOlderThanMaxAgeAreNotReturned() {
        let buffer = RetransmissionBuffer(capacity: 16, maxAgeMs: 1000)
        store(buffer, 5, nowMs: 1_000)
        #expect(fetch(buffer, 5, nowMs: 2_000) == packet(5))
        #expect(fetch(buffer, 5, nowMs: 2_001) == nil)
    }

    @Test func keepsPacketsAcrossTheSequenceWrap() {
        let buffer = RetransmissionBuffer(capacity: 8)
        var sequence: UInt16 = 65_532
        for _ in 0..<8 {
            store(buffer, sequence, nowMs: 0)
            sequence &+= 1
        }
        for s: UInt16 in [65_532, 65_533, 65_534, 65_535, 0, 1, 2, 3] { #expect(fetch(buffer, s, nowMs: 0) == packet(s)) }
        #expect(buffer.newestSequence == 3)
    }

    @Test func aLateOldPacketDoesNotEvictANewerOne() {
        let buffer = RetransmissionBuffer(capacity: 8)
        for s: UInt16 in 10..<20 { store(buffer, s, nowMs: 0) }
        store(buffer, 11, nowMs: 0)  // slot 3, now held by 19
        #expect(fetch(buffer, 19, nowMs: 0) == packet(19))
        #expect(fetch(buffer, 11, nowMs: 0) == nil)
        #expect(buffer.tooOldCount == 1)
        // Reordered but still within the window: stored.
        store(buffer, 21, nowMs: 0)
        store(buffer, 20, nowMs: 0)
        #expect(fetch(buffer, 20, nowMs: 0) == packet(20))
        #expect(fetch(buffer, 21, nowMs: 0) == packet(21))
    }

    @Test func oversizedPacketsAreSkipped() {
        let buffer = RetransmissionBuffer(capacity: 8, maxPacketSize: 200)
        store(buffer, 1, nowMs: 0, size: 201)
        store(buffer, 2, nowMs: 0, size: 200)
        #expect(fetch(buffer, 1, nowMs: 0) == nil)
        #expect(fetch(buffer, 2, nowMs: 0) == packet(2, size: 200))
        #expect(buffer.oversizedCount == 1)
        #expect(buffer.storedCount == 1)
    }

    @Test func resetForgetsEverything() {
        let buffer = RetransmissionBuffer(capacity: 8)
        for s: UInt16 in 0..<8 { store(buffer, s, nowMs: 0) }
        buffer.reset()
        for s: UInt16 in 0..<8 { #expect(fetch(buffer, s, nowMs: 0) == nil) }
        // After a reset, a much lower sequence number is accepted again.
        store(buffer, 40_000, nowMs: 0)
        #expect(fetch(buffer, 40_000, nowMs: 0) == packet(40_000))
    }
}

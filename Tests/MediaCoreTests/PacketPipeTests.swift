import Glibc
import Atomics
import Testing
@testable import MediaCore

@Suite struct PacketPipeTests {
    static func packet(_ n: UInt32, length: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: length)
        withUnsafeBytes(of: n.bigEndian) { for i in 0..<4 { bytes[i] = $0[i] } }
        return bytes
    }

    @Test func refusesWhenFullHidesUnpublishedPacketsAndKeepsOrderAcrossTheWrap() {
        let pipe = PacketPipe(capacity: 8)
        #expect(pipe.capacity == 8)
        var next: UInt32 = 0
        var expected: UInt32 = 0
        for round in 0..<5 {
            // Fill it: 8 fit, the 9th is refused.
            for _ in 0..<8 {
                let bytes = Self.packet(next, length: 40 + Int(next % 50))
                #expect(bytes.withUnsafeBytes { pipe.push(producer: ProducerID(7), layer: Int(next % 3), bytes: $0) })
                next += 1
            }
            #expect(!Self.packet(999, length: 40).withUnsafeBytes { pipe.push(producer: ProducerID(7), layer: 0, bytes: $0) })
            #expect(pipe.drain(limit: 100) { _, _ in } == 0, "nothing is visible before publish")
            #expect(pipe.publish())
            #expect(!pipe.publish(), "nothing new to publish")
            // Drain in two parts (round-dependent split), checking order, layer and bytes.
            let firstPart = round % 8 + 1
            for limit in [firstPart, 100] {
                _ = pipe.drain(limit: limit) { slot, data in
                    #expect(slot.producer == ProducerID(7) && Int(slot.layer) == Int(expected % 3))
                    let bytes = Array(UnsafeRawBufferPointer(start: data, count: Int(slot.length)))
                    #expect(bytes == Self.packet(expected, length: 40 + Int(expected % 50)))
                    expected += 1
                }
            }
        }
        #expect(expected == next)
        let tooLarge = [UInt8](repeating: 0, count: PacketPipe.slotPayload + 1)
        #expect(!tooLarge.withUnsafeBytes { pipe.push(producer: ProducerID(7), layer: 0, bytes: $0) })
    }

    /// Two real threads, as two workers: every packet the sender managed to push arrives once, in order, intact.
    @Test func aSenderAndAReceiverThreadSeeEveryPushedPacketInOrder() throws {
        let pipe = PacketPipe(capacity: 64)
        let total: UInt32 = 200_000
        let pushedCount = ManagedAtomic<Int>(0)
        let finished = ManagedAtomic<Bool>(false)
        try WorkerThread.start(name: "pipe-test-sender") {
            var pushed = 0
            for n in 0..<total {
                let bytes = Self.packet(n, length: 64 + Int(n % 200))
                if bytes.withUnsafeBytes({ pipe.push(producer: ProducerID(UInt64(n)), layer: 0, bytes: $0) }) { pushed += 1 }
                if n % 16 == 15 { _ = pipe.publish() }
            }
            _ = pipe.publish()
            pushedCount.store(pushed, ordering: .relaxed)
            finished.store(true, ordering: .releasing)
        }
        var received = 0
        var last: Int64 = -1
        var corrupt = 0
        let deadline = MonotonicClock.milliseconds() + 30_000
        while MonotonicClock.milliseconds() < deadline {
            let done = finished.load(ordering: .acquiring)
            let count = pipe.drain(limit: 32) { slot, data in
                let n = UInt32(truncatingIfNeeded: slot.producer.rawValue)
                if Int64(n) <= last { corrupt += 1 }
                last = Int64(n)
                let bytes = Array(UnsafeRawBufferPointer(start: data, count: Int(slot.length)))
                if bytes != Self.packet(n, length: 64 + Int(n % 200)) { corrupt += 1 }
            }
            received += count
            if done && count == 0 && pipe.backlog == 0 { break }
        }
        let senderFinished = finished.load(ordering: .acquiring)
        let pushed = pushedCount.load(ordering: .relaxed)
        #expect(senderFinished)
        #expect(corrupt == 0)
        #expect(received == pushed)
        #expect(received > 0)
    }
}

import Dispatch
import Testing
@testable import MediaCore

@Suite struct MPSCRingTests {
    @Test func popsInFIFOOrderAndReportsEmpty() {
        let ring = MPSCRing<Int>(capacity: 8)
        #expect(ring.pop() == nil)
        for i in 0..<5 { #expect(ring.push(i)) }
        for i in 0..<5 { #expect(ring.pop() == i) }
        #expect(ring.pop() == nil)
    }

    @Test func refusesToPushWhenFullInsteadOfBlocking() {
        let ring = MPSCRing<Int>(capacity: 4)
        for i in 0..<4 { #expect(ring.push(i)) }
        #expect(!ring.push(99))
        #expect(ring.pop() == 0)
        #expect(ring.push(4))
    }

    /// Four producer threads and one consumer thread: every element arrives exactly once and each producer's
    /// elements arrive in the order it pushed them.
    @Test func deliversEveryElementOnceUnderConcurrentProducers() async {
        let ring = MPSCRing<UInt64>(capacity: 64)
        let producers = 4
        let perProducer: UInt64 = 50_000
        let group = DispatchGroup()
        for p in 0..<producers {
            DispatchQueue.global().async(group: group) {
                var i: UInt64 = 0
                while i < perProducer {
                    if ring.push(UInt64(p) << 32 | i) { i += 1 }
                }
            }
        }
        var next = [UInt64](repeating: 0, count: producers)
        var received: UInt64 = 0
        var outOfOrder = 0
        let total = perProducer * UInt64(producers)
        var spins = 0
        while received < total && spins < 500_000_000 {
            if let value = ring.pop() {
                let producer = Int(value >> 32)
                if value & 0xFFFF_FFFF != next[producer] { outOfOrder += 1 }
                next[producer] = (value & 0xFFFF_FFFF) + 1
                received += 1
            } else {
                spins += 1
            }
        }
        group.wait()
        #expect(received == total)
        #expect(outOfOrder == 0)
        #expect(ring.pop() == nil)
    }
}

@Suite struct PacketBufferPoolTests {
    @Test func handsOutDistinctBuffersAndCountsThoseInUse() {
        let pool = PacketBufferPool(capacity: 3)
        let a = pool.acquire(), b = pool.acquire(), c = pool.acquire()
        #expect(a != nil && b != nil && c != nil)
        #expect(Set([a!, b!, c!]).count == 3)
        #expect(pool.acquire() == nil)
        #expect(pool.inUse == 3)
        pool.release(b!)
        #expect(pool.inUse == 2)
        #expect(pool.acquire() == b)
        #expect(pool.pointer(a!) != pool.pointer(c!))
    }
}

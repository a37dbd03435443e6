/// Fixed-size packet buffers allocated once per worker. The packet path takes and returns buffers by index:
/// no malloc per packet, and a count of buffers in use that tests read to prove nothing leaks.
/// Owned by one worker thread: not thread-safe by design.
final class PacketBufferPool {
    /// Room for a 1500-byte datagram plus SRTP trailer growth and header rewrites.
    static let bufferSize = 2048

    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private let freeList: UnsafeMutablePointer<Int32>
    private var freeCount: Int

    init(capacity: Int) {
        precondition(capacity > 0 && capacity < Int(Int32.max))
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity * Self.bufferSize, alignment: 64)
        freeList = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        for i in 0..<capacity { freeList[i] = Int32(capacity - 1 - i) }
        freeCount = capacity
    }

    deinit {
        storage.deallocate()
        freeList.deallocate()
    }

    var inUse: Int { capacity - freeCount }

    /// A free buffer's index, or nil when the pool is exhausted (the caller drops the packet and counts it).
    @inline(__always)
    func acquire() -> Int32? {
        guard freeCount > 0 else { return nil }
        freeCount -= 1
        return freeList[freeCount]
    }

    @inline(__always)
    func release(_ index: Int32) {
        precondition(freeCount < capacity, "packet buffer released twice")
        freeList[freeCount] = index
        freeCount += 1
    }

    @inline(__always)
    func pointer(_ index: Int32) -> UnsafeMutableRawPointer {
        storage + Int(index) * Self.bufferSize
    }
}

import CMediaShims
import Glibc

/// Datagrams in memory instead of a socket, for engine tests and benchmarks that run the worker's own packet path
/// without the kernel (NIO's `EmbeddedChannel` idea). What peers send is `deliver`ed into a preallocated ring and
/// handed to the worker's `receive` like `recvmmsg` would; what the worker sends is counted and, when
/// `capturesSent`, kept for the test to read. Delivering and receiving never allocate. Owned by one thread.
final class MemoryDatagramIO: DatagramIO {
    let fileDescriptor: Int32 = -1
    let port: UInt16
    /// Keep a copy of every datagram sent (tests); off for benchmarks, which only count.
    var capturesSent: Bool

    private let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>
    private let sources: UnsafeMutablePointer<TransportAddress>
    // Touched per datagram by the one thread that owns it: no dynamic exclusivity checks.
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private(set) var pending = 0

    @exclusivity(unchecked) private(set) var sentCount: UInt64 = 0
    @exclusivity(unchecked) private(set) var sentBytes: UInt64 = 0
    private var captured: [(bytes: [UInt8], destination: TransportAddress)] = []

    init(port: UInt16 = 40_000, capacity: Int = 1024, capturesSent: Bool = true) {
        self.port = port
        self.capacity = capacity
        self.capturesSent = capturesSent
        storage = .allocate(byteCount: capacity * PacketBufferPool.bufferSize, alignment: 64)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        sources = .allocate(capacity: capacity)
        sources.initialize(repeating: TransportAddress(ipv4: 0, port: 0), count: capacity)
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
        sources.deallocate()
    }

    /// Queues a datagram from `source` for the worker's next receive; false when the ring is full or it is too big.
    @discardableResult
    func deliver(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress) -> Bool {
        guard pending < capacity, bytes.count <= PacketBufferPool.bufferSize, let base = bytes.baseAddress else { return false }
        let slot = (head + pending) % capacity
        (storage + slot * PacketBufferPool.bufferSize).copyMemory(from: base, byteCount: bytes.count)
        lengths[slot] = bytes.count
        sources[slot] = source
        pending += 1
        return true
    }

    func receive(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int {
        var received = 0
        while received < count && pending > 0 {
            let slot = slots + received
            // As recvmmsg: a datagram longer than the buffer is cut to its capacity.
            let length = min(lengths[head], Int(slot.pointee.capacity))
            slot.pointee.data.copyMemory(from: storage + head * PacketBufferPool.bufferSize, byteCount: length)
            slot.pointee.length = UInt32(length)
            slot.pointee.addrlen = sources[head].write(to: &slot.pointee.addr)
            head = (head + 1) % capacity
            pending -= 1
            received += 1
        }
        return received
    }

    func send(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int {
        for i in 0..<count {
            let slot = slots + i
            sentCount &+= 1
            sentBytes &+= UInt64(slot.pointee.length)
            if capturesSent, let destination = withUnsafePointer(to: &slot.pointee.addr, { TransportAddress(storage: $0) }) {
                let bytes = UnsafeRawBufferPointer(start: slot.pointee.data, count: Int(slot.pointee.length))
                captured.append((Array(bytes), destination))
            }
        }
        return count
    }

    /// The datagrams sent to `destination` since the last call, oldest first (with `capturesSent`).
    func takeSent(to destination: TransportAddress) -> [[UInt8]] {
        var mine: [[UInt8]] = []
        captured.removeAll { entry in
            guard entry.destination == destination else { return false }
            mine.append(entry.bytes)
            return true
        }
        return mine
    }
}

/// A worker clock that moves only when told: engine tests pass consent timeouts and DTLS retransmissions
/// without waiting for them.
final class ManualClock: WorkerClock {
    private(set) var now: Int64

    init(microseconds: Int64 = 1_000_000_000) { now = microseconds }

    func milliseconds() -> Int64 { now / 1000 }
    func microseconds() -> Int64 { now }

    func advance(milliseconds: Int64) { now += milliseconds * 1000 }
}

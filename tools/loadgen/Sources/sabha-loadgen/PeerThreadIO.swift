import CLoadgenNet

/// Per-thread packet scratch space: a batch of send buffers filled by one peer and flushed with one
/// `sendmmsg`, a batch of receive buffers for `recvmmsg`, and the thread's latency samples since the last
/// progress snapshot. Allocated once; peers on the thread share it (one at a time).
final class PeerThreadIO {
    static let batch = 64
    static let bufferSize = 2048

    let sendSlots: UnsafeMutablePointer<lg_dgram>
    let receiveSlots: UnsafeMutablePointer<lg_dgram>
    private let sendMemory: UnsafeMutableRawPointer
    private let receiveMemory: UnsafeMutableRawPointer
    private(set) var pending = 0
    var intervalLatency = LatencyHistogram()
    var sendErrors: UInt64 = 0

    init() {
        sendMemory = .allocate(byteCount: Self.batch * Self.bufferSize, alignment: 64)
        receiveMemory = .allocate(byteCount: Self.batch * Self.bufferSize, alignment: 64)
        sendSlots = .allocate(capacity: Self.batch)
        receiveSlots = .allocate(capacity: Self.batch)
        for i in 0..<Self.batch {
            sendSlots[i] = lg_dgram(data: sendMemory + i * Self.bufferSize, capacity: UInt32(Self.bufferSize), length: 0, stamp_ns: 0)
            receiveSlots[i] = lg_dgram(data: receiveMemory + i * Self.bufferSize, capacity: UInt32(Self.bufferSize), length: 0, stamp_ns: 0)
        }
    }

    deinit {
        sendMemory.deallocate()
        receiveMemory.deallocate()
        sendSlots.deallocate()
        receiveSlots.deallocate()
    }

    /// The next free send buffer (flush first when `pending == batch`).
    @inline(__always)
    var nextSendBuffer: UnsafeMutableRawPointer { sendSlots[pending].data }

    @inline(__always)
    func commit(length: Int) {
        sendSlots[pending].length = UInt32(length)
        pending += 1
    }

    /// Sends what is queued on `fd` (the peer's connected socket). Returns datagrams sent.
    @discardableResult
    func flush(_ fd: Int32) -> Int {
        var sent = 0
        while sent < pending {
            let n = lg_send_batch(fd, sendSlots + sent, UInt32(pending - sent))
            if n <= 0 {
                sendErrors &+= UInt64(pending - sent)
                break
            }
            sent += Int(n)
        }
        pending = 0
        return sent
    }
}

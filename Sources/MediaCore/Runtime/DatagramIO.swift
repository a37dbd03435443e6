import CMediaShims

/// Where a worker's datagrams come from and go to: the UDP socket in the server, memory in engine tests and
/// benchmarks (as NIO's `EmbeddedChannel` stands in for a socket). Batches of `sabha_dgram` slots, whose data
/// point into the worker's pool buffers, both ways.
///
/// A generic parameter of `MediaWorker`, not an existential: the packet path calls it directly.
protocol DatagramIO: AnyObject {
    /// The descriptor the worker's loop polls for readability; -1 when there is none (memory).
    var fileDescriptor: Int32 { get }
    /// The port peers send to (in candidates).
    var port: UInt16 { get }
    /// Fills up to `count` slots (data, capacity set by the caller) with datagrams and their sources; returns how
    /// many, 0 when none is waiting, < 0 on error.
    func receive(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int
    /// Sends `count` slots (data, length, destination); returns how many left, < 0 on error (those are lost).
    func send(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int
}

extension UDPSocket: DatagramIO {
    var fileDescriptor: Int32 { fd }

    @inline(__always)
    func receive(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int {
        Int(sabha_recv_batch(fd, slots, UInt32(count)))
    }

    @inline(__always)
    func send(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int {
        Int(sabha_send_batch(fd, slots, UInt32(count)))
    }
}

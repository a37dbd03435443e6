/// A `PacketPipe` driven from one thread, for the malloc-counting benchmarks: what the cross-worker path adds
/// per packet (the copy in on the receiving worker, publish, the drain on the other) must not allocate.
/// Not API: exposed under `@_spi(Benchmarks)` only.
@_spi(Benchmarks)
public final class PipeBench {
    private let pipe = PacketPipe(capacity: 1024)
    private let packet: UnsafeMutableRawBufferPointer

    public init(packetSize: Int) {
        packet = .allocate(byteCount: min(packetSize, PacketPipe.slotPayload), alignment: 64)
        for i in 0..<packet.count { packet[i] = UInt8(truncatingIfNeeded: i) }
    }

    deinit { packet.deallocate() }

    /// Pushes `count` copies of the packet, publishes them, drains them; returns the bytes drained.
    public func pass(count: Int) -> Int {
        for _ in 0..<count {
            _ = pipe.push(producer: ProducerID(1), layer: 0, bytes: UnsafeRawBufferPointer(packet))
        }
        _ = pipe.publish()
        var bytes = 0
        _ = pipe.drain(limit: count) { slot, _ in bytes &+= Int(slot.length) }
        return bytes
    }
}

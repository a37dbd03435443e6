/// A copy of one producer's decrypted RTP for something inside the server that is not a viewer: the recorder.
/// The producer's worker copies each packet into a bounded ring as it routes it (no extra network hop, no
/// encryption); the owner drains it from its own thread at its own pace. Full means the owner is behind: the packet
/// is dropped (counted as `pipeFull`), never waited for, so a slow disk cannot slow a meeting down.
public final class MediaTap: @unchecked Sendable {
    // @unchecked: a PacketPipe with one writer (the producer's worker) and one reader (the owner), as between workers.
    public let producer: ProducerID
    let pipe: PacketPipe

    init(producer: ProducerID, slots: Int) {
        self.producer = producer
        pipe = PacketPipe(capacity: slots)
    }

    /// Calls `body` with each waiting packet (at most `limit`): its simulcast layer (0 = lowest) and the decrypted RTP
    /// packet, valid only during the call. Returns how many. From one thread at a time.
    public func drain(limit: Int = 4_096, _ body: (_ layer: Int, _ packet: UnsafeRawBufferPointer) -> Void) -> Int {
        pipe.drain(limit: limit) { slot, data in body(Int(slot.layer), UnsafeRawBufferPointer(start: data, count: Int(slot.length))) }
    }

    /// Packets waiting (a snapshot).
    public var backlog: Int { pipe.backlog }
}

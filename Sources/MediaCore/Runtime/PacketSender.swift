import CMediaShims
/// The one way a worker sends: a pool buffer, the bytes written into it, SRTP with the buffer's capacity, for RTP
/// to a viewer its transport-wide sequence number and send history, then the send batch, flushed as one
/// `sendmmsg` (or as one call into the injected I/O). Forwarding, NACK answers, probe padding, every RTCP packet
/// and the ICE and DTLS replies all go through here; whatever fails is counted, and the buffer goes back.
/// Owned by the worker thread.
final class PacketSender<IO: DatagramIO> {
    let pool: PacketBufferPool
    let io: IO
    let counters: LocalCounters
    /// The worker's ICE-TCP connections: a destination marked TCP is framed onto its connection instead.
    let tcp: ICETCPServer?
    private let batch = DatagramBatch()
    /// Microseconds at the current receive batch (or timer): send times in the transport-wide send history.
    @exclusivity(unchecked) var batchMicroseconds: Int64 = 0

    init(pool: PacketBufferPool, io: IO, counters: LocalCounters, tcp: ICETCPServer? = nil) {
        self.pool = pool
        self.io = io
        self.counters = counters
        self.tcp = tcp
    }

    /// Whether RTP and RTCP can go to the transport's peer now (SRTP keys and a selected address).
    @inline(__always)
    static func canSend(on transport: WebRTCTransport) -> Bool {
        transport.outboundSRTP != nil && transport.selected != nil
    }

    /// Sends RTP to the transport's peer: `write(buffer, transportSequence)` writes the plain packet and returns its
    /// length (`transportSequence` is the transport-wide sequence number to carry, or -1 without transport-cc).
    /// `payload`: a forwarded packet's payload as it came in, when `write` wrote only the header and the payload's
    /// rewritten first bytes (`SRTPContext.protectRTP(_:length:payload:)` encrypts the rest from where it lies).
    /// Returns the protected length, 0 when nothing went out (counted unless the writer gave up).
    @inline(__always)
    @discardableResult
    func sendRTP(on transport: WebRTCTransport, isProbe: Bool = false, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                 _ write: (UnsafeMutableRawPointer, Int) -> Int) -> Int {
        // Unretained views (`outboundSRTP`, `outboundHistory`): nothing here replaces the transport's context
        // or history, which keep them alive.
        guard let srtp = transport.outboundSRTP, let destination = transport.selected else { return 0 }
        guard let buffer = pool.acquire() else { counters.drop(.poolExhausted); return 0 }
        let out = pool.pointer(buffer)
        let history = transport.outboundHistory
        let transportSequence = history.map { $0._withUnsafeGuaranteedRef { Int($0.nextSequence()) } } ?? -1
        var length = write(out, transportSequence)
        guard length > 0 else { pool.release(buffer); return 0 }
        let status = srtp._withUnsafeGuaranteedRef { $0.protectRTP(out, length: &length, payload: payload, capacity: PacketBufferPool.bufferSize) }
        guard status == .ok else {
            pool.release(buffer)
            counters.drop(status == .streamTableFull ? .srtpStreamLimit : .sendFailed)
            return 0
        }
        if let history {
            let sent = length
            history._withUnsafeGuaranteedRef {
                $0.record(sequence: UInt16(truncatingIfNeeded: transportSequence), sentMicroseconds: batchMicroseconds,
                          size: sent, isProbe: isProbe)
            }
        }
        enqueue(buffer: buffer, length: length, to: destination)
        return length
    }

    /// Sends one RTCP compound to the transport's peer: `write(room)` fills at most `room.count` bytes and returns
    /// how many (0: nothing to send). True when it was queued.
    @inline(__always)
    @discardableResult
    func sendRTCP(on transport: WebRTCTransport, _ write: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        guard let srtp = transport.srtpOutbound, let destination = transport.selected else { return false }
        guard let buffer = pool.acquire() else { counters.drop(.poolExhausted); return false }
        let out = pool.pointer(buffer)
        var length = write(UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength))
        guard length > 0 else { pool.release(buffer); return false }
        let status = srtp.protectRTCP(out, length: &length, capacity: PacketBufferPool.bufferSize)
        guard status == .ok else {
            pool.release(buffer)
            counters.drop(status == .streamTableFull ? .srtpStreamLimit : .sendFailed)
            return false
        }
        enqueue(buffer: buffer, length: length, to: destination)
        return true
    }

    /// Sends a datagram as written (STUN, DTLS): `write(room)` returns its length, 0 for none.
    @discardableResult
    func sendPlain(to destination: TransportAddress, _ write: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        guard let buffer = pool.acquire() else { counters.drop(.poolExhausted); return false }
        let length = write(UnsafeMutableRawBufferPointer(start: pool.pointer(buffer), count: PacketBufferPool.bufferSize))
        guard length > 0, length <= PacketBufferPool.bufferSize else { pool.release(buffer); return false }
        enqueue(buffer: buffer, length: length, to: destination)
        return true
    }

    @inline(__always)
    private func enqueue(buffer: Int32, length: Int, to destination: TransportAddress) {
        if destination.isTCP {
            // Copied into the connection's send buffer; written out at the flush.
            if tcp?.send(pool.pointer(buffer), length: length, to: destination) == true {
                counters.packetsSent &+= 1
            } else {
                counters.drop(.tcpCongested)
            }
            pool.release(buffer)
            return
        }
        if batch.isFull { flush() }
        let i = batch.count
        batch.buffers[i] = buffer
        batch.slots[i].data = pool.pointer(buffer)
        batch.slots[i].length = UInt32(length)
        batch.slots[i].addrlen = destination.write(to: &batch.slots[i].addr)
        batch.count = i + 1
    }

    /// Hands the queued datagrams to the I/O and returns their buffers to the pool.
    func flush() {
        var first = 0
        while first < batch.count {
            let sent = io.send(batch.slots + first, count: batch.count - first)
            if sent <= 0 {
                // Kernel buffer full or an error: these datagrams are lost, like on any congested link.
                for _ in first..<batch.count { counters.drop(.sendFailed) }
                break
            }
            counters.packetsSent &+= UInt64(sent)
            first += sent
        }
        for i in 0..<batch.count { pool.release(batch.buffers[i]) }
        batch.count = 0
        tcp?.flush()
    }
}

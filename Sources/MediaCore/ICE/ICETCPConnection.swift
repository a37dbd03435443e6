import Glibc

/// One ICE-TCP connection a peer opened to us, with its RFC 4571 framing state: a fixed read buffer that whole
/// frames are cut from, and a bounded send buffer of framed packets the socket has not taken yet. Both are
/// allocated when the connection is accepted, never per packet. Owned by the worker thread.
final class ICETCPConnection {
    let fd: Int32
    /// Order of acceptance (the oldest unanswered connection is evicted first).
    let serial: UInt64
    /// The peer's address, marked TCP: the source of its frames and where the worker sends to reach it.
    let address: TransportAddress
    let acceptedMs: Int64
    var lastReceivedMs: Int64
    /// We sent on it, which we do only after an authenticated ICE check: a connection that never gets there is
    /// closed after a short time (`ICETCPServer.unauthenticatedTimeoutMs`).
    var authenticated = false
    /// The socket refused part of the send buffer since this time (nil: it takes everything).
    var stalledSinceMs: Int64?
    /// EPOLLOUT is armed (the send buffer waits for room in the socket).
    var waitsForWrite = false
    /// Queued in the server's list of connections to write out at the next flush.
    var queued = false
    /// In the server's list of connections holding a whole frame not yet handed to the worker.
    var backlogged = false
    var closed = false
    /// The peer ended its side (or an error): close once the frames already read are handed over.
    var ended = false

    private let readBuffer: UnsafeMutableRawPointer
    private var readStart = 0
    private var readEnd = 0
    private let sendBuffer: UnsafeMutableRawPointer
    private var sendStart = 0
    private var sendEnd = 0

    /// Room for the largest frame we accept and some following bytes.
    static let readCapacity = 8 * 1024
    /// About 0.6 s of a 2.5 Mbit/s video call: enough to ride out a short stall, small enough that a peer that
    /// stops reading costs little (1024 connections: 160 MiB at most, touched only as used).
    static let sendCapacity = 160 * 1024

    init(fd: Int32, serial: UInt64, address: TransportAddress, nowMs: Int64) {
        self.fd = fd
        self.serial = serial
        self.address = address
        self.acceptedMs = nowMs
        self.lastReceivedMs = nowMs
        readBuffer = .allocate(byteCount: Self.readCapacity, alignment: 16)
        sendBuffer = .allocate(byteCount: Self.sendCapacity, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
        sendBuffer.deallocate()
    }

    // MARK: - Reading

    enum ReadResult {
        case read
        case wouldBlock
        /// The peer closed its side, or the socket failed.
        case ended
    }

    /// Reads what the socket has, as far as the read buffer has room.
    func read() -> ReadResult {
        if readStart > 0 && readStart == readEnd { readStart = 0; readEnd = 0 }
        if readEnd == Self.readCapacity && readStart > 0 {
            (readBuffer + 0).copyMemory(from: readBuffer + readStart, byteCount: readEnd - readStart)
            readEnd -= readStart
            readStart = 0
        }
        guard readEnd < Self.readCapacity else { return .read }
        let count = Glibc.read(fd, readBuffer + readEnd, Self.readCapacity - readEnd)
        if count > 0 {
            readEnd += count
            return .read
        }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .wouldBlock }
        return .ended
    }

    enum Frame {
        /// A whole frame of this length was copied.
        case frame(Int)
        /// Not yet a whole frame in the buffer.
        case incomplete
        /// A frame longer than `capacity` (or empty): not a packet we would ever take; the connection goes.
        case invalid
    }

    /// Copies the next whole frame's packet into `destination` (at most `capacity` bytes).
    func nextFrame(into destination: UnsafeMutableRawPointer, capacity: Int) -> Frame {
        guard let length = declaredLength else { return .incomplete }
        guard length > 0, length <= capacity, length + 2 <= Self.readCapacity else { return .invalid }
        guard readEnd - readStart >= 2 + length else { return .incomplete }
        destination.copyMemory(from: readBuffer + readStart + 2, byteCount: length)
        readStart += 2 + length
        return .frame(length)
    }

    /// A whole frame is buffered.
    var hasFrame: Bool {
        guard let length = declaredLength else { return false }
        return readEnd - readStart >= 2 + length
    }

    /// The length the next frame's 16-bit prefix declares, once both of its bytes are in.
    private var declaredLength: Int? {
        guard readEnd - readStart >= 2 else { return nil }
        return Int(readBuffer.load(fromByteOffset: readStart, as: UInt8.self)) << 8
            | Int(readBuffer.load(fromByteOffset: readStart + 1, as: UInt8.self))
    }

    // MARK: - Writing

    /// Frames a packet into the send buffer; false when it has no room (the packet is lost, as on a congested
    /// UDP path, and the peer's congestion control sees the loss).
    func append(_ bytes: UnsafeRawPointer, length: Int) -> Bool {
        guard length > 0, length <= Int(UInt16.max) else { return false }
        if Self.sendCapacity - sendEnd < 2 + length && sendStart > 0 {
            (sendBuffer + 0).copyMemory(from: sendBuffer + sendStart, byteCount: sendEnd - sendStart)
            sendEnd -= sendStart
            sendStart = 0
        }
        guard Self.sendCapacity - sendEnd >= 2 + length else { return false }
        sendBuffer.storeBytes(of: UInt8(truncatingIfNeeded: length >> 8), toByteOffset: sendEnd, as: UInt8.self)
        sendBuffer.storeBytes(of: UInt8(truncatingIfNeeded: length), toByteOffset: sendEnd + 1, as: UInt8.self)
        (sendBuffer + sendEnd + 2).copyMemory(from: bytes, byteCount: length)
        sendEnd += 2 + length
        return true
    }

    var hasPendingWrites: Bool { sendEnd > sendStart }

    enum WriteResult {
        /// Everything buffered went out.
        case drained
        /// The socket took less than everything (its buffer is full): wait for EPOLLOUT.
        case partial
        case failed
    }

    /// Writes as much of the send buffer as the socket takes.
    func writeOut() -> WriteResult {
        while sendEnd > sendStart {
            let count = Glibc.send(fd, sendBuffer + sendStart, sendEnd - sendStart, Int32(MSG_NOSIGNAL))
            if count > 0 {
                sendStart += count
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .partial }
            return .failed
        }
        sendStart = 0
        sendEnd = 0
        return .drained
    }
}

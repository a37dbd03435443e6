import CMediaShims
import Glibc

/// Passive ICE-TCP (RFC 6544) for one worker, for networks that let out only TCP: a listening socket on the
/// worker's port number, the connections browsers open to it, and RFC 4571 framing (a 16-bit length before each
/// STUN, DTLS, RTP or RTCP packet). Frames become datagrams from the peer's address marked TCP, so the worker's
/// ICE, DTLS and media code is the same for both transports; what the worker sends to such an address is framed
/// onto its connection (`send`), and written out once per batch (`flush`).
///
/// No connection can stall the worker: every socket is non-blocking, reads go into a fixed buffer per connection
/// and writes into a bounded one (a peer that stops reading loses packets, counted as `tcpCongested`, and is
/// closed after `stalledTimeoutMs` without progress). A connection on which no ICE check was answered is closed
/// after `unauthenticatedTimeoutMs`, a silent one after the consent timeout, and at `maxConnections` the oldest
/// unanswered connection makes room for a new one (else the new one is refused). Owned by the worker thread.
final class ICETCPServer {
    /// Polled by the worker beside its UDP socket: readable when a connection or the listener has something.
    let pollDescriptor: Int32
    let port: UInt16
    let maxConnections: Int
    /// Addresses whose connection closed since the worker last asked: it unbinds them from their transports.
    private(set) var closedAddresses: [TransportAddress] = []
    /// Connections refused or evicted because `maxConnections` were open.
    private(set) var refusedCount: UInt64 = 0

    private let listener: Int32
    private var connections: [Int32: ICETCPConnection] = [:]
    private var byAddress: [TransportAddress: ICETCPConnection] = [:]
    /// Connections with whole frames the worker has not taken yet (it ran out of slots).
    private var backlog: [ICETCPConnection] = []
    /// Connections with packets appended since the last flush.
    private var queued: [ICETCPConnection] = []
    private let eventData = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
    private let eventMasks = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
    private var nowMs: Int64 = 0
    private var accepted: UInt64 = 0

    static let unauthenticatedTimeoutMs: Int64 = 10_000
    static let stalledTimeoutMs: Int64 = 10_000
    private static let listenerToken = UInt64.max
    private static let readable: UInt32 = 0x001  // EPOLLIN
    private static let writable: UInt32 = 0x004  // EPOLLOUT

    /// Listens on `host`:`port` (the worker's UDP port number).
    init(host: String, port: UInt16, maxConnections: Int) throws(MediaError) {
        guard let address = TransportAddress(ip: host, port: port) else {
            throw MediaError.configuration("'\(host)' is not an IP address")
        }
        let fd = address.withSockAddr { sabha_tcp_listen($0, $1, 128) }
        guard fd >= 0 else {
            throw MediaError.socket("cannot listen for ICE-TCP on \(address): \(String(cString: strerror(-fd))) "
                + "(another program has this TCP port; turn ICE-TCP off or choose other ports)")
        }
        let epoll = sabha_epoll_create()
        guard epoll >= 0 else {
            Glibc.close(fd)
            throw MediaError.socket("epoll_create1 failed: \(String(cString: strerror(-epoll)))")
        }
        _ = sabha_epoll_control(epoll, 0, fd, Self.readable, Self.listenerToken)
        listener = fd
        pollDescriptor = epoll
        self.port = port
        self.maxConnections = maxConnections
        connections.reserveCapacity(maxConnections)
        byAddress.reserveCapacity(maxConnections)
        backlog.reserveCapacity(maxConnections)
        queued.reserveCapacity(maxConnections)
    }

    deinit {
        for connection in connections.values { Glibc.close(connection.fd) }
        Glibc.close(listener)
        Glibc.close(pollDescriptor)
        eventData.deallocate()
        eventMasks.deallocate()
    }

    var connectionCount: Int { connections.count }
    /// Frames are waiting that the worker has not taken: it must come back without sleeping.
    var hasBacklog: Bool { !backlog.isEmpty }

    // MARK: - Receiving

    /// Fills up to `count` slots (data and capacity set by the caller) with whole frames and their peers'
    /// addresses: first frames left over from the last call, then what the sockets have now. Accepts new
    /// connections on the way. Returns how many slots it filled.
    func receive(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int, nowMs: Int64) -> Int {
        self.nowMs = nowMs
        var filled = drainBacklog(slots, count: count)
        guard filled < count else { return filled }
        let ready = Int(sabha_epoll_wait(pollDescriptor, eventData, eventMasks, 64, 0))
        for i in 0..<max(0, ready) {
            if eventData[i] == Self.listenerToken {
                acceptWaiting()
                continue
            }
            guard let connection = connections[Int32(truncatingIfNeeded: eventData[i])], !connection.closed else { continue }
            let mask = eventMasks[i]
            if mask & Self.writable != 0 { writeOut(connection) }
            if mask & ~Self.writable != 0 && !connection.ended {
                // EPOLLIN, or EPOLLHUP/EPOLLERR: read() says which.
                switch connection.read() {
                case .read: connection.lastReceivedMs = nowMs
                case .wouldBlock: break
                case .ended: connection.ended = true
                }
            }
            filled += frames(from: connection, into: slots + filled, count: count - filled)
        }
        return filled
    }

    private func drainBacklog(_ slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int {
        var filled = 0
        var kept = 0
        for connection in backlog {
            connection.backlogged = false
            if !connection.closed && filled < count {
                filled += frames(from: connection, into: slots + filled, count: count - filled)
            }
            if connection.backlogged {
                backlog[kept] = connection
                kept += 1
            }
        }
        backlog.removeLast(backlog.count - kept)
        return filled
    }

    /// Cuts whole frames into slots; a connection left with frames goes on the backlog, an ended one is closed
    /// once its frames are out, one that sent an impossible frame is closed at once.
    private func frames(from connection: ICETCPConnection, into slots: UnsafeMutablePointer<sabha_dgram>, count: Int) -> Int {
        var filled = 0
        while filled < count {
            let slot = slots + filled
            switch connection.nextFrame(into: slot.pointee.data, capacity: Int(slot.pointee.capacity)) {
            case .frame(let length):
                slot.pointee.length = UInt32(length)
                slot.pointee.addrlen = connection.address.write(to: &slot.pointee.addr)
                filled += 1
            case .incomplete:
                if connection.ended { closeConnection(connection) }
                return filled
            case .invalid:
                closeConnection(connection)
                return filled
            }
        }
        if connection.hasFrame && !connection.backlogged {
            connection.backlogged = true
            backlog.append(connection)
        }
        return filled
    }

    private func acceptWaiting() {
        for _ in 0..<64 {
            var peer = sockaddr_storage()
            let fd = sabha_tcp_accept(listener, &peer)
            guard fd >= 0 else { return }
            guard let address = TransportAddress(storage: peer) else { Glibc.close(fd); continue }
            if connections.count >= maxConnections && !evictUnanswered() {
                refusedCount &+= 1
                Glibc.close(fd)
                continue
            }
            accepted &+= 1
            let connection = ICETCPConnection(fd: fd, serial: accepted, address: address.overTCP, nowMs: nowMs)
            if let previous = byAddress[connection.address] { closeConnection(previous) }
            connections[fd] = connection
            byAddress[connection.address] = connection
            _ = sabha_epoll_control(pollDescriptor, 0, fd, Self.readable, UInt64(fd))
        }
    }

    /// Closes the oldest connection on which no ICE check was answered; false when there is none.
    private func evictUnanswered() -> Bool {
        guard let oldest = connections.values.filter({ !$0.authenticated }).min(by: { $0.serial < $1.serial }) else {
            return false
        }
        refusedCount &+= 1
        closeConnection(oldest)
        return true
    }

    // MARK: - Sending

    /// Frames a packet for the connection of `address`; false when there is none or its send buffer is full.
    @inline(__always)
    func send(_ bytes: UnsafeRawPointer, length: Int, to address: TransportAddress) -> Bool {
        guard let connection = byAddress[address], !connection.closed, connection.append(bytes, length: length) else {
            return false
        }
        connection.authenticated = true
        if !connection.queued {
            connection.queued = true
            queued.append(connection)
        }
        return true
    }

    /// Writes out what `send` appended, one write per connection.
    func flush() {
        guard !queued.isEmpty else { return }
        for connection in queued {
            connection.queued = false
            if !connection.closed && !connection.waitsForWrite { writeOut(connection) }
        }
        queued.removeAll(keepingCapacity: true)
    }

    private func writeOut(_ connection: ICETCPConnection) {
        switch connection.writeOut() {
        case .drained:
            connection.stalledSinceMs = nil
            if connection.waitsForWrite {
                connection.waitsForWrite = false
                _ = sabha_epoll_control(pollDescriptor, 1, connection.fd, Self.readable, UInt64(connection.fd))
            }
        case .partial:
            if connection.stalledSinceMs == nil { connection.stalledSinceMs = nowMs }
            if !connection.waitsForWrite {
                connection.waitsForWrite = true
                _ = sabha_epoll_control(pollDescriptor, 1, connection.fd, Self.readable | Self.writable, UInt64(connection.fd))
            }
        case .failed:
            closeConnection(connection)
        }
    }

    // MARK: - Timers and closing

    /// Closes connections that never got an answered ICE check, went silent for `idleTimeoutMs`, or have not
    /// taken any of our bytes for `stalledTimeoutMs`. Called on the worker's tick.
    func expire(nowMs: Int64, idleTimeoutMs: Int64) {
        self.nowMs = nowMs
        var expired: [ICETCPConnection] = []
        for connection in connections.values {
            if !connection.authenticated && nowMs - connection.acceptedMs > Self.unauthenticatedTimeoutMs
                || nowMs - connection.lastReceivedMs > idleTimeoutMs
                || connection.stalledSinceMs.map({ nowMs - $0 > Self.stalledTimeoutMs }) == true {
                expired.append(connection)
            }
        }
        for connection in expired { closeConnection(connection) }
    }

    /// Hands over the addresses closed since the last call.
    func takeClosedAddresses() -> [TransportAddress] {
        defer { closedAddresses.removeAll() }
        return closedAddresses
    }

    private func closeConnection(_ connection: ICETCPConnection) {
        guard !connection.closed else { return }
        connection.closed = true
        Glibc.close(connection.fd)
        connections[connection.fd] = nil
        if byAddress[connection.address] === connection {
            byAddress[connection.address] = nil
            closedAddresses.append(connection.address)
        }
    }

    /// Closes every connection and the listener's queue (worker shutdown).
    func closeAll() {
        for connection in Array(connections.values) { closeConnection(connection) }
    }
}

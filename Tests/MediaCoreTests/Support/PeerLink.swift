import Glibc
@testable import MediaCore

/// How a test peer's datagrams reach a worker: real loopback UDP, or a worker's memory I/O.
protocol PeerLink: AnyObject {
    func send(_ bytes: UnsafeRawBufferPointer)
    /// One datagram for the peer, or nil when none comes.
    func receive() -> [UInt8]?
}

/// A UDP socket on 127.0.0.1 with a 50 ms receive timeout.
final class UDPPeerLink: PeerLink {
    let fd: Int32
    var server: TransportAddress
    private var buffer = [UInt8](repeating: 0, count: 2048)

    init(serverPort: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(bound == 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        server = TransportAddress(ip: "127.0.0.1", port: serverPort)!
    }

    deinit { close(fd) }

    func send(_ bytes: UnsafeRawBufferPointer) {
        _ = server.withSockAddr { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
    }

    func receive() -> [UInt8]? {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }
}

/// An ICE-TCP connection to 127.0.0.1 as a browser's active TCP candidate opens it (RFC 6544), with RFC 4571
/// framing both ways, and a 50 ms receive timeout.
final class TCPPeerLink: PeerLink {
    let fd: Int32
    private var pending: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    /// `receiveBuffer`: SO_RCVBUF before connecting, to make a peer that stops reading fill up soon.
    init(serverPort: UInt16, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        let server = TransportAddress(ip: "127.0.0.1", port: serverPort)!
        let connected = server.withSockAddr { connect(fd, $0, $1) }
        guard connected == 0 else { throw TCPPeerLinkError.connectFailed(errno) }
    }

    deinit { close(fd) }

    func send(_ bytes: UnsafeRawBufferPointer) {
        sendRaw([UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + Array(bytes))
    }

    /// Bytes as they are, without framing (to send broken frames).
    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func receive() -> [UInt8]? {
        while true {
            if pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                if pending.count >= 2 + length {
                    defer { pending.removeFirst(2 + length) }
                    return Array(pending[2..<(2 + length)])
                }
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            pending += buffer[0..<n]
        }
    }

    /// The server closed the connection (recv returns 0 within 50 ms).
    var isClosedByServer: Bool {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { pending += buffer[0..<n] }
        return n == 0
    }
}

enum TCPPeerLinkError: Error {
    case connectFailed(Int32)
}
